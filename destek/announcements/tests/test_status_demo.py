"""The demo's status: three services in two data centres, a past incident, a window soon."""

from __future__ import annotations

from typing import Any

import pytest

from destek.announcements.models import Incident, Maintenance, Service, ServiceUser
from destek.announcements.selectors import uptime
from destek.demo.status import load_status

pytestmark = pytest.mark.django_db


def test_the_demo_shows_services_a_resolved_incident_and_a_window_to_come(
    demo: None, as_user: Any
) -> None:
    load_status()
    load_status()  # twice adds nothing
    assert Incident.objects.count() == 1
    assert Maintenance.objects.count() == 1
    incident = Incident.objects.get()
    assert incident.state == "resolved"
    assert incident.updates.count() == 3
    assert set(incident.updates.last().body) == {"en", "az"}  # type: ignore[union-attr]
    status = as_user(None, "ru").get("status").json()
    assert [s["slug"] for s in status["services"]] == ["website", "api", "payments"]
    assert {s["state"] for s in status["services"]} == {"operational"}
    assert status["incidents"] == []
    [window] = status["maintenance"]
    assert (window["title"], window["fallback"]) == ("Обновление базы данных в Стамбуле", False)
    assert uptime(Service.objects.get(slug="payments")) < 1
    assert ServiceUser.objects.filter(user__email="customer@example.com").count() == 2


def test_services_groups_and_areas_are_named_in_the_readers_language(
    demo: None, as_user: Any
) -> None:
    load_status()
    services = as_user(None, "tr").get("status").json()["services"]
    assert [(s["name"], s["group"]) for s in services] == [
        ("Web sitesi", "Müşteri hizmetleri"),
        ("API", "Müşteri hizmetleri"),
        ("Ödemeler", "Faturalama"),
    ]
    assert as_user(None, "en").get("status").json()["services"][0]["name"] == "Website"
