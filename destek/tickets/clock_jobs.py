"""The minute sweep over service-level clocks, by the `sla_check_at` index, in batches."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.utils import timezone
from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task

from destek.tickets.actions import recompute_clocks
from destek.tickets.choices import ACTIVE_STATUSES
from destek.tickets.clock_checks import check_clocks
from destek.tickets.clocks import Schedules
from destek.tickets.models import Ticket

BATCH = 500
log = logging.getLogger(__name__)


#: One run stops after this many tickets; the next minute's run goes on where it stopped.
RUN_LIMIT = 5_000
#: A ticket whose clocks cannot be computed is looked at again after this long, not every
#: minute: one broken calendar must not stall the sweep for every other ticket.
RETRY = timedelta(minutes=15)


def sla_sweep_now(now: datetime | None = None) -> int:
    """Check every ticket whose next warning or breach instant has come, nearest first, by
    the `sla_check_at` index. Safe to run twice: a checked ticket's next instant moves on."""
    now = now or timezone.now()
    schedules = Schedules()
    done = 0
    while done < RUN_LIMIT:
        ids = list(
            Ticket.objects.filter(sla_check_at__lte=now)
            .order_by("sla_check_at", "pk")
            .values_list("pk", flat=True)[:BATCH]
        )
        if not ids:
            return done
        for ticket_id in ids:
            try:
                check_clocks(ticket_id, schedules=schedules, now=now)
            except Exception:
                log.exception("SLA sweep: ticket %s failed; retrying later", ticket_id)
                Ticket.objects.filter(pk=ticket_id).update(sla_check_at=now + RETRY)
        done += len(ids)
    return done


def recompute_open_tickets_now() -> int:
    """After a policy or calendar changed: every open ticket's clocks again, from its history,
    in batches, each ticket in its own transaction. Safe to run twice."""
    done = 0
    last_id = 0
    while True:
        batch = list(
            Ticket.objects.filter(status__in=ACTIVE_STATUSES, pk__gt=last_id).order_by("pk")[:BATCH]
        )
        for ticket in batch:
            recompute_clocks(ticket)
        done += len(batch)
        if len(batch) < BATCH:
            return done
        last_id = batch[-1].pk


@db_task()
def recompute_open_tickets() -> int:
    return recompute_open_tickets_now()


@db_periodic_task(crontab(minute="*"))
def sla_sweep() -> int:
    return sla_sweep_now()
