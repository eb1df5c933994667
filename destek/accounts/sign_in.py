"""Signing in with a password, on the portal's page and at `POST /api/v1/auth/token`: who is
slowed down after wrong passwords, and who still gets in.

Wrong passwords are counted three ways, in the shared cache:

- per address and client (`PAIR_LIMIT` in `WINDOW`): whoever guesses from one place is
  stopped there, without touching the owner anywhere else;
- per client over all addresses (`CLIENT_LIMIT`): one client trying many accounts;
- per address over all clients (`ADDRESS_LIMIT` in `ADDRESS_WINDOW`, higher): a guess spread
  over many clients. While it holds, only the owner still gets in: from a known device (a
  browser holding the device cookie of an earlier sign-in to this account, or the kind and
  network of one recorded for the "new sign-in" mail), or with a valid second factor along
  with the password. Anyone else gets the same "try again in N minutes", right password or
  not, so the limit is no oracle.

Only failures count: the owner's right password never uses up their own allowance.
"""

from __future__ import annotations

import hmac
import ipaddress
from datetime import timedelta

from django.contrib.auth import authenticate
from django.core.signing import BadSignature, TimestampSigner
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext_lazy

from destek.accounts.actions import check_second_factor, device_key
from destek.accounts.models import SignInDevice, User, normalize_email
from destek.accounts.selectors import has_two_factor, is_verified
from destek.lib.errors import ActionRefused
from destek.lib.ratelimit import count_failure, hit, wait_seconds

WINDOW = 300
PAIR_LIMIT = 10
CLIENT_LIMIT = 60
ADDRESS_WINDOW = 900
ADDRESS_LIMIT = 50

DEVICE_COOKIE = "destek_device"
DEVICE_SALT = "destek.accounts.device"
DEVICE_MAX_AGE = timedelta(days=365)
#: Accounts one browser remembers (a family computer, a shared desk).
DEVICE_ACCOUNTS = 5


def too_many(seconds: int) -> ActionRefused:
    """The refusal with the wait, in whole minutes (rounded up) in the caller's language;
    `retry_after` in seconds goes to the API's answer and its Retry-After header."""
    minutes = max(1, -(-seconds // 60))
    detail = ngettext_lazy(
        "Too many attempts. Try again in %(minutes)d minute.",
        "Too many attempts. Try again in %(minutes)d minutes.",
        "minutes",
    ) % {"minutes": minutes}
    return ActionRefused("rate_limited", detail, status=429, retry_after=seconds)


def _device_entry(user: User) -> str:
    return f"{user.pk}:{salted_hmac(DEVICE_SALT, f'{user.pk}:{user.email}').hexdigest()[:20]}"


def _cookie_entries(cookie: str) -> list[str]:
    if not cookie or len(cookie) > 1000:
        return []
    try:
        value = TimestampSigner(salt=DEVICE_SALT).unsign(cookie, max_age=DEVICE_MAX_AGE)
    except BadSignature:
        return []
    return value.split()


def device_cookie(user: User, current: str) -> str:
    """The device cookie's new value after `user` signed in with this browser."""
    mine = _device_entry(user)
    kept = [e for e in _cookie_entries(current) if e.split(":")[0] != str(user.pk)]
    return TimestampSigner(salt=DEVICE_SALT).sign(" ".join([*kept, mine][-DEVICE_ACCOUNTS:]))


def known_device(user: User, *, ip: str, user_agent: str, channel: str, cookie: str) -> bool:
    """Whether this client signed in to `user` successfully before."""
    mine = _device_entry(user)
    if any(hmac.compare_digest(entry, mine) for entry in _cookie_entries(cookie)):
        return True
    key, _description = device_key(ip=ip, user_agent=user_agent, channel=channel)
    return SignInDevice.objects.filter(user=user, key_hash=key).exists()


def _client(ip: str) -> str:
    """The client a failure is counted for: its address, or for IPv6 its /64 (one home or
    device gets a whole /64 and can change addresses within it at will)."""
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return ip
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.ip_network(f"{address}/64", strict=False))
    return str(address)


#: Codes checked per account in CODE_WINDOW seconds, from every client together: someone
#: who has the password cannot spread guesses of the six digits over many addresses.
CODE_LIMIT = 30
CODE_WINDOW = 300


def second_factor_allowed(user: User) -> bool:
    """Count one check of `user`'s second factor; False once the account's limit is reached
    (the code must then not be checked at all, so a right guess tells nothing)."""
    return hit("second-factor-user", str(user.pk), limit=CODE_LIMIT, window_seconds=CODE_WINDOW)


def count_failed_sign_in(email: str, ip: str) -> None:
    """A failed attempt for `email` from `ip`: a wrong password, or (at the API, where the
    code comes with the password) a wrong second factor after the right password."""
    _count(normalize_email(email), ip)


def _count(email: str, ip: str) -> None:
    ip = _client(ip)
    count_failure("login-pair", f"{email}|{ip}", window_seconds=WINDOW)
    count_failure("login-ip", ip, window_seconds=WINDOW)
    count_failure("login-email", email, window_seconds=ADDRESS_WINDOW)


def password_sign_in(
    *,
    email: str,
    password: str,
    ip: str,
    user_agent: str,
    channel: str,
    device: str = "",
    otp: str = "",
) -> tuple[User, bool]:
    """The person whose address and password these are, and whether `otp` was checked as
    their second factor (then it is spent and need not be asked again).

    Refuses with "invalid_credentials" (401) or "rate_limited" (429, with the wait). An
    address not yet verified answers as a wrong password: whoever signed up with a taken
    address chose the password, so another answer would tell them it has an account.
    """
    email = normalize_email(email)
    client = _client(ip)
    blocked = max(
        wait_seconds("login-pair", f"{email}|{client}", limit=PAIR_LIMIT, window_seconds=WINDOW),
        wait_seconds("login-ip", client, limit=CLIENT_LIMIT, window_seconds=WINDOW),
    )
    if blocked:
        raise too_many(blocked)
    address_wait = wait_seconds(
        "login-email", email, limit=ADDRESS_LIMIT, window_seconds=ADDRESS_WINDOW
    )
    user = authenticate(None, username=email, password=password)
    if not isinstance(user, User) or not user.is_active or not is_verified(user):
        _count(email, ip)
        if address_wait:
            raise too_many(address_wait)
        raise ActionRefused("invalid_credentials", _("Invalid e-mail or password."), status=401)
    if not address_wait or known_device(
        user, ip=ip, user_agent=user_agent, channel=channel, cookie=device
    ):
        return user, False
    if otp.strip() and has_two_factor(user):
        if not second_factor_allowed(user):
            raise too_many(CODE_WINDOW)
        try:
            check_second_factor(user, otp)
        except ActionRefused:
            pass
        else:
            return user, True
    _count(email, ip)
    raise too_many(address_wait)
