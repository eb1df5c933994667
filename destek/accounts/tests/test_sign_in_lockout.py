"""Wrong passwords slow down whoever guesses, not the owner: counted per address and client,
per client, and (higher) per address; the owner's known browser, or a second factor, still
gets in; the wait is shown."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pyotp
import pytest
import time_machine
from django.test import Client
from django.utils import timezone

from destek.accounts import actions
from destek.accounts.models import User
from destek.accounts.sign_in import (
    ADDRESS_LIMIT,
    CODE_LIMIT,
    DEVICE_COOKIE,
    PAIR_LIMIT,
    second_factor_allowed,
)

pytestmark = pytest.mark.django_db

OWNER_IP = "198.51.100.10"
#: 10:00:10 UTC: the five-minute window has 290 s left, the quarter-hour one 890 s.
NOW = datetime(2026, 12, 3, 10, 0, 10, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _a_still_clock() -> Iterator[None]:
    """The counts live in fixed windows: a test that ran across a window's edge saw its
    guesses split in two and under the limit. Every test here runs inside one window."""
    with time_machine.travel(NOW, tick=False):
        yield


def browser(ip: str) -> Client:
    client = Client(REMOTE_ADDR=ip, headers={"Accept-Language": "en"})
    client.cookies["django_language"] = "en"
    return client


def sign_in(client: Client, password: str, **extra: str) -> Any:
    return client.post(
        "/sign-in/", {"email": "customer@example.com", "password": password, **extra}
    )


def token(ip: str, password: str, **extra: str) -> Any:
    return Client(REMOTE_ADDR=ip).post(
        "/api/v1/auth/token",
        json.dumps({"email": "customer@example.com", "password": password, **extra}),
        content_type="application/json",
        headers={"Accept-Language": "en"},
    )


def signed_in(client: Client) -> bool:
    return client.get("/my/profile/").status_code == 200


def known_browser() -> Client:
    """The owner's browser, which signed in before (and so holds the device cookie)."""
    owner = browser(OWNER_IP)
    assert sign_in(owner, "demo").status_code == 302
    device = owner.cookies[DEVICE_COOKIE].value
    owner.logout()  # forgets every cookie: the device cookie is put back
    owner.cookies[DEVICE_COOKIE] = device
    owner.cookies["django_language"] = "en"
    return owner


def distributed_attack() -> None:
    """ADDRESS_LIMIT wrong passwords, a few from each of many clients."""
    for n in range(ADDRESS_LIMIT):
        sign_in(browser(f"203.0.113.{n // 5 + 1}"), "wrong")


def test_a_strangers_wrong_passwords_from_another_client_do_not_stop_the_owner(
    users: dict[str, User],
) -> None:
    owner = known_browser()
    stranger = browser("203.0.113.66")
    for _n in range(PAIR_LIMIT + 5):
        sign_in(stranger, "guess")
    refused = sign_in(stranger, "demo")
    assert "Too many attempts" in refused.content.decode()
    assert not signed_in(stranger)
    assert sign_in(owner, "demo").status_code == 302
    assert signed_in(owner)
    # The API too: the owner's script on their own network gets its token.
    assert token(OWNER_IP, "demo").status_code == 200


def test_a_guess_spread_over_many_clients_is_throttled_per_address(users: dict[str, User]) -> None:
    with time_machine.travel(NOW, tick=False):
        owner = known_browser()
        distributed_attack()
        newcomer = browser("192.0.2.44")
        refused = sign_in(newcomer, "demo")  # the right password, from an unknown client
        page = refused.content.decode()
        assert "Too many attempts. Try again in 15 minutes." in page
        assert not signed_in(newcomer)
        api = token("192.0.2.45", "demo")
        assert api.status_code == 429
        assert api.json()["code"] == "rate_limited"
        assert api["Retry-After"] == "890"
        assert api.json()["detail"] == "Too many attempts. Try again in 15 minutes."
        # The owner's known browser still gets in, even from another network (the cookie).
        owner.defaults["REMOTE_ADDR"] = "192.0.2.99"
        assert sign_in(owner, "demo").status_code == 302
        assert signed_in(owner)


def test_a_right_password_and_a_wrong_one_answer_alike_while_the_address_is_throttled(
    users: dict[str, User],
) -> None:
    with time_machine.travel(NOW, tick=False):
        distributed_attack()
        right = token("192.0.2.50", "demo")
        wrong = token("192.0.2.51", "nope")
    assert right.status_code == wrong.status_code == 429
    assert right.json() == wrong.json()


def test_with_a_second_factor_the_owner_signs_in_from_a_new_client_during_an_attack(
    users: dict[str, User],
) -> None:
    customer = users["customer"]
    two_factor = actions.start_two_factor(customer)
    recovery = actions.confirm_two_factor(customer, pyotp.TOTP(two_factor.secret).now())
    distributed_attack()
    later = timezone.now().timestamp() + 30
    code = pyotp.TOTP(two_factor.secret).at(later)
    newcomer = browser("192.0.2.60")
    offered = sign_in(newcomer, "demo").content.decode()
    assert 'name="otp"' in offered  # the throttled page offers the code field
    assert sign_in(newcomer, "demo", otp=code).status_code == 302
    assert signed_in(newcomer)
    # The API takes the code (here a recovery code) with the password in one request.
    assert token("192.0.2.61", "demo", otp=recovery[0]).status_code == 200
    # Without a valid code the newcomer is throttled like anyone else.
    assert token("100.64.7.62", "demo", otp="000000").status_code == 429


def test_the_wait_time_is_shown_when_one_client_guessed_too_often(users: dict[str, User]) -> None:
    with time_machine.travel(NOW, tick=False):
        stranger = browser("203.0.113.99")
        for _n in range(PAIR_LIMIT):
            sign_in(stranger, "guess")
        page = sign_in(stranger, "demo").content.decode()
        api = token("203.0.113.99", "demo")
    assert "Too many attempts. Try again in 5 minutes." in page
    assert api.status_code == 429 and api["Retry-After"] == "290"


def test_only_wrong_passwords_count(users: dict[str, User]) -> None:
    owner = browser(OWNER_IP)
    for _n in range(PAIR_LIMIT + 2):
        assert sign_in(owner, "demo").status_code == 302
        owner.logout()
    assert token(OWNER_IP, "demo").status_code == 200


def test_wrong_codes_at_the_api_count_like_wrong_passwords(users: dict[str, User]) -> None:
    customer = users["customer"]
    two_factor = actions.start_two_factor(customer)
    actions.confirm_two_factor(customer, pyotp.TOTP(two_factor.secret).now())
    for _n in range(PAIR_LIMIT):
        assert token("203.0.113.70", "demo", otp="000000").status_code == 401
    assert token("203.0.113.70", "demo", otp="000000").status_code == 429


def test_someone_with_the_password_cannot_lock_the_owners_code_step(users: dict[str, User]) -> None:
    customer = users["customer"]
    two_factor = actions.start_two_factor(customer)
    actions.confirm_two_factor(customer, pyotp.TOTP(two_factor.secret).now())
    stranger = browser("203.0.113.80")
    assert sign_in(stranger, "demo").status_code == 302
    for _n in range(6):
        stranger.post("/sign-in/code/", {"code": "000000"})
    blocked = stranger.post("/sign-in/code/", {"code": "000000"}).content.decode()
    assert "Too many attempts" in blocked
    owner = browser(OWNER_IP)
    assert sign_in(owner, "demo").status_code == 302
    code = pyotp.TOTP(two_factor.secret).at(timezone.now().timestamp() + 30)
    assert owner.post("/sign-in/code/", {"code": code}).status_code == 302
    assert signed_in(owner)


def test_changing_address_within_one_ipv6_network_does_not_reset_the_count(
    users: dict[str, User],
) -> None:
    for n in range(PAIR_LIMIT):
        sign_in(browser(f"2001:db8:1:2::{n + 1:x}"), "guess")
    assert "Too many attempts" in sign_in(browser("2001:db8:1:2::ff"), "demo").content.decode()
    assert sign_in(browser("2001:db8:9:9::1"), "demo").status_code == 302


def test_codes_guessed_from_many_networks_stop_at_the_accounts_limit(
    users: dict[str, User],
) -> None:
    # Someone who has the password spreads code guesses over many clients: once the
    # account's limit is reached, no code is checked at all, not even the right one.
    customer = users["customer"]
    two_factor = actions.start_two_factor(customer)
    actions.confirm_two_factor(customer, pyotp.TOTP(two_factor.secret).now())
    for n in range(CODE_LIMIT):
        assert token(f"2001:db8:{n:x}::1", "demo", otp="000000").status_code in (401, 429)
    right = pyotp.TOTP(two_factor.secret).now()
    refused = token("2001:db8:ffff::1", "demo", otp=right)
    assert refused.status_code == 429 and refused["Retry-After"]
    assert not second_factor_allowed(customer)
