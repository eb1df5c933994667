"""Signing in to the API."""

from __future__ import annotations

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Router, Schema, Status
from pydantic import ConfigDict, EmailStr, Field

from destek.accounts.actions import (
    add_contact_address,
    check_second_factor,
    issue_api_token,
    note_sign_in,
    revoke_api_token,
    verify_contact_address,
)
from destek.accounts.http import ApiRequest
from destek.accounts.models import ApiToken, ContactAddress, User, hash_token
from destek.accounts.selectors import has_two_factor
from destek.accounts.sign_in import (
    CODE_WINDOW,
    count_failed_sign_in,
    password_sign_in,
    second_factor_allowed,
    too_many,
)
from destek.api.auth import activate_language
from destek.lib.errors import ActionRefused
from destek.lib.ratelimit import client_ip, hit

router = Router(tags=["auth"])


class Credentials(Schema):
    email: str = Field(max_length=254)
    password: str = Field(max_length=200)
    otp: str | None = Field(
        default=None,
        max_length=20,
        description="With two-factor sign-in on: a code from the app, or a recovery code.",
    )
    name: str = Field(
        default="",
        max_length=100,
        description="What the token is for (shown on the profile page); else the User-Agent.",
    )


class TokenOut(Schema):
    token: str


class ErrorOut(Schema):
    detail: str
    code: str


class MeOut(Schema):
    email: str
    full_name: str
    role: str
    language: str
    time_zone: str
    tier: str
    customer_number: str | None
    departments: list[str]


@router.post(
    "/token",
    auth=None,
    response={200: TokenOut, 401: ErrorOut, 422: ErrorOut, 429: ErrorOut},
    summary="Exchange e-mail and password (and a code, with two-factor sign-in) for a token",
)
def create_token(request: HttpRequest, payload: Credentials) -> Status[dict[str, str]]:
    # Wrong passwords are counted per address and client, per client, and per address; a
    # stranger's guesses do not lock the owner out (see destek.accounts.sign_in).
    user, second_factor_done = password_sign_in(
        email=payload.email,
        password=payload.password,
        ip=client_ip(request),
        user_agent=request.headers.get("User-Agent", ""),
        channel="api",
        otp=payload.otp or "",
    )
    activate_language(request, user)
    if has_two_factor(user) and not second_factor_done:
        if payload.otp and not second_factor_allowed(user):
            # Too many codes tried for this account, from whatever clients: none is checked.
            raise too_many(CODE_WINDOW)
        # The password alone is not enough; a wrong code answers as a missing one.
        try:
            if not payload.otp:
                raise ActionRefused("otp_required", "")
            check_second_factor(user, payload.otp)
        except ActionRefused:
            # Counted like a wrong password: the code is guessed no faster than it.
            count_failed_sign_in(payload.email, client_ip(request))
            raise ActionRefused(
                "otp_required",
                _("Enter a code from your authenticator app or a recovery code in `otp`."),
                status=401,
            ) from None
    note_sign_in(
        user,
        ip=client_ip(request),
        user_agent=request.headers.get("User-Agent", ""),
        channel="api",
    )
    name = payload.name.strip() or request.headers.get("User-Agent", "").strip()[:100] or "api"
    return Status(200, {"token": issue_api_token(user, name=name)})


@router.delete("/token", response={204: None}, summary="Revoke the token of this request")
def delete_token(request: HttpRequest) -> Status[None]:
    raw = request.headers.get("Authorization", "").partition(" ")[2].strip()
    token = ApiToken.objects.filter(key_hash=hash_token(raw)).first()
    if token is not None:
        revoke_api_token(token)
    return Status(204, None)


@router.get("/me", response=MeOut, summary="Who the token belongs to")
def me(request: ApiRequest) -> dict[str, object]:
    user: User = request.auth
    return {
        "email": user.email,
        "full_name": user.full_name,
        "role": user.role,
        "language": user.language,
        "time_zone": user.time_zone,
        "tier": user.tier,
        "customer_number": user.customer_number,
        "departments": list(user.departments.values_list("slug", flat=True)),
    }


class AddressIn(Schema):
    model_config = ConfigDict(extra="forbid")

    email: EmailStr


class AddressCode(Schema):
    model_config = ConfigDict(extra="forbid")

    email: EmailStr
    code: str = Field(max_length=12)


class AddressOut(Schema):
    email: str
    verified: bool


def _address_out(address: ContactAddress) -> dict[str, object]:
    return {"email": address.email, "verified": address.verified_at is not None}


@router.get(
    "/addresses",
    response=list[AddressOut],
    summary="Your other addresses; verified ones can receive ticket mail",
)
def list_addresses(request: ApiRequest) -> list[dict[str, object]]:
    user: User = request.auth
    return [_address_out(a) for a in user.contact_addresses.all()]


@router.post(
    "/addresses",
    response={202: AddressOut, 422: ErrorOut, 429: ErrorOut},
    summary="Add an address: a six-digit code is mailed to it",
)
def add_address(request: ApiRequest, payload: AddressIn) -> Status[dict[str, object]]:
    user: User = request.auth
    if not hit("address-code", str(user.pk), limit=5, window_seconds=3600):
        raise ActionRefused(
            "rate_limited", _("Too many requests. Please wait a while and try again."), status=429
        )
    return Status(202, _address_out(add_contact_address(user, str(payload.email))))


@router.post(
    "/addresses/verify",
    response={200: AddressOut, 404: ErrorOut, 422: ErrorOut},
    summary="Prove an address with the code mailed to it",
)
def verify_address(request: ApiRequest, payload: AddressCode) -> dict[str, object]:
    user: User = request.auth
    return _address_out(verify_contact_address(user, str(payload.email), payload.code))
