"""The SLA report: how first responses did, per department and priority, over a period."""

from __future__ import annotations

import statistics
from collections import defaultdict
from datetime import datetime
from typing import Any

from django.db.models import QuerySet

from destek.sla.clocks import Schedules
from destek.sla.engine import business_minutes_between

#: Reports read at most this many tickets: a period that holds more must be made shorter.
REPORT_LIMIT = 200_000


def first_response_report(
    tickets: QuerySet[Any], start: datetime, end: datetime
) -> list[dict[str, Any]]:
    rows = (
        tickets.filter(created_at__gte=start, created_at__lt=end)
        .values_list(
            "department__slug",
            "priority",
            "created_at",
            "first_response_at",
            "first_response_due",
            "first_response_breached_at",
            "sla_policy__calendar_id",
        )
        .order_by()[:REPORT_LIMIT]
    )
    schedules = Schedules()
    groups: dict[tuple[str, str], dict[str, Any]] = defaultdict(
        lambda: {"tickets": 0, "met": 0, "breached": 0, "minutes": []}
    )
    for department, priority, created, responded, due, breached_at, calendar_id in rows:
        group = groups[(department, priority)]
        group["tickets"] += 1
        late = breached_at is not None or (
            responded is not None and due is not None and responded > due
        )
        if late:
            group["breached"] += 1
        elif responded is not None:
            group["met"] += 1
        if responded is not None and calendar_id is not None:
            schedule = schedules.get(calendar_id)
            group["minutes"].append(business_minutes_between(schedule, created, responded))
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
