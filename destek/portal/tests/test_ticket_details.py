"""Diagnostic details on the new-ticket form: what the browser knows is filled in, technical
departments ask for the rest, and a critical ticket names its server or order and service."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone, translation
from hypothesis import given
from hypothesis import strategies as st

from destek.accounts.models import User
from destek.lib.browser import facts_from_user_agent
from destek.lib.errors import ActionRefused
from destek.tickets import actions
from destek.tickets.details import BY_KEY, CATALOGUE, clean_details
from destek.tickets.models import Department, Ticket

CHROME_ON_WINDOWS = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/119.0.6045.160 Safari/537.36"
)
SAFARI_ON_IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1"
)


@pytest.fixture
def browser(users: dict[str, User], django_capture_on_commit_callbacks: Any) -> Client:
    client = Client(headers={"Accept-Language": "en", "User-Agent": CHROME_ON_WINDOWS})
    client.force_login(users["customer"])
    client.cookies["django_language"] = "en"
    return client


def form(**extra: str) -> dict[str, str]:
    return {
        "subject": "Reports do not load",
        "body": "The report page stays blank since this morning.",
        "urgency": "normal",
        "department": str(Department.objects.get(slug="technical").pk),
        **extra,
    }


@pytest.mark.django_db
def test_the_form_fills_in_the_browser_system_and_time_zone(browser: Client) -> None:
    page = browser.get("/my/tickets/new/").content.decode()
    assert 'value="Windows 10"' in page
    assert 'value="Chrome 119.0.6045.160"' in page
    assert '<option value="computer" selected>' in page
    assert 'value="Asia/Baku"' in page  # the customer's own time zone


def test_a_phone_is_recognised_as_a_smartphone() -> None:
    facts = facts_from_user_agent(SAFARI_ON_IPHONE)
    assert facts == {"os": "iOS 17.1", "browser": "Mobile Safari 17.1", "device": "smartphone"}


@pytest.mark.django_db
def test_technical_details_are_kept_and_shown_with_the_ticket(browser: Client) -> None:
    response = browser.post(
        "/my/tickets/new/",
        form(
            device="computer",
            os="Windows 11",
            browser="Chrome 119.0.6045.160",
            started_at="today 09:10",
            time_zone="Asia/Baku",
            steps="Signed in\nOpened My Orders\nOpened the last order",
            tried="Cleared the cache",
        ),
        follow=True,
    )
    ticket = Ticket.objects.get()
    assert ticket.details == {
        "device": "computer",
        "os": "Windows 11",
        "browser": "Chrome 119.0.6045.160",
        "started_at": "today 09:10",
        "time_zone": "Asia/Baku",
        "steps": "Signed in\nOpened My Orders\nOpened the last order",
        "tried": "Cleared the cache",
    }
    page = response.content.decode()
    assert "<dt>Operating system and version</dt>" in page
    assert "Windows 11" in page
    assert '<dd dir="auto">Computer</dd>' in page


@pytest.mark.django_db
def test_a_critical_ticket_without_server_or_order_is_refused_next_to_the_field(
    browser: Client,
) -> None:
    response = browser.post("/my/tickets/new/", form(urgency="critical", service_name="VPS Baku-2"))
    assert response.status_code == 200
    assert not Ticket.objects.exists()
    page = response.content.decode()
    assert "give the server IP address or the order number" in page
    # What was typed is still there.
    assert "The report page stays blank since this morning." in page
    assert 'value="VPS Baku-2"' in page


@pytest.mark.django_db
def test_a_critical_ticket_with_order_service_and_start_time_is_filed_as_critical(
    browser: Client,
) -> None:
    browser.post(
        "/my/tickets/new/",
        form(
            urgency="critical",
            order_number="#123456",
            service_name="VPS Baku-2",
            started_at="today 21:10",
            time_zone="Asia/Baku",
        ),
    )
    ticket = Ticket.objects.get()
    assert (ticket.urgency, ticket.priority) == ("critical", "critical")
    assert ticket.details["order_number"] == "#123456"


@pytest.mark.django_db
def test_a_wrong_server_address_is_refused_in_the_customers_language(
    users: dict[str, User],
) -> None:
    client = Client(headers={"Accept-Language": "tr"})
    client.force_login(users["customer"])
    client.cookies["django_language"] = "tr"
    users["customer"].language = "tr"
    users["customer"].save()
    response = client.post("/my/tickets/new/", form(server_ip="999.1.1.1"))
    assert response.status_code == 200
    assert not Ticket.objects.exists()
    page = response.content.decode()
    assert 'value="999.1.1.1"' in page
    with translation.override("tr"):
        refusal = translation.gettext("Enter a valid IPv4 or IPv6 address.")
    assert refusal != "Enter a valid IPv4 or IPv6 address."
    assert refusal in page


@pytest.mark.django_db
def test_api_clients_may_send_details_and_the_critical_rule_applies_to_them(
    customer: Any,
) -> None:
    refused = customer.post(
        "tickets",
        {
            "subject": "Server unreachable",
            "body": "Ping fails.",
            "urgency": "critical",
            "details": {"server_ip": "203.0.113.7"},
        },
    )
    assert refused.status_code == 422
    assert refused.json()["code"] == "critical_details_required"
    assert refused.json()["field"] == "service_name"
    filed = customer.file_ticket(
        subject="Server unreachable",
        body="Ping fails.",
        urgency="critical",
        details={
            "server_ip": "203.0.113.7",
            "service_name": "VPS Baku-2",
            "started_at": "2026-12-04 21:10",
            "time_zone": "Asia/Baku",
        },
    )
    assert filed["details"]["service_name"] == "VPS Baku-2"
    assert filed["priority"] == "critical"


@pytest.mark.django_db
def test_api_clients_that_send_no_details_are_not_asked_for_them(customer: Any) -> None:
    filed = customer.file_ticket(
        subject="Server unreachable", body="Ping fails.", urgency="critical"
    )
    assert filed["urgency"] == "critical"
    assert filed["priority"] == "high"  # without the facts, not a critical incident
    assert filed["details"] == {}


@pytest.mark.django_db
def test_an_unknown_detail_is_refused_by_name(customer: Any) -> None:
    response = customer.post(
        "tickets", {"subject": "Reports", "body": "Blank.", "details": {"colour": "red"}}
    )
    assert response.status_code == 422
    assert response.json()["code"] == "unknown_detail"
    assert "colour" in response.json()["detail"]


@pytest.mark.django_db
def test_after_the_reopen_window_the_ticket_offers_a_linked_follow_up(
    browser: Client, users: dict[str, User], django_capture_on_commit_callbacks: Any
) -> None:
    old = actions.create_ticket(
        customer=users["customer"], subject="Refund for order 5512", body="Please.", channel="web"
    )
    actions.close_by_customer(old, customer=users["customer"])
    Ticket.objects.filter(pk=old.pk).update(closed_at=timezone.now() - timedelta(days=31))
    page = browser.get(f"/my/tickets/{old.number}/").content.decode()
    assert "can no longer be reopened" in page
    assert f"/my/tickets/new/?follow_up={old.number}" in page
    assert "Reopen</button>" not in page

    form_page = browser.get(f"/my/tickets/new/?follow_up={old.number}").content.decode()
    assert f"follows up ticket #{old.number}" in form_page
    assert 'value="Refund for order 5512"' in form_page
    browser.post(
        "/my/tickets/new/",
        {
            "subject": "Refund for order 5512 again",
            "body": "The refund never arrived.",
            "urgency": "normal",
            "department": str(old.department_id),
            "follow_up": str(old.number),
        },
    )
    follow_up = Ticket.objects.exclude(pk=old.pk).get()
    assert follow_up.related_to_id == old.pk


@pytest.mark.django_db
def test_a_follow_up_cannot_be_linked_to_someone_elses_ticket(
    browser: Client, users: dict[str, User]
) -> None:
    theirs = actions.create_ticket(
        customer=users["customer2"], subject="Wallet top-up failed", body="Twice.", channel="web"
    )
    page = browser.get(f"/my/tickets/new/?follow_up={theirs.number}").content.decode()
    assert "follows up" not in page
    assert "Wallet top-up failed" not in page


# --- the parsers, for any input ---------------------------------------------------------------

detail_values = st.one_of(st.none(), st.text(max_size=300), st.integers())


@given(st.dictionaries(st.sampled_from([d.key for d in CATALOGUE]), detail_values))
def test_cleaning_details_either_refuses_clearly_or_gives_short_known_texts(
    raw: dict[str, object],
) -> None:
    try:
        cleaned = clean_details(raw)
    except ActionRefused as refusal:
        assert refusal.code == "invalid_detail"
        assert str(refusal.detail)
        return
    for key, value in cleaned.items():
        assert key in BY_KEY
        assert value and len(value) <= BY_KEY[key].max_length
        if not BY_KEY[key].multiline:
            assert "\n" not in value
    assert clean_details(cleaned) == cleaned


@given(st.text(max_size=2000))
def test_any_user_agent_gives_only_known_facts(user_agent: str) -> None:
    facts = facts_from_user_agent(user_agent)
    assert set(facts) <= {"os", "browser", "device"}
    assert facts.get("device", "computer") in {"computer", "smartphone", "tablet"}


@pytest.mark.django_db
def test_a_critical_ticket_without_its_start_time_is_refused_next_to_the_field(
    users: dict[str, User],
) -> None:
    client = Client(headers={"Accept-Language": "az"})
    client.force_login(users["customer"])
    client.cookies["django_language"] = "az"
    response = client.post(
        "/my/tickets/new/",
        form(urgency="critical", server_ip="203.0.113.7", service_name="VPS Baku-2"),
    )
    assert response.status_code == 200
    assert not Ticket.objects.exists()
    page = response.content.decode()
    with translation.override("az"):
        refusal = translation.gettext(
            "For a critical problem, say when it started (date and time)."
        )
    # Next to the start-time field, in the customer's language; nothing typed is lost.
    paragraph = page.split('name="started_at"')[0].rsplit("<p", 1)[-1]
    assert refusal in paragraph
    assert 'value="203.0.113.7"' in page and 'value="VPS Baku-2"' in page
    assert "The report page stays blank since this morning." in page
