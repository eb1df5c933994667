"""The minute sweep over service-level clocks, by the `sla_check_at` index, in batches."""

from __future__ import annotations

from datetime import datetime

from django.utils import timezone
from huey import crontab
from huey.contrib.djhuey import db_periodic_task

from destek.sla.actions import check_clocks
from destek.sla.clocks import Schedules
from destek.tickets.models import Ticket

BATCH = 500


def sla_sweep_now(now: datetime | None = None) -> int:
    """Check every ticket whose next warning or breach instant has come. Safe to run twice."""
    now = now or timezone.now()
    schedules = Schedules()
    done = 0
    last_id = 0
    while True:
        ids = list(
            Ticket.objects.filter(sla_check_at__lte=now, pk__gt=last_id)
            .order_by("pk")
            .values_list("pk", flat=True)[:BATCH]
        )
        for ticket_id in ids:
            check_clocks(ticket_id, schedules=schedules, now=now)
        done += len(ids)
        if len(ids) < BATCH:
            return done
        last_id = ids[-1]


@db_periodic_task(crontab(minute="*"))
def sla_sweep() -> int:
    return sla_sweep_now()
