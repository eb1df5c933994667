"""The bot's answer when a message files a ticket: its number, when to expect our answer (the
ticket's first-response clock, in the customer's time zone) and, when the ticket's business
calendar is closed now, that we are out of hours. Rendered in the active language (the
contact's, set by the caller)."""

from __future__ import annotations

from datetime import datetime

from django.utils import timezone

from destek.messaging import texts
from destek.sla.engine import is_working_time
from destek.tickets.clocks import Schedules
from destek.tickets.models import Policy, Ticket
from destek.tickets.selectors import expected_answer_text


def out_of_hours(ticket: Ticket, now: datetime | None = None) -> bool:
    """Whether the calendar of the ticket's service-level policy is closed now (a ticket
    without a policy has no hours: never)."""
    if ticket.sla_policy_id is None:
        return False
    calendar_id = (
        Policy.objects.filter(pk=ticket.sla_policy_id).values_list("calendar_id", flat=True).first()
    )
    if calendar_id is None:
        return False
    return not is_working_time(Schedules().get(calendar_id), now or timezone.now())


def ticket_filed(ticket: Ticket, now: datetime | None = None) -> str:
    lines = [str(texts.TICKET_FILED).format(number=f"#{ticket.number}")]
    if out_of_hours(ticket, now):
        lines.append(str(texts.OUT_OF_HOURS))
    expected = expected_answer_text(ticket)
    if expected:
        lines.append(expected)
    return "\n".join(lines)
