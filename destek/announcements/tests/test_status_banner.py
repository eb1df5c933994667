"""The banner: "We know about ...; you don't need to file a ticket" on the portal, the way to
the new-ticket form and the chat widget, while an incident concerns the reader."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from conftest import signed_in_client
from destek.accounts.models import User
from destek.announcements import actions
from destek.announcements.models import Incident, Service, ServiceUser
from destek.announcements.selectors import banner_for
from destek.demo.status import load_status

pytestmark = pytest.mark.django_db

FOLLOW = "Follow this incident"


@pytest.fixture
def status(demo: None, django_capture_on_commit_callbacks: Any) -> Any:
    """The demo's status (the customer uses the website and everything in Baku); each
    action commits as in production (the banner's cache is forgotten on commit)."""
    load_status()

    def commit(action: Any, *args: Any, **kwargs: Any) -> Any:
        with django_capture_on_commit_callbacks(execute=True):
            return action(*args, **kwargs)

    return commit


def _payments_down(commit: Any, **extra: Any) -> Incident:
    fields: dict[str, Any] = {
        "title": {"en": "Payments fail", "az": "Ödənişlər alınmır"},
        "body": {"en": "We are looking into it.", "az": "Araşdırırıq."},
        "services": ["payments"],
        "impact": "major_outage",
        **extra,
    }
    incident: Incident = commit(actions.create_incident, None, **fields)
    return incident


def test_a_customer_sees_the_banner_in_azerbaijani_on_the_portal_with_a_link_to_follow(
    status: Any, users: dict[str, User]
) -> None:
    incident = _payments_down(status)
    html = signed_in_client(users["customer"], "az").get("/my/tickets/").content.decode()
    assert 'class="status-banner"' in html
    assert "Ödənişlər alınmır" in html
    assert "Araşdırırıq." in html  # the latest update
    assert f'href="/status/incidents/{incident.pk}/"' in html
    assert "Shown in" not in html.split('class="status-banner"')[1].split("</aside>")[0]


def test_a_persian_reader_sees_the_banner_right_to_left_marked_as_not_translated(
    status: Any, users: dict[str, User]
) -> None:
    _payments_down(status)
    html = signed_in_client(users["customer"], "fa").get("/my/tickets/").content.decode()
    assert 'dir="rtl"' in html
    banner = html.split('class="status-banner"')[1].split("</aside>")[0]
    assert "Payments fail" in banner  # the company's language, marked as such
    assert 'class="badge fallback"' in banner


def test_the_banner_follows_the_latest_state_and_goes_once_the_incident_is_resolved(
    status: Any, users: dict[str, User]
) -> None:
    incident = _payments_down(status)
    client = signed_in_client(users["customer"])
    assert "Investigating" in client.get("/my/tickets/").content.decode()
    status(actions.add_incident_update, None, incident, body="Found it.", state="identified")
    html = client.get("/my/tickets/").content.decode()
    assert "Identified" in html and "Found it." in html
    status(actions.add_incident_update, None, incident, body="Fixed.", state="resolved")
    assert 'class="status-banner"' not in client.get("/my/tickets/").content.decode()


def test_an_incident_limited_to_another_area_is_not_shown_to_a_customer_of_baku(
    status: Any, users: dict[str, User]
) -> None:
    _payments_down(status, areas=["istanbul-dc"], impact="degraded")
    html = signed_in_client(users["customer"]).get("/my/tickets/").content.decode()
    assert 'class="status-banner"' not in html


def test_a_customer_linked_to_a_service_sees_its_incidents_and_not_others(
    status: Any, users: dict[str, User]
) -> None:
    someone = users["customer2"]
    ServiceUser.objects.create(user=someone, service=Service.objects.get(slug="api"))
    status(
        actions.create_incident, None, title="API slow", body="Slow.", services=["api"],
        impact="degraded",
    )  # fmt: skip
    _payments_down(status)
    titles = [item.title.text for item in banner_for(someone, "en")]
    assert titles == ["API slow"]


def test_a_customer_linked_to_nothing_sees_only_outages(
    status: Any, users: dict[str, User]
) -> None:
    nobody = users["customer2"]
    assert not ServiceUser.objects.filter(user=nobody).exists()
    status(
        actions.create_incident, None, title="API slow", body="Slow.", services=["api"],
        impact="degraded",
    )  # fmt: skip
    assert banner_for(nobody, "en") == []
    _payments_down(status)
    assert [item.title.text for item in banner_for(nobody, "en")] == ["Payments fail"]


def test_maintenance_in_progress_is_shown_to_those_who_use_it(
    status: Any, users: dict[str, User]
) -> None:
    now = timezone.now()
    status(
        actions.schedule_maintenance, None, title="Website upgrade", body="An hour.",
        services=["website"], starts_at=now - timedelta(minutes=5),
        ends_at=now + timedelta(hours=1),
    )  # fmt: skip
    html = signed_in_client(users["customer"]).get("/my/tickets/").content.decode()
    assert "Website upgrade" in html
    assert "See the maintenance" in html
    assert banner_for(None, "en") == []  # a visitor: planned work is not an outage


def test_the_new_ticket_form_shows_the_banner_to_customers_and_to_visitors_on_their_way(
    status: Any, users: dict[str, User]
) -> None:
    _payments_down(status)
    html = signed_in_client(users["customer"]).get("/my/tickets/new/").content.decode()
    assert html.count(FOLLOW) == 1
    visitor = Client()
    way = visitor.get("/my/tickets/new/", follow=True)
    assert "/sign-in/" in way.redirect_chain[-1][0]
    assert FOLLOW in way.content.decode()
    assert FOLLOW not in visitor.get("/sign-in/").content.decode()
    assert FOLLOW not in visitor.get("/").content.decode()


def test_the_chat_widget_shows_the_banner_before_the_chat_starts(
    status: Any, users: dict[str, User]
) -> None:
    incident = _payments_down(status)
    html = Client().get("/chat/widget/?lang=az").content.decode()
    start = html.split('id="chat-start"')[1].split("</form>")[0]
    assert "Ödənişlər alınmır" in start
    assert f'href="/status/incidents/{incident.pk}/" target="_blank"' in start
    customer_html = signed_in_client(users["customer"]).get("/chat/widget/").content.decode()
    assert "Payments fail" in customer_html


def test_agents_and_the_status_pages_show_no_banner(status: Any, users: dict[str, User]) -> None:
    incident = _payments_down(status)
    assert FOLLOW not in signed_in_client(users["agent"]).get("/desk/").content.decode()
    customer = signed_in_client(users["customer"])
    assert FOLLOW not in customer.get("/status/").content.decode()
    # the incident page has its own "Follow" form, but no banner
    assert "status-banner" not in customer.get(f"/status/incidents/{incident.pk}/").content.decode()


def test_a_portal_page_with_the_banner_costs_no_query_more_once_it_is_cached(
    status: Any, users: dict[str, User], django_assert_max_num_queries: Any
) -> None:
    client = signed_in_client(users["customer"])

    def count() -> int:
        client.get("/my/tickets/")  # the banner reads what it needs once
        with CaptureQueriesContext(connection) as queries:
            assert client.get("/my/tickets/").status_code == 200
        return len(queries)

    without = count()
    _payments_down(status)
    status(
        actions.create_incident, None, title="API slow", body="Slow.", services=["api"],
        impact="degraded",
    )  # fmt: skip
    assert count() == without
    assert FOLLOW in client.get("/my/tickets/").content.decode()
    with django_assert_max_num_queries(0):
        assert len(banner_for(users["customer"], "en")) == 2


def test_linking_a_customer_to_a_service_shows_its_banner_at_once(
    status: Any, users: dict[str, User], django_capture_on_commit_callbacks: Any
) -> None:
    someone = users["customer2"]
    status(
        actions.create_incident, None, title="API slow", body="Slow.", services=["api"],
        impact="degraded",
    )  # fmt: skip
    assert banner_for(someone, "en") == []
    with django_capture_on_commit_callbacks(execute=True):
        ServiceUser.objects.create(user=someone, service=Service.objects.get(slug="api"))
    assert [item.title.text for item in banner_for(someone, "en")] == ["API slow"]
