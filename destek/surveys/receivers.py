"""What surveys does when a ticket changes (connected in `apps.ready`)."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils import timezone

from destek.surveys import jobs, timing
from destek.tickets.choices import TicketStatus
from destek.tickets.models import Ticket


def status_changed(sender: Any, *, ticket: Ticket, new: str, **kwargs: Any) -> None:
    """A ticket became resolved: its survey goes out `DESTEK_SURVEY_DELAY_MINUTES` business
    minutes later (on the ticket's calendar), once the change committed. The job checks again
    whether it is still due; the periodic sweep sends any the worker lost."""
    if new != TicketStatus.RESOLVED:
        return
    ticket_id = ticket.pk
    due = timing.survey_due(ticket, ticket.status_changed_at or timezone.now())

    def schedule() -> None:
        if due <= timezone.now():
            jobs.send_survey(ticket_id)
        else:
            jobs.send_survey.schedule(args=(ticket_id,), eta=due)

    transaction.on_commit(schedule, robust=True)
