"""`GET /reports/sla`, `GET /reports/csat` and `GET /reports/time`: for agents (their
departments) and admins (all); customers are refused."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Literal

from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import P, QueryEx, Router, Schema

from destek.accounts.http import ApiRequest
from destek.lib.errors import ActionRefused
from destek.surveys.report import CSAT_GROUPINGS, PERIODS, satisfaction
from destek.tickets.actions import tag_names
from destek.tickets.models import Department, Ticket, agent_department_ids
from destek.tickets.reports import GROUPINGS, attainment
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


class SlaGroupRow(Schema):
    group: str
    label: str
    tickets: int
    first_response_met: int
    first_response_breached: int
    first_response_share_met: float | None
    resolution_met: int
    resolution_breached: int
    resolution_share_met: float | None


class SlaGroupedReport(Schema):
    start: datetime
    end: datetime
    group_by: str
    rows: list[SlaGroupRow]


@router.get(
    "/sla",
    response={200: SlaReport | SlaGroupedReport, 403: ErrorOut, 422: ErrorOut},
    summary="First responses (and, grouped, resolutions) met and breached",
    description="Without `group_by`: per department and priority, with the median first "
    "response in business minutes. With `group_by=agent|department|channel`: first "
    "responses and resolutions met, breached and the share met per group. `from`/`to` are "
    "aliases of `start`/`end`.",
)
def sla_report(
    request: ApiRequest,
    start: datetime | None = None,
    end: datetime | None = None,
    from_: QueryEx[datetime | None, P(alias="from")] = None,
    to: datetime | None = None,
    tag: QueryEx[str | None, P(max_length=50)] = None,
    group_by: QueryEx[str | None, P(max_length=20)] = None,
    department: QueryEx[str | None, P(max_length=50)] = None,
    channel: QueryEx[str | None, P(max_length=16)] = None,
) -> dict[str, Any]:
    user = request.auth
    start, end = _period(user, start or from_, end or to)
    tickets = _tagged(Ticket.objects.visible_to(user), tag)
    if group_by is None:
        return {"start": start, "end": end, "rows": first_response_report(tickets, start, end)}
    if group_by not in GROUPINGS:
        raise ActionRefused(
            "invalid_group_by", _("Group by agent, department or channel."), field="group_by"
        )
    tickets = _narrowed(tickets, department, channel)
    rows = attainment(tickets, start, end, group_by)  # type: ignore[arg-type]
    return {"start": start, "end": end, "group_by": group_by, "rows": rows}


class CsatRow(Schema):
    group: str
    label: str
    answers: int
    speed: float | None
    clarity: float | None
    tone: float | None
    solved_share: float | None
    unhappy_share: float | None
    sent: int
    response_rate: float | None


class CsatReport(Schema):
    start: datetime
    end: datetime
    group_by: str
    rows: list[CsatRow]


@router.get(
    "/csat",
    response={200: CsatReport, 403: ErrorOut, 422: ErrorOut},
    summary="Satisfaction per agent, department, channel or period",
    description="Average speed, clarity and tone (1-5), the share solved and unhappy, surveys "
    "sent and the response rate. `group_by=agent|department|channel`, or "
    "`period=day|week|month` to group by time (in the company's time zone).",
)
def csat_report(
    request: ApiRequest,
    from_: QueryEx[datetime | None, P(alias="from")] = None,
    to: datetime | None = None,
    group_by: QueryEx[str | None, P(max_length=20)] = None,
    period: QueryEx[str | None, P(max_length=20)] = None,
    department: QueryEx[str | None, P(max_length=50)] = None,
    channel: QueryEx[str | None, P(max_length=16)] = None,
) -> dict[str, Any]:
    user = request.auth
    start, end = _period(user, from_, to)
    grouping = csat_grouping(group_by, period)
    rows = satisfaction(
        start,
        end,
        grouping,
        department_ids=department_ids_for(user, department),
        channel=channel or None,
    )
    return {"start": start, "end": end, "group_by": grouping, "rows": rows}


def csat_grouping(group_by: str | None, period: str | None) -> str:
    """The satisfaction report's grouping: a period when one is asked, else the group (by
    agent unless told), checked."""
    if period:
        if period not in PERIODS:
            raise ActionRefused(
                "invalid_period_grouping", _("Group by day, week or month."), field="period"
            )
        return period
    group = group_by or "agent"
    if group not in CSAT_GROUPINGS + PERIODS:
        raise ActionRefused(
            "invalid_group_by", _("Group by agent, department or channel."), field="group_by"
        )
    return group


def department_ids_for(user: Any, slug: str | None) -> list[int] | None:
    """The departments whose figures `user` may read (None: all, for admins), narrowed to
    the one named by `slug` when given."""
    allowed = None if user.is_admin else agent_department_ids(user)
    if not slug:
        return allowed
    ids = list(Department.objects.filter(slug=slug).values_list("pk", flat=True))
    return [pk for pk in ids if allowed is None or pk in allowed]


def _narrowed(
    tickets: QuerySet[Ticket], department: str | None, channel: str | None
) -> QuerySet[Ticket]:
    if department:
        tickets = tickets.filter(department__slug=department)
    if channel:
        tickets = tickets.filter(channel=channel)
    return tickets


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
