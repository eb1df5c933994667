"""Time agents logged on tickets, summed per agent or per department (`DESTEK_TIME_TRACKING`)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from django.db.models import Count, QuerySet, Sum

from destek.tickets.models import Ticket, TimeEntry

GROUPS = {"agent": "agent__email", "department": "ticket__department__slug"}


def time_report(
    tickets: QuerySet[Ticket],
    start: datetime,
    end: datetime,
    group_by: Literal["agent", "department"] = "agent",
) -> list[dict[str, Any]]:
    """Minutes logged in [start, end) on `tickets` (the reader's access rule), one aggregate
    statement: per group its minutes, entries and distinct tickets, most minutes first."""
    column = GROUPS[group_by]
    rows = (
        TimeEntry.objects.filter(ticket__in=tickets, created_at__gte=start, created_at__lt=end)
        .values(column)
        .annotate(
            minutes=Sum("minutes"), entries=Count("id"), tickets=Count("ticket", distinct=True)
        )
        .order_by("-minutes", column)
    )
    return [
        {
            "group": row[column],
            "minutes": row["minutes"],
            "entries": row["entries"],
            "tickets": row["tickets"],
        }
        for row in rows
    ]
