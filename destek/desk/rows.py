"""The queue's rows as the page prints them, prepared once in Python.

Why not in the template: a page of 50 rows printed through template lookups and filters (a URL
reversed, two choice labels, a date in two forms, numerals, per row) cost more than everything
else the queue does together. Here each row is a handful of plain values; `desk/queue.html`
only places them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from django.urls import reverse
from django.utils import timezone
from django.utils.safestring import SafeString

from destek.lib.bidi import isolate_text
from destek.lib.dates import format_when, localize_digits
from destek.messaging.identity import identities, label
from destek.tickets.choices import Priority, TicketStatus
from destek.tickets.models import FAR_FUTURE, Ticket

#: The columns a row needs, for `QuerySet.only` (with the customer and the assignee joined),
#: beside those the queue's keyset reads (`queue_due`, `priority_rank`, `customer_vip`).
COLUMNS = (
    "number",
    "subject",
    "priority",
    "status",
    "queue_due",
    "priority_rank",
    "customer_vip",
    "customer__full_name",
    "customer__email",
    "assignee__full_name",
    "assignee__email",
    "department__name",
    "department__names",
    "updated_at",
)


NO_SNIPPET = SafeString("")


@dataclass(frozen=True)
class QueueRow:
    number: int
    number_text: str  # in the page's numerals
    url: str
    subject: SafeString  # escaped, its left-to-right runs isolated
    customer: str
    vip: bool
    priority: str
    status: str
    due: datetime | None  # None: no clock runs
    due_iso: str
    due_text: str
    breached: bool
    assignee: str
    department: str
    updated_iso: str
    updated_text: str
    snippet: SafeString = NO_SNIPPET  # a search's matching passage (words in <mark>)


def _label(choices: type[Priority] | type[TicketStatus], value: str) -> str:
    try:
        return str(choices(value).label)
    except ValueError:  # not one of ours (any more): as stored
        return value


#: Stands for the number in the ticket page's address, reversed once per page, not per row.
_NUMBER = 987654321987


def queue_rows(tickets: Iterable[Ticket], *, now: datetime) -> list[QueueRow]:
    url = reverse("desk:ticket", args=[_NUMBER])
    tickets = list(tickets)
    # Messenger customers by their messenger identity: one statement for the page, if any.
    messengers = identities(ticket.customer for ticket in tickets)
    rows = []
    for ticket in tickets:
        running = ticket.queue_due < FAR_FUTURE
        assignee = ticket.assignee
        rows.append(
            QueueRow(
                number=ticket.number,
                number_text=localize_digits(str(ticket.number)),
                url=url.replace(str(_NUMBER), str(ticket.number)),
                subject=isolate_text(ticket.subject),
                customer=label(ticket.customer, messengers.get(ticket.customer_id)),
                vip=ticket.customer_vip,
                priority=_label(Priority, ticket.priority),
                status=_label(TicketStatus, ticket.status),
                due=ticket.queue_due if running else None,
                due_iso=timezone.localtime(ticket.queue_due).isoformat() if running else "",
                due_text=format_when(ticket.queue_due, style="short") if running else "",
                breached=running and ticket.queue_due <= now,
                assignee=assignee.display_name if assignee is not None else "",
                department=ticket.department.display_name(),
                updated_iso=timezone.localtime(ticket.updated_at).isoformat(),
                updated_text=format_when(ticket.updated_at, style="short"),
            )
        )
    return rows
