"""Reading accounts: where a person's mail of each kind goes, and whether they use 2FA."""

from __future__ import annotations

from destek.accounts.choices import NotificationKind
from destek.accounts.models import TwoFactor, User


def notification_address(user: User, kind: str) -> str:
    """The verified address `user` chose for mail of `kind` (a `NotificationKind`), else the
    account address."""
    if kind not in NotificationKind.values:
        raise ValueError(f"unknown notification kind {kind!r}")
    chosen = (
        user.contact_addresses.filter(verified_at__isnull=False, **{f"for_{kind}": True})
        .values_list("email", flat=True)
        .first()
    )
    return chosen or user.email


def notification_choices(user: User) -> dict[str, str]:
    """Kind -> the chosen contact address, or "" for the account address; one query."""
    chosen = dict.fromkeys(NotificationKind.values, "")
    for address in user.contact_addresses.filter(verified_at__isnull=False):
        for kind in NotificationKind.values:
            if getattr(address, f"for_{kind}"):
                chosen[kind] = address.email
    return chosen


def has_two_factor(user: User) -> bool:
    """Whether signing in as `user` asks for a code after the password."""
    return TwoFactor.objects.filter(user=user, confirmed_at__isnull=False).exists()


def is_verified(user: User) -> bool:
    return user.email_verified_at is not None
