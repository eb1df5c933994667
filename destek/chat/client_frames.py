"""What a chat socket's client frames change: typing and "seen" become stored events.

Kept thin on purpose: when the chat actions (actions.py) offer the same, these call them."""

from __future__ import annotations

from django.db import transaction

from destek.chat import events
from destek.chat.choices import ChatState, EventType
from destek.chat.models import Chat, ChatEvent

OVER = (ChatState.ENDED, ChatState.OFFLINE)


@transaction.atomic
def typing(chat_id: int, role: str) -> None:
    """Someone is typing in an open chat (the socket allows one per 3 s)."""
    chat = Chat.objects.filter(pk=chat_id).exclude(state__in=OVER).first()
    if chat is not None:
        events.append(chat, EventType.TYPING, author=role)


@transaction.atomic
def seen(chat_id: int, role: str, up_to: int) -> None:
    """The holder of a socket has seen the chat up to event `up_to`: stored when it moves
    forward, never past the chat's last event."""
    chat = Chat.objects.filter(pk=chat_id).first()
    if chat is None:
        return
    up_to = min(up_to, chat.last_seq)
    earlier = (
        ChatEvent.objects.filter(chat=chat, type=EventType.SEEN, data__author=role)
        .order_by("-seq")
        .values_list("data", flat=True)
        .first()
    )
    if up_to <= 0 or (isinstance(earlier, dict) and int(earlier.get("up_to", 0)) >= up_to):
        return
    events.append(chat, EventType.SEEN, author=role, up_to=up_to)
