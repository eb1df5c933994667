"""What the service-level sweep changes: warnings and breaches, each once per clock."""

from __future__ import annotations

from datetime import datetime

from django.db import transaction
from django.utils import timezone

from destek.tickets import clocks
from destek.tickets.choices import ActorKind, EventKind, Priority, priority_rank
from destek.tickets.clocks import CLOCKS, Schedules
from destek.tickets.models import Ticket, TicketEvent
from destek.tickets.notifications import sla_alert


def _raise_one_step(ticket: Ticket) -> str | None:
    rank = priority_rank(ticket.priority)
    order = [Priority.LOW, Priority.NORMAL, Priority.HIGH, Priority.CRITICAL]
    if rank + 1 >= len(order):
        return None
    return order[rank + 1]


@transaction.atomic
def check_clocks(
    ticket_id: int, *, schedules: Schedules | None = None, now: datetime | None = None
) -> list[str]:
    """Warn about and record breaches of `ticket_id`'s clocks that are due by `now`.

    Safe to run twice: a clock is warned about once (`sla_warned`) and breached once
    (`<clock>_breached_at`), and the ticket is re-read under a row lock.
    """
    now = now or timezone.now()
    ticket = (
        Ticket.objects.select_for_update(of=("self",))
        .select_related("customer", "department", "assignee")
        .filter(pk=ticket_id)
        .first()
    )
    if ticket is None:
        return []
    schedules = schedules or Schedules()
    computed = clocks.compute(ticket, schedules, now)
    warned = list(ticket.sla_warned or [])
    happened: list[str] = []
    raised = False
    for clock in CLOCKS:
        due = computed[clock]
        if clocks.met(ticket, clock, computed) or getattr(ticket, f"{clock}_breached_at"):
            continue
        if due.due is not None and due.due <= now:
            setattr(ticket, f"{clock}_breached_at", due.due)
            _log(ticket, EventKind.SLA_BREACH, clock, due.due)
            happened.append(f"{clock}:breach")
            policy = ticket.sla_policy
            higher = _raise_one_step(ticket) if policy and policy.raise_priority else None
            if higher and not raised:  # one step per sweep, however many clocks ran out
                raised = True
                TicketEvent.objects.create(
                    ticket=ticket,
                    kind=EventKind.PRIORITY,
                    actor_kind=ActorKind.RULE,
                    from_value=ticket.priority,
                    to_value=higher,
                    public=False,
                    data={"reason": f"{clock} breached"},
                )
                ticket.priority = higher
            sla_alert(ticket, clock, breached=True)
        elif due.warn is not None and due.warn <= now and clock not in warned:
            warned.append(clock)
            _log(ticket, EventKind.SLA_WARNING, clock, due.due)
            happened.append(f"{clock}:warning")
            sla_alert(ticket, clock, breached=False)
    ticket.sla_warned = warned
    clocks.refresh(ticket, schedules, now, computed)
    ticket.save()
    return happened


def _log(ticket: Ticket, kind: str, clock: str, due: datetime | None) -> None:
    TicketEvent.objects.create(
        ticket=ticket,
        kind=kind,
        actor_kind=ActorKind.TIMER,
        to_value=clock,
        public=False,
        data={"due": due.isoformat() if due else None},
    )
