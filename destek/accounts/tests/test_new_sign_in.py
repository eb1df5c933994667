"""A sign-in from a browser or network never seen before tells the account's security
address; the same browser again, or the very first sign-in, does not."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.mail import EmailMessage
from django.test import Client

from destek.accounts.models import ContactAddress, SignInDevice, User

pytestmark = pytest.mark.django_db

FIREFOX_LINUX = "Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0"
CHROME_WINDOWS = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/119.0.6045.160 Safari/537.36"
)


def sign_in(capture: Any, user_agent: str, ip: str) -> None:
    client = Client(headers={"User-Agent": user_agent}, REMOTE_ADDR=ip)
    with capture(execute=True):
        answer = client.post("/sign-in/", {"email": "customer@example.com", "password": "demo"})
    assert answer.status_code == 302


def test_only_a_new_device_is_told_to_the_security_address(
    users: dict[str, User], outbox: list[EmailMessage], django_capture_on_commit_callbacks: Any
) -> None:
    customer = users["customer"]
    ContactAddress.objects.create(
        user=customer,
        email="alerts@example.org",
        verified_at=customer.date_joined,
        for_security=True,
    )
    sign_in(django_capture_on_commit_callbacks, FIREFOX_LINUX, "198.51.100.7")
    sign_in(django_capture_on_commit_callbacks, FIREFOX_LINUX, "198.51.100.99")  # same /24
    assert outbox == []
    sign_in(django_capture_on_commit_callbacks, CHROME_WINDOWS, "203.0.113.5")
    [notice] = outbox
    assert notice.to == ["alerts@example.org"]
    assert "203.0.113.5" in notice.body
    assert SignInDevice.objects.filter(user=customer).count() == 2


def test_a_token_from_a_new_client_is_told_too(
    users: dict[str, User], outbox: list[EmailMessage], django_capture_on_commit_callbacks: Any
) -> None:
    sign_in(django_capture_on_commit_callbacks, FIREFOX_LINUX, "198.51.100.7")
    client = Client(headers={"User-Agent": "curl/8.4.0"}, REMOTE_ADDR="192.0.2.44")
    with django_capture_on_commit_callbacks(execute=True):
        answer = client.post(
            "/api/v1/auth/token",
            {"email": "customer@example.com", "password": "demo"},
            content_type="application/json",
        )
    assert answer.status_code == 200
    assert [m.to for m in outbox] == [[users["customer"].email]]
