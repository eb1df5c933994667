"""The states of services, incidents and maintenance windows, owned by code."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class ServiceState(models.TextChoices):
    OPERATIONAL = "operational", _("Operational")
    UNDER_MAINTENANCE = "under_maintenance", _("Under maintenance")
    DEGRADED = "degraded", _("Degraded performance")
    PARTIAL_OUTAGE = "partial_outage", _("Partial outage")
    MAJOR_OUTAGE = "major_outage", _("Major outage")


#: Worst last: the state a service shows is the worst of what holds it. Planned maintenance
#: is less bad than any trouble (the service is down on purpose, and says so).
SERVICE_STATE_ORDER = [
    ServiceState.OPERATIONAL,
    ServiceState.UNDER_MAINTENANCE,
    ServiceState.DEGRADED,
    ServiceState.PARTIAL_OUTAGE,
    ServiceState.MAJOR_OUTAGE,
]


def worst(*states: str) -> ServiceState:
    """The worst of `states` (operational when there are none)."""
    ranked = [SERVICE_STATE_ORDER.index(ServiceState(s)) for s in states]
    return SERVICE_STATE_ORDER[max(ranked, default=0)]


#: What an incident may do to its services (maintenance has its own state).
INCIDENT_IMPACTS = [
    ServiceState.DEGRADED,
    ServiceState.PARTIAL_OUTAGE,
    ServiceState.MAJOR_OUTAGE,
]
#: Shown states counted as down when uptime is computed; planned maintenance is not.
DOWN_STATES = frozenset({ServiceState.PARTIAL_OUTAGE, ServiceState.MAJOR_OUTAGE})


class IncidentState(models.TextChoices):
    INVESTIGATING = "investigating", _("Investigating")
    IDENTIFIED = "identified", _("Identified")
    MONITORING = "monitoring", _("Monitoring")
    RESOLVED = "resolved", _("Resolved")


class MaintenanceState(models.TextChoices):
    SCHEDULED = "scheduled", _("Scheduled")
    IN_PROGRESS = "in_progress", _("In progress")
    COMPLETED = "completed", _("Completed")
    CANCELLED = "cancelled", _("Cancelled")


class AreaKind(models.TextChoices):
    REGION = "region", _("region")
    DATA_CENTRE = "data_centre", _("data centre")
    PLAN = "plan", _("plan")


class EventKind(models.TextChoices):
    INCIDENT_CREATED = "incident_created", _("incident opened")
    INCIDENT_UPDATED = "incident_updated", _("incident updated")
    INCIDENT_RESOLVED = "incident_resolved", _("incident resolved")
    MAINTENANCE_SCHEDULED = "maintenance_scheduled", _("maintenance scheduled")
    MAINTENANCE_STARTED = "maintenance_started", _("maintenance started")
    MAINTENANCE_COMPLETED = "maintenance_completed", _("maintenance completed")
    MAINTENANCE_CANCELLED = "maintenance_cancelled", _("maintenance cancelled")
    MAINTENANCE_REMINDER = "maintenance_reminder", _("maintenance reminder")
    MAINTENANCE_RESCHEDULED = "maintenance_rescheduled", _("maintenance rescheduled")
    SERVICE_STATE_SET = "service_state_set", _("service state set")


class NoticeVia(models.TextChoices):
    """How a subscriber is told."""

    EMAIL = "email", _("E-mail")
    SMS = "sms", _("SMS")
    TELEGRAM = "telegram", _("Telegram")
