"""The SLA report: how first responses did, per department and priority, over a period."""

from __future__ import annotations

import statistics
from collections import defaultdict
from datetime import datetime
from typing import Any

from django.db.models import QuerySet

#: Reports read at most this many tickets: a period that holds more must be made shorter.
REPORT_LIMIT = 200_000


def first_response_report(
    tickets: QuerySet[Any], start: datetime, end: datetime
) -> list[dict[str, Any]]:
    """Per department and priority (as people and routing set it, not raised by a breach):
    tickets filed in the period, first responses met and breached (only where a target
    applied), the share met, and the median first response in business minutes on the
    policy's calendar, paused time left out, as each ticket keeps it
    (`first_response_business_minutes`)."""
    rows = list(
        tickets.filter(created_at__gte=start, created_at__lt=end)
        .values_list(
            "department__slug",
            "policy_priority",
            "priority",
            "first_response_at",
            "first_response_due",
            "first_response_breached_at",
            "first_response_business_minutes",
        )
        .order_by()[:REPORT_LIMIT]
    )
    groups: dict[tuple[str, str], dict[str, Any]] = defaultdict(
        lambda: {"tickets": 0, "met": 0, "breached": 0, "minutes": []}
    )
    for department, policy_priority, priority, responded, due, breached_at, minutes in rows:
        group = groups[(department, policy_priority or priority)]
        group["tickets"] += 1
        late = breached_at is not None or (
            responded is not None and due is not None and responded > due
        )
        if late:
            group["breached"] += 1
        elif responded is not None and due is not None:
            group["met"] += 1
        if minutes is not None:
            # Kept on the ticket at its first answer (clocks.store_business_minutes).
            group["minutes"].append(minutes)
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
