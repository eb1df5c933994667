"""Repairs from the first real use, on the customer's side: sign-in errors once, the phone
field like the others, and no reply box on a ticket that would refuse the reply."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from destek.accounts.models import User
from destek.tickets import actions
from destek.tickets.models import Ticket

pytestmark = pytest.mark.django_db


@pytest.fixture
def browser(users: dict[str, User]) -> Client:
    client = Client(headers={"Accept-Language": "en"})
    client.force_login(users["customer"])
    client.cookies["django_language"] = "en"
    return client


def test_a_wrong_password_is_said_once_on_the_sign_in_page(demo: None) -> None:
    client = Client(headers={"Accept-Language": "en"})
    page = client.post(
        "/sign-in/", {"email": "customer@example.com", "password": "nope"}
    ).content.decode()
    assert page.count("Invalid e-mail or password.") == 1
    assert 'role="alert"' in page
    assert 'name="email"' in page and 'name="password"' in page


@pytest.mark.usefixtures("one_rate_window")
def test_a_refusal_of_the_status_lookup_is_said_once_too(demo: None) -> None:
    """The same notice-plus-form pattern as the sign-in page, on the home page."""
    client = Client(headers={"Accept-Language": "en"})
    for _ in range(5):
        client.post("/status/", {"number": "1", "email": "customer@example.com"})
    page = client.post("/status/", {"number": "1", "email": "customer@example.com"})
    assert page.status_code == 429
    assert page.content.decode().count("Too many attempts. Please wait a few minutes.") == 1


def test_the_phone_field_reads_left_to_right_and_is_styled_like_the_others(
    browser: Client, settings: Any
) -> None:
    page = browser.get("/my/profile/").content.decode()
    assert 'type="tel"' in page and 'dir="ltr"' in page
    css = (settings.BASE_DIR / "portal/static/destek/site.css").read_text()
    [rule] = [r for r in css.split("}") if "input[type=text]" in r and "border" in r]
    assert "input[type=tel]" in rule.split("{")[0], "the phone input gets the inputs' rule"


def closed(users: dict[str, User], *, days_ago: int) -> Ticket:
    ticket = actions.create_ticket(
        customer=users["customer"], subject="Export fails", body="It never ends.", channel="web"
    )
    actions.change_status(
        ticket, actor=actions.Actor.of(users["agent"]), status="closed", close_reason="resolved"
    )
    Ticket.objects.filter(pk=ticket.pk).update(closed_at=timezone.now() - timedelta(days=days_ago))
    ticket.refresh_from_db()
    return ticket


def test_a_ticket_past_its_reopen_window_offers_a_follow_up_not_a_reply(
    browser: Client, users: dict[str, User]
) -> None:
    ticket = closed(users, days_ago=400)
    page = browser.get(f"/my/tickets/{ticket.number}/").content.decode()
    assert 'id="reply"' not in page
    assert "<textarea" not in page
    assert "File a follow-up ticket" in page
    assert f"?follow_up={ticket.number}" in page


def test_a_ticket_within_its_reopen_window_keeps_the_reply_box(
    browser: Client, users: dict[str, User]
) -> None:
    ticket = closed(users, days_ago=1)
    page = browser.get(f"/my/tickets/{ticket.number}/").content.decode()
    assert 'id="reply"' in page
    assert "Reopen" in page
    assert "File a follow-up ticket" not in page


def test_a_merged_ticket_points_to_the_ticket_it_was_merged_into(
    browser: Client, users: dict[str, User]
) -> None:
    source = actions.create_ticket(
        customer=users["customer"], subject="Export fails", body="It never ends.", channel="web"
    )
    target = actions.create_ticket(
        customer=users["customer"], subject="Export still fails", body="Again.", channel="web"
    )
    actions.merge(source, into=target, actor=actions.Actor.of(users["agent"]))
    page = browser.get(f"/my/tickets/{source.number}/").content.decode()
    assert 'id="reply"' not in page
    assert "/reopen/" not in page
    assert f'href="/my/tickets/{target.number}/"' in page


def test_a_refused_reopen_is_still_explained_where_the_reply_box_is_gone(
    browser: Client, users: dict[str, User]
) -> None:
    """Another tab may still show the Reopen button after the window closed: the refusal
    shows on the page even though the reply box, where it used to appear, is not there."""
    ticket = closed(users, days_ago=400)
    response = browser.post(f"/my/tickets/{ticket.number}/reopen/")
    assert response.status_code == 409
    page = response.content.decode()
    assert "can no longer be reopened" in page
    assert 'role="alert"' in page
    assert 'id="reply"' not in page
