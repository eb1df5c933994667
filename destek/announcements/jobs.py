"""The worker's status: maintenance windows started and completed at their edges."""

from __future__ import annotations

from huey import crontab
from huey.contrib.djhuey import db_periodic_task

from destek.announcements import actions


@db_periodic_task(crontab(minute="*"))
def run_maintenance_windows() -> tuple[int, int]:
    """Every minute: start the windows that began, complete the ones that ended. Each
    transition is a conditional UPDATE, so two workers (or a rerun) change nothing twice."""
    return actions.run_maintenance_windows()
