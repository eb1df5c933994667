"""The status over the API: anyone reads it; admins and allowed agents post to it."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth.models import Permission
from django.utils import timezone

from destek.accounts.models import User
from destek.announcements.models import Area, Incident, Service, ServiceGroup

pytestmark = pytest.mark.django_db


@pytest.fixture
def catalogue(demo: None) -> None:
    Service.objects.all().delete()  # the demo's own services are not what these tests count
    group = ServiceGroup.objects.create(name="Hosting")
    for position, slug in enumerate(("website", "api", "payments")):
        Service.objects.create(slug=slug, name=slug.title(), group=group, position=position)
    Area.objects.create(slug="baku", name="Baku DC")


INCIDENT = {
    "title": {"en": "Payments fail", "az": "Ödənişlər alınmır"},
    "body": {"en": "We are looking into it.", "az": "Araşdırırıq."},
    "services": ["payments"],
    "areas": ["baku"],
}


def test_anyone_reads_the_status_without_signing_in(
    catalogue: None, admin: Any, anonymous: Any
) -> None:
    assert admin.post("incidents", {**INCIDENT, "impact": "major_outage"}).status_code == 201
    status = anonymous.get("status")
    assert status.status_code == 200, status.content
    body = status.json()
    states = {s["slug"]: s["state"] for s in body["services"]}
    assert states == {
        "website": "operational",
        "api": "operational",
        "payments": "major_outage",
    }
    [incident] = body["incidents"]
    assert incident["title"] == "Payments fail"
    assert incident["services"] == ["payments"]
    assert incident["updates"][0]["body_html"] == "<p>We are looking into it.</p>"


def test_the_reader_gets_their_language_or_the_default_marked(
    catalogue: None, admin: Any, as_user: Any
) -> None:
    admin.post("incidents", INCIDENT)
    [az] = as_user(None, "az").get("status").json()["incidents"]
    assert (az["title"], az["fallback"]) == ("Ödənişlər alınmır", False)
    [ru] = as_user(None, "ru").get("status").json()["incidents"]
    assert (ru["title"], ru["language"], ru["fallback"]) == ("Payments fail", "en", True)


def test_an_admin_opens_updates_and_resolves_an_incident(
    catalogue: None, admin: Any, anonymous: Any
) -> None:
    created = admin.post("incidents", {**INCIDENT, "state": "identified"})
    assert created.status_code == 201, created.content
    number = created.json()["id"]
    update = admin.post(
        f"incidents/{number}/updates", {"body": "A fix is out; watching.", "state": "monitoring"}
    )
    assert update.status_code == 201, update.content
    assert update.json()["state"] == "monitoring"
    done = admin.post(f"incidents/{number}/updates", {"body": "All good.", "state": "resolved"})
    assert done.status_code == 201
    assert Incident.objects.get(pk=number).resolved_at is not None
    status = anonymous.get("status").json()
    assert status["incidents"] == []
    assert {s["state"] for s in status["services"]} == {"operational"}


def test_a_plain_text_is_taken_in_the_requests_language(catalogue: None, as_user: Any) -> None:
    created = as_user("admin", "tr").post(
        "incidents", {"title": "Ödemeler alınmıyor", "body": "İnceliyoruz.", "services": ["api"]}
    )
    assert created.status_code == 201
    assert Incident.objects.get(pk=created.json()["id"]).title == {"tr": "Ödemeler alınmıyor"}


def test_customers_and_agents_without_the_permission_may_not_post(
    catalogue: None, customer: Any, agent: Any, anonymous: Any, users: dict[str, User]
) -> None:
    assert anonymous.post("incidents", INCIDENT).status_code == 401
    assert customer.post("incidents", INCIDENT).status_code == 403
    refused = agent.post("incidents", INCIDENT)
    assert refused.status_code == 403
    assert refused.json()["code"] == "forbidden"
    users["agent"].user_permissions.add(Permission.objects.get(codename="manage"))
    assert agent.post("incidents", INCIDENT).status_code == 201


def test_bad_input_gets_422_with_a_clear_message(catalogue: None, admin: Any) -> None:
    unknown = admin.post("incidents", {**INCIDENT, "services": ["payments", "dns"]})
    assert unknown.status_code == 422
    assert unknown.json()["code"] == "unknown_service"
    assert "dns" in unknown.json()["detail"]
    start = timezone.now() + timedelta(days=1)
    backwards = admin.post(
        "maintenance",
        {
            "title": "Upgrade",
            "body": "",
            "services": ["api"],
            "starts_at": start.isoformat(),
            "ends_at": (start - timedelta(hours=1)).isoformat(),
        },
    )
    assert backwards.status_code == 422
    assert backwards.json()["code"] == "ends_before_start"
    naive = admin.post(
        "maintenance",
        {
            "title": "Upgrade",
            "body": "",
            "services": ["api"],
            "starts_at": "2030-01-01T02:00:00",
            "ends_at": "2030-01-01T03:00:00",
        },
    )
    assert naive.status_code == 422
    assert naive.json()["code"] == "naive_time"
    missing = admin.post("incidents/999999/updates", {"body": "?"})
    assert missing.status_code == 404


def test_maintenance_is_listed_with_times_in_iso_8601_with_offset(
    catalogue: None, admin: Any, anonymous: Any
) -> None:
    created = admin.post(
        "maintenance",
        {
            "title": {"en": "Database upgrade", "fa": "ارتقای پایگاه داده"},
            "body": "**Short** downtime.",
            "services": ["website", "api"],
            "starts_at": "2030-05-01T02:00:00+04:00",
            "ends_at": "2030-05-01T03:00:00+04:00",
        },
    )
    assert created.status_code == 201, created.content
    [window] = anonymous.get("status").json()["maintenance"]
    assert window["state"] == "scheduled"
    assert window["starts_at"] == "2030-04-30T22:00:00+00:00"
    assert window["services"] == ["website", "api"]
    assert "<strong>Short</strong>" in window["body_html"]


def test_markdown_in_bodies_is_sanitised(catalogue: None, admin: Any, anonymous: Any) -> None:
    admin.post(
        "incidents",
        {**INCIDENT, "body": "<script>alert(1)</script> [x](javascript:alert(1)) ok"},
    )
    html = anonymous.get("status").json()["incidents"][0]["updates"][0]["body_html"]
    assert "<script" not in html
    assert 'href="javascript' not in html


def test_the_status_reads_the_same_number_of_queries_for_more_incidents(
    catalogue: None, admin: Any, anonymous: Any
) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert anonymous.get("status").status_code == 200
        return len(queries)

    admin.post("incidents", INCIDENT)
    admin.post("maintenance", {**WINDOW})
    before = count()
    for _ in range(3):
        admin.post("incidents", {**INCIDENT, "services": ["api", "website"]})
        admin.post("maintenance", {**WINDOW})
    assert count() == before


WINDOW = {
    "title": "Upgrade",
    "body": "",
    "services": ["api"],
    "areas": ["baku"],
    "starts_at": "2030-05-01T02:00:00+04:00",
    "ends_at": "2030-05-01T03:00:00+04:00",
}
