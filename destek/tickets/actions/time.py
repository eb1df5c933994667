"""Time agents spend on tickets (`DESTEK_TIME_TRACKING`)."""

from __future__ import annotations

from django.conf import settings
from django.db import transaction
from django.utils.translation import gettext as _

from destek.accounts.models import User
from destek.lib.errors import ActionRefused
from destek.lib.text import strip_invisible
from destek.tickets.actions._common import Actor, _event, _lock, _require_worker
from destek.tickets.choices import EventKind
from destek.tickets.models import Ticket, TimeEntry

#: One entry covers at most a working day; more is logged as several.
MINUTES_MAX = 24 * 60
TIME_NOTE_MAX = 200


@transaction.atomic
def log_time(ticket: Ticket, *, agent: User, minutes: int, note: str = "") -> TimeEntry:
    """`agent` spent `minutes` on the ticket; the history says so (agents only)."""
    if not settings.DESTEK_TIME_TRACKING:
        raise ActionRefused("time_tracking_off", _("Time tracking is switched off."), status=403)
    ticket = _lock(ticket)
    actor = Actor.of(agent)
    _require_worker(actor, ticket)  # agents of the ticket's department (customers never)
    if not 1 <= minutes <= MINUTES_MAX:
        raise ActionRefused(
            "invalid_minutes",
            _("Give between 1 and {maximum} minutes.").format(maximum=MINUTES_MAX),
            field="minutes",
        )
    note = " ".join(strip_invisible(note or "").split())
    if len(note) > TIME_NOTE_MAX:
        raise ActionRefused(
            "time_note_too_long",
            _("The note is too long: at most {maximum} characters.").format(maximum=TIME_NOTE_MAX),
            field="note",
        )
    entry = TimeEntry.objects.create(ticket=ticket, agent=agent, minutes=minutes, note=note)
    _event(ticket, actor, EventKind.TIME, to_value=minutes, public=False)
    return entry
