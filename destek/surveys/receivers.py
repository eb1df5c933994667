"""What surveys does when a ticket changes (connected in `apps.ready`)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import transaction

from destek.surveys import jobs
from destek.tickets.choices import TicketStatus
from destek.tickets.models import Ticket


def status_changed(sender: Any, *, ticket: Ticket, new: str, **kwargs: Any) -> None:
    """A ticket became resolved: its survey goes out after the delay (wall-clock minutes),
    once the change committed. The job checks again whether it is still due."""
    if new != TicketStatus.RESOLVED:
        return
    ticket_id = ticket.pk
    delay = settings.DESTEK_SURVEY_DELAY_MINUTES * 60

    def schedule() -> None:
        if delay:
            jobs.send_survey.schedule(args=(ticket_id,), delay=delay)
        else:
            jobs.send_survey(ticket_id)

    transaction.on_commit(schedule, robust=True)
