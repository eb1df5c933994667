"""The one door to a chat: a visitor with the chat's token, its signed-in customer, or an agent
of its department (admins: all). Anyone else gets Chat.DoesNotExist, whatever the id."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from destek.accounts.models import User
from destek.chat.models import Chat
from destek.tickets.models import agent_department_ids

TOKEN_PREFIX = "dcv_"  # noqa: S105  (a prefix, not a secret)


def new_visitor_token() -> tuple[str, str]:
    """A raw visitor token (shown once, to the visitor's browser) and the hash that is kept."""
    raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
    return raw, hash_visitor_token(raw)


def hash_visitor_token(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


#: What a chat is read with, unless the caller needs less (a visitor's message needs only the
#: visitor: the ticket action reads and locks its ticket itself).
RELATED = ("ticket", "department", "visitor")


def chat_for_visitor(chat_id: int, raw_token: str, *, related: tuple[str, ...] = RELATED) -> Chat:
    if not raw_token.startswith(TOKEN_PREFIX) or len(raw_token) > 100:
        raise Chat.DoesNotExist
    chat = Chat.objects.select_related(*related).get(
        pk=chat_id, visitor_token_hash=hash_visitor_token(raw_token)
    )
    # A visitor's token lives as long as the chat and a while after it (to read the end, ask
    # for the transcript, rate): then it reads nothing, like a token that never was.
    kept = timedelta(hours=settings.DESTEK_CHAT_TOKEN_HOURS)
    if chat.ended_at is not None and chat.ended_at < timezone.now() - kept:
        raise Chat.DoesNotExist
    return chat


def chat_for_user(chat_id: int, user: User, *, related: tuple[str, ...] = RELATED) -> Chat:
    chat = Chat.objects.select_related(*related).get(pk=chat_id)
    if user.is_admin:
        return chat
    if user.is_agent and chat.department_id in agent_department_ids(user):
        return chat
    if user.is_customer and chat.visitor_id == user.pk:
        return chat
    raise Chat.DoesNotExist
