"""How the desk names a messenger customer: by their messenger identity ("Aysel Məmmədova ·
Telegram @aysel"), never by the placeholder address their account carries
(`telegram-…@messenger-contacts.invalid`, which can never receive mail).

The kind of messenger is read from that address itself (no query); the username needs the
contact: one statement for one customer (`identity_of`) or for a whole list (`identities`)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from django.utils.translation import gettext_lazy as _

from destek.accounts.models import MESSENGER_CONTACT_DOMAIN, User
from destek.messaging.choices import ChannelKind
from destek.messaging.models import Contact

#: The domain of the accounts made for messenger contacts (one name, in accounts).
CONTACT_DOMAIN = MESSENGER_CONTACT_DOMAIN


def messenger_kind(email: str) -> str | None:
    """ "telegram" for `telegram-…@messenger-contacts.invalid`; None for a real address."""
    local, _at, domain = (email or "").rpartition("@")
    if domain.lower() != CONTACT_DOMAIN:
        return None
    kind = local.split("-", 1)[0].lower()
    return kind if kind in ChannelKind.values else ChannelKind.TELEGRAM


def kind_label(kind: str) -> str:
    try:
        return str(ChannelKind(kind).label)
    except ValueError:
        return kind


@dataclass(frozen=True)
class Identity:
    kind: str
    username: str = ""

    def __str__(self) -> str:
        label = kind_label(self.kind)
        return f"{label} @{self.username}" if self.username else label


def identities(customers: Iterable[User]) -> dict[int, Identity]:
    """The messenger identity of each messenger customer among `customers`, by id: one
    statement, and none when there is no messenger customer among them."""
    wanted = {c.pk: kind for c in customers if (kind := messenger_kind(c.email))}
    found = {pk: Identity(kind) for pk, kind in wanted.items()}
    if not wanted:
        return found
    rows = (
        Contact.objects.filter(customer_id__in=list(wanted))
        .order_by("customer_id", "-pk")
        .values_list("customer_id", "channel__kind", "username")
    )
    seen: set[int] = set()
    for customer_id, kind, username in rows:
        if customer_id not in seen:
            seen.add(customer_id)
            found[customer_id] = Identity(kind, username)
    return found


def identity_of(customer: User) -> Identity | None:
    if messenger_kind(customer.email) is None:
        return None
    return identities([customer])[customer.pk]


def customer_name(customer: User, identity: Identity | None = None) -> str:
    """The name to show: the full name, else the messenger username, else "Telegram
    customer"; a real address's owner as always (`display_name`)."""
    kind = messenger_kind(customer.email)
    if kind is None:
        return customer.display_name
    if customer.full_name:
        return customer.full_name
    if identity is not None and identity.username:
        return f"@{identity.username}"
    return str(_("{messenger} customer")).format(messenger=kind_label(kind))


def address_text(customer: User, identity: Identity | None = None) -> str:
    """Where the customer is reached: their address, or their messenger identity."""
    kind = messenger_kind(customer.email)
    if kind is None:
        return customer.email
    return str(identity or Identity(kind))


def label(customer: User, identity: Identity | None = None) -> str:
    """ "Aysel Məmmədova · Telegram @aysel" for a messenger customer, the name otherwise."""
    name = customer_name(customer, identity)
    if messenger_kind(customer.email) is None:
        return name
    return f"{name} · {address_text(customer, identity)}"


def as_json(customer: User) -> dict[str, str | None] | None:
    """What the API shows for a messenger customer instead of their placeholder address:
    `{"kind": "telegram", "username": "aysel" or None}`; None for a real address (no query)."""
    identity = identity_of(customer)
    if identity is None:
        return None
    return {"kind": identity.kind, "username": identity.username or None}
