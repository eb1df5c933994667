"""API tokens end after days without use, each person keeps a bounded number, switching
two-factor sign-in on ends them all, and the profile lists them with a revoke button."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pyotp
import pytest
import time_machine
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from destek.accounts import actions
from destek.accounts.models import ApiToken, User

pytestmark = pytest.mark.django_db


def me(raw: str) -> int:
    return int(
        Client().get("/api/v1/auth/me", headers={"Authorization": f"Bearer {raw}"}).status_code
    )


def test_a_token_unused_for_longer_than_the_idle_limit_stops_working(
    users: dict[str, User], settings: Any
) -> None:
    settings.DESTEK_API_TOKEN_IDLE_DAYS = 30
    raw = actions.issue_api_token(users["customer"], name="backup script")
    start = timezone.now()
    with time_machine.travel(start + timedelta(days=29), tick=False):
        assert me(raw) == 200  # used: the 30 days start again
    with time_machine.travel(start + timedelta(days=58), tick=False):
        assert me(raw) == 200
    with time_machine.travel(start + timedelta(days=89), tick=False):
        assert me(raw) == 401


def test_a_token_never_used_ends_the_idle_limit_after_it_was_made(
    users: dict[str, User], settings: Any
) -> None:
    settings.DESTEK_API_TOKEN_IDLE_DAYS = 30
    raw = actions.issue_api_token(users["customer"])
    with time_machine.travel(timezone.now() + timedelta(days=31), tick=False):
        assert me(raw) == 401


def test_each_person_keeps_a_bounded_number_of_tokens_the_oldest_revoked(
    users: dict[str, User], settings: Any
) -> None:
    settings.DESTEK_API_TOKENS_PER_USER = 3
    made = []
    for n in range(4):
        with time_machine.travel(timezone.now() + timedelta(minutes=n), tick=False):
            made.append(actions.issue_api_token(users["customer"], name=f"script {n}"))
    assert [me(raw) for raw in made] == [401, 200, 200, 200]
    other = actions.issue_api_token(users["customer2"])
    assert me(other) == 200  # another person's tokens are their own count


def test_switching_two_factor_on_ends_every_token(users: dict[str, User]) -> None:
    customer = users["customer"]
    raw = actions.issue_api_token(customer)
    assert me(raw) == 200
    two_factor = actions.start_two_factor(customer)
    assert me(raw) == 200  # only a set-up confirmed with a code switches it on
    actions.confirm_two_factor(customer, pyotp.TOTP(two_factor.secret).now())
    assert me(raw) == 401


def test_the_last_use_is_written_at_most_once_an_hour(users: dict[str, User]) -> None:
    raw = actions.issue_api_token(users["customer"])
    with CaptureQueriesContext(connection) as queries:
        for _n in range(5):
            assert me(raw) == 200
    writes = [q for q in queries.captured_queries if q["sql"].startswith("UPDATE")]
    assert len(writes) == 1
    with time_machine.travel(timezone.now() + timedelta(minutes=61), tick=False):
        assert me(raw) == 200
    token = ApiToken.objects.get(user=users["customer"])
    assert token.last_used_at is not None
    assert token.last_used_at > timezone.now() + timedelta(minutes=60)


def test_the_profile_lists_the_tokens_and_revokes_one_with_a_post(users: dict[str, User]) -> None:
    made = Client(headers={"User-Agent": "nightly-export/2.1"}).post(
        "/api/v1/auth/token",
        json.dumps({"email": "customer@example.com", "password": "demo"}),
        content_type="application/json",
    )
    raw = made.json()["token"]
    strangers = actions.issue_api_token(users["customer2"], name="Someone else's")
    browser = Client(headers={"Accept-Language": "en"})
    browser.cookies["django_language"] = "en"
    browser.force_login(users["customer"])
    page = browser.get("/my/profile/").content.decode()
    assert "nightly-export/2.1" in page and raw[:10] in page
    assert "Someone else" not in page
    token = ApiToken.objects.get(user=users["customer"])
    assert browser.get("/my/profile/api-tokens/revoke/").status_code == 405
    answer = browser.post("/my/profile/api-tokens/revoke/", {"token": token.pk}, follow=True)
    assert "The token is revoked" in answer.content.decode()
    assert me(raw) == 401
    assert "nightly-export/2.1" not in browser.get("/my/profile/").content.decode()
    # Another person's token is not touched, whatever number is sent.
    theirs = ApiToken.objects.get(user=users["customer2"])
    browser.post("/my/profile/api-tokens/revoke/", {"token": theirs.pk})
    browser.post("/my/profile/api-tokens/revoke/", {"token": "9" * 40})
    assert me(strangers) == 200
