"""The assignment sweep a minute (`automation.assignment.sweep`): safe to run twice, every
change re-checked under the department's and the ticket's locks."""

from __future__ import annotations

from django.db import DatabaseError
from huey import crontab
from huey.contrib.djhuey import db_periodic_task

from destek.automation import assignment
from destek.lib import outage


@db_periodic_task(crontab(minute="*"))
def assignment_sweep() -> int:
    try:
        return assignment.sweep()
    except DatabaseError as exc:  # one line per interval, not a traceback a minute
        outage.log_outage(outage.outage_kind(exc) or outage.DATABASE, "assignment sweep", exc)
        return 0
