"""Satisfaction report: the answers' averages per dimension, the share solved and unhappy,
and how many surveys went out and were answered, per agent, department, channel or period.

Two aggregate queries whatever the number of answers: one over the answers of the period
(by `answered_at`), one over the surveys sent in it (by `sent_at`), joined here by group.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from django.db.models import Avg, Count, Exists, F, OuterRef, Q, QuerySet
from django.db.models.functions import TruncDay, TruncMonth, TruncWeek

from destek.surveys.models import SurveyAnswer, SurveySent
from destek.tickets.reports import company_zone

CsatGroup = Literal["agent", "department", "channel", "day", "week", "month"]
CSAT_GROUPINGS: tuple[str, ...] = ("agent", "department", "channel")
PERIODS: tuple[str, ...] = ("day", "week", "month")

UNHAPPY = Q(solved=False) | Q(speed__lte=2) | Q(clarity__lte=2) | Q(tone__lte=2)

#: For each grouping: (field on the answer, its label), (field on the survey sent, its label).
_FIELDS: dict[str, tuple[tuple[str, str], tuple[str, str]]] = {
    "agent": (("agent__email", "agent__full_name"), ("agent__email", "agent__full_name")),
    "department": (
        ("department__slug", "department__name"),
        ("department__slug", "department__name"),
    ),
    "channel": (("channel", ""), ("channel", "")),
}
_TRUNC = {"day": TruncDay, "week": TruncWeek, "month": TruncMonth}


def satisfaction(
    start: datetime,
    end: datetime,
    group_by: str,
    *,
    department_ids: list[int] | None = None,
    channel: str | None = None,
) -> list[dict[str, Any]]:
    """One row per group: answers, average speed, clarity and tone (1-5), share solved,
    share unhappy (not solved, or any score of 2 or less), surveys sent and the response
    rate (the share of the surveys sent in the period that were answered). `department_ids`
    None means every department."""
    answers: QuerySet[SurveyAnswer] = SurveyAnswer.objects.filter(
        answered_at__gte=start, answered_at__lt=end
    )
    sent: QuerySet[SurveySent] = SurveySent.objects.filter(sent_at__gte=start, sent_at__lt=end)
    if department_ids is not None:
        answers = answers.filter(department_id__in=department_ids)
        sent = sent.filter(department_id__in=department_ids)
    if channel:
        answers = answers.filter(channel=channel)
        sent = sent.filter(channel=channel)
    if group_by in _TRUNC:
        trunc = _TRUNC[group_by]
        zone = company_zone()
        answers = answers.annotate(key=trunc("answered_at", tzinfo=zone))
        sent = sent.annotate(key=trunc("sent_at", tzinfo=zone))
        answer_fields: tuple[str, ...] = ("key",)
        sent_fields: tuple[str, ...] = ("key",)
    else:
        (answer_key, answer_label), (sent_key, sent_label) = _FIELDS[group_by]
        answers = answers.annotate(key=F(answer_key))
        sent = sent.annotate(key=F(sent_key))
        answer_fields = ("key", answer_label) if answer_label else ("key",)
        sent_fields = ("key", sent_label) if sent_label else ("key",)
    groups: dict[Any, dict[str, Any]] = {}
    for row in (
        answers.order_by()
        .values(*answer_fields)
        .annotate(
            n_answers=Count("answered_at"),
            avg_speed=Avg("speed"),
            avg_clarity=Avg("clarity"),
            avg_tone=Avg("tone"),
            n_solved=Count("answered_at", filter=Q(solved=True)),
            n_unhappy=Count("answered_at", filter=UNHAPPY),
        )
    ):
        entry = groups.setdefault(_key(row["key"]), _empty(row, answer_fields))
        entry.update(
            answers=row["n_answers"],
            speed=_round(row["avg_speed"]),
            clarity=_round(row["avg_clarity"]),
            tone=_round(row["avg_tone"]),
            solved_share=_share(row["n_solved"], row["n_answers"]),
            unhappy_share=_share(row["n_unhappy"], row["n_answers"]),
        )
    # A response is an answer to a survey sent: a ticket rated before its survey went out (in
    # the portal, or by the API) is never sent one, and would lift the rate above 100 %.
    answered = Exists(SurveyAnswer.objects.filter(ticket_id=OuterRef("ticket_id")))
    for row in (
        sent.order_by()
        .values(*sent_fields)
        .annotate(n_sent=Count("sent_at"), n_answered=Count("sent_at", filter=answered))
    ):
        entry = groups.setdefault(_key(row["key"]), _empty(row, sent_fields))
        entry["sent"] = row["n_sent"]
        entry["answered"] = row["n_answered"]
    for entry in groups.values():
        entry["response_rate"] = _share(entry.pop("answered", 0), entry["sent"])
    rows = list(groups.values())
    if group_by in _TRUNC:
        rows.sort(key=lambda row: row["group"])
    else:
        rows.sort(key=lambda row: (-row["answers"], -row["sent"], row["group"]))
    return rows


def _key(value: Any) -> str:
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return value or ""


def _empty(row: dict[str, Any], fields: tuple[str, ...]) -> dict[str, Any]:
    key = _key(row["key"])
    label = row.get(fields[1]) if len(fields) > 1 else None
    return {
        "group": key,
        "label": label or key,
        "answers": 0,
        "speed": None,
        "clarity": None,
        "tone": None,
        "solved_share": None,
        "unhappy_share": None,
        "sent": 0,
        "response_rate": None,
    }


def _round(value: float | None) -> float | None:
    return None if value is None else round(float(value), 2)


def _share(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None
