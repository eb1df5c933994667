"""The admin's pages for the status: an incident opened and updated, a window planned."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from conftest import signed_in_client
from destek.accounts.models import User
from destek.announcements import actions
from destek.announcements.models import Incident, Maintenance, Service

pytestmark = pytest.mark.django_db


@pytest.fixture
def api_service(demo: None) -> Service:
    return Service.objects.get_or_create(slug="api-test", defaults={"name": "API test"})[0]


def test_an_admin_opens_and_resolves_an_incident_in_the_admin(
    users: dict[str, User], api_service: Service
) -> None:
    client = signed_in_client(users["admin"])
    assert client.get("/admin/announcements/incident/add/").status_code == 200
    form = {
        "title_en": "API errors",
        "title_ru": "Ошибки API",
        "state": "investigating",
        "impact": "major_outage",
        "services": [api_service.pk],
        "started_at_0": "2026-12-01",
        "started_at_1": "10:00:00",
        "update_en": "We see errors.",
        "updates-TOTAL_FORMS": "0",
        "updates-INITIAL_FORMS": "0",
    }
    response = client.post("/admin/announcements/incident/add/", form)
    assert response.status_code == 302, response.content.decode()[:3000]
    incident = Incident.objects.get(title__en="API errors")
    api_service.refresh_from_db()
    assert api_service.shown_state == "major_outage"
    page = client.get(f"/admin/announcements/incident/{incident.pk}/change/")
    assert page.status_code == 200
    assert "We see errors." in page.content.decode()
    changed = client.post(
        f"/admin/announcements/incident/{incident.pk}/change/",
        {
            **form,
            "state": "resolved",
            "update_en": "Fixed.",
            "updates-TOTAL_FORMS": "1",
            "updates-INITIAL_FORMS": "1",
            "updates-0-id": str(incident.updates.get().pk),
            "updates-0-incident": str(incident.pk),
        },
    )
    assert changed.status_code == 302
    incident.refresh_from_db()
    assert incident.state == "resolved"
    assert incident.updates.count() == 2
    api_service.refresh_from_db()
    assert api_service.shown_state == "operational"


def test_an_incident_without_services_is_refused_in_the_admin(
    users: dict[str, User], api_service: Service
) -> None:
    client = signed_in_client(users["admin"])
    response = client.post(
        "/admin/announcements/incident/add/",
        {
            "title_en": "X",
            "state": "investigating",
            "impact": "degraded",
            "started_at_0": "2026-12-01",
            "started_at_1": "10:00:00",
            "update_en": "Y",
            "updates-TOTAL_FORMS": "0",
            "updates-INITIAL_FORMS": "0",
        },
    )
    assert response.status_code == 200
    assert "Name at least one affected service." in response.content.decode()


def test_an_admin_plans_a_window_in_the_admin(users: dict[str, User], api_service: Service) -> None:
    client = signed_in_client(users["admin"])
    start = timezone.localtime() + timedelta(days=2)
    end = start + timedelta(hours=1)
    form: dict[str, Any] = {
        "title_en": "Upgrade",
        "services": [api_service.pk],
        "starts_at_0": start.strftime("%Y-%m-%d"),
        "starts_at_1": start.strftime("%H:%M:%S"),
        "ends_at_0": end.strftime("%Y-%m-%d"),
        "ends_at_1": end.strftime("%H:%M:%S"),
    }
    response = client.post("/admin/announcements/maintenance/add/", form)
    assert response.status_code == 302, response.content.decode()[:3000]
    assert Maintenance.objects.filter(title__en="Upgrade", state="scheduled").exists()
    backwards = client.post(
        "/admin/announcements/maintenance/add/",
        {**form, "ends_at_0": start.strftime("%Y-%m-%d"), "ends_at_1": "00:00:00"}
        if start.strftime("%H:%M:%S") != "00:00:00"
        else form,
    )
    assert backwards.status_code == 200
    for page in ("service", "servicegroup", "area", "serviceuser", "statusevent", "maintenance"):
        assert client.get(f"/admin/announcements/{page}/").status_code == 200, page


def test_an_admin_allows_an_agent_to_post_the_status_and_stops_them(
    users: dict[str, User], as_user: Any, api_service: Service
) -> None:
    from destek.announcements.access import may_manage

    client = signed_in_client(users["admin"])
    agent = users["agent"]
    assert not may_manage(agent)
    response = client.post(
        "/admin/accounts/user/",
        {"action": "allow_status", "_selected_action": [agent.pk, users["customer"].pk]},
    )
    assert response.status_code == 302
    assert may_manage(User.objects.get(pk=agent.pk))
    assert not may_manage(User.objects.get(pk=users["customer"].pk))
    client.post(
        "/admin/accounts/user/", {"action": "disallow_status", "_selected_action": [agent.pk]}
    )
    assert not may_manage(User.objects.get(pk=agent.pk))


def test_incident_titles_and_updates_are_written_one_field_per_language(
    users: dict[str, User], api_service: Service
) -> None:
    client = signed_in_client(users["admin"])
    add = client.get("/admin/announcements/incident/add/").content.decode()
    assert "Title in Persian" in add and "New update in Azerbaijani" in add
    assert '{"en": ""}' not in add  # no raw JSON to edit any more
    form = {
        "title_en": "Login fails",
        "title_fa": "ورود کار نمی‌کند",
        "state": "investigating",
        "impact": "partial_outage",
        "services": [api_service.pk],
        "started_at_0": "2026-12-01",
        "started_at_1": "10:00:00",
        "update_az": "Araşdırırıq.",
        "update_fa": "در حال بررسی هستیم.",
        "updates-TOTAL_FORMS": "0",
        "updates-INITIAL_FORMS": "0",
    }
    assert client.post("/admin/announcements/incident/add/", form).status_code == 302
    incident = Incident.objects.get(title__en="Login fails")
    assert incident.title == {"en": "Login fails", "fa": "ورود کار نمی‌کند"}
    assert incident.updates.get().body == {"az": "Araşdırırıq.", "fa": "در حال بررسی هستیم."}
    change = client.get(f"/admin/announcements/incident/{incident.pk}/change/").content.decode()
    assert 'value="ورود کار نمی‌کند"' in change
    # The timeline shows each language's text under its name, not the stored JSON.
    assert '<p dir="auto" lang="fa" style="white-space: pre-wrap">در حال بررسی هستیم.</p>' in change
    assert '"az": "Araşdırırıq."' not in change
    untitled = client.post(
        "/admin/announcements/incident/add/", {**form, "title_en": "", "title_fa": ""}
    )
    assert untitled.status_code == 200
    assert "title: this field is required." in untitled.content.decode()


def test_a_window_s_description_is_written_per_language_and_kept_on_a_change(
    users: dict[str, User], api_service: Service
) -> None:
    client = signed_in_client(users["admin"])
    start = timezone.localtime() + timedelta(days=2)
    end = start + timedelta(hours=1)
    form: dict[str, Any] = {
        "title_en": "Upgrade",
        "title_tr": "Güncelleme",
        "body_ru": "До часа.",
        "services": [api_service.pk],
        "starts_at_0": start.strftime("%Y-%m-%d"),
        "starts_at_1": start.strftime("%H:%M:%S"),
        "ends_at_0": end.strftime("%Y-%m-%d"),
        "ends_at_1": end.strftime("%H:%M:%S"),
    }
    assert client.post("/admin/announcements/maintenance/add/", form).status_code == 302
    window = Maintenance.objects.get(title__en="Upgrade")
    assert window.title == {"en": "Upgrade", "tr": "Güncelleme"}
    assert window.body == {"ru": "До часа."}
    changed = client.post(
        f"/admin/announcements/maintenance/{window.pk}/change/", {**form, "body_ru": "Два часа."}
    )
    assert changed.status_code == 302
    window.refresh_from_db()
    assert window.body == {"ru": "Два часа."} and window.title["tr"] == "Güncelleme"


def test_moving_the_start_of_a_running_window_is_refused_on_the_form_and_nothing_is_saved(
    users: dict[str, User], api_service: Service
) -> None:
    client = signed_in_client(users["admin"])
    start = timezone.localtime() - timedelta(minutes=10)
    end = start + timedelta(hours=2)
    window = actions.schedule_maintenance(
        users["admin"],
        title="Upgrade",
        body="",
        services=[api_service.slug],
        starts_at=start,
        ends_at=end,
    )
    assert window.state == "in_progress"
    later = start + timedelta(hours=1)
    form: dict[str, Any] = {
        "title_en": "Upgrade, moved",
        "services": [api_service.pk],
        "starts_at_0": later.strftime("%Y-%m-%d"),
        "starts_at_1": later.strftime("%H:%M:%S"),
        "ends_at_0": end.strftime("%Y-%m-%d"),
        "ends_at_1": end.strftime("%H:%M:%S"),
    }
    refused = client.post(f"/admin/announcements/maintenance/{window.pk}/change/", form)
    assert refused.status_code == 200  # the form again, with the reason
    assert "only its end can be moved" in refused.content.decode()
    window.refresh_from_db()
    assert window.title == {"en": "Upgrade"}  # nothing saved


def test_editing_a_window_s_text_in_the_admin_does_not_tell_anyone_it_moved(
    users: dict[str, User], api_service: Service
) -> None:
    client = signed_in_client(users["admin"])
    start = timezone.localtime() + timedelta(days=1, microseconds=123_456)  # as the API stores
    end = start + timedelta(hours=2)
    window = actions.schedule_maintenance(
        users["admin"], title="Upgrade", body="", services=[api_service.slug],
        starts_at=start, ends_at=end,
    )  # fmt: skip
    form: dict[str, Any] = {
        "title_en": "Upgrade of the API",
        "services": [api_service.pk],
        "starts_at_0": start.strftime("%Y-%m-%d"),
        "starts_at_1": start.strftime("%H:%M:%S"),
        "ends_at_0": end.strftime("%Y-%m-%d"),
        "ends_at_1": end.strftime("%H:%M:%S"),
    }
    saved = client.post(f"/admin/announcements/maintenance/{window.pk}/change/", form)
    assert saved.status_code == 302
    window.refresh_from_db()
    assert window.title == {"en": "Upgrade of the API"}
    assert window.starts_at == start
    assert not window.events.filter(kind="maintenance_rescheduled").exists()
