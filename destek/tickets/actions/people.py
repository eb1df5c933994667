"""Who else takes part in a ticket: addresses copied on it (CC) and agents who follow it.

A copied address gets the ticket's public mail and may answer it by mail (the mail pipeline
files the answer as a public message of the person the address is, `add_message(cc_address=)`).
Being copied opens no page and no other ticket: `Ticket.objects.visible_to` does not know
this table. Followers are agents of the ticket's department mailed about its new messages.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Iterable

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.utils.translation import gettext_lazy as _

from destek.accounts.actions import verified_addresses
from destek.accounts.models import ContactAddress, User, normalize_email
from destek.lib import ratelimit
from destek.lib.errors import ActionRefused
from destek.tickets import config, notifications
from destek.tickets.actions._common import Actor, _event, _lock, _own, _require_worker
from destek.tickets.choices import EventKind
from destek.tickets.models import Ticket, TicketCC, TicketFollower

#: Characters that make an address more than an address: a display name ("Name <a@b>"),
#: a list ("a@b, c@d"), a quoted or commented local part. Refused outright, so nothing typed
#: into the CC field can add a recipient or a name to a header.
NOT_IN_ADDRESS = frozenset('<>,;:"()[]\\')

#: Own addresses the tickets floor cannot read itself (the mailboxes the mail app polls);
#: the mail app registers its lookup when it starts.
_own_address_lookups: list[Callable[[], Iterable[str]]] = []


def register_own_addresses(lookup: Callable[[], Iterable[str]]) -> None:
    if lookup not in _own_address_lookups:
        _own_address_lookups.append(lookup)


def _invalid() -> ActionRefused:
    return ActionRefused(
        "cc_address_invalid",
        _("Enter one e-mail address only, like name@example.com."),
        field="address",
    )


def clean_cc_address(value: str) -> str:
    """One plain address, lower-cased (addresses compare case-insensitively everywhere);
    refuses anything a header could carry more of."""
    text = (value or "").strip()
    if not text:
        raise ActionRefused("cc_address_required", _("Enter an e-mail address."), field="address")
    if (
        len(text) > 254
        or any(char in NOT_IN_ADDRESS for char in text)
        or any(char.isspace() or unicodedata.category(char)[0] == "C" for char in text)
    ):
        raise _invalid()
    try:
        validate_email(text)
    except ValidationError:
        raise _invalid() from None
    return normalize_email(text)


def _own_addresses() -> set[str]:
    """Our own mailboxes: copying one would mail ourselves (and loop)."""
    own = {
        normalize_email(settings.DESTEK_SUPPORT_ADDRESS),
        *config.department_addresses(),
    }
    for lookup in _own_address_lookups:
        own.update(normalize_email(address) for address in lookup())
    return {address for address in own if "@" in address}


def _is_ours(address: str) -> bool:
    """One of our addresses, or a plus-address of one (support+t123.abc@…)."""
    local, _at, domain = address.rpartition("@")
    bare = f"{local.split('+', 1)[0]}@{domain}"
    own = _own_addresses()
    return address in own or bare in own


def account_of(address: str) -> User | None:
    """The account an address is: registered with it, else the first account that verified
    it as a contact address (as the mail pipeline reads a sender)."""
    user = User.objects.filter(email=address).first()
    if user is not None:
        return user
    contact = (
        ContactAddress.objects.filter(email=address, verified_at__isnull=False)
        .select_related("user")
        .order_by("pk")
        .first()
    )
    return contact.user if contact is not None else None


def _may_change_people(ticket: Ticket, user: User) -> None:
    """The customer who filed the ticket, or an agent who works it."""
    if user.is_customer:
        _own(ticket, user)
    else:
        _require_worker(Actor.of(user), ticket)


@transaction.atomic
def add_cc(ticket: Ticket, *, by: User, address: str) -> TicketCC:
    """Copy `address` on `ticket`. Adding an address already copied changes nothing. Refused:
    not one plain address, our own mailboxes, the customer's own addresses, a colleague of
    ours (they follow instead), more than DESTEK_CC_PER_TICKET on a ticket, more than
    DESTEK_CC_ADDED_PER_HOUR added by one person in an hour (429)."""
    ticket = _lock(ticket)
    _may_change_people(ticket, by)
    if ticket.merged_into_id is not None:
        raise ActionRefused(
            "ticket_merged", _("This ticket was merged into another one."), status=409
        )
    address = clean_cc_address(address)
    if _is_ours(address):
        raise ActionRefused(
            "cc_address_ours", _("This is our own address: it cannot be copied."), field="address"
        )
    if address in verified_addresses(ticket.customer):
        raise ActionRefused(
            "cc_address_customer",
            _("This is the customer's own address: they get the ticket's mail already."),
            field="address",
        )
    account = account_of(address)
    if account is not None and account.is_agent:
        raise ActionRefused(
            "cc_address_agent",
            _("This address belongs to our team: they can follow the ticket in the desk."),
            field="address",
        )
    existing = TicketCC.objects.filter(ticket=ticket, address=address).first()
    if existing is not None:
        return existing
    limit = settings.DESTEK_CC_PER_TICKET
    copied = TicketCC.objects.filter(ticket=ticket).count()
    if copied >= limit:
        raise ActionRefused(
            "cc_limit",
            _("A ticket can have at most {limit} copied addresses.").format(limit=limit),
            field="address",
        )
    if not ratelimit.hit(
        "cc-added", str(by.pk), limit=settings.DESTEK_CC_ADDED_PER_HOUR, window_seconds=3600
    ):
        raise ActionRefused(
            "cc_rate_limited",
            _("You added many addresses in a short time. Please wait an hour and try again."),
            status=429,
            field="address",
        )
    cc = TicketCC.objects.create(ticket=ticket, address=address, user=account, added_by=by)
    ticket.cc_count = copied + 1
    ticket.save(update_fields=["cc_count"])
    _event(ticket, Actor.of(by), EventKind.CC_ADDED, to_value=address)
    notifications.cc_added(ticket, cc, by=by)
    return cc


@transaction.atomic
def remove_cc(ticket: Ticket, *, by: User, address: str) -> None:
    """Stop copying `address` on `ticket`: no more mail, and its mail is no longer filed there."""
    ticket = _lock(ticket)
    _may_change_people(ticket, by)
    address = normalize_email(address or "")
    plain = address.isprintable() and len(address) <= 254  # a NUL would reach the database
    removed = TicketCC.objects.filter(ticket=ticket, address=address).delete()[0] if plain else 0
    if not removed:
        raise ActionRefused(
            "cc_not_found", _("This address is not copied on the ticket."), status=404
        )
    ticket.cc_count = TicketCC.objects.filter(ticket=ticket).count()
    ticket.save(update_fields=["cc_count"])
    _event(ticket, Actor.of(by), EventKind.CC_REMOVED, from_value=address)


def copied_on(ticket: Ticket, address: str) -> TicketCC | None:
    """The CC of `address` on `ticket`, if it is copied."""
    if not address or not address.isprintable() or len(address) > 254:
        return None
    return TicketCC.objects.filter(ticket=ticket, address=normalize_email(address)).first()


@transaction.atomic
def follow(ticket: Ticket, *, agent: User) -> TicketFollower:
    """An agent of the ticket's department follows it; following twice changes nothing."""
    ticket = _lock(ticket)
    if not agent.is_agent:
        raise ActionRefused("forbidden", _("Only agents follow tickets."), status=403)
    _require_worker(Actor.of(agent), ticket)
    follower, created = TicketFollower.objects.get_or_create(ticket=ticket, agent=agent)
    if created:
        _count_followers(ticket)
        _event(ticket, Actor.of(agent), EventKind.FOLLOWED, public=False)
    return follower


@transaction.atomic
def unfollow(ticket: Ticket, *, agent: User) -> None:
    """Stop following; allowed even after the agent left the department."""
    ticket = _lock(ticket)
    removed, _counts = TicketFollower.objects.filter(ticket=ticket, agent=agent).delete()
    if removed:
        _count_followers(ticket)
        _event(ticket, Actor.of(agent), EventKind.UNFOLLOWED, public=False)


def _count_followers(ticket: Ticket) -> None:
    ticket.follower_count = TicketFollower.objects.filter(ticket=ticket).count()
    ticket.save(update_fields=["follower_count"])
