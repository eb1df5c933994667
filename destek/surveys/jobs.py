"""The worker's surveys: a resolved ticket's survey when it is due, and a sweep for the ones
a lost job never sent."""

from __future__ import annotations

from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task

from destek.surveys import actions


@db_task()
def send_survey(ticket_id: int) -> bool:
    """Re-reads the ticket and re-checks everything (still resolved, due, not yet asked):
    safe to run twice."""
    return actions.send_due_survey(ticket_id) is not None


@db_periodic_task(crontab(minute="*/5"))
def sweep_due_surveys() -> int:
    """Every five minutes: the surveys due but not sent (the worker was down when their job
    was due, or Redis lost it), at most `SWEEP_BATCH` a run."""
    return actions.sweep_due_surveys()
