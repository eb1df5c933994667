"""The messengers' worker jobs: an update's work, a send with backoff, and a sweep that
sends what waited on a channel that works again. Each takes ids and is safe to run twice."""

from __future__ import annotations

from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task

from destek.messaging import actions, health
from destek.messaging.models import OutboundMessage

#: Seconds before the next try of a send that met a network fault or a 5xx: 5, 10, 20, ...
BACKOFF_BASE = 5


@db_task()
def process_event(event_id: int) -> None:
    actions.process_event(event_id)


@db_task()
def send_outbound(outbound_id: int) -> None:
    if actions.send_outbound(outbound_id) == actions.SendResult.RETRY:
        attempts = (
            OutboundMessage.objects.filter(pk=outbound_id)
            .values_list("attempts", flat=True)
            .first()
            or 1
        )
        send_outbound.schedule((outbound_id,), delay=BACKOFF_BASE * 2 ** (attempts - 1))


@db_periodic_task(crontab(minute="*/5"))
def send_waiting() -> None:
    """Rows kept while a channel failed (or whose job was lost) go once it works again."""
    for outbound_id in actions.pending_for_healthy_channels():
        actions.send_outbound(outbound_id)


@db_periodic_task(crontab(minute="*"))
def retry_events() -> None:
    """Updates whose work failed, tried again after growing pauses (health.EVENT_RETRIES
    times), and updates whose job was lost."""
    for event_id in health.due_events():
        actions.process_event(event_id)


def _process_soon(event_id: int) -> None:
    process_event(event_id)


def _send_soon(outbound_id: int) -> None:
    send_outbound(outbound_id)


actions.event_received.append(_process_soon)
actions.send_requested.append(_send_soon)
