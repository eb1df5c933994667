"""The service status over JSON: anyone reads it; admins (and agents allowed to) post
incidents, their updates and planned maintenance."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from django.http import HttpRequest
from django.utils import translation
from ninja import Field, Router, Schema, Status

from destek.accounts.models import User
from destek.announcements import actions, incident_tickets, selectors
from destek.announcements.access import require_manager
from destek.announcements.models import Incident, IncidentTicket, IncidentUpdate, Maintenance
from destek.announcements.texts import html, pick
from destek.lib.errors import ActionRefused
from destek.tickets.access import access_ticket
from destek.tickets.models import Ticket
from destek.tickets.schemas import Instant

router = Router(tags=["status"])

ServiceStateName = Literal[
    "operational", "under_maintenance", "degraded", "partial_outage", "major_outage"
]
IncidentStateName = Literal["investigating", "identified", "monitoring", "resolved"]
ImpactName = Literal["degraded", "partial_outage", "major_outage"]
TEXT_DESCRIPTION = (
    "A text in the request's language (Accept-Language, else your own), or an object of "
    'texts by language: {"en": "...", "az": "..."}. Markdown.'
)


class StatusErrorOut(Schema):
    detail: str
    code: str


class ServiceOut(Schema):
    slug: str
    name: str
    group: str | None
    state: ServiceStateName = Field(
        description="What the service shows: the worst of its own state, open incidents and "
        "maintenance in progress."
    )


class UpdateOut(Schema):
    id: int
    state: IncidentStateName
    body: str
    body_html: str
    language: str
    fallback: bool = Field(description="True when the reader's language was missing.")
    created_at: Instant


class IncidentOut(Schema):
    id: int
    title: str
    language: str
    fallback: bool = Field(description="True when the reader's language was missing.")
    state: IncidentStateName
    impact: ImpactName
    services: list[str]
    areas: list[str]
    started_at: Instant
    resolved_at: Instant | None
    updates: list[UpdateOut] = Field(description="Newest first.")


class MaintenanceOut(Schema):
    id: int
    title: str
    body_html: str
    language: str
    fallback: bool
    state: Literal["scheduled", "in_progress", "completed", "cancelled"]
    services: list[str]
    areas: list[str]
    starts_at: Instant
    ends_at: Instant


class StatusOut(Schema):
    services: list[ServiceOut]
    incidents: list[IncidentOut] = Field(description="Open incidents, newest first.")
    maintenance: list[MaintenanceOut] = Field(
        description="In progress and scheduled, soonest first."
    )


TextIn = str | dict[str, str]


class IncidentIn(Schema):
    title: TextIn = Field(description=TEXT_DESCRIPTION)
    body: TextIn = Field(description=TEXT_DESCRIPTION)
    services: list[str] = Field(description="Slugs of the affected services.")
    areas: list[str] = Field(default_factory=list, description="Slugs of the affected areas.")
    state: IncidentStateName = "investigating"
    impact: ImpactName = "partial_outage"


class UpdateIn(Schema):
    body: TextIn = Field(description=TEXT_DESCRIPTION)
    state: IncidentStateName | None = Field(
        default=None, description="The incident's new state; `resolved` ends it."
    )


class MaintenanceIn(Schema):
    title: TextIn = Field(description=TEXT_DESCRIPTION)
    body: TextIn = Field(default="", description=TEXT_DESCRIPTION)
    services: list[str]
    areas: list[str] = Field(default_factory=list)
    starts_at: datetime = Field(description="ISO 8601 with an offset from UTC.")
    ends_at: datetime = Field(description="ISO 8601 with an offset from UTC.")


def _language() -> str:
    return (translation.get_language() or "en").split("-")[0]


def _update(update: IncidentUpdate, language: str) -> dict[str, Any]:
    text = pick(update.body, language)
    return {
        "id": update.pk,
        "state": update.state,
        "body": text.text,
        "body_html": html(update.body, language),
        "language": text.language,
        "fallback": text.fallback,
        "created_at": update.created_at,
    }


def incident_json(incident: Incident, language: str) -> dict[str, Any]:
    title = pick(incident.title, language)
    return {
        "id": incident.pk,
        "title": title.text,
        "language": title.language,
        "fallback": title.fallback,
        "state": incident.state,
        "impact": incident.impact,
        "services": [s.slug for s in incident.services.all()],
        "areas": [a.slug for a in incident.areas.all()],
        "started_at": incident.started_at,
        "resolved_at": incident.resolved_at,
        "updates": [_update(u, language) for u in incident.updates.all()],
    }


def maintenance_json(maintenance: Maintenance, language: str) -> dict[str, Any]:
    title = pick(maintenance.title, language)
    return {
        "id": maintenance.pk,
        "title": title.text,
        "body_html": html(maintenance.body, language),
        "language": title.language,
        "fallback": title.fallback,
        "state": maintenance.state,
        "services": [s.slug for s in maintenance.services.all()],
        "areas": [a.slug for a in maintenance.areas.all()],
        "starts_at": maintenance.starts_at,
        "ends_at": maintenance.ends_at,
    }


@router.get(
    "/status",
    response={200: StatusOut},
    auth=None,
    summary="Anyone: the services and their state, open incidents, maintenance to come",
)
def get_status(request: HttpRequest) -> dict[str, Any]:
    language = _language()
    return {
        "services": [
            {
                "slug": s.slug,
                "name": s.display_name,
                "group": s.group.display_name if s.group else None,
                "state": s.shown_state,
            }
            for s in selectors.services()
        ],
        "incidents": [incident_json(i, language) for i in selectors.open_incidents()],
        "maintenance": [maintenance_json(m, language) for m in selectors.current_maintenance()],
    }


ERRORS = {403: StatusErrorOut, 404: StatusErrorOut, 409: StatusErrorOut, 422: StatusErrorOut}


@router.post(
    "/incidents",
    response={201: IncidentOut, **ERRORS},
    summary="Admins and allowed agents: open an incident",
)
def post_incident(request: HttpRequest, payload: IncidentIn) -> Status[Any]:
    user: User = request.auth  # type: ignore[attr-defined]
    require_manager(user)
    incident = actions.create_incident(
        user,
        title=payload.title,
        body=payload.body,
        services=payload.services,
        areas=payload.areas,
        state=payload.state,
        impact=payload.impact,
        language=_language(),
    )
    return Status(201, incident_json(incident, _language()))


@router.post(
    "/incidents/{incident_id}/updates",
    response={201: UpdateOut, **ERRORS},
    summary="Admins and allowed agents: add to an incident's timeline, changing its state",
)
def post_incident_update(request: HttpRequest, incident_id: int, payload: UpdateIn) -> Status[Any]:
    user: User = request.auth  # type: ignore[attr-defined]
    require_manager(user)
    incident = Incident.objects.filter(pk=incident_id).first()
    if incident is None:
        raise ActionRefused("not_found", translation.gettext("Not found."), status=404)
    update = actions.add_incident_update(
        user, incident, body=payload.body, state=payload.state, language=_language()
    )
    return Status(201, _update(update, _language()))


@router.post(
    "/maintenance",
    response={201: MaintenanceOut, **ERRORS},
    summary="Admins and allowed agents: plan a maintenance window",
)
def post_maintenance(request: HttpRequest, payload: MaintenanceIn) -> Status[Any]:
    user: User = request.auth  # type: ignore[attr-defined]
    require_manager(user)
    maintenance = actions.schedule_maintenance(
        user,
        title=payload.title,
        body=payload.body,
        services=payload.services,
        areas=payload.areas,
        starts_at=payload.starts_at,
        ends_at=payload.ends_at,
        language=_language(),
    )
    maintenance.refresh_from_db()
    return Status(201, maintenance_json(maintenance, _language()))


# --- tickets and incidents (announcements/incident_tickets.py) -------------------------------


class IncidentWithTicketsOut(IncidentOut):
    tickets: list[int] | None = Field(
        description="Agents: the numbers of the linked tickets they may see. Others: null."
    )


class TicketsIn(Schema):
    tickets: list[int] = Field(description="Ticket numbers to link.", min_length=1, max_length=500)


class LinkedOut(Schema):
    tickets: list[int] = Field(description="The numbers of the linked tickets you may see.")
    added: list[int] = Field(description="The tickets this request linked (not linked before).")


class ResolveTicketsIn(Schema):
    body: TextIn = Field(
        description=TEXT_DESCRIPTION + " Each ticket is answered in its language, else in the "
        "company's default language."
    )


class SkippedOut(Schema):
    number: int
    code: str
    reason: str


class ResolveTicketsOut(Schema):
    replied: list[int] = Field(description="Tickets answered and resolved by this request.")
    skipped: list[SkippedOut] = Field(
        description="Tickets left as they were, with the reason (closed, merged, resolved or "
        "answered with this incident already, another department's)."
    )


def _incident(user: User, incident_id: int) -> Incident:
    """The incident for an agent; 404 for anyone else or an unknown id."""
    return incident_tickets.access_incident(user, incident_id)


def _linked_numbers(user: User, incident: Incident) -> list[int]:
    return list(
        IncidentTicket.objects.filter(incident=incident, ticket__in=Ticket.objects.visible_to(user))
        .order_by("ticket__number")
        .values_list("ticket__number", flat=True)
    )


@router.get(
    "/incidents/{incident_id}",
    response={200: IncidentWithTicketsOut, **ERRORS},
    summary="An incident with its timeline; agents also get its linked tickets",
)
def get_incident(request: HttpRequest, incident_id: int) -> dict[str, Any]:
    user: User = request.auth  # type: ignore[attr-defined]
    incident = Incident.objects.prefetch_related("services", "areas", "updates").get(pk=incident_id)
    data = incident_json(incident, _language())
    data["updates"].reverse()  # newest first, as the status says it
    data["tickets"] = _linked_numbers(user, incident) if user.is_agent else None
    return data


@router.post(
    "/incidents/{incident_id}/tickets",
    response={200: LinkedOut, **ERRORS},
    summary="Agents: link tickets to an incident",
)
def post_incident_tickets(request: HttpRequest, incident_id: int, payload: TicketsIn) -> Any:
    """Every ticket must be one you may see (else 404, and nothing is linked)."""
    user: User = request.auth  # type: ignore[attr-defined]
    if not user.is_agent:
        raise ActionRefused(
            "agents_only", translation.gettext("Only agents link tickets to incidents."), status=403
        )
    incident = _incident(user, incident_id)
    tickets = [access_ticket(user, number) for number in dict.fromkeys(payload.tickets)]
    added = incident_tickets.link_tickets(user, incident, tickets)
    return {"tickets": _linked_numbers(user, incident), "added": [t.number for t in added]}


@router.delete(
    "/incidents/{incident_id}/tickets/{number}",
    response={204: None, **ERRORS},
    summary="Agents: unlink a ticket from an incident",
)
def delete_incident_ticket(request: HttpRequest, incident_id: int, number: int) -> Status[None]:
    user: User = request.auth  # type: ignore[attr-defined]
    if not user.is_agent:
        raise ActionRefused(
            "agents_only", translation.gettext("Only agents link tickets to incidents."), status=403
        )
    incident = _incident(user, incident_id)
    ticket = access_ticket(user, number)
    if not incident_tickets.unlink_ticket(user, incident, ticket):
        raise ActionRefused("not_linked", translation.gettext("Not found."), status=404)
    return Status(204, None)


@router.post(
    "/incidents/{incident_id}/resolve-tickets",
    response={200: ResolveTicketsOut, **ERRORS},
    summary="Admins and allowed agents: answer and resolve every linked ticket still open",
)
def post_resolve_tickets(
    request: HttpRequest, incident_id: int, payload: ResolveTicketsIn
) -> dict[str, Any]:
    """The incident must be resolved (409 otherwise). Safe to repeat: a ticket answered with
    this incident is not answered again."""
    user: User = request.auth  # type: ignore[attr-defined]
    require_manager(user)
    incident = _incident(user, incident_id)
    result = incident_tickets.resolve_linked_tickets(
        user, incident, body=payload.body, language=_language()
    )
    return {
        "replied": result.replied,
        "skipped": [
            {"number": number, "code": code, "reason": reason}
            for number, code, reason in result.skipped
        ],
    }
