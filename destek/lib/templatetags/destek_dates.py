"""`{% load destek_dates %}`: dates, numbers and clocks in the reader's language and calendar.

{{ ticket.created_at|when }}             4 December 2026, 18:05 / ۱۳ آذر ۱۴۰۵، ۱۸:۰۵
{{ ticket.updated_at|when:"short" }}     04/12/2026, 18:05
{{ article.updated_at|when:"date" }}     4 December 2026
{{ due|deadline }}                       for "We will answer by {when}."
{{ clock.business_minutes_left|time_left }}   2 hr, 40 min left / overdue by 25 min
{{ count|num }}  {{ ticket.number|digits }}
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from django import template

from destek.lib import dates

register = template.Library()
STYLES: dict[str, dates.Style] = {"date": "date", "short": "short", "medium": "medium"}


@register.filter
def when(value: datetime | date | None, style: str = "medium") -> str:
    if value is None or value == "":
        return ""
    return dates.format_when(value, style=STYLES.get(style, "medium"))


@register.filter
def deadline(value: datetime | None) -> str:
    return "" if value is None else dates.format_deadline(value)


@register.filter
def time_left(minutes: float | None) -> str:
    return "" if minutes is None else dates.format_time_left(minutes)


@register.filter
def num(value: int | float | Literal[""] | None) -> str:
    return "" if value is None or value == "" else dates.format_number(value)


@register.filter
def digits(value: object) -> str:
    """Persian numerals on a Persian page for identifiers such as a ticket number."""
    return dates.localize_digits(str(value))
