"""What chat does when tickets tell it something: a public message on a chat's ticket becomes
the chat's next `message` event, in the same transaction as the message itself."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from destek.chat import events
from destek.chat.choices import AuthorRole, EventType
from destek.chat.models import Chat
from destek.tickets.access import customer_may_see_message
from destek.tickets.choices import AuthorKind, Channel
from destek.tickets.models import Attachment, Message, Ticket

ROLES: dict[str, str] = {
    AuthorKind.CUSTOMER: AuthorRole.VISITOR,
    AuthorKind.AGENT: AuthorRole.AGENT,
    AuthorKind.SYSTEM: AuthorRole.SYSTEM,
}


def attachment_url(chat_id: int, public_id: object) -> str:
    """Where the chat's reader downloads a file: the visitor with the chat's token (header
    `X-Chat-Token` or `?token=`), a signed-in customer or agent with their session or token."""
    return f"/api/v1/chats/{chat_id}/attachments/{public_id}"


#: The chat a chat action is writing to, so the hook below need not look it up again.
_writing: ContextVar[Chat | None] = ContextVar("chat_writing", default=None)


@contextmanager
def writing_to(chat: Chat) -> Iterator[None]:
    """Messages written inside are on this chat's ticket (chat actions say so)."""
    token = _writing.set(chat)
    try:
        yield
    finally:
        _writing.reset(token)


def message_added(
    sender: Any,
    *,
    ticket: Ticket,
    message: Message,
    attachments: Sequence[Attachment] | None = None,
    **kwargs: Any,
) -> None:
    # Only chat tickets have a chat: the channel, already in hand, spares every other ticket's
    # message a query. Internal notes and held mail never reach the visitor.
    if ticket.channel != Channel.CHAT or not customer_may_see_message(message):
        return
    chat = _writing.get()
    if chat is None or chat.ticket_id != ticket.pk:
        chat = Chat.objects.filter(ticket_id=ticket.pk).first()
    if chat is not None:
        append_message(chat, message, attachments)


def append_message(
    chat: Chat, message: Message, attachments: Sequence[Attachment] | None = None
) -> None:
    """The `message` event of one public message of the chat's ticket. `attachments`, when
    the caller knows them, are the message's files (else they are read)."""
    author = message.author
    if attachments is None:
        attachments = list(message.attachments.all())
    files = [
        {
            "name": attachment.filename,
            "size": attachment.size,
            "url": attachment_url(chat.pk, attachment.public_id),
        }
        for attachment in sorted(attachments, key=lambda a: a.pk)
    ]
    events.append(
        chat,
        EventType.MESSAGE,
        body=message.body,
        author=ROLES.get(message.author_kind, AuthorRole.SYSTEM),
        name=author.display_name if author is not None else "",
        message_id=message.pk,
        attachments=files,
    )
