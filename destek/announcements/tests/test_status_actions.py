"""Incidents, maintenance and service states, through the actions every edge calls."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.test import override_settings
from django.utils import timezone, translation

from destek.announcements import actions
from destek.announcements.choices import EventKind, MaintenanceState, ServiceState
from destek.announcements.models import Area, Service, ServiceGroup, StatusEvent
from destek.announcements.selectors import uptime
from destek.announcements.texts import pick
from destek.lib.errors import ActionRefused

pytestmark = pytest.mark.django_db


@pytest.fixture
def services() -> dict[str, Service]:
    group = ServiceGroup.objects.create(name="Hosting")
    Area.objects.create(slug="baku", name="Baku DC")
    return {
        slug: Service.objects.create(slug=slug, name=slug.title(), group=group, created_at=T0)
        for slug in ("website", "api", "payments")
    }


T0 = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)


def shown(slug: str) -> str:
    return Service.objects.get(slug=slug).shown_state


def test_an_incident_shows_its_impact_on_its_services_until_resolved(services: Any) -> None:
    incident = actions.create_incident(
        None,
        title="Payments fail",
        body="We are looking into it.",
        services=["payments"],
        impact=ServiceState.MAJOR_OUTAGE,
        at=T0,
    )
    assert shown("payments") == ServiceState.MAJOR_OUTAGE
    assert shown("website") == ServiceState.OPERATIONAL
    actions.add_incident_update(
        None, incident, body="Found it.", state="identified", at=T0 + timedelta(minutes=10)
    )
    assert shown("payments") == ServiceState.MAJOR_OUTAGE
    actions.add_incident_update(
        None, incident, body="Fixed.", state="resolved", at=T0 + timedelta(hours=1)
    )
    incident.refresh_from_db()
    assert incident.resolved_at == T0 + timedelta(hours=1)
    assert shown("payments") == ServiceState.OPERATIONAL
    assert [u.state for u in incident.updates.all()] == ["investigating", "identified", "resolved"]
    kinds = list(StatusEvent.objects.values_list("kind", flat=True))
    assert kinds == [
        EventKind.INCIDENT_CREATED,
        EventKind.INCIDENT_UPDATED,
        EventKind.INCIDENT_RESOLVED,
    ]


def test_resolving_one_incident_leaves_a_service_another_still_holds(services: Any) -> None:
    first = actions.create_incident(
        None, title="Slow", body="Slow.", services=["api"], impact="degraded"
    )
    actions.create_incident(
        None, title="Down", body="Down.", services=["api"], impact="partial_outage"
    )
    assert shown("api") == ServiceState.PARTIAL_OUTAGE
    actions.add_incident_update(None, first, body="Better.", state="resolved")
    assert shown("api") == ServiceState.PARTIAL_OUTAGE


def test_a_resolved_incident_is_not_reopened(services: Any) -> None:
    incident = actions.create_incident(None, title="X", body="Y", services=["api"])
    actions.add_incident_update(None, incident, body="Done.", state="resolved")
    with pytest.raises(ActionRefused) as refused:
        actions.add_incident_update(None, incident, body="Again?", state="investigating")
    assert refused.value.code == "incident_resolved"
    actions.add_incident_update(None, incident, body="Post-mortem: a full disk.")
    assert incident.updates.count() == 3


def test_unknown_services_and_languages_are_refused_with_their_names(services: Any) -> None:
    with pytest.raises(ActionRefused) as refused:
        actions.create_incident(None, title="X", body="Y", services=["api", "mail", "dns"])
    assert refused.value.code == "unknown_service"
    assert "mail, dns" in str(refused.value.detail)
    with pytest.raises(ActionRefused) as refused:
        actions.create_incident(None, title={"de": "X"}, body="Y", services=["api"])
    assert refused.value.code == "unknown_language"
    with pytest.raises(ActionRefused) as refused:
        actions.create_incident(None, title="X", body="Y", services=[])
    assert refused.value.code == "services_required"


def test_refusals_are_in_the_callers_language(services: Any) -> None:
    with translation.override("tr"), pytest.raises(ActionRefused) as refused:
        actions.create_incident(None, title="X", body="Y", services=["nope"])
    with translation.override("tr"):
        assert "nope" in str(refused.value.detail)
        assert str(refused.value.detail) != "Unknown service: nope."


@override_settings(LANGUAGE_CODE="en")
def test_a_missing_translation_falls_back_to_the_default_language_marked(services: Any) -> None:
    incident = actions.create_incident(
        None,
        title={"en": "Payments fail", "az": "Ödənişlər alınmır"},
        body="We are looking into it.",
        services=["payments"],
    )
    assert pick(incident.title, "az") == pick(incident.title, "az").__class__(
        "Ödənişlər alınmır", "az", False
    )
    ru = pick(incident.title, "ru")
    assert (ru.text, ru.language, ru.fallback) == ("Payments fail", "en", True)


def test_a_string_text_is_stored_in_the_callers_language(services: Any) -> None:
    incident = actions.create_incident(
        None, title="Ödənişlər alınmır", body="Baxırıq.", services=["payments"], language="az"
    )
    assert incident.title == {"az": "Ödənişlər alınmır"}


def test_maintenance_runs_at_its_window_edges_and_twice_changes_nothing(services: Any) -> None:
    now = timezone.now()
    window = actions.schedule_maintenance(
        None,
        title="Database upgrade",
        body="",
        services=["website", "api"],
        areas=["baku"],
        starts_at=now + timedelta(hours=1),
        ends_at=now + timedelta(hours=2),
        now=now,
    )
    assert window.state == MaintenanceState.SCHEDULED
    assert actions.run_maintenance_windows(now + timedelta(minutes=30)) == (0, 0)
    assert actions.run_maintenance_windows(now + timedelta(hours=1)) == (1, 0)
    assert actions.run_maintenance_windows(now + timedelta(hours=1)) == (0, 0)
    assert shown("website") == ServiceState.UNDER_MAINTENANCE
    assert shown("payments") == ServiceState.OPERATIONAL
    assert actions.run_maintenance_windows(now + timedelta(hours=2)) == (0, 1)
    assert actions.run_maintenance_windows(now + timedelta(hours=2)) == (0, 0)
    window.refresh_from_db()
    assert window.state == MaintenanceState.COMPLETED
    assert shown("website") == ServiceState.OPERATIONAL


def test_an_outage_during_maintenance_shows_the_outage(services: Any) -> None:
    now = timezone.now()
    actions.schedule_maintenance(
        None,
        title="Upgrade",
        body="",
        services=["api"],
        starts_at=now - timedelta(minutes=1),
        ends_at=now + timedelta(hours=1),
    )
    assert shown("api") == ServiceState.UNDER_MAINTENANCE
    actions.create_incident(
        None, title="Down", body="Down.", services=["api"], impact="major_outage"
    )
    assert shown("api") == ServiceState.MAJOR_OUTAGE


def test_a_window_must_end_after_it_starts_and_have_an_offset(services: Any) -> None:
    now = timezone.now()
    with pytest.raises(ActionRefused) as refused:
        actions.schedule_maintenance(
            None, title="X", body="", services=["api"], starts_at=now, ends_at=now
        )
    assert refused.value.code == "ends_before_start"
    with pytest.raises(ActionRefused) as refused:
        actions.schedule_maintenance(
            None,
            title="X",
            body="",
            services=["api"],
            starts_at=datetime(2030, 1, 1, 2, 0),
            ends_at=datetime(2030, 1, 1, 3, 0, tzinfo=UTC),
        )
    assert refused.value.code == "naive_time"


def test_a_cancelled_window_frees_its_services_and_a_finished_one_cannot_be_cancelled(
    services: Any,
) -> None:
    now = timezone.now()
    window = actions.schedule_maintenance(
        None,
        title="X",
        body="",
        services=["api"],
        starts_at=now - timedelta(minutes=5),
        ends_at=now + timedelta(hours=1),
    )
    assert shown("api") == ServiceState.UNDER_MAINTENANCE
    actions.cancel_maintenance(window)
    assert shown("api") == ServiceState.OPERATIONAL
    with pytest.raises(ActionRefused) as refused:
        actions.cancel_maintenance(window)
    assert refused.value.code == "maintenance_finished"


def test_uptime_counts_outages_over_ninety_days(services: Any) -> None:
    api = services["api"]
    start = T0 + timedelta(days=10)
    actions.set_service_state(None, api, ServiceState.MAJOR_OUTAGE, now=start)
    actions.set_service_state(None, api, ServiceState.OPERATIONAL, now=start + timedelta(hours=9))
    now = T0 + timedelta(days=90)
    assert uptime(api, now=now) == pytest.approx(1 - 9 / (90 * 24))
    # Degraded performance is not down time.
    actions.set_service_state(None, api, ServiceState.DEGRADED, now=now)
    assert uptime(api, now=now + timedelta(days=1)) == pytest.approx(1 - 9 / (90 * 24))
    assert uptime(services["website"], now=now) == 1.0


def test_the_workers_minute_job_starts_a_window_that_began(services: Any, run_job: Any) -> None:
    from destek.announcements.jobs import run_maintenance_windows

    now = timezone.now()
    window = actions.schedule_maintenance(
        None,
        title="X",
        body="",
        services=["api"],
        starts_at=now + timedelta(seconds=1),
        ends_at=now + timedelta(hours=1),
        now=now,
    )
    Maintenance = type(window)
    Maintenance.objects.filter(pk=window.pk).update(starts_at=now - timedelta(minutes=1))
    run_job(run_maintenance_windows)
    window.refresh_from_db()
    assert window.state == MaintenanceState.IN_PROGRESS
