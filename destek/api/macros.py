"""`GET /macros` (the agent's usable macros) and `POST /tickets/{number}/macros/{id}`
(apply one to a ticket: all its changes in one transaction, or none and why)."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Router, Schema

from destek.accounts.models import User
from destek.automation import actions
from destek.automation.models import Macro
from destek.automation.selectors import access_macro, macros_of, shown_name
from destek.lib.errors import ActionRefused
from destek.tickets.access import access_ticket
from destek.tickets.actions import tag_names
from destek.tickets.models import Ticket
from destek.tickets.schemas import TicketOut

router = Router(tags=["macros"])


class ErrorOut(Schema):
    detail: str
    code: str


class MacroOut(Schema):
    id: int
    name: str
    personal: bool
    #: The department whose tickets it is offered on; null: every department.
    department: str | None
    status: str | None
    close_reason: str | None
    priority: str | None
    set_department: str | None
    #: "me", "nobody", an agent's e-mail address, or null (left as it is).
    assignee: str | None
    add_tags: list[str]
    remove_tags: list[str]
    note: str
    #: The reply text by language ("" for any language), placeholders not filled.
    replies: dict[str, str]

    @staticmethod
    def resolve_name(macro: Macro) -> str:
        return shown_name(macro)

    @staticmethod
    def resolve_personal(macro: Macro) -> bool:
        return macro.owner_id is not None

    @staticmethod
    def resolve_department(macro: Macro) -> str | None:
        return macro.department.slug if macro.department else None

    @staticmethod
    def resolve_set_department(macro: Macro) -> str | None:
        return macro.set_department.slug if macro.set_department else None

    @staticmethod
    def resolve_status(macro: Macro) -> str | None:
        return macro.status or None

    @staticmethod
    def resolve_close_reason(macro: Macro) -> str | None:
        return macro.close_reason or None

    @staticmethod
    def resolve_priority(macro: Macro) -> str | None:
        return macro.priority or None

    @staticmethod
    def resolve_assignee(macro: Macro) -> str | None:
        if macro.assignee_choice == "agent":
            return macro.assignee.email if macro.assignee else None
        return macro.assignee_choice or None

    @staticmethod
    def resolve_add_tags(macro: Macro) -> list[str]:
        return tag_names(macro.add_tags)

    @staticmethod
    def resolve_remove_tags(macro: Macro) -> list[str]:
        return tag_names(macro.remove_tags)

    @staticmethod
    def resolve_replies(macro: Macro) -> dict[str, str]:
        return {text.language: text.body for text in macro.texts.all()}


def _agent(request: HttpRequest) -> User:
    user: User = request.auth  # type: ignore[attr-defined]
    if not user.is_agent:
        raise ActionRefused("agents_only", _("Only agents use macros."), status=403)
    return user


@router.get(
    "/macros",
    response={200: list[MacroOut], 403: ErrorOut},
    summary="Agents: the macros you may use (shared ones of your departments, and your own)",
)
def list_macros(request: HttpRequest) -> Any:
    return macros_of(_agent(request)).prefetch_related("texts")


@router.post(
    "/tickets/{number}/macros/{macro_id}",
    response={200: TicketOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut, 422: ErrorOut},
    summary="Agents: apply a macro to a ticket, all its changes or none",
)
def apply_macro(request: HttpRequest, number: int, macro_id: int) -> Ticket:
    user = _agent(request)
    with transaction.atomic():
        ticket = access_ticket(user, number)  # first: a stranger learns nothing
        changed = actions.apply_macro(ticket, access_macro(user, ticket, macro_id), agent=user)
    # Read without the door: the macro may have moved it out of the agent's departments.
    return (
        Ticket.objects.select_related("department", "customer", "assignee", "sla_policy")
        .prefetch_related("tags", "related_to", "merged_into")
        .get(pk=changed.pk)
    )
