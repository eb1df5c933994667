"""Reading accounts: where a person's mail of each kind goes, and whether they use 2FA."""

from __future__ import annotations

from django.db.models import OuterRef, Subquery

from destek.accounts.choices import NotificationKind
from destek.accounts.models import ContactAddress, TwoFactor, User


def notification_address(user: User, kind: str) -> str:
    """The verified address `user` chose for mail of `kind` (a `NotificationKind`), else the
    account address."""
    if kind not in NotificationKind.values:
        raise ValueError(f"unknown notification kind {kind!r}")
    known = user.__dict__.get(_ADDRESSES)
    if known is not None:
        return str(known[kind])
    chosen = (
        user.contact_addresses.filter(verified_at__isnull=False, **{f"for_{kind}": True})
        .values_list("email", flat=True)
        .first()
    )
    return chosen or user.email


_ADDRESSES = "_notification_addresses"


def lock_with_addresses(user: User) -> None:
    """Lock `user`'s row until the transaction ends (PostgreSQL; SQLite has one writer) and,
    in the same statement, read where each kind of their mail goes: the action that locks
    (filing a ticket) mails the confirmation without asking again. Kept on this instance
    until `forget_addresses`, which that action calls when it ends."""
    chosen = {
        kind: Subquery(
            ContactAddress.objects.filter(
                user=OuterRef("pk"), verified_at__isnull=False, **{f"for_{kind}": True}
            )
            .order_by("pk")
            .values("email")[:1]
        )
        for kind in NotificationKind.values
    }
    row = (
        User.objects.select_for_update(of=("self",))
        .filter(pk=user.pk)
        .annotate(**{f"address_{kind}": query for kind, query in chosen.items()})
        .values(*(f"address_{kind}" for kind in chosen))
        .first()
    )
    if row is not None:
        user.__dict__[_ADDRESSES] = {
            kind: row[f"address_{kind}"] or user.email for kind in NotificationKind.values
        }


def forget_addresses(user: User) -> None:
    user.__dict__.pop(_ADDRESSES, None)


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
