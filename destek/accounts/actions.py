"""State changes of accounts: tokens issued and revoked."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from destek.accounts.models import ApiToken, User, hash_token


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
        ApiToken.objects.usable().select_related("user").filter(key_hash=hash_token(raw)).first()
    )
    if token is None:
        return None
    now = timezone.now()
    # Touch at most once a minute: a write per request would serialise API traffic on SQLite.
    if token.last_used_at is None or (now - token.last_used_at).total_seconds() > 60:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return token.user
