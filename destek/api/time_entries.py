"""`POST /tickets/{number}/time`: an agent logs time spent on a ticket."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db.models import Sum
from ninja import Field, Router, Schema, Status

from destek.accounts.http import ApiRequest
from destek.api.idempotency import idempotent
from destek.api.tickets import ErrorOut
from destek.tickets import actions
from destek.tickets.access import access_ticket
from destek.tickets.models import TimeEntry

router = Router(tags=["tickets"])


class TimeIn(Schema):
    minutes: int = Field(ge=1, le=actions.MINUTES_MAX)
    note: str = Field("", max_length=200)


class TimeOut(Schema):
    id: int
    minutes: int
    note: str
    agent: str
    created_at: datetime
    ticket_minutes: int


@router.post(
    "/tickets/{number}/time",
    response={200: TimeOut, 201: TimeOut, 403: ErrorOut, 404: ErrorOut, 422: ErrorOut},
    summary="Agents: log minutes spent on the ticket (DESTEK_TIME_TRACKING)",
)
def log_time(request: ApiRequest, number: int, payload: TimeIn) -> Status[Any]:
    user = request.auth

    def run() -> tuple[int, Any]:
        ticket = access_ticket(user, number)
        entry = actions.log_time(ticket, agent=user, minutes=payload.minutes, note=payload.note)
        total = TimeEntry.objects.filter(ticket=ticket).aggregate(total=Sum("minutes"))["total"]
        return 201, {
            "id": entry.pk,
            "minutes": entry.minutes,
            "note": entry.note,
            "agent": user.email,
            "created_at": entry.created_at,
            "ticket_minutes": total or 0,
        }

    return Status(*idempotent(request, payload.model_dump(mode="json") | {"number": number}, run))
