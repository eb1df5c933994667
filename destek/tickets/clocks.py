"""The service-level clocks of a ticket, recomputed from its history.

A clock runs from its start (the ticket's creation; for the next response, the customer's
first message after the agent's last reply) through the policy's business hours, and pauses
while the ticket is `pending` (awaiting the customer): paused time never counts. Because the
due instant is recomputed from the whole history, a change of priority, department, tier or
channel moves it as if the new policy had applied from the start, not from now.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from django.utils import timezone

from destek.accounts.choices import Tier
from destek.lib import config_cache
from destek.sla.engine import (
    Schedule,
    add_business_minutes,
    business_minutes_between,
    holiday_dates,
)
from destek.sla.models import Calendar, minute_of_day
from destek.tickets import config
from destek.tickets.choices import AuthorKind, EventKind, TicketStatus, priority_rank
from destek.tickets.models import FAR_FUTURE, Policy

CLOCKS = ("first_response", "next_response", "resolution")
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Due:
    """One clock: when it is due (None while paused or without a target), and when the
    warning threshold is reached."""

    due: datetime | None
    warn: datetime | None


# --- calendars --------------------------------------------------------------------------------


@functools.lru_cache(maxsize=64)
def _holidays(country: str, subdivision: str, first_year: int, last_year: int) -> frozenset[date]:
    return holiday_dates(country, range(first_year, last_year + 1), subdivision or None)


def schedule_of(calendar: Calendar) -> Schedule:
    """The engine's view of a calendar: weekly ranges, holidays and its own dates."""
    weekly: dict[int, list[tuple[int, int]]] = {day: [] for day in range(7)}
    for hours in calendar.hours.all():
        weekly[hours.weekday].append(
            (minute_of_day(hours.start), minute_of_day(hours.end, end=True))
        )
    closed: set[date] = set()
    if calendar.holiday_country:
        year = timezone.now().year
        closed |= _holidays(
            calendar.holiday_country, calendar.holiday_subdivision, year - 2, year + 3
        )
    special: dict[date, list[tuple[int, int]]] = {}
    for day in calendar.dates.all():
        if day.closed:
            closed.add(day.date)
            special.pop(day.date, None)
        elif day.start is not None and day.end is not None:
            special.setdefault(day.date, []).append(
                (minute_of_day(day.start), minute_of_day(day.end, end=True))
            )
    schedule = Schedule.build(
        calendar.time_zone,
        weekly,
        closed=frozenset(closed - set(special)),
        special=dict(special),
    )
    # Equal schedules share one instance, so its per-year tables are built once per process,
    # not on every request (that build was most of a ticket's clock computation).
    if len(_BUILT) > 256:
        _BUILT.clear()
    return _BUILT.setdefault(schedule, schedule)


_BUILT: dict[Schedule, Schedule] = {}


class Schedules:
    """Policies and schedules for a unit of work (a request, a sweep batch), from the
    per-process configuration cache."""

    def policies(self) -> list[Policy]:
        return config.policies()

    def get(self, calendar_id: int) -> Schedule:
        schedule = all_schedules().get(calendar_id)
        if schedule is None:  # made a moment ago in another process
            calendar = Calendar.objects.prefetch_related("hours", "dates").get(pk=calendar_id)
            schedule = schedule_of(calendar)
        return schedule


def all_schedules() -> dict[int, Schedule]:
    """Every calendar's schedule by id, kept until a calendar changes (`tickets.config`)."""
    return config_cache.cached(
        "tickets:schedules",
        lambda: {
            calendar.pk: schedule_of(calendar)
            for calendar in Calendar.objects.prefetch_related("hours", "dates")
        },
    )


# --- policies ---------------------------------------------------------------------------------


def matches(policy: Policy, ticket: Any) -> bool:
    customer = ticket.customer
    return all(
        (
            # The priority people and routing set: a raise by a breach must not retarget
            # the clocks retroactively under a stricter policy.
            not policy.if_priority
            or policy.if_priority == (ticket.policy_priority or ticket.priority),
            not policy.if_tier or policy.if_tier == customer.tier,
            not policy.if_department_id or policy.if_department_id == ticket.department_id,
            not policy.if_channel or policy.if_channel == ticket.channel,
            not policy.if_organisation_id or policy.if_organisation_id == customer.organisation_id,
        )
    )


def policy_for(ticket: Any, policies: Iterable[Policy] | None = None) -> Policy | None:
    """The first enabled policy, by position, whose every condition holds."""
    if policies is None:
        policies = config.policies()
    return next((p for p in policies if matches(p, ticket)), None)


# --- history ----------------------------------------------------------------------------------


#: While the ticket waits for the customer, or is done, no clock runs.
STOPPED = (TicketStatus.PENDING, TicketStatus.RESOLVED, TicketStatus.CLOSED)


def status_changes(ticket: Any) -> list[tuple[datetime, str, str]]:
    return list(
        ticket.events.filter(kind=EventKind.STATUS)
        .order_by("id")
        .values_list("created_at", "from_value", "to_value")
    )


def running_intervals(
    ticket: Any, start: datetime, changes: list[tuple[datetime, str, str]]
) -> list[tuple[datetime, datetime | None]]:
    """Spans from `start` during which a clock ran (the ticket was neither awaiting the
    customer nor done); the last may be open."""
    later = [change for change in changes if change[0] >= start]
    # The status at `start` is the `from` of the first change after it, or the current one.
    status_at_start = later[0][1] if later else ticket.status
    spans: list[tuple[datetime, datetime | None]] = []
    running_since: datetime | None = start if status_at_start not in STOPPED else None
    for at, _old, new in later:
        if new in STOPPED and running_since is not None:
            spans.append((running_since, at))
            running_since = None
        elif new not in STOPPED and running_since is None:
            running_since = at
    if running_since is not None:
        spans.append((running_since, None))
    return spans


def due_after(
    schedule: Schedule,
    spans: list[tuple[datetime, datetime | None]],
    minutes: int,
    warning_percent: int,
) -> Due:
    """Walk the running spans until `minutes` of business time are used up."""

    def reach(target: float) -> datetime | None:
        used = 0.0
        for begin, end in spans:
            if end is None:
                return add_business_minutes(schedule, begin, target - used)
            here = business_minutes_between(schedule, begin, end)
            if used + here >= target:
                return add_business_minutes(schedule, begin, target - used)
            used += here
        return None  # paused: the clock has not run out and is not running

    return Due(due=reach(minutes), warn=reach(minutes * warning_percent / 100))


def next_response_start(ticket: Any) -> datetime | None:
    """The customer's first message after the agent's last public reply, if the last word
    is the customer's; nudges do not start the clock."""
    if ticket.first_response_at is None or ticket.last_customer_message_at is None:
        return None
    if (
        ticket.last_agent_message_at
        and ticket.last_customer_message_at <= ticket.last_agent_message_at
    ):
        return None
    first: datetime | None = (
        ticket.messages.filter(
            author_kind=AuthorKind.CUSTOMER,
            nudge=False,
            created_at__gt=ticket.last_agent_message_at or ticket.first_response_at,
        )
        .order_by("id")
        .values_list("created_at", flat=True)
        .first()
    )
    return first


@dataclass
class Clocks:
    first_response: Due
    next_response: Due
    resolution: Due
    next_response_start: datetime | None

    def __getitem__(self, clock: str) -> Due:
        due: Due = getattr(self, clock)
        return due


def compute(
    ticket: Any,
    schedules: Schedules | None = None,
    now: datetime | None = None,
    history: list[tuple[datetime, str, str]] | None = None,
) -> Clocks:
    """Every clock of `ticket` under its policy (also sets `ticket.sla_policy`). `history`
    is its status changes when the caller knows them (none, for a ticket being filed)."""
    schedules = schedules or Schedules()
    policy = policy_for(ticket, schedules.policies())
    ticket.sla_policy = policy
    empty = Due(None, None)
    start = next_response_start(ticket)
    if policy is None:
        return Clocks(empty, empty, empty, start)
    schedule = schedules.get(policy.calendar_id)
    changes = status_changes(ticket) if history is None else history
    from_creation = running_intervals(ticket, ticket.created_at, changes)

    def clock(spans: list[tuple[datetime, datetime | None]] | None, minutes: int | None) -> Due:
        if spans is None or not minutes:
            return empty
        return due_after(schedule, spans, minutes, policy.warning_percent)

    return Clocks(
        first_response=clock(from_creation, policy.first_response_minutes),
        next_response=clock(
            running_intervals(ticket, start, changes) if start else None,
            policy.next_response_minutes,
        ),
        resolution=clock(from_creation, policy.resolution_minutes),
        next_response_start=start,
    )


def met(ticket: Any, clock: str, clocks: Clocks) -> bool:
    """A clock that has done its job, or whose ticket is done, stops mattering."""
    if ticket.status in (TicketStatus.RESOLVED, TicketStatus.CLOSED):
        return True
    if clock == "first_response":
        return ticket.first_response_at is not None
    if clock == "next_response":
        return clocks.next_response_start is None
    return False


def business_minutes_until(
    schedule: Schedule, spans: list[tuple[datetime, datetime | None]], until: datetime
) -> float:
    """The business minutes the clock ran from its start until `until`: the running spans
    cut off there, paused time (awaiting the customer, done) left out."""
    total = 0.0
    for begin, end in spans:
        if begin >= until:
            break
        stop = until if end is None or end > until else end
        total += business_minutes_between(schedule, begin, stop)
    return total


def _needs_minutes(ticket: Any) -> bool:
    return (
        ticket.first_response_at is not None and ticket.first_response_business_minutes is None
    ) or (ticket.status == TicketStatus.RESOLVED and ticket.resolved_at is not None)


def store_business_minutes(
    ticket: Any,
    schedule: Schedule | None,
    history: list[tuple[datetime, str, str]],
) -> None:
    """Keep on `ticket` the business minutes from filing to its first answer and to its
    resolution, on its policy's calendar with paused time left out (as its clocks count),
    for the reports' medians. The first answer's is kept once; the resolution's is counted
    again each time the ticket is resolved, so after a reopening it runs to the latest
    resolution (the time it was resolved in between does not count: the clock was
    stopped). Without a policy (no calendar) there are no business minutes: left empty."""
    if schedule is None:
        return
    spans = running_intervals(ticket, ticket.created_at, history)
    if ticket.first_response_at is not None and ticket.first_response_business_minutes is None:
        ticket.first_response_business_minutes = round(
            business_minutes_until(schedule, spans, ticket.first_response_at)
        )
    if ticket.status == TicketStatus.RESOLVED and ticket.resolved_at is not None:
        ticket.resolution_business_minutes = round(
            business_minutes_until(schedule, spans, ticket.resolved_at)
        )


def refresh(
    ticket: Any,
    schedules: Schedules | None = None,
    now: datetime | None = None,
    clocks: Clocks | None = None,
    history: list[tuple[datetime, str, str]] | None = None,
) -> None:
    """Recompute the due instants on `ticket` (the caller saves), and when the sweep must
    look at it next: the nearest warning or breach instant still ahead of it. At its first
    answer and at each resolution, also the business minutes they took
    (`store_business_minutes`).

    A calendar that cannot be read (a bad time zone or holiday country slipped in) must not
    stop a customer filing a ticket: the clocks are left empty and the error logged.
    """
    schedules = schedules or Schedules()
    if history is None and _needs_minutes(ticket):
        history = status_changes(ticket)
    try:
        clocks = clocks or compute(ticket, schedules, now, history)
        if _needs_minutes(ticket) and ticket.sla_policy is not None:
            store_business_minutes(
                ticket,
                schedules.get(ticket.sla_policy.calendar_id),
                status_changes(ticket) if history is None else history,
            )
    except ValueError:
        log.exception("ticket %s: service-level clocks could not be computed", ticket.pk)
        clocks = Clocks(Due(None, None), Due(None, None), Due(None, None), None)
    if ticket.first_response_at is None or ticket.first_response_due is None:
        ticket.first_response_due = clocks.first_response.due
    ticket.next_response_due = clocks.next_response.due
    if clocks.next_response_start is None:
        # No customer message awaits an answer: the next one starts a fresh cycle, which may
        # be warned about and breached again (the events keep the history).
        ticket.next_response_breached_at = None
        ticket.sla_warned = [c for c in (ticket.sla_warned or []) if c != "next_response"]
    if ticket.status not in (TicketStatus.RESOLVED, TicketStatus.CLOSED):
        ticket.resolution_due = clocks.resolution.due
    checks: list[datetime] = []
    running: list[datetime] = []
    warned = set(ticket.sla_warned or [])
    for name in CLOCKS:
        if met(ticket, name, clocks):
            continue
        due = clocks[name]
        if due.due is not None:
            running.append(due.due)
        if getattr(ticket, f"{name}_breached_at") is not None:
            continue
        if due.warn is not None and name not in warned:
            checks.append(due.warn)
        if due.due is not None:
            checks.append(due.due)
    ticket.sla_check_at = min(checks) if checks else None
    ticket.queue_due = min(running) if running else FAR_FUTURE
    ticket.priority_rank = priority_rank(ticket.priority)
    ticket.customer_vip = ticket.customer.tier == Tier.VIP


def clocks_left(ticket: Any, now: datetime | None = None) -> dict[str, dict[str, Any]] | None:
    """What an agent sees on a ticket: each clock's due instant and the business minutes
    left (negative once past due), and whether it is running now."""
    now = now or timezone.now()
    schedules = Schedules()
    try:
        computed = compute(ticket, schedules, now)
    except ValueError:
        return None
    policy = ticket.sla_policy
    if policy is None:
        return None
    schedule = schedules.get(policy.calendar_id)
    return {
        name: shown_clock(
            ticket,
            name,
            computed[name].due,
            done=met(ticket, name, computed),
            schedule=schedule,
            now=now,
        )
        for name in CLOCKS
    }


def shown_clock(
    ticket: Any, name: str, due: datetime | None, *, done: bool, schedule: Schedule, now: datetime
) -> dict[str, Any]:
    """One clock as an agent sees it (the API and the desk): its due instant, the business
    minutes left (negative once past due), whether it runs, when it was breached."""
    left = None
    if due is not None and not done:
        left = (
            business_minutes_between(schedule, now, due)
            if due > now
            else -business_minutes_between(schedule, due, now)
        )
    return {
        "due": due,
        "business_minutes_left": None if left is None else round(left, 1),
        "running": due is not None and not done,
        "breached_at": getattr(ticket, f"{name}_breached_at"),
    }
