"""The public status page and its Atom feeds, in the reader's language."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from xml.etree import ElementTree

import pytest
from django.core.cache import cache
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from destek.announcements import actions
from destek.announcements.models import Incident, Service
from destek.demo.status import load_status

pytestmark = pytest.mark.django_db
ATOM = "{http://www.w3.org/2005/Atom}"


def page(language: str, path: str = "/status/") -> Any:
    client = Client()
    client.cookies["django_language"] = language
    return client.get(path)


@pytest.fixture
def status(demo: None) -> None:
    load_status()


def test_the_status_page_shows_services_maintenance_and_past_incidents(status: None) -> None:
    response = page("en")
    assert response.status_code == 200
    html = response.content.decode()
    assert "All services are working as they should." in html
    assert 'id="service-payments"' in html
    assert "Database upgrade in Istanbul" in html
    assert "Card payments failing in Baku" in html
    assert "gateway rejects our certificate" in html


def test_an_open_incident_shows_its_timeline_first(status: None) -> None:
    incident = actions.create_incident(
        None, title={"en": "API errors"}, body="We see **errors**.", services=["api"]
    )
    html = page("en").content.decode()
    assert f'id="incident-{incident.pk}"' in html
    assert "<strong>errors</strong>" in html
    assert "Some services have problems." in html


def test_persian_readers_get_a_right_to_left_page_with_fallbacks_marked(status: None) -> None:
    html = page("fa").content.decode()
    assert 'dir="rtl"' in html
    assert 'lang="en"' in html  # the incident has no Persian: shown in English, marked
    assert "badge fallback" in html
    assert "Shown in English" not in html  # the language is named in Persian


def test_a_window_described_in_another_language_is_marked_as_such(status: None) -> None:
    actions.schedule_maintenance(
        None,
        title={"en": "App update", "ru": "Обновление приложения"},
        body={"en": "You may be signed out once."},
        services=["api"],
        starts_at=timezone.now() + timedelta(days=3),
        ends_at=timezone.now() + timedelta(days=3, hours=1),
    )
    html = page("ru").content.decode()
    window = html[html.index("Обновление приложения") :]
    window = window[: window.index("</article>")]
    assert 'lang="en"' in window and "badge fallback" in window


def test_an_incident_has_a_page_of_its_own_with_its_whole_timeline(status: None) -> None:
    incident = actions.create_incident(
        None,
        title={"en": "API errors", "ru": "Ошибки API"},
        body={"en": "We see **errors**.", "ru": "Видим **ошибки**."},
        services=["api"],
    )
    actions.add_incident_update(None, incident, body={"en": "Fixed."}, state="resolved")
    html = page("ru", f"/status/incidents/{incident.pk}/").content.decode()
    assert "Ошибки API" in html
    assert "<strong>ошибки</strong>" in html
    assert "Fixed." in html and "badge fallback" in html
    assert page("en", "/status/incidents/999999/").status_code == 404
    assert f'/status/incidents/{incident.pk}/"' in page("en", "/status/feed.atom").content.decode()


def test_the_azerbaijani_page_shows_the_azerbaijani_timeline(status: None) -> None:
    html = page("az").content.decode()
    assert "Bakıda kartla ödənişlər alınmır" in html
    assert "Ödənişlər yenidən işləyir." in html


def test_the_ticket_lookup_still_posts_to_the_same_address(status: None) -> None:
    answer = Client().post("/status/", {"number": "1", "email": "customer@example.com"})
    assert answer.status_code in (302, 422)


def test_the_atom_feed_lists_incidents_and_maintenance_in_the_readers_language(
    status: None,
) -> None:
    response = page("ru", "/status/feed.atom")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/atom+xml")
    feed = ElementTree.fromstring(response.content)  # noqa: S314 - our own feed
    titles = [e.findtext(f"{ATOM}title") for e in feed.findall(f"{ATOM}entry")]
    assert len(titles) == 2
    assert any("Обновление базы данных в Стамбуле" in (t or "") for t in titles)
    per_service = ElementTree.fromstring(  # noqa: S314 - our own feed
        page("en", "/status/payments/feed.atom").content
    )
    assert [e.findtext(f"{ATOM}title") for e in per_service.findall(f"{ATOM}entry")] == [
        "Card payments failing in Baku"
    ]
    assert page("en", "/status/nope/feed.atom").status_code == 404


def test_the_status_page_reads_the_same_number_of_queries_for_more_services_and_incidents(
    status: None,
) -> None:
    def count() -> int:
        cache.clear()  # a page rendered afresh, not its cached copy
        with CaptureQueriesContext(connection) as queries:
            assert page("en").status_code == 200
        return len(queries)

    actions.create_incident(None, title="X", body="Y", services=["api"])
    before = count()
    for n in range(3):
        Service.objects.create(slug=f"extra-{n}", name=f"Extra {n}")
        actions.create_incident(None, title="X", body="Y", services=["api", f"extra-{n}"])
        actions.add_incident_update(None, Incident.objects.first(), body="Z", state="resolved")  # type: ignore[arg-type]
        actions.create_incident(None, title="X", body="Y", services=["api", f"extra-{n}"])
    assert count() == before


def test_the_incident_page_says_when_you_follow_it_and_offers_no_follow_once_resolved(
    status: None,
) -> None:
    from conftest import signed_in_client
    from destek.accounts.models import User

    incident = actions.create_incident(None, title="API errors", body="Errors.", services=["api"])
    reader = signed_in_client(User.objects.get(email="customer2@example.com"))
    path = f"/status/incidents/{incident.pk}/"
    assert "You follow this incident." not in reader.get(path).content.decode()
    reader.post(f"{path}follow/")
    page = reader.get(path).content.decode()
    assert "You follow this incident." in page and 'action="/status/incidents/' not in page
    actions.add_incident_update(None, incident, body="Fixed.", state="resolved")
    assert 'id="follow"' not in page_for(reader, path)


def page_for(client: Any, path: str) -> str:
    return str(client.get(path).content.decode())
