"""A ticket's satisfaction survey over JSON: the customer reads the questions and answers."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Field, Router, Schema, Status

from destek.accounts.models import User
from destek.lib.errors import ActionRefused
from destek.surveys import actions
from destek.surveys.models import SurveyAnswer
from destek.tickets.access import access_ticket
from destek.tickets.models import Ticket
from destek.tickets.schemas import Instant, TicketDetailOut

router = Router(tags=["surveys"])


class SurveyErrorOut(Schema):
    detail: str
    code: str


class RatingOut(Schema):
    speed: int
    clarity: int
    tone: int
    solved: bool
    comment: str
    answered_at: Instant
    updated_at: Instant


class QuestionOut(Schema):
    name: str
    text: str
    kind: str = Field(description="`score` (a whole number 1-5), `yes_no` or `text`.")


class SurveyOut(Schema):
    ticket: int
    questions: list[QuestionOut]
    answer: RatingOut | None


class SurveyIn(Schema):
    speed: int = Field(ge=1, le=5)
    clarity: int = Field(ge=1, le=5)
    tone: int = Field(ge=1, le=5)
    solved: bool
    comment: str = Field(default="", max_length=actions.COMMENT_MAX)


def _questions() -> list[dict[str, str]]:
    return [
        {"name": "speed", "text": _("How fast was our first answer?"), "kind": "score"},
        {"name": "clarity", "text": _("How clear were our answers?"), "kind": "score"},
        {"name": "tone", "text": _("How polite were we?"), "kind": "score"},
        {"name": "solved", "text": _("Was your problem fully solved?"), "kind": "yes_no"},
        {
            "name": "comment",
            "text": _("Anything else you want to tell us? (optional)"),
            "kind": "text",
        },
    ]


def _own_ticket(user: User, number: int) -> Ticket:
    """The customer's own ticket; anyone else's (a colleague's included) is not found, and
    agents are told the survey is the customer's."""
    ticket = access_ticket(user, number)  # first: a stranger learns nothing, not even 403
    if not user.is_customer:
        raise ActionRefused(
            "customers_only", _("Only the ticket's customer answers its survey."), status=403
        )
    if ticket.customer_id != user.pk:
        raise ActionRefused("not_found", _("Not found."), status=404)
    return ticket


def _survey(ticket: Ticket, answer: SurveyAnswer | None) -> dict[str, Any]:
    return {"ticket": ticket.number, "questions": _questions(), "answer": answer}


@router.get(
    "/tickets/{number}/survey",
    response={200: SurveyOut, 403: SurveyErrorOut, 404: SurveyErrorOut},
    summary="Customers: the survey of your ticket, and your answer if any",
)
def get_survey(request: HttpRequest, number: int) -> dict[str, Any]:
    user: User = request.auth  # type: ignore[attr-defined]
    ticket = _own_ticket(user, number)
    return _survey(ticket, actions.survey_of(ticket))


@router.post(
    "/tickets/{number}/survey",
    response={
        201: SurveyOut,
        403: SurveyErrorOut,
        404: SurveyErrorOut,
        409: SurveyErrorOut,
        422: SurveyErrorOut,
        429: SurveyErrorOut,
    },
    summary="Customers: rate your ticket (answering again replaces the answer)",
)
def post_survey(request: HttpRequest, number: int, payload: SurveyIn) -> Status[Any]:
    user: User = request.auth  # type: ignore[attr-defined]
    ticket = _own_ticket(user, number)
    answer = actions.record_answer(ticket, user, **payload.model_dump())
    return Status(201, _survey(ticket, answer))


class TicketRatedOut(TicketDetailOut):
    rating: RatingOut | None = Field(
        default=None, description="Agents and admins: the customer's survey answer, if any."
    )

    @staticmethod
    def resolve_rating(ticket: Ticket, context: dict[str, Any]) -> SurveyAnswer | None:
        viewer: User = context["request"].auth
        if not viewer.is_agent:
            return None
        return actions.survey_of(ticket)
