"""The worker's notices: a status event told to its subscribers, and the notices gathered
in a batching window sent when it ends. (Apart from jobs.py, which calls the actions: the
actions queue `announce`.)"""

from __future__ import annotations

from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task

from destek.announcements import notices, subscribing


@db_task()
def announce(event_id: int) -> int:
    """Tell the subscribers of a status event; a rerun sends nothing twice."""
    return notices.announce(event_id)


@db_periodic_task(crontab(minute="*"))
def send_status_notices() -> int:
    """Every minute: the notices whose batching window ended, one message per address and
    incident; rows are claimed by a conditional UPDATE, so a rerun sends nothing twice."""
    return notices.send_due()


@db_periodic_task(crontab(minute="17", hour="3"))
def forget_unconfirmed_subscriptions() -> int:
    """Every night: addresses whose confirmation link expired unopened are forgotten."""
    return subscribing.forget_unconfirmed()
