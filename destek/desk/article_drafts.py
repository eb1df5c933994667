"""A ticket's public thread as the first draft of a knowledge-base article."""

from __future__ import annotations

from django.utils import translation
from django.utils.translation import gettext as _

from destek.tickets.access import customer_visible_messages
from destek.tickets.choices import AuthorKind
from destek.tickets.models import Message, Ticket


def thread_as_markdown(ticket: Ticket) -> str:
    """The public thread of a ticket as an article draft: the customer's words quoted, the
    agents' answers as they were. Internal notes and automatic messages never come along."""
    messages = customer_visible_messages(
        Message.objects.filter(
            ticket=ticket, author_kind__in=[AuthorKind.CUSTOMER, AuthorKind.AGENT]
        )
    ).order_by("id")
    parts: list[str] = []
    with translation.override(ticket.language):
        question, answer = _("Question"), _("Answer")
    for message in messages:
        text = message.body.replace("\r\n", "\n").strip()
        if not text:
            continue
        if message.author_kind == AuthorKind.CUSTOMER:
            quoted = "\n".join(f"> {line}" if line else ">" for line in text.split("\n"))
            parts.append(f"## {question}\n\n{quoted}")
        else:
            parts.append(f"## {answer}\n\n{text}")
    return "\n\n".join(parts) + "\n"
