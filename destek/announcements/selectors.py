"""What the status shows: services with their state, open incidents, maintenance to come,
and a service's uptime read from its history."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db.models import Prefetch, QuerySet
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
    now = now or timezone.now()
    since = max(now - timedelta(days=days), service.created_at)
    if since >= now:
        return 1.0
    before = (
        ServiceStateChange.objects.filter(service=service, at__lte=since).order_by("-at", "-pk")
    ).first()
    state = before.state if before is not None else ServiceState.OPERATIONAL
    moment = since
    down = timedelta()
    changes = ServiceStateChange.objects.filter(service=service, at__gt=since, at__lte=now)
    for change in changes.order_by("at", "pk"):
        if state in DOWN_STATES:
            down += change.at - moment
        state, moment = change.state, change.at
    if state in DOWN_STATES:
        down += now - moment
    return 1 - down / (now - since)
