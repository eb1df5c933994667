"""Status lookup without signing in: number and address, a one-time code, a read-only view."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.core.mail import EmailMessage
from django.test import Client
from django.utils import timezone

from destek.accounts.models import User
from destek.portal.models import StatusLookup
from destek.tickets import actions

pytestmark = pytest.mark.django_db


@pytest.fixture
def filed(users: dict[str, User]) -> Any:
    ticket = actions.create_ticket(
        customer=users["customer"],
        subject="Export fails",
        body="CSV export never ends.",
        channel="web",
    )
    actions.add_message(ticket, author=users["agent"], body="Secret note", internal=True)
    actions.add_message(ticket, author=users["agent"], body="Please try again now.")
    return ticket


def start(client: Client, number: Any, email: str, capture: Any) -> Any:
    with capture(execute=True):
        return client.post("/status/", {"number": str(number), "email": email}, follow=True)


def test_the_right_pair_gets_a_code_that_opens_a_read_only_view(
    filed: Any, outbox: list[EmailMessage], django_capture_on_commit_callbacks: Any
) -> None:
    client = Client(headers={"Accept-Language": "en"})
    page = start(client, filed.number, "Customer@Example.com", django_capture_on_commit_callbacks)
    assert page.status_code == 200
    mail = outbox[-1]  # in the customer's own language (Azerbaijani here)
    assert mail.to == ["customer@example.com"]
    found = re.search(r"\b(\d{6})\b", str(mail.body))
    assert found is not None
    code = found.group(1)
    url = page.redirect_chain[-1][0]
    shown = client.post(url, {"code": code}, follow=True).content.decode()
    assert "Please try again now." in shown
    assert "Secret note" not in shown
    assert "Awaiting your reply" in shown
    assert "<textarea" not in shown, "read-only"
    assert "Please try again now." not in Client().get(url).content.decode(), (
        "the view belongs to the browser that entered the code"
    )


def test_a_wrong_pair_gets_the_same_answer_and_no_mail(
    filed: Any, outbox: list[EmailMessage], django_capture_on_commit_callbacks: Any
) -> None:
    outbox.clear()
    right = start(
        Client(headers={"Accept-Language": "en"}),
        filed.number,
        "customer@example.com",
        django_capture_on_commit_callbacks,
    )
    outbox.clear()
    for number, email in (
        (filed.number, "customer2@example.com"),
        (10000001, "a@b.example"),
        ("not-a-number", "customer@example.com"),
    ):
        wrong = start(
            Client(headers={"Accept-Language": "en"}),
            number,
            email,
            django_capture_on_commit_callbacks,
        )
        assert wrong.status_code == right.status_code == 200
        # Equal but for the form's CSRF token and the lookup's own (random) id.
        strip = re.compile(r'name="csrfmiddlewaretoken" value="[^"]+"|/status/[0-9a-f-]{36}/')
        assert strip.sub("", wrong.content.decode()) == strip.sub("", right.content.decode())
    assert outbox == []


def test_a_code_dies_after_five_wrong_tries_and_after_fifteen_minutes(
    filed: Any, outbox: list[EmailMessage], django_capture_on_commit_callbacks: Any
) -> None:
    client = Client()
    page = start(client, filed.number, "customer@example.com", django_capture_on_commit_callbacks)
    url = page.redirect_chain[-1][0]
    found = re.search(r"\b(\d{6})\b", str(outbox[-1].body))
    assert found is not None
    code = found.group(1)
    wrong = "000000" if code != "000000" else "111111"
    for _ in range(5):
        client.post(url, {"code": wrong})
    assert (
        "Please try again now."
        not in client.post(url, {"code": code}, follow=True).content.decode()
    )
    page = start(client, filed.number, "customer@example.com", django_capture_on_commit_callbacks)
    fresh_url = page.redirect_chain[-1][0]
    found = re.search(r"\b(\d{6})\b", str(outbox[-1].body))
    assert found is not None
    code = found.group(1)
    with time_machine.travel(timezone.now() + timedelta(minutes=16), tick=False):
        late = client.post(fresh_url, {"code": code}, follow=True).content.decode()
    assert "Please try again now." not in late


def test_looking_up_changes_nothing_on_get(
    filed: Any, django_capture_on_commit_callbacks: Any
) -> None:
    client = Client()
    page = start(client, filed.number, "customer@example.com", django_capture_on_commit_callbacks)
    url = page.redirect_chain[-1][0]
    before = list(StatusLookup.objects.values_list("attempts", "verified_at"))
    for _ in range(3):
        client.get(url)
    assert list(StatusLookup.objects.values_list("attempts", "verified_at")) == before


@pytest.mark.usefixtures("one_rate_window")
def test_lookups_are_rate_limited_by_address(
    filed: Any, django_capture_on_commit_callbacks: Any
) -> None:
    codes = [
        start(
            Client(), filed.number, "customer@example.com", django_capture_on_commit_callbacks
        ).status_code
        for _ in range(6)
    ]
    assert codes[:5] == [200] * 5
    assert codes[5] == 429
