"""What a chat socket's client frames change: typing and "seen", through the chat actions, the
same ones the HTTP routes call (the widget's polling fallback)."""

from __future__ import annotations

from destek.chat import actions
from destek.chat.choices import ChatState
from destek.chat.models import Chat

OVER = (ChatState.ENDED, ChatState.OFFLINE)


def typing(chat_id: int, role: str) -> None:
    """Someone is typing in an open chat (stored at most once per author every few seconds)."""
    chat = Chat.objects.filter(pk=chat_id).exclude(state__in=OVER).first()
    if chat is not None:
        actions.typing(chat, author=role)


def seen(chat_id: int, role: str, up_to: int) -> None:
    """The holder of a socket has seen the chat up to event `up_to` (stored when it moves
    forward, never past the chat's last event)."""
    chat = Chat.objects.filter(pk=chat_id).first()
    if chat is not None:
        actions.seen(chat, author=role, up_to=up_to)
