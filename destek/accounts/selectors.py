"""Reading accounts: where a person's mail of each kind goes, whether they use 2FA, and the
customers an organisation's domains suggest as its members."""

from __future__ import annotations

import functools

from django.db import connection
from django.db.models import Field, Model, Q, QuerySet

from destek.accounts.choices import NotificationKind, Role
from destek.accounts.models import ContactAddress, Organisation, TwoFactor, User


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
    chosen: dict[str, str] = {}
    with connection.cursor() as cursor:
        cursor.execute(_lock_with_addresses_sql(), [user.pk])
        for email, *uses in cursor.fetchall():
            for kind, used in zip(NotificationKind.values, uses, strict=True):
                if email and used and kind not in chosen:
                    chosen[kind] = email
    user.__dict__[_ADDRESSES] = {
        kind: chosen.get(kind, user.email) for kind in NotificationKind.values
    }


@functools.cache
def _lock_with_addresses_sql() -> str:
    """Written once per process: on every ticket filed, building it with the ORM (a lock and a
    subquery per kind of mail) cost more than running it. The user's row, left-joined to
    their verified addresses, oldest first; `FOR UPDATE OF` the user where there is one."""
    q = connection.ops.quote_name

    def column(model: type[Model], name: str) -> str:
        field = model._meta.get_field(name)
        assert isinstance(field, Field)
        return q(field.column)

    flags = ", ".join(f"c.{column(ContactAddress, f'for_{k}')}" for k in NotificationKind.values)
    lock = " FOR UPDATE OF u" if connection.features.has_select_for_update_of else ""
    # Identifiers come from the models' metadata; the one value is a parameter.
    return (
        f"SELECT c.{column(ContactAddress, 'email')}, {flags} "  # noqa: S608
        f"FROM {q(User._meta.db_table)} u LEFT JOIN {q(ContactAddress._meta.db_table)} c "
        f"ON c.{column(ContactAddress, 'user')} = u.{column(User, 'id')} "
        f"AND c.{column(ContactAddress, 'verified_at')} IS NOT NULL "
        f"WHERE u.{column(User, 'id')} = %s ORDER BY c.{column(ContactAddress, 'id')}{lock}"
    )


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


def email_domain(email: str) -> str:
    """The part after the last "@", lower-cased ("" for none)."""
    return email.rpartition("@")[2].strip().lower()


def same_domain_customers(domains: list[str]) -> QuerySet[User]:
    """Customers of no organisation whose account address is in one of `domains`: the
    members an organisation's domains suggest. Only suggested: an agent confirms each
    (`customer_actions.confirm_member`). Nothing for no domains."""
    if not domains:
        return User.objects.none()
    in_domains = Q()
    for domain in domains:
        in_domains |= Q(email__endswith=f"@{domain}")
    return User.objects.filter(
        in_domains, role=Role.CUSTOMER, organisation__isnull=True, is_active=True
    )


def organisation_domains(organisation: Organisation) -> list[str]:
    return list(organisation.domains.values_list("domain", flat=True))
