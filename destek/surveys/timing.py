"""When a resolved ticket's survey is due: `DESTEK_SURVEY_DELAY_MINUTES` business minutes
after it was resolved, on the calendar of the ticket's service-level policy (so a ticket
resolved on Friday at 17:30 with 60 minutes is asked on Monday at 09:30, not on Friday
evening). A ticket no policy covers counts wall-clock minutes; 0 asks at once."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.conf import settings

from destek.sla.engine import add_business_minutes
from destek.sla.models import Calendar
from destek.tickets import clocks
from destek.tickets.models import Ticket

log = logging.getLogger(__name__)

#: A job may start a moment before the instant it was scheduled for (clocks of two
#: machines); it still counts as due.
SLACK = timedelta(seconds=60)


def survey_due(ticket: Ticket, resolved_at: datetime | None = None) -> datetime:
    """The instant the survey of `ticket`, resolved at `resolved_at` (its last status change
    by default), is due."""
    start = resolved_at or ticket.status_changed_at
    minutes = settings.DESTEK_SURVEY_DELAY_MINUTES
    if not minutes:
        return start
    policy = ticket.sla_policy if ticket.sla_policy_id else clocks.policy_for(ticket)
    if policy is None:
        return start + timedelta(minutes=minutes)
    try:
        schedule = clocks.Schedules().get(policy.calendar_id)
        return add_business_minutes(schedule, start, minutes)
    except (ValueError, Calendar.DoesNotExist):
        # A calendar without working time, a bad one slipped in, or one deleted a moment ago
        # must neither keep the survey forever nor stop the ticket being resolved (this runs
        # in the status change): wall-clock minutes then.
        log.warning("survey delay: calendar %s unusable; wall-clock minutes", policy.calendar_id)
        return start + timedelta(minutes=minutes)


def is_due(ticket: Ticket, now: datetime) -> bool:
    return survey_due(ticket) <= now + SLACK
