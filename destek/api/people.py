"""Who else takes part in a ticket, through the API: the addresses copied on it (CC).

The customer who filed a ticket, and agents who work it, list, add and remove them; the rules
(one plain address, not ours, not the customer's, at most a few, a rate limit) are the
action's, so the portal and the desk refuse the same things with the same words."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Router, Schema, Status
from pydantic import ConfigDict, Field, PlainSerializer

from destek.accounts.http import ApiRequest
from destek.accounts.models import User
from destek.lib.errors import ActionRefused
from destek.tickets import actions
from destek.tickets.access import access_ticket
from destek.tickets.models import Ticket, TicketCC

router = Router(tags=["tickets"])

Instant = Annotated[datetime, PlainSerializer(lambda d: d.isoformat(), return_type=str)]


class ErrorOut(Schema):
    detail: str
    code: str


class CCIn(Schema):
    model_config = ConfigDict(extra="forbid")

    # Checked by the action (one plain address); the length only guards the parser.
    address: str = Field(max_length=500)


class CCOut(Schema):
    address: str
    added_at: Instant


def _copied(ticket: Ticket) -> list[TicketCC]:
    return list(TicketCC.objects.filter(ticket=ticket).order_by("pk"))


def _manager(user: User, number: int) -> Ticket:
    """The ticket through the one door; its copied addresses are for the customer who filed
    it and for agents (a colleague reading a shared ticket gets the action's 403)."""
    ticket = access_ticket(user, number)
    if user.is_customer and ticket.customer_id != user.pk:
        raise ActionRefused(
            "not_your_ticket",
            _("Only the customer who filed this ticket can change it."),
            status=403,
        )
    return ticket


@router.get(
    "/tickets/{number}/cc",
    response={200: list[CCOut], 403: ErrorOut, 404: ErrorOut},
    summary="The addresses copied on a ticket",
)
def list_cc(request: HttpRequest, number: int) -> list[TicketCC]:
    user: User = request.auth  # type: ignore[attr-defined]
    return _copied(_manager(user, number))


@router.post(
    "/tickets/{number}/cc",
    response={
        200: list[CCOut],
        403: ErrorOut,
        404: ErrorOut,
        409: ErrorOut,
        422: ErrorOut,
        429: ErrorOut,
    },
    summary="Copy an address on a ticket: it gets the public replies and may answer by mail",
)
def add_cc(request: ApiRequest, number: int, payload: CCIn) -> Status[Any]:
    user: User = request.auth
    ticket = _manager(user, number)
    actions.add_cc(ticket, by=user, address=payload.address)
    return Status(200, _copied(ticket))


@router.delete(
    "/tickets/{number}/cc",
    response={200: list[CCOut], 403: ErrorOut, 404: ErrorOut},
    summary="Stop copying an address on a ticket",
)
def remove_cc(request: ApiRequest, number: int, payload: CCIn) -> Status[Any]:
    user: User = request.auth
    ticket = _manager(user, number)
    actions.remove_cc(ticket, by=user, address=payload.address)
    return Status(200, _copied(ticket))
