"""The public status page and its Atom feeds (overall and per service)."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.syndication.views import Feed
from django.db import InterfaceError, OperationalError, connection, transaction
from django.db.models import Prefetch
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.feedgenerator import Atom1Feed
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _

from destek.announcements import cache as status_cache
from destek.announcements import selectors
from destek.announcements.choices import IncidentState
from destek.announcements.models import (
    Incident,
    IncidentUpdate,
    Maintenance,
    Service,
    Subscription,
)
from destek.announcements.texts import Picked, html, pick
from destek.lib.dates import active_calendar, format_names, format_percent

log = logging.getLogger(__name__)

HISTORY_DAYS = 90
FEED_ITEMS = 50


def _language() -> str:
    return (translation.get_language() or "en").split("-")[0]


@dataclass
class Shown:
    """An incident or a maintenance window as the reader sees it."""

    item: Incident | Maintenance
    title: Picked
    body_html: str = ""
    #: Which language the body is shown in (a maintenance window's description).
    body: Picked | None = None
    updates: list[dict[str, Any]] = field(default_factory=list)

    @property
    def affects(self) -> str:
        """The affected services, then the areas, as a list in the reader's language."""
        services = format_names([s.display_name for s in self.item.services.all()])
        areas = format_names([a.display_name for a in self.item.areas.all()])
        return " · ".join(part for part in (services, areas) if part)


def _incident(incident: Incident, language: str) -> Shown:
    updates = [
        {
            "update": u,
            "text": pick(u.body, language),
            "html": html(u.body, language),
        }
        for u in incident.updates.all()
    ]
    return Shown(incident, pick(incident.title, language), updates=updates)


def _maintenance(maintenance: Maintenance, language: str) -> Shown:
    return Shown(
        maintenance,
        pick(maintenance.title, language),
        body_html=html(maintenance.body, language),
        body=pick(maintenance.body, language),
    )


def _status_context(language: str) -> dict[str, Any]:
    now = timezone.now()
    groups: dict[str, list[dict[str, Any]]] = {}
    services = list(selectors.services())
    uptimes = selectors.uptimes(services, days=HISTORY_DAYS, now=now)
    for service in services:
        name = service.group.display_name if service.group else ""
        groups.setdefault(name, []).append(
            {"service": service, "uptime": format_percent(uptimes[service.pk])}
        )
    history = (
        Incident.objects.filter(
            state=IncidentState.RESOLVED, started_at__gte=now - timedelta(days=HISTORY_DAYS)
        )
        .prefetch_related("services", "updates")
        .order_by("-started_at")
    )
    return {
        "groups": list(groups.items()),
        "incidents": [_incident(i, language) for i in selectors.open_incidents()],
        "maintenance": [_maintenance(m, language) for m in selectors.current_maintenance()],
        "history": [_incident(i, language) for i in history],
        "history_days": HISTORY_DAYS,
    }


@contextmanager
def _patient_for(milliseconds: int) -> Iterator[None]:
    """The status's queries in one transaction that PostgreSQL cuts short after
    `milliseconds` (DESTEK_STATUS_DB_TIMEOUT_MS; 0: as long as they take). A slow database
    then answers with an error soon, and the page shows its last good copy instead of
    making the reader wait."""
    if not milliseconds or connection.vendor != "postgresql":
        yield  # (SQLite: no timeout, and no transaction: it would take the write lock)
        return
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SELECT set_config('statement_timeout', %s, true)", [str(milliseconds)])
        yield


def _status_content(language: str) -> str:
    """The page's content (not the layout: that carries the reader's menu and CSRF token)."""
    with _patient_for(settings.DESTEK_STATUS_DB_TIMEOUT_MS):
        context = _status_context(language)
        return render_to_string("announcements/_status_content.html", context)


def status_page(request: HttpRequest) -> HttpResponse:
    """The status, rendered once per language, time zone and calendar until the next status event
    (or a minute: uptime moves on). When the database fails or is too slow, the last good
    copy, marked with its time, instead of an error."""
    language = _language()
    zone = timezone.get_current_timezone_name()
    calendar = active_calendar()  # a Persian reader's dates are solar Hijri or Gregorian
    fresh = status_cache.key("page", language, zone, calendar)
    last_good = f"destek:status:last-good:{language}:{zone}:{calendar}"
    content = status_cache.get(fresh)
    as_of: datetime | None = None
    if content is None:
        try:
            content = _status_content(language)
        except (OperationalError, InterfaceError):
            kept = status_cache.get(last_good)
            if kept is None:
                raise
            log.warning("status page: the database failed; the copy of %s shown", kept[1])
            content, as_of = kept
        else:
            status_cache.put(fresh, content)
            status_cache.put(last_good, (content, timezone.now()), status_cache.LAST_GOOD_SECONDS)
    return render(
        request,
        "announcements/status.html",
        {"content": mark_safe(content), "as_of": as_of},  # noqa: S308 (our own rendering)
    )


def incident_page(request: HttpRequest, pk: int) -> HttpResponse:
    """One incident, open or resolved, with its whole timeline: the page banners, notices
    and the feed link to."""
    incident = get_object_or_404(
        Incident.objects.prefetch_related(
            Prefetch("services", queryset=Service.objects.order_by("position", "name")),
            "areas",
            Prefetch("updates", queryset=IncidentUpdate.objects.order_by("-created_at", "-pk")),
        ),
        pk=pk,
    )
    following = (
        request.user.is_authenticated
        and Subscription.objects.filter(user_id=request.user.pk, incident=incident).exists()
    )
    return render(
        request,
        "announcements/incident.html",
        {"shown": _incident(incident, _language()), "following": following},
    )


class StatusFeed(Feed):  # type: ignore[type-arg]
    """Incidents and maintenance, newest first, in the reader's language; with a slug, only
    what touches that service."""

    feed_type = Atom1Feed

    def get_object(self, request: HttpRequest, slug: str | None = None) -> Service | None:
        return get_object_or_404(Service, slug=slug) if slug else None

    def title(self, service: Service | None) -> str:
        if service is None:
            return _("Service status")
        return _("Service status: {service}").format(service=service.display_name)

    def link(self, service: Service | None) -> str:
        return reverse("announcements:status")

    def subtitle(self, service: Service | None) -> str:
        return _("Incidents and planned maintenance")

    def items(self, service: Service | None) -> list[Incident | Maintenance]:
        incidents = Incident.objects.prefetch_related("updates")
        maintenance = Maintenance.objects.all()
        if service is not None:
            incidents = incidents.filter(services=service)
            maintenance = maintenance.filter(services=service)
        found: list[Incident | Maintenance] = [
            *incidents.order_by("-started_at")[:FEED_ITEMS],
            *maintenance.order_by("-created_at")[:FEED_ITEMS],
        ]
        found.sort(key=self.item_updateddate, reverse=True)
        return found[:FEED_ITEMS]

    def item_title(self, item: Incident | Maintenance) -> str:
        title = pick(item.title, _language()).text
        return (
            title if isinstance(item, Incident) else _("Maintenance: {title}").format(title=title)
        )

    def item_description(self, item: Incident | Maintenance) -> str:
        language = _language()
        if isinstance(item, Maintenance):
            return html(item.body, language)
        parts = [
            f"<p><strong>{update.get_state_display()}</strong></p>{html(update.body, language)}"
            for update in sorted(item.updates.all(), key=_newest, reverse=True)
        ]
        return "".join(parts)

    def item_link(self, item: Incident | Maintenance) -> str:
        if isinstance(item, Incident):
            return reverse("announcements:incident", args=[item.pk])
        return f"{reverse('announcements:status')}#maintenance-{item.pk}"

    def item_pubdate(self, item: Incident | Maintenance) -> datetime:
        return item.started_at if isinstance(item, Incident) else item.created_at

    def item_updateddate(self, item: Incident | Maintenance) -> datetime:
        if isinstance(item, Incident):
            latest = max((u.created_at for u in item.updates.all()), default=item.started_at)
            return latest
        return max(
            t for t in (item.created_at, item.started_at, item.completed_at, item.cancelled_at) if t
        )


def _newest(update: IncidentUpdate) -> tuple[datetime, int]:
    return (update.created_at, update.pk)
