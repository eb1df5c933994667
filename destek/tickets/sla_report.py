"""The SLA report: how first responses did, per department and priority, over a period."""

from __future__ import annotations

import statistics
from collections import defaultdict
from datetime import datetime
from typing import Any

from django.db.models import QuerySet

from destek.sla.engine import business_minutes_between
from destek.tickets.choices import EventKind
from destek.tickets.clocks import Schedules, running_intervals
from destek.tickets.models import TicketEvent

#: Reports read at most this many tickets: a period that holds more must be made shorter.
REPORT_LIMIT = 200_000


def first_response_report(
    tickets: QuerySet[Any], start: datetime, end: datetime
) -> list[dict[str, Any]]:
    """Per department and priority (as people and routing set it, not raised by a breach):
    tickets filed in the period, first responses met and breached (only where a target
    applied), the share met, and the median first response in business minutes on the
    policy's calendar, paused time left out."""
    rows = list(
        tickets.filter(created_at__gte=start, created_at__lt=end)
        .values_list(
            "pk",
            "department__slug",
            "policy_priority",
            "priority",
            "status",
            "created_at",
            "first_response_at",
            "first_response_due",
            "first_response_breached_at",
            "sla_policy__calendar_id",
        )
        .order_by()[:REPORT_LIMIT]
    )
    answered = [row[0] for row in rows if row[6] is not None]
    changes: dict[int, list[tuple[datetime, str, str]]] = defaultdict(list)
    for ticket_id, at, old, new in (
        TicketEvent.objects.filter(ticket_id__in=answered, kind=EventKind.STATUS)
        .order_by("ticket_id", "id")
        .values_list("ticket_id", "created_at", "from_value", "to_value")
        .iterator(chunk_size=5_000)
    ):
        changes[ticket_id].append((at, old, new))
    schedules = Schedules()
    groups: dict[tuple[str, str], dict[str, Any]] = defaultdict(
        lambda: {"tickets": 0, "met": 0, "breached": 0, "minutes": []}
    )
    for (
        pk,
        department,
        policy_priority,
        priority,
        status,
        created,
        responded,
        due,
        breached_at,
        calendar_id,
    ) in rows:
        group = groups[(department, policy_priority or priority)]
        group["tickets"] += 1
        late = breached_at is not None or (
            responded is not None and due is not None and responded > due
        )
        if late:
            group["breached"] += 1
        elif responded is not None and due is not None:
            group["met"] += 1
        if responded is not None and calendar_id is not None:
            schedule = schedules.get(calendar_id)
            spans = running_intervals(_AsOf(status), created, changes[pk])
            group["minutes"].append(_minutes_until(schedule, spans, responded))
    report = []
    for (department, priority), group in sorted(groups.items()):
        decided = group["met"] + group["breached"]
        minutes = group["minutes"]
        report.append(
            {
                "department": department,
                "priority": priority,
                "tickets": group["tickets"],
                "first_response_met": group["met"],
                "first_response_breached": group["breached"],
                "share_met": round(group["met"] / decided, 4) if decided else None,
                "median_first_response_business_minutes": (
                    round(statistics.median(minutes), 1) if minutes else None
                ),
            }
        )
    return report


class _AsOf:
    """Just enough of a ticket for `running_intervals`: its current status."""

    def __init__(self, status: str) -> None:
        self.status = status


def _minutes_until(
    schedule: Any, spans: list[tuple[datetime, datetime | None]], until: datetime
) -> float:
    total = 0.0
    for begin, end in spans:
        if begin >= until:
            break
        stop = until if end is None or end > until else end
        total += business_minutes_between(schedule, begin, stop)
    return total
