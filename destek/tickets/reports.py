"""Ticket reports for the desk and the API: service-level attainment, volume, backlog by age,
median times and when tickets arrive.

Each figure is one aggregate query over the tickets given (already narrowed to what the
reader may see): the database counts, Python only arranges the few rows that come back, so
the cost does not grow with a Python loop over a million tickets. The period is half-open,
[start, end), on `created_at`; the backlog is the open tickets now, whatever their age.
"""

from __future__ import annotations

import statistics
import zoneinfo
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from django.conf import settings
from django.db import connection
from django.db.models import (
    Aggregate,
    Count,
    F,
    FloatField,
    Q,
    QuerySet,
)
from django.db.models.functions import TruncHour
from django.utils import timezone

from destek.tickets.choices import ACTIVE_STATUSES

GroupBy = Literal["agent", "department", "channel"]
GROUPINGS: tuple[GroupBy, ...] = ("agent", "department", "channel")

#: The field a grouping reads on a ticket, and the one that names it for people.
GROUP_FIELDS: dict[str, tuple[str, str]] = {
    "agent": ("assignee__email", "assignee__full_name"),
    "department": ("department__slug", "department__name"),
    "channel": ("channel", "channel"),
}

#: Backlog age buckets: (key, lower bound in days, upper bound in days or None).
AGE_BUCKETS: tuple[tuple[str, int, int | None], ...] = (
    ("0-1d", 0, 1),
    ("1-3d", 1, 3),
    ("3-7d", 3, 7),
    ("7-30d", 7, 30),
    ("30d+", 30, None),
)


def company_zone() -> zoneinfo.ZoneInfo:
    """The company's time zone (`DESTEK_TIME_ZONE`): the heatmap's weekdays and hours."""
    return zoneinfo.ZoneInfo(settings.TIME_ZONE)


def in_period(tickets: QuerySet[Any], start: datetime, end: datetime) -> QuerySet[Any]:
    return tickets.filter(created_at__gte=start, created_at__lt=end)


# --- service-level attainment -------------------------------------------------------------------

_FIRST_LATE = Q(first_response_breached_at__isnull=False) | Q(
    first_response_at__isnull=False,
    first_response_due__isnull=False,
    first_response_at__gt=F("first_response_due"),
)
_FIRST_MET = Q(
    first_response_breached_at__isnull=True,
    first_response_at__isnull=False,
    first_response_due__isnull=False,
    first_response_at__lte=F("first_response_due"),
)
_RESOLUTION_LATE = Q(resolution_breached_at__isnull=False) | Q(
    resolved_at__isnull=False,
    resolution_due__isnull=False,
    resolved_at__gt=F("resolution_due"),
)
_RESOLUTION_MET = Q(
    resolution_breached_at__isnull=True,
    resolved_at__isnull=False,
    resolution_due__isnull=False,
    resolved_at__lte=F("resolution_due"),
)


def _share(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def attainment(
    tickets: QuerySet[Any], start: datetime, end: datetime, group_by: GroupBy
) -> list[dict[str, Any]]:
    """Per agent (the assignee), department or channel: tickets filed in the period, first
    responses and resolutions met and breached (only where a target applied) and the share
    met of those decided. One query."""
    key, label = GROUP_FIELDS[group_by]
    found = (
        in_period(tickets, start, end)
        .order_by()
        .values(key, label)
        .annotate(
            tickets=Count("created_at"),
            first_met=Count("created_at", filter=_FIRST_MET),
            first_breached=Count("created_at", filter=_FIRST_LATE),
            resolution_met=Count("created_at", filter=_RESOLUTION_MET),
            resolution_breached=Count("created_at", filter=_RESOLUTION_LATE),
        )
    )
    rows = []
    for row in found:
        first = row["first_met"] + row["first_breached"]
        resolution = row["resolution_met"] + row["resolution_breached"]
        rows.append(
            {
                "group": row[key] or "",
                "label": row[label] or row[key] or "",
                "tickets": row["tickets"],
                "first_response_met": row["first_met"],
                "first_response_breached": row["first_breached"],
                "first_response_share_met": _share(row["first_met"], first),
                "resolution_met": row["resolution_met"],
                "resolution_breached": row["resolution_breached"],
                "resolution_share_met": _share(row["resolution_met"], resolution),
            }
        )
    rows.sort(key=lambda row: (-row["tickets"], row["group"]))
    return rows


# --- volume -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Volume:
    by_channel: list[dict[str, Any]]
    by_department: list[dict[str, Any]]
    total: int


def volume(tickets: QuerySet[Any], start: datetime, end: datetime) -> Volume:
    """Tickets filed in the period per channel and per department: one query grouped by
    both, summed here (a few dozen rows at most)."""
    channels: dict[str, int] = {}
    departments: dict[str, dict[str, Any]] = {}
    total = 0
    for row in (
        in_period(tickets, start, end)
        .order_by()
        .values("channel", "department__slug", "department__name")
        .annotate(count=Count("created_at"))
    ):
        count = row["count"]
        total += count
        channels[row["channel"]] = channels.get(row["channel"], 0) + count
        slug = row["department__slug"]
        entry = departments.setdefault(
            slug, {"group": slug, "label": row["department__name"], "tickets": 0}
        )
        entry["tickets"] += count
    by_channel: list[dict[str, Any]] = [
        {"group": channel, "label": channel, "tickets": count}
        for channel, count in channels.items()
    ]
    by_channel.sort(key=lambda row: (-row["tickets"], row["group"]))
    by_department = sorted(departments.values(), key=lambda row: (-row["tickets"], row["group"]))
    return Volume(by_channel=by_channel, by_department=by_department, total=total)


# --- backlog ------------------------------------------------------------------------------------


def backlog(tickets: QuerySet[Any], now: datetime | None = None) -> list[dict[str, Any]]:
    """The open tickets (new, open, pending) now, counted by age since they were filed. One
    query; the partial index on active tickets keeps it off the closed ones."""
    now = now or timezone.now()
    counts: dict[str, Any] = {}
    for key, low, high in AGE_BUCKETS:
        condition = Q(created_at__lte=now - timedelta(days=low))
        if high is not None:
            condition &= Q(created_at__gt=now - timedelta(days=high))
        counts[key.replace("-", "_").replace("+", "_plus")] = Count("created_at", filter=condition)
    found = (
        tickets.filter(status__in=[status.value for status in ACTIVE_STATUSES])
        .order_by()
        .aggregate(**counts)
    )
    return [
        {"bucket": key, "tickets": found[key.replace("-", "_").replace("+", "_plus")] or 0}
        for key, _low, _high in AGE_BUCKETS
    ]


# --- median times -------------------------------------------------------------------------------


class _Median(Aggregate):
    """PostgreSQL's ordered-set median of a number."""

    function = "percentile_cont"
    name = "Median"
    template = "%(function)s(0.5) WITHIN GROUP (ORDER BY %(expressions)s)"
    output_field = FloatField()


def median_minutes(tickets: QuerySet[Any], start: datetime, end: datetime) -> dict[str, Any]:
    """The median business minutes from filing to the first answer and to resolution of the
    tickets filed in the period that have them: the minutes each ticket keeps
    (`first_response_business_minutes`, `resolution_business_minutes`, set by the clocks
    when it happens), so on its policy's calendar with paused time left out. Tickets without
    a policy have none and are not counted. PostgreSQL computes the medians itself, from the
    report index alone; SQLite (small installs) reads the minutes."""
    period = in_period(tickets, start, end).order_by()
    answered = Q(first_response_business_minutes__isnull=False)
    resolved = Q(resolution_business_minutes__isnull=False)
    if connection.vendor == "postgresql":
        found = period.aggregate(
            first=_Median("first_response_business_minutes", filter=answered),
            resolution=_Median("resolution_business_minutes", filter=resolved),
            answered=Count("created_at", filter=answered),
            resolved=Count("created_at", filter=resolved),
        )
        return {
            "first_response_business_minutes": _rounded(found["first"]),
            "resolution_business_minutes": _rounded(found["resolution"]),
            "answered": found["answered"],
            "resolved": found["resolved"],
        }
    firsts: list[int] = []
    resolutions: list[int] = []
    for first, resolution in (
        period.filter(answered | resolved)
        .values_list("first_response_business_minutes", "resolution_business_minutes")
        .iterator(chunk_size=5_000)
    ):
        if first is not None:
            firsts.append(first)
        if resolution is not None:
            resolutions.append(resolution)
    return {
        "first_response_business_minutes": (
            _rounded(statistics.median(firsts)) if firsts else None
        ),
        "resolution_business_minutes": (
            _rounded(statistics.median(resolutions)) if resolutions else None
        ),
        "answered": len(firsts),
        "resolved": len(resolutions),
    }


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(float(value), 1)


# --- heatmap ------------------------------------------------------------------------------------


def heatmap(tickets: QuerySet[Any], start: datetime, end: datetime) -> list[list[int]]:
    """Tickets filed in the period by weekday (Monday first) and hour in the company's time
    zone: seven rows of 24 counts. One query, grouped by the local hour (at most 24 a day,
    8,784 a year), which PostgreSQL hashes; grouping by weekday and hour themselves made it
    sort every ticket of the period (4x slower at a month of a million tickets)."""
    zone = company_zone()
    grid = [[0] * 24 for _ in range(7)]
    for row in (
        in_period(tickets, start, end)
        .order_by()
        .annotate(slot=TruncHour("created_at", tzinfo=zone))
        .values("slot")
        .annotate(count=Count("created_at"))
    ):
        slot = row["slot"].astimezone(zone)
        grid[slot.weekday()][slot.hour] += row["count"]
    return grid
