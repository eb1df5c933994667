"""What the status shows: services with their state, open incidents, maintenance to come,
and a service's uptime read from its history."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from django.db.models import OuterRef, Prefetch, QuerySet, Subquery
from django.utils import timezone

from destek.announcements.choices import DOWN_STATES, IncidentState, MaintenanceState, ServiceState
from destek.announcements.models import (
    Incident,
    IncidentUpdate,
    Maintenance,
    Service,
    ServiceStateChange,
)


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
