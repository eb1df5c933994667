"""Signing in to the API."""

from __future__ import annotations

from django.contrib.auth import authenticate
from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Router, Schema, Status
from pydantic import Field

from destek.accounts.actions import issue_api_token, revoke_api_token
from destek.accounts.models import ApiToken, User, hash_token
from destek.api.auth import activate_language
from destek.lib.errors import ActionRefused
from destek.lib.ratelimit import client_ip, hit

router = Router(tags=["auth"])


class Credentials(Schema):
    email: str = Field(max_length=254)
    password: str = Field(max_length=200)


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
    summary="Exchange e-mail and password for a bearer token",
)
def create_token(request: HttpRequest, payload: Credentials) -> Status[dict[str, str]]:
    email = payload.email.strip().lower()
    # Limits per address and per client; both answer the same for known and unknown addresses.
    if not (
        hit("login-email", email, limit=10, window_seconds=300)
        and hit("login-ip", client_ip(request), limit=60, window_seconds=300)
    ):
        raise ActionRefused(
            "rate_limited", _("Too many attempts. Please wait a few minutes."), status=429
        )
    user = authenticate(request, username=email, password=payload.password)
    if user is None or not user.is_active:
        raise ActionRefused("invalid_credentials", _("Invalid e-mail or password."), status=401)
    assert isinstance(user, User)
    activate_language(request, user)
    return Status(200, {"token": issue_api_token(user, name="api")})


@router.delete("/token", response={204: None}, summary="Revoke the token of this request")
def delete_token(request: HttpRequest) -> Status[None]:
    raw = request.headers.get("Authorization", "").partition(" ")[2].strip()
    token = ApiToken.objects.filter(key_hash=hash_token(raw)).first()
    if token is not None:
        revoke_api_token(token)
    return Status(204, None)


@router.get("/me", response=MeOut, summary="Who the token belongs to")
def me(request: HttpRequest) -> dict[str, object]:
    user: User = request.auth  # type: ignore[attr-defined]
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
