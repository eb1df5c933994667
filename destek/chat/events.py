"""The numbered events of a chat: written in the transaction of the change they report, then
handed to the real-time layer once it commits. The database is the truth; the socket is only
the fast way to hear of it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.db import connection, transaction

from destek.chat.models import Chat, ChatEvent

#: Called with (chat id, event JSON) after the event's transaction commits: the real-time layer
#: (chat/realtime.py) sets it to publish on the channel layer.
publishers: list[Callable[[int, dict[str, Any]], None]] = []

#: PostgreSQL and SQLite (3.35 and later) both return the updated number.
NEXT_SEQ = 'UPDATE "chat_chat" SET "last_seq" = "last_seq" + 1 WHERE "id" = %s RETURNING "last_seq"'


def append(chat: Chat, type: str, **data: Any) -> ChatEvent:
    """Add the chat's next event. The number comes from an UPDATE of the chat row, which also
    serialises concurrent writers of one chat, so numbers never repeat or leave gaps."""
    with connection.cursor() as cursor:  # one round trip: UPDATE … RETURNING
        cursor.execute(NEXT_SEQ, [chat.pk])
        (seq,) = cursor.fetchone()
    chat.last_seq = seq
    event = ChatEvent.objects.create(chat=chat, seq=seq, type=type, data=data)
    payload = event.as_json()
    chat_id = chat.pk
    transaction.on_commit(lambda: _publish(chat_id, payload), robust=True)
    return event


def _publish(chat_id: int, payload: dict[str, Any]) -> None:
    for publish in publishers:
        publish(chat_id, payload)


def after(chat: Chat, seq: int, limit: int = 500) -> list[dict[str, Any]]:
    """The chat's events after number `seq`, oldest first."""
    rows = ChatEvent.objects.filter(chat=chat, seq__gt=seq).order_by("seq")[:limit]
    return [row.as_json() for row in rows]
