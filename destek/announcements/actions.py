"""What changes the service status: incidents opened and updated, maintenance scheduled,
started, completed and cancelled, a service's state set. Each action runs in one
transaction, writes a StatusEvent and keeps the services' shown state (and its history)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _

from destek.accounts.models import User
from destek.announcements import cache as status_cache
from destek.announcements.choices import (
    INCIDENT_IMPACTS,
    EventKind,
    IncidentState,
    MaintenanceState,
    ServiceState,
    worst,
)
from destek.announcements.models import (
    Area,
    Incident,
    IncidentUpdate,
    Maintenance,
    Service,
    ServiceStateChange,
    StatusEvent,
)
from destek.lib.errors import ActionRefused
from destek.lib.text import strip_invisible
from destek.notify.actions import outbox_is_paused

TITLE_MAX = 200
BODY_MAX = 20_000

#: A text as callers give it: one string (in the caller's language) or {language: text}.
TextInput = str | Mapping[str, str]


def _language(language: str | None) -> str:
    return (language or translation.get_language() or settings.LANGUAGE_CODE).split("-")[0]


def texts_of(
    value: object, *, field: str, language: str | None, required: bool, max_length: int
) -> dict[str, str]:
    """`value` as {language: text}: a string is in `language`; languages not offered, texts
    that are not strings, and too long texts are refused; empty ones are dropped."""
    if isinstance(value, str):
        value = {_language(language): value}
    if not isinstance(value, Mapping):
        raise ActionRefused(
            "invalid_text",
            _("{field}: give a text, or an object of texts by language.").format(field=field),
            field=field,
        )
    offered = {code for code, _name in settings.LANGUAGES}
    texts: dict[str, str] = {}
    for code, text in value.items():
        if code not in offered:
            raise ActionRefused(
                "unknown_language",
                _("{field}: {language} is not one of the languages offered: {offered}.").format(
                    field=field, language=code, offered=", ".join(sorted(offered))
                ),
                field=field,
            )
        if not isinstance(text, str):
            raise ActionRefused(
                "invalid_text",
                _("{field}: give a text, or an object of texts by language.").format(field=field),
                field=field,
            )
        text = strip_invisible(text).strip()
        if len(text) > max_length:
            raise ActionRefused(
                "text_too_long",
                _("{field}: at most {maximum} characters.").format(field=field, maximum=max_length),
                field=field,
            )
        if text:
            texts[code] = text
    if required and not texts:
        raise ActionRefused(
            "text_required", _("{field}: this field is required.").format(field=field), field=field
        )
    return texts


def _services(slugs: Iterable[str | Service], *, required: bool = True) -> list[Service]:
    wanted = [s.slug if isinstance(s, Service) else str(s) for s in slugs]
    if required and not wanted:
        raise ActionRefused(
            "services_required", _("Name at least one affected service."), field="services"
        )
    found = {s.slug: s for s in Service.objects.filter(slug__in=wanted)}
    unknown = [slug for slug in wanted if slug not in found]
    if unknown:
        raise ActionRefused(
            "unknown_service",
            _("Unknown service: {slugs}.").format(slugs=", ".join(unknown)),
            field="services",
        )
    return list(dict.fromkeys(found[slug] for slug in wanted))


def _areas(slugs: Iterable[str | Area]) -> list[Area]:
    wanted = [a.slug if isinstance(a, Area) else str(a) for a in slugs]
    found = {a.slug: a for a in Area.objects.filter(slug__in=wanted)}
    unknown = [slug for slug in wanted if slug not in found]
    if unknown:
        raise ActionRefused(
            "unknown_area",
            _("Unknown area: {slugs}.").format(slugs=", ".join(unknown)),
            field="areas",
        )
    return list(dict.fromkeys(found[slug] for slug in wanted))


def _aware(value: object, field: str) -> datetime:
    if not isinstance(value, datetime):
        raise ActionRefused(
            "invalid_time", _("{field}: give a date and time.").format(field=field), field=field
        )
    if timezone.is_naive(value):
        raise ActionRefused(
            "naive_time",
            _(
                "{field}: give the time with its offset from UTC, e.g. 2026-05-01T02:00:00+04:00."
            ).format(field=field),
            field=field,
        )
    return value


def _event(
    kind: EventKind,
    actor: User | None,
    at: datetime,
    *,
    incident: Incident | None = None,
    maintenance: Maintenance | None = None,
    service: Service | None = None,
    **data: object,
) -> StatusEvent:
    event = StatusEvent.objects.create(
        kind=kind,
        actor=actor,
        at=at,
        incident=incident,
        maintenance=maintenance,
        service=service,
        data=data,
    )
    if not outbox_is_paused():  # the demo's sample history is told to nobody
        transaction.on_commit(lambda: _announce(event.pk))
    status_cache.bump_on_commit()  # the banner and the status page show it at once
    return event


def _announce(event_id: int) -> None:
    """After commit: the job that tells the subscribers of the affected services and areas
    (notices.py; once per subscriber, batched per incident)."""
    from destek.announcements.notice_jobs import announce

    announce(event_id)


def refresh_services(service_ids: Iterable[int], now: datetime | None = None) -> None:
    """Recompute the shown state of these services: the worst of the state set on them,
    the impact of their open incidents, and maintenance in progress. A change is written to
    the service's history."""
    ids = set(service_ids)
    status_cache.bump_on_commit()  # names, services and titles may have changed with them
    if not ids:
        return
    now = now or timezone.now()
    held: dict[int, list[str]] = {i: [] for i in ids}
    open_impacts = (
        Incident.services.through.objects.filter(service_id__in=ids)
        .exclude(incident__state=IncidentState.RESOLVED)
        .values_list("service_id", "incident__impact")
    )
    for service_id, impact in open_impacts:
        held[service_id].append(impact)
    in_maintenance = Maintenance.services.through.objects.filter(
        service_id__in=ids, maintenance__state=MaintenanceState.IN_PROGRESS
    ).values_list("service_id", flat=True)
    for service_id in in_maintenance:
        held[service_id].append(ServiceState.UNDER_MAINTENANCE)
    for service in Service.objects.select_for_update().filter(pk__in=ids).order_by("pk"):
        shown = worst(service.state, *held[service.pk])
        if shown != service.shown_state:
            service.shown_state = shown
            service.save(update_fields=["shown_state"])
            ServiceStateChange.objects.create(service=service, state=shown, at=now)


@transaction.atomic
def create_incident(
    actor: User | None,
    *,
    title: TextInput,
    body: TextInput,
    services: Sequence[str | Service],
    areas: Sequence[str | Area] = (),
    state: str = IncidentState.INVESTIGATING,
    impact: str = ServiceState.PARTIAL_OUTAGE,
    language: str | None = None,
    at: datetime | None = None,
) -> Incident:
    """Open an incident on `services` (slugs): its body is the first entry of its timeline.
    The services show `impact` until it is resolved."""
    at = _aware(at, "started_at") if at is not None else timezone.now()
    titles = texts_of(title, field="title", language=language, required=True, max_length=TITLE_MAX)
    bodies = texts_of(body, field="body", language=language, required=True, max_length=BODY_MAX)
    if state not in IncidentState.values:
        raise ActionRefused(
            "invalid_state",
            _("state: must be one of: {values}.").format(values=", ".join(IncidentState.values)),
            field="state",
        )
    if impact not in INCIDENT_IMPACTS:
        raise ActionRefused(
            "invalid_impact",
            _("impact: must be one of: {values}.").format(
                values=", ".join(str(s) for s in INCIDENT_IMPACTS)
            ),
            field="impact",
        )
    affected = _services(services)
    where = _areas(areas)
    incident = Incident.objects.create(
        title=titles,
        state=state,
        impact=impact,
        started_at=at,
        resolved_at=at if state == IncidentState.RESOLVED else None,
        created_by=actor,
        created_at=at,
    )
    incident.services.set(affected)
    incident.areas.set(where)
    IncidentUpdate.objects.create(
        incident=incident, state=state, body=bodies, author=actor, created_at=at
    )
    _event(EventKind.INCIDENT_CREATED, actor, at, incident=incident, state=state)
    refresh_services((s.pk for s in affected), at)
    return incident


@transaction.atomic
def add_incident_update(
    actor: User | None,
    incident: Incident,
    *,
    body: TextInput,
    state: str | None = None,
    language: str | None = None,
    at: datetime | None = None,
) -> IncidentUpdate:
    """Add to the timeline, changing the state if given. Resolving sets `resolved_at` and
    returns the services to what else holds them (operational when nothing does). A
    resolved incident takes notes (a post-mortem) but is not reopened: open a new one."""
    at = _aware(at, "at") if at is not None else timezone.now()
    incident = Incident.objects.select_for_update().get(pk=incident.pk)
    bodies = texts_of(body, field="body", language=language, required=True, max_length=BODY_MAX)
    new_state = state or incident.state
    if new_state not in IncidentState.values:
        raise ActionRefused(
            "invalid_state",
            _("state: must be one of: {values}.").format(values=", ".join(IncidentState.values)),
            field="state",
        )
    was_open = incident.is_open
    if not was_open and new_state != IncidentState.RESOLVED:
        raise ActionRefused(
            "incident_resolved",
            _("This incident is resolved and cannot be reopened: open a new incident."),
            status=409,
            field="state",
        )
    update = IncidentUpdate.objects.create(
        incident=incident, state=new_state, body=bodies, author=actor, created_at=at
    )
    resolving = was_open and new_state == IncidentState.RESOLVED
    if new_state != incident.state:
        incident.state = new_state
        if resolving:
            incident.resolved_at = at
        incident.save(update_fields=["state", "resolved_at"])
    _event(
        EventKind.INCIDENT_RESOLVED if resolving else EventKind.INCIDENT_UPDATED,
        actor,
        at,
        incident=incident,
        state=new_state,
        update=update.pk,
    )
    if resolving:
        refresh_services(incident.services.values_list("pk", flat=True), at)
    return update


def _check_window(starts_at: datetime, ends_at: datetime, now: datetime) -> None:
    """A window ends after it starts, and not before now."""
    if ends_at <= starts_at:
        raise ActionRefused(
            "ends_before_start",
            _("The maintenance must end after it starts."),
            field="ends_at",
        )
    if ends_at <= now:
        raise ActionRefused("window_in_past", _("This window has ended already."), field="ends_at")


@transaction.atomic
def schedule_maintenance(
    actor: User | None,
    *,
    title: TextInput,
    body: TextInput,
    services: Sequence[str | Service],
    starts_at: datetime,
    ends_at: datetime,
    areas: Sequence[str | Area] = (),
    language: str | None = None,
    now: datetime | None = None,
) -> Maintenance:
    """Plan a window on `services`; the worker starts and completes it at its edges (at once
    when it has begun already)."""
    now = now or timezone.now()
    titles = texts_of(title, field="title", language=language, required=True, max_length=TITLE_MAX)
    bodies = texts_of(body, field="body", language=language, required=False, max_length=BODY_MAX)
    starts_at = _aware(starts_at, "starts_at")
    ends_at = _aware(ends_at, "ends_at")
    _check_window(starts_at, ends_at, now)
    affected = _services(services)
    where = _areas(areas)
    maintenance = Maintenance.objects.create(
        title=titles,
        body=bodies,
        starts_at=starts_at,
        ends_at=ends_at,
        created_by=actor,
        created_at=now,
    )
    maintenance.services.set(affected)
    maintenance.areas.set(where)
    _event(EventKind.MAINTENANCE_SCHEDULED, actor, now, maintenance=maintenance)
    if starts_at <= now:
        start_maintenance(maintenance, actor, now=now)
    else:
        _reminded_if_soon(maintenance, now)
    return maintenance


def _reminded_if_soon(maintenance: Maintenance, now: datetime) -> None:
    """A window announced within DESTEK_MAINTENANCE_REMIND_MINUTES of its start needs no
    reminder a minute after the notice that announced it: it counts as reminded."""
    soon = now + timedelta(minutes=settings.DESTEK_MAINTENANCE_REMIND_MINUTES)
    if maintenance.starts_at <= soon:
        Maintenance.objects.filter(pk=maintenance.pk).update(reminded_at=now)
        maintenance.reminded_at = now


@transaction.atomic
def reschedule_maintenance(
    actor: User | None,
    maintenance: Maintenance,
    *,
    starts_at: datetime,
    ends_at: datetime,
    now: datetime | None = None,
) -> Maintenance:
    """Move a window that has not started, or the end of one in progress; its subscribers
    are told the new window. A moved start is reminded of again (unless it is soon: then
    this notice is the reminder). Nothing is told when nothing moved."""
    now = now or timezone.now()
    starts_at = _aware(starts_at, "starts_at")
    ends_at = _aware(ends_at, "ends_at")
    maintenance = Maintenance.objects.select_for_update().get(pk=maintenance.pk)
    if maintenance.state not in (MaintenanceState.SCHEDULED, MaintenanceState.IN_PROGRESS):
        raise ActionRefused(
            "maintenance_finished",
            _("This maintenance is over and cannot be moved."),
            status=409,
        )
    if maintenance.state == MaintenanceState.IN_PROGRESS and starts_at != maintenance.starts_at:
        raise ActionRefused(
            "maintenance_started",
            _("This maintenance has started: only its end can be moved."),
            field="starts_at",
            status=409,
        )
    _check_window(starts_at, ends_at, now)
    before = (maintenance.starts_at, maintenance.ends_at)
    if before == (starts_at, ends_at):
        return maintenance
    moved_start = starts_at != maintenance.starts_at
    maintenance.starts_at = starts_at
    maintenance.ends_at = ends_at
    fields = ["starts_at", "ends_at"]
    if moved_start:
        maintenance.reminded_at = None
        fields.append("reminded_at")
    maintenance.save(update_fields=fields)
    _event(
        EventKind.MAINTENANCE_RESCHEDULED,
        actor,
        now,
        maintenance=maintenance,
        starts_before=before[0].isoformat(),
        ends_before=before[1].isoformat(),
    )
    if maintenance.state == MaintenanceState.SCHEDULED:
        if starts_at <= now:
            start_maintenance(maintenance, actor, now=now)
        elif moved_start:
            _reminded_if_soon(maintenance, now)
    return maintenance


def _move_maintenance(
    maintenance: Maintenance,
    actor: User | None,
    now: datetime | None,
    *,
    before: str,
    after: str,
    stamp: str,
    event: EventKind,
) -> bool:
    """`before` -> `after`, stamping when; the services' shown state follows. False when the
    window was not in `before` any more: safe to run twice."""
    now = now or timezone.now()
    claimed = Maintenance.objects.filter(pk=maintenance.pk, state=before).update(
        state=after, **{stamp: now}
    )
    if not claimed:
        return False
    maintenance.refresh_from_db()
    _event(event, actor, now, maintenance=maintenance)
    refresh_services(maintenance.services.values_list("pk", flat=True), now)
    return True


@transaction.atomic
def start_maintenance(
    maintenance: Maintenance, actor: User | None = None, *, now: datetime | None = None
) -> bool:
    """Scheduled -> in progress (its services show "under maintenance")."""
    return _move_maintenance(
        maintenance,
        actor,
        now,
        before=MaintenanceState.SCHEDULED,
        after=MaintenanceState.IN_PROGRESS,
        stamp="started_at",
        event=EventKind.MAINTENANCE_STARTED,
    )


@transaction.atomic
def complete_maintenance(
    maintenance: Maintenance, actor: User | None = None, *, now: datetime | None = None
) -> bool:
    """In progress -> completed; the services return to what else holds them."""
    return _move_maintenance(
        maintenance,
        actor,
        now,
        before=MaintenanceState.IN_PROGRESS,
        after=MaintenanceState.COMPLETED,
        stamp="completed_at",
        event=EventKind.MAINTENANCE_COMPLETED,
    )


@transaction.atomic
def cancel_maintenance(
    maintenance: Maintenance, actor: User | None = None, *, now: datetime | None = None
) -> Maintenance:
    """A scheduled or running window called off; a finished one cannot be."""
    now = now or timezone.now()
    claimed = Maintenance.objects.filter(
        pk=maintenance.pk,
        state__in=[MaintenanceState.SCHEDULED, MaintenanceState.IN_PROGRESS],
    ).update(state=MaintenanceState.CANCELLED, cancelled_at=now)
    if not claimed:
        raise ActionRefused(
            "maintenance_finished",
            _("This maintenance is over and cannot be cancelled."),
            status=409,
        )
    maintenance.refresh_from_db()
    _event(EventKind.MAINTENANCE_CANCELLED, actor, now, maintenance=maintenance)
    refresh_services(maintenance.services.values_list("pk", flat=True), now)
    return maintenance


@transaction.atomic
def set_service_state(
    actor: User | None, service: Service, state: str, *, now: datetime | None = None
) -> Service:
    """Set what an admin knows of the service; incidents and maintenance may still show a
    worse state."""
    now = now or timezone.now()
    if state not in ServiceState.values:
        raise ActionRefused(
            "invalid_state",
            _("state: must be one of: {values}.").format(values=", ".join(ServiceState.values)),
            field="state",
        )
    service = Service.objects.select_for_update().get(pk=service.pk)
    before = service.state
    service.state = state
    service.save(update_fields=["state"])
    _event(EventKind.SERVICE_STATE_SET, actor, now, service=service, before=before, state=state)
    refresh_services([service.pk], now)
    service.refresh_from_db()
    return service


@transaction.atomic
def remind_maintenance(maintenance: Maintenance, *, now: datetime | None = None) -> bool:
    """Tell the window's subscribers it starts soon, once: `reminded_at` is claimed by a
    conditional UPDATE (False when it was claimed before, or the window is not scheduled)."""
    now = now or timezone.now()
    claimed = Maintenance.objects.filter(
        pk=maintenance.pk, state=MaintenanceState.SCHEDULED, reminded_at__isnull=True
    ).update(reminded_at=now)
    if not claimed:
        return False
    maintenance.refresh_from_db()
    _event(EventKind.MAINTENANCE_REMINDER, None, now, maintenance=maintenance)
    return True


def run_maintenance_windows(now: datetime | None = None) -> tuple[int, int]:
    """The worker's minute: remind the subscribers of windows starting within
    DESTEK_MAINTENANCE_REMIND_MINUTES, start the windows that began, complete the ones that
    ended. Each in its own transaction; a window the worker missed whole is started and
    completed (its history shows both). Returns (started, completed)."""
    now = now or timezone.now()
    started = completed = 0
    soon = now + timedelta(minutes=settings.DESTEK_MAINTENANCE_REMIND_MINUTES)
    remind = Maintenance.objects.filter(
        state=MaintenanceState.SCHEDULED,
        reminded_at__isnull=True,
        starts_at__gt=now,
        starts_at__lte=soon,
    )
    for maintenance in remind.order_by("starts_at", "pk"):
        remind_maintenance(maintenance, now=now)
    due = Maintenance.objects.filter(state=MaintenanceState.SCHEDULED, starts_at__lte=now)
    for maintenance in due.order_by("starts_at", "pk"):
        started += start_maintenance(maintenance, now=now)
    ended = Maintenance.objects.filter(state=MaintenanceState.IN_PROGRESS, ends_at__lte=now)
    for maintenance in ended.order_by("ends_at", "pk"):
        completed += complete_maintenance(maintenance, now=now)
    return started, completed
