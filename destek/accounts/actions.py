"""State changes of accounts: API tokens, and contact addresses proven with a code."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from destek.accounts.models import ApiToken, ContactAddress, User, hash_token, normalize_email
from destek.lib.errors import ActionRefused


@transaction.atomic
def issue_api_token(user: User, *, name: str = "") -> str:
    """Create a token for `user` and return the raw value, which is never stored."""
    raw = ApiToken.generate()
    ApiToken.objects.create(user=user, name=name, key_hash=hash_token(raw), hint=raw[:10])
    return raw


@transaction.atomic
def revoke_api_token(token: ApiToken) -> None:
    ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(revoked_at=timezone.now())


def user_for_token(raw: str) -> User | None:
    """The active user a raw bearer token belongs to, or None (revoked, unknown, deactivated)."""
    if not raw.startswith(ApiToken.PREFIX):
        return None
    token = (
        ApiToken.objects.usable()
        .select_related("user", "user__organisation")
        .filter(key_hash=hash_token(raw))
        .first()
    )
    if token is None:
        return None
    now = timezone.now()
    # Touch at most once a minute: a write per request would serialise API traffic on SQLite.
    if token.last_used_at is None or (now - token.last_used_at).total_seconds() > 60:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return token.user


CODE_LIFETIME = timedelta(minutes=30)
CODE_ATTEMPTS = 5


def _code_hash(address: ContactAddress, code: str) -> str:
    return hmac.new(
        settings.SECRET_KEY.encode(),
        f"{address.user_id}:{address.email}:{code}".encode(),
        hashlib.sha256,
    ).hexdigest()


def verified_addresses(user: User) -> set[str]:
    """Where mail for `user` may go: the account address and every proven contact address."""
    extra = user.contact_addresses.filter(verified_at__isnull=False).values_list("email", flat=True)
    return {user.email, *extra}


@transaction.atomic
def add_contact_address(user: User, email: str) -> ContactAddress:
    """Start proving `email` is the user's: a six-digit code goes to it, valid 30 minutes."""
    from destek.notify.actions import queue_mail

    email = normalize_email(email)
    if email == user.email:
        raise ActionRefused("already_primary", _("This is already the address of your account."))
    address, _created = ContactAddress.objects.get_or_create(user=user, email=email)
    if address.verified_at is not None:
        return address
    code = f"{secrets.randbelow(1_000_000):06d}"
    address.code_hash = _code_hash(address, code)
    address.code_expires_at = timezone.now() + CODE_LIFETIME
    address.attempts = 0
    address.save()
    queue_mail(
        to=email,
        template="verify_address",
        context={"code": code, "account": user.email, "minutes": 30},
        language=user.language,
        time_zone=user.time_zone,
    )
    return address


def verify_contact_address(user: User, email: str, code: str) -> ContactAddress:
    """Prove the address with its code. Five wrong tries and the code is spent."""
    with transaction.atomic():
        address = (
            ContactAddress.objects.select_for_update()
            .filter(user=user, email=normalize_email(email))
            .first()
        )
        if address is None:
            raise ContactAddress.DoesNotExist
        if address.verified_at is not None:
            return address
        usable = (
            bool(address.code_hash)
            and address.code_expires_at is not None
            and address.code_expires_at > timezone.now()
            and address.attempts < CODE_ATTEMPTS
        )
        right = usable and hmac.compare_digest(address.code_hash, _code_hash(address, code.strip()))
        if right:
            address.verified_at = timezone.now()
            address.code_hash = ""
            address.save()
            return address
        # Counted and committed before refusing, so guessing cannot go on for ever.
        ContactAddress.objects.filter(pk=address.pk).update(attempts=address.attempts + 1)
    raise ActionRefused("invalid_code", _("The code is wrong or has expired. Ask for a new one."))


@transaction.atomic
def change_password(user: User, raw_password: str) -> None:
    """A new password ends every API token: whoever held the old one is signed out."""
    user.set_password(raw_password)
    user.save(update_fields=["password"])
    ApiToken.objects.filter(user=user, revoked_at__isnull=True).update(revoked_at=timezone.now())
