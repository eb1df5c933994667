"""`GET /reports/sla` and `GET /reports/time`: for agents (their departments) and admins (all)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Literal

from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import P, QueryEx, Router, Schema

from destek.accounts.http import ApiRequest
from destek.lib.errors import ActionRefused
from destek.tickets.actions import tag_names
from destek.tickets.models import Ticket
from destek.tickets.sla_report import first_response_report
from destek.tickets.time_report import time_report

router = Router(tags=["reports"])


class ErrorOut(Schema):
    detail: str
    code: str


class SlaRow(Schema):
    department: str
    priority: str
    tickets: int
    first_response_met: int
    first_response_breached: int
    share_met: float | None
    median_first_response_business_minutes: float | None


class SlaReport(Schema):
    start: datetime
    end: datetime
    rows: list[SlaRow]


@router.get(
    "/sla",
    response={200: SlaReport, 403: ErrorOut, 422: ErrorOut},
    summary="First responses met and breached, per department and priority",
)
def sla_report(
    request: ApiRequest,
    start: datetime | None = None,
    end: datetime | None = None,
    tag: QueryEx[str | None, P(max_length=50)] = None,
) -> dict[str, Any]:
    user = request.auth
    start, end = _period(user, start, end)
    tickets = _tagged(Ticket.objects.visible_to(user), tag)
    return {"start": start, "end": end, "rows": first_response_report(tickets, start, end)}


class TimeRow(Schema):
    group: str
    minutes: int
    entries: int
    tickets: int


class TimeReport(Schema):
    start: datetime
    end: datetime
    group_by: str
    rows: list[TimeRow]


@router.get(
    "/time",
    response={200: TimeReport, 403: ErrorOut, 422: ErrorOut},
    summary="Time agents logged on tickets, per agent (address) or department (slug)",
)
def time_spent_report(
    request: ApiRequest,
    start: datetime | None = None,
    end: datetime | None = None,
    group_by: Literal["agent", "department"] = "agent",
    tag: QueryEx[str | None, P(max_length=50)] = None,
) -> dict[str, Any]:
    user = request.auth
    start, end = _period(user, start, end)
    tickets = _tagged(Ticket.objects.visible_to(user), tag)
    rows = time_report(tickets, start, end, group_by)
    return {"start": start, "end": end, "group_by": group_by, "rows": rows}


def _tagged(tickets: QuerySet[Ticket], tag: str | None) -> QuerySet[Ticket]:
    """Only the tickets carrying `tag` (as the desk stores tag names), when one is given."""
    if not tag:
        return tickets
    names = tag_names(tag)
    return tickets.filter(tags__name=names[0]) if names else tickets.none()


def _period(user: Any, start: datetime | None, end: datetime | None) -> tuple[datetime, datetime]:
    """The period asked for (the last 30 days by default), checked; agents only."""
    if not user.is_agent:
        raise ActionRefused("agents_only", _("Reports are for agents."), status=403)
    end = end or timezone.now()
    start = start or end - timedelta(days=30)
    if timezone.is_naive(start) or timezone.is_naive(end):
        raise ActionRefused("naive_datetime", _("Give times with their offset, e.g. +04:00."))
    if start >= end:
        raise ActionRefused("invalid_period", _("The period must end after it starts."))
    if end - start > timedelta(days=366):
        raise ActionRefused("period_too_long", _("A report covers at most a year."))
    return start, end
