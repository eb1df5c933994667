"""The worker's status: maintenance windows started, completed and reminded at their edges,
and the notices of status events sent (at once, or gathered until their window ends)."""

from __future__ import annotations

from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task

from destek.announcements import actions, notices


@db_periodic_task(crontab(minute="*"))
def run_maintenance_windows() -> tuple[int, int]:
    """Every minute: remind of the windows starting soon, start the windows that began,
    complete the ones that ended. Each transition is a conditional UPDATE, so two workers (or
    a rerun) change nothing twice."""
    return actions.run_maintenance_windows()


@db_task()
def announce(event_id: int) -> int:
    """Tell the subscribers of a status event; a rerun sends nothing twice."""
    return notices.announce(event_id)


@db_periodic_task(crontab(minute="*"))
def send_status_notices() -> int:
    """Every minute: the notices whose batching window ended, one message per address and
    incident; rows are claimed by a conditional UPDATE, so a rerun sends nothing twice."""
    return notices.send_due()
