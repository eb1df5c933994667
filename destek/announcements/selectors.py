"""What the status shows: services with their state, open incidents, maintenance to come,
and a service's uptime read from its history."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db.models import OuterRef, Prefetch, Q, QuerySet, Subquery
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.html import strip_tags
from django.utils.text import Truncator

from destek.accounts.models import User
from destek.announcements import cache as status_cache
from destek.announcements.choices import DOWN_STATES, IncidentState, MaintenanceState, ServiceState
from destek.announcements.models import (
    Incident,
    IncidentUpdate,
    Maintenance,
    Service,
    ServiceStateChange,
    ServiceUser,
)
from destek.announcements.texts import Picked, pick
from destek.kb.markdown import render


def services() -> QuerySet[Service]:
    return Service.objects.select_related("group").order_by(
        "group__position", "group__name", "position", "name"
    )


def open_incidents() -> QuerySet[Incident]:
    return (
        Incident.objects.exclude(state=IncidentState.RESOLVED)
        .prefetch_related(
            Prefetch("services", queryset=Service.objects.order_by("position", "name")),
            "areas",
            Prefetch("updates", queryset=IncidentUpdate.objects.order_by("-created_at", "-pk")),
        )
        .order_by("-started_at", "-pk")
    )


def current_maintenance() -> QuerySet[Maintenance]:
    """In progress, and scheduled (soonest first)."""
    return (
        Maintenance.objects.filter(
            state__in=[MaintenanceState.SCHEDULED, MaintenanceState.IN_PROGRESS]
        )
        .prefetch_related(
            Prefetch("services", queryset=Service.objects.order_by("position", "name")), "areas"
        )
        .order_by("starts_at", "pk")
    )


def uptime(service: Service, *, days: int = 90, now: datetime | None = None) -> float:
    """The share (0 to 1) of the last `days` (or since the service was added) the service
    was not down: partial and major outages count as down, degraded performance and planned
    maintenance do not."""
    return uptimes([service], days=days, now=now)[service.pk]


def uptimes(
    services: Iterable[Service], *, days: int = 90, now: datetime | None = None
) -> dict[int, float]:
    """`uptime` of each service, in two queries whatever their number."""
    now = now or timezone.now()
    start = now - timedelta(days=days)
    chosen = list(services)
    since = {s.pk: max(start, s.created_at) for s in chosen}
    ids = list(since)
    # The state each service was in when the period began: its last change before.
    before = dict(
        Service.objects.filter(pk__in=ids)
        .annotate(
            before=Subquery(
                ServiceStateChange.objects.filter(service=OuterRef("pk"), at__lte=start)
                .order_by("-at", "-pk")
                .values("state")[:1]
            )
        )
        .values_list("pk", "before")
    )
    changes: dict[int, list[tuple[datetime, str]]] = {pk: [] for pk in ids}
    rows = ServiceStateChange.objects.filter(service_id__in=ids, at__gt=start, at__lte=now)
    for service_id, at, state in rows.order_by("at", "pk").values_list("service_id", "at", "state"):
        changes[service_id].append((at, state))
    result: dict[int, float] = {}
    for pk in ids:
        begin = since[pk]
        if begin >= now:
            result[pk] = 1.0
            continue
        state = before.get(pk) or ServiceState.OPERATIONAL
        moment = begin
        down = timedelta()
        for at, new_state in changes[pk]:
            if at <= begin:
                state = new_state
                continue
            if state in DOWN_STATES:
                down += at - moment
            state, moment = new_state, at
        if state in DOWN_STATES:
            down += now - moment
        result[pk] = 1 - down / (now - begin)
    return result


# The banner ------------------------------------------------------------------------------

#: At most this many incidents and windows in one banner (the worst first).
BANNER_ITEMS = 3
#: The excerpt of the latest update a banner shows.
BANNER_EXCERPT = 200


@dataclass(frozen=True)
class BannerItem:
    """An open incident (or maintenance in progress) as a banner shows it."""

    kind: str  # "incident" or "maintenance"
    pk: int
    title: Picked
    #: What it does to the services: an impact, or "under_maintenance".
    impact: str
    impact_label: str
    #: The incident's state (investigating ...) or the window's (in progress).
    state_label: str
    #: The latest update (an incident) or the description (a window), as plain text.
    excerpt: Picked
    updated_at: datetime
    url: str


def _open_for_banner() -> list[dict[str, Any]]:
    """Open incidents and maintenance in progress as plain data (cached across requests and
    processes; the languages are picked when shown)."""
    name = status_cache.key("banner", "open")
    found = status_cache.get(name)
    if found is not None:
        return list(found)
    rows: list[dict[str, Any]] = []
    # Most of the time nothing is open: one query says so (an open incident or a window in
    # progress always makes its services show something other than operational).
    if not Service.objects.exclude(shown_state=ServiceState.OPERATIONAL).exists():
        status_cache.put(name, rows)
        return rows
    incidents = Incident.objects.exclude(state=IncidentState.RESOLVED).prefetch_related(
        "services", "areas", "updates"
    )
    for incident in incidents:
        updates = sorted(incident.updates.all(), key=lambda u: (u.created_at, u.pk))
        latest = updates[-1] if updates else None
        rows.append(
            {
                "kind": "incident",
                "pk": incident.pk,
                "title": incident.title,
                "impact": incident.impact,
                "state": incident.state,
                "services": [s.pk for s in incident.services.all()],
                "areas": [a.pk for a in incident.areas.all()],
                "body": latest.body if latest else {},
                "updated_at": latest.created_at if latest else incident.started_at,
            }
        )
    windows = Maintenance.objects.filter(state=MaintenanceState.IN_PROGRESS).prefetch_related(
        "services", "areas"
    )
    for window in windows:
        rows.append(
            {
                "kind": "maintenance",
                "pk": window.pk,
                "title": window.title,
                "impact": ServiceState.UNDER_MAINTENANCE,
                "state": window.state,
                "services": [s.pk for s in window.services.all()],
                "areas": [a.pk for a in window.areas.all()],
                "body": window.body,
                "updated_at": window.started_at or window.starts_at,
            }
        )
    status_cache.put(name, rows)
    return rows


def used_by(user: User | None) -> tuple[frozenset[int], frozenset[int]]:
    """The services and areas linked to `user` or their organisation (ServiceUser)."""
    if user is None or not user.is_authenticated or user.pk is None:
        return frozenset(), frozenset()
    name = status_cache.key("banner", "uses", user.pk, user.organisation_id or 0)
    found = status_cache.get(name)
    if found is None:
        who = Q(user_id=user.pk)
        if user.organisation_id:
            who |= Q(organisation_id=user.organisation_id)
        found = list(ServiceUser.objects.filter(who).values_list("service_id", "area_id"))
        status_cache.put(name, found)
    services = frozenset(s for s, _a in found if s is not None)
    areas = frozenset(a for _s, a in found if a is not None)
    return services, areas


def _concerns(row: dict[str, Any], services: frozenset[int], areas: frozenset[int]) -> bool:
    """Whether an open incident or window concerns someone who uses `services` and
    everything in `areas` (their ServiceUser links).

    Nothing linked (a visitor, or a customer nobody linked yet): we do not know what they
    use, so only outages (partial or major) of any service concern them. Linked to an area:
    whatever is not limited to other areas. Linked to a service: what touches it, unless it
    is limited to areas and they are linked to other areas only."""
    if not services and not areas:
        return row["impact"] in DOWN_STATES
    row_areas = set(row["areas"])
    if areas and (not row_areas or row_areas & areas):
        return True
    return bool(set(row["services"]) & services) and (not row_areas or not areas)


_SEVERITY = {
    ServiceState.MAJOR_OUTAGE: 0,
    ServiceState.PARTIAL_OUTAGE: 1,
    ServiceState.DEGRADED: 2,
    ServiceState.UNDER_MAINTENANCE: 3,
}


def banner_for(user: User | None, language: str | None = None) -> list[BannerItem]:
    """What the banner tells `user` (None or anonymous: a visitor) in `language` (the active
    one by default): the open incidents and maintenance in progress that concern them, the
    worst and then the newest first. No queries while the cache holds the open incidents and
    the user's links (until the next status event, or a minute); one when it does not and
    nothing is open."""
    language = (language or translation.get_language() or "").split("-")[0] or None
    rows = _open_for_banner()
    if not rows:
        return []
    services, areas = used_by(user)
    rows = [row for row in rows if _concerns(row, services, areas)]
    rows.sort(key=lambda row: row["updated_at"], reverse=True)
    rows.sort(key=lambda row: _SEVERITY.get(row["impact"], 9))
    items = []
    for row in rows[:BANNER_ITEMS]:
        incident = row["kind"] == "incident"
        body = pick(row["body"], language)
        plain = " ".join(strip_tags(render(body.text)).split())
        items.append(
            BannerItem(
                kind=row["kind"],
                pk=row["pk"],
                title=pick(row["title"], language),
                impact=row["impact"],
                impact_label=str(ServiceState(row["impact"]).label),
                state_label=str(
                    IncidentState(row["state"]).label
                    if incident
                    else MaintenanceState(row["state"]).label
                ),
                excerpt=Picked(
                    Truncator(plain).chars(BANNER_EXCERPT), body.language, body.fallback
                ),
                updated_at=row["updated_at"],
                url=(
                    reverse("announcements:incident", args=[row["pk"]])
                    if incident
                    else f"{reverse('announcements:status')}#maintenance-{row['pk']}"
                ),
            )
        )
    return items
