"""The worker's status: maintenance windows started, completed and reminded at their edges.
The notices' jobs are in notice_jobs.py."""

from __future__ import annotations

from huey import crontab
from huey.contrib.djhuey import db_periodic_task

from destek.announcements import actions


@db_periodic_task(crontab(minute="*"))
def run_maintenance_windows() -> tuple[int, int]:
    """Every minute: remind of the windows starting soon, start the windows that began,
    complete the ones that ended. Each transition is a conditional UPDATE, so two workers (or
    a rerun) change nothing twice."""
    return actions.run_maintenance_windows()
