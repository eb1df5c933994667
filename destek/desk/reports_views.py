"""The desk's reports page: service levels, volume, backlog, times, satisfaction, the knowledge
base's deflections and when tickets arrive; each section as a chart, a table and a CSV file.

Agents see the departments they work in, admins every department (the same door as the
queue: `Ticket.objects.visible_to`). The figures come from `tickets.reports`,
`surveys.report` and `kb.reports`, each an aggregate query.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any, TypeVar, cast

from django import forms
from django.http import HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import get_language, gettext_lazy
from django.utils.translation import gettext as _

from destek.accounts.http import AuthenticatedHttpRequest
from destek.desk.views import agent_only
from destek.kb.reports import deflection_totals
from destek.lib import dates
from destek.surveys.report import satisfaction
from destek.tickets import reports
from destek.tickets.choices import Channel
from destek.tickets.models import Department, Ticket, agent_department_ids

SECTIONS = ("sla", "volume", "backlog", "times", "csat", "kb", "heatmap")
MAX_DAYS = 366


GROUP_CHOICES: list[tuple[str, Any]] = [
    ("department", gettext_lazy("Department")),
    ("agent", gettext_lazy("Agent")),
    ("channel", gettext_lazy("Channel")),
    ("day", gettext_lazy("Day")),
    ("week", gettext_lazy("Week")),
    ("month", gettext_lazy("Month")),
]


class ReportFilters(forms.Form):
    start = forms.DateField(label=gettext_lazy("From"), required=False)
    end = forms.DateField(label=gettext_lazy("To"), required=False)
    department = forms.ChoiceField(label=gettext_lazy("Department"), required=False)
    channel = forms.ChoiceField(label=gettext_lazy("Channel"), required=False)
    group_by = forms.ChoiceField(
        label=gettext_lazy("Group by"),
        required=False,
        choices=GROUP_CHOICES,
    )

    def __init__(self, data: Any, departments: list[Department]) -> None:
        super().__init__(data)
        everyone = ("", _("All"))
        department = cast(forms.ChoiceField, self.fields["department"])
        department.choices = [everyone] + [(d.slug, d.name) for d in departments]
        cast(forms.ChoiceField, self.fields["channel"]).choices = [everyone, *Channel.choices]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        start, end = data.get("start"), data.get("end")
        if start and end:
            if end < start:
                raise forms.ValidationError(_("The period must end after it starts."))
            if (end - start).days > MAX_DAYS:
                raise forms.ValidationError(_("A report covers at most a year."))
        return data


@dataclass(frozen=True)
class Period:
    first: date
    last: date
    start: datetime
    end: datetime


def _period(first: date | None, last: date | None) -> Period:
    """Whole days in the company's time zone, the last one included; 30 days by default."""
    zone = reports.company_zone()
    today = timezone.now().astimezone(zone).date()
    last = last or today
    first = first or last - timedelta(days=29)
    start = datetime.combine(first, time.min, tzinfo=zone)
    end = datetime.combine(last + timedelta(days=1), time.min, tzinfo=zone)
    return Period(first, last, start, end)


def _bars(
    rows: list[dict[str, Any]], value: str, scale: float | None = None
) -> list[dict[str, Any]]:
    """Each row with the length of its bar, 0-100, against the largest (or `scale`)."""
    top = scale or max((row[value] or 0 for row in rows), default=0) or 1
    return [{**row, "pct": round(100 * (row[value] or 0) / top, 1)} for row in rows]


@agent_only
def page(request: AuthenticatedHttpRequest) -> HttpResponse:
    user = request.user
    allowed = None if user.is_admin else agent_department_ids(user)
    departments = list(
        Department.objects.order_by("position", "name")
        if allowed is None
        else Department.objects.filter(pk__in=allowed).order_by("position", "name")
    )
    form = ReportFilters(request.GET or None, departments)
    valid = form.is_valid() if request.GET else True
    data = form.cleaned_data if request.GET and valid else {}
    period = _period(data.get("start"), data.get("end"))
    department = data.get("department") or ""
    channel = data.get("channel") or ""
    group_by = data.get("group_by") or "department"
    tickets = Ticket.objects.visible_to(user)
    department_ids = [d.pk for d in departments]
    if department:
        tickets = tickets.filter(department__slug=department)
        department_ids = [d.pk for d in departments if d.slug == department]
    if channel:
        tickets = tickets.filter(channel=channel)
    ticket_group = group_by if group_by in reports.GROUPINGS else "department"
    section = request.GET.get("section", "") if request.GET.get("format") == "csv" else ""
    figures = _figures(
        section or None,
        tickets=tickets,
        period=period,
        ticket_group=ticket_group,
        group_by=group_by,
        department_ids=None if allowed is None and not department else department_ids,
        channel=channel,
    )
    if section in SECTIONS:
        return _csv(section, figures, period)
    language = get_language() or "en"
    heat = figures["heatmap"]
    top = max((count for row in heat for count in row), default=0) or 1
    channel_names = dict(Channel.choices)
    groupings = dict(GROUP_CHOICES)
    return render(
        request,
        "desk/reports.html",
        {
            "form": form,
            "period": period,
            "group_by": group_by,
            "ticket_group": ticket_group,
            "sla_group_label": groupings[ticket_group],
            "csat_group_label": groupings[group_by],
            "sla": figures["sla"],
            "volume_channel": _bars(
                [
                    {**row, "label": channel_names.get(row["group"], row["group"])}
                    for row in figures["volume"].by_channel
                ],
                "tickets",
            ),
            "volume_department": _bars(figures["volume"].by_department, "tickets"),
            "volume_total": figures["volume"].total,
            "backlog": _bars(figures["backlog"], "tickets"),
            "times": figures["times"],
            "csat": [
                {
                    **row,
                    "label": channel_names.get(row["label"], row["label"])
                    if group_by == "channel"
                    else row["label"],
                    "bars": [
                        (_("Speed"), row["speed"], _pct(row["speed"])),
                        (_("Clarity"), row["clarity"], _pct(row["clarity"])),
                        (_("Tone"), row["tone"], _pct(row["tone"])),
                    ],
                }
                for row in figures["csat"]
            ],
            "kb": figures["kb"],
            "heatmap": [
                {
                    "day": name,
                    "cells": [
                        {"hour": hour, "count": count, "level": round(count / top, 2)}
                        for hour, count in enumerate(row)
                    ],
                }
                for name, row in _week_from(
                    dates.first_weekday(language),
                    list(zip(dates.weekday_names(language), heat, strict=True)),
                )
            ],
            "hours": list(range(24)),
            "query": request.GET.urlencode(),
        },
    )


_T = TypeVar("_T")


def _week_from(first: int, days: list[_T]) -> list[_T]:
    """Monday-first `days`, starting on the reader's first weekday (Saturday in Persian)."""
    return days[first:] + days[:first]


def _pct(score: float | None) -> float:
    return 0 if score is None else round(100 * score / 5, 1)


def _figures(
    section: str | None,
    *,
    tickets: Any,
    period: Period,
    ticket_group: str,
    group_by: str,
    department_ids: list[int] | None,
    channel: str,
) -> dict[str, Any]:
    """The figures the page (or one CSV section) needs, each computed only when asked."""
    start, end = period.start, period.end
    wanted = {section} if section else set(SECTIONS)
    found: dict[str, Any] = {}
    if "sla" in wanted:
        found["sla"] = reports.attainment(tickets, start, end, ticket_group)  # type: ignore[arg-type]
    if "volume" in wanted:
        found["volume"] = reports.volume(tickets, start, end)
    if "backlog" in wanted:
        found["backlog"] = reports.backlog(tickets)
    if "times" in wanted:
        found["times"] = reports.median_minutes(tickets, start, end)
    if "csat" in wanted:
        found["csat"] = satisfaction(
            start, end, group_by, department_ids=department_ids, channel=channel or None
        )
    if "kb" in wanted:
        found["kb"] = deflection_totals(start, end)
    if "heatmap" in wanted:
        found["heatmap"] = reports.heatmap(tickets, start, end)
    return found


def safe_cell(value: Any) -> Any:
    """A cell a spreadsheet will not run: text starting with = + - @ (or a tab or carriage
    return) gets a leading apostrophe. Numbers stay numbers."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def _csv(section: str, figures: dict[str, Any], period: Period) -> HttpResponse:
    """One section as CSV: UTF-8 with a byte-order mark (so Excel reads Azerbaijani and
    Persian right), plain values (no localised digits or separators)."""
    header: list[str]
    rows: list[list[Any]]
    if section == "sla":
        header = [
            "group",
            "label",
            "tickets",
            "first_response_met",
            "first_response_breached",
            "first_response_share_met",
            "resolution_met",
            "resolution_breached",
            "resolution_share_met",
        ]
        rows = [[row[key] for key in header] for row in figures["sla"]]
    elif section == "volume":
        header = ["kind", "group", "label", "tickets"]
        volume = figures["volume"]
        rows = [["channel", r["group"], r["label"], r["tickets"]] for r in volume.by_channel]
        rows += [["department", r["group"], r["label"], r["tickets"]] for r in volume.by_department]
    elif section == "backlog":
        header = ["age", "tickets"]
        rows = [[row["bucket"], row["tickets"]] for row in figures["backlog"]]
    elif section == "times":
        header = [
            "first_response_business_minutes",
            "resolution_business_minutes",
            "answered",
            "resolved",
        ]
        rows = [[figures["times"][key] for key in header]]
    elif section == "csat":
        header = [
            "group",
            "label",
            "answers",
            "speed",
            "clarity",
            "tone",
            "solved_share",
            "unhappy_share",
            "sent",
            "response_rate",
        ]
        rows = [[row[key] for key in header] for row in figures["csat"]]
    elif section == "kb":
        header = ["suggested_opens", "deflections", "filed_anyway"]
        kb = figures["kb"]
        rows = [[kb["opens"], kb["deflected"], kb["filed"]]]
    else:
        header = ["weekday", *[str(hour) for hour in range(24)]]
        names = dates.weekday_names("en", "wide")
        rows = [[names[day], *counts] for day, counts in enumerate(figures["heatmap"])]
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out)
    writer.writerow(header)
    for row in rows:
        writer.writerow(["" if cell is None else safe_cell(cell) for cell in row])
    response = HttpResponse(out.getvalue(), content_type="text/csv; charset=utf-8")
    name = f"destek-{section}-{period.first.isoformat()}-{period.last.isoformat()}.csv"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response
