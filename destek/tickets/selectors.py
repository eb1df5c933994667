"""Reading tickets: customer-facing labels and the keyset-paginated lists."""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from typing import Any

from django.db.models import QuerySet
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from destek.lib.errors import ActionRefused
from destek.tickets.choices import CloseReason, TicketStatus
from destek.tickets.models import Ticket


def customer_status_label(ticket: Ticket) -> str:
    """What the customer reads, in the words the seeds use (Jino, Pinco, the SMS panel).

    Where the conversation stands matters more to a customer than the internal state: a new
    or open ticket whose last word is the customer's is "awaiting operator reply"; once an
    agent has opened a new ticket it is "seen, under review".
    """
    status = ticket.status
    if status == TicketStatus.CLOSED:
        if ticket.close_reason == CloseReason.NO_REPLY:
            return pgettext("customer status", "Closed without a reply")
        return pgettext("customer status", "Closed")
    if status == TicketStatus.RESOLVED:
        return pgettext("customer status", "Resolved")
    if status == TicketStatus.PENDING:
        return pgettext("customer status", "Awaiting your reply")
    if status == TicketStatus.NEW:
        if ticket.first_seen_at is not None:
            return pgettext("customer status", "Seen, under review")
        return pgettext("customer status", "Awaiting operator reply")
    customer_spoke_last = ticket.last_customer_message_at is not None and (
        ticket.last_agent_message_at is None
        or ticket.last_customer_message_at > ticket.last_agent_message_at
    )
    if customer_spoke_last:
        return pgettext("customer status", "Awaiting operator reply")
    return pgettext("customer status", "In progress")


@dataclass
class Page:
    items: list[Any]
    next_cursor: str | None


def encode_cursor(last_id: int) -> str:
    return base64.urlsafe_b64encode(f"i{last_id}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> int:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        if not raw.startswith("i"):
            raise ValueError(raw)
        return int(raw[1:])
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise ActionRefused("invalid_cursor", _("The cursor is not valid.")) from None


def keyset_page(qs: QuerySet[Any], *, cursor: str | None, limit: int) -> Page:
    """Newest first by id; the cursor is the last id seen, so a page costs one index range
    scan however deep the caller has paged (no OFFSET)."""
    if cursor:
        qs = qs.filter(pk__lt=decode_cursor(cursor))
    rows = list(qs.order_by("-pk")[: limit + 1])
    more = len(rows) > limit
    rows = rows[:limit]
    return Page(rows, encode_cursor(rows[-1].pk) if more and rows else None)
