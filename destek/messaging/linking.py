"""Linking a messenger contact to an existing customer account, only through a verified step:
a one-time deep link made in the portal profile (Telegram: `t.me/<bot>?start=<token>`), or a
six-digit code mailed to an address of the account that the person types in the chat (every
platform). A contact is never merged with an account by its name or phone number.

Once linked, the contact's customer is the account: the tickets its placeholder customer had
move to the account (`tickets.move_tickets`, one history entry each) and the placeholder is
deactivated. Unlinking gives the contact a new placeholder; the tickets stay with the account.

Every answer goes to the chat in the contact's language; nothing here raises to the bot's
caller, so a wrong token or code is counted and committed, never rolled back.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import unicodedata
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _

from destek.accounts.choices import NotificationKind, Role
from destek.accounts.models import User
from destek.accounts.selectors import notification_address
from destek.lib.errors import ActionRefused
from destek.lib.ratelimit import hit
from destek.messaging import actions as messenger
from destek.messaging import texts
from destek.messaging.choices import ChannelKind, Health
from destek.messaging.models import Contact, LinkToken, MailLink, MessagingChannel
from destek.notify.actions import queue_mail
from destek.notify.choices import MailKind
from destek.tickets import actions as tickets
from destek.tickets.choices import ActorKind

#: Telegram's deep-link parameter: 1-64 of A-Z, a-z, 0-9, _ and -.
TOKEN_RE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
CODE_ATTEMPTS = 5
#: Codes mailed per contact and per address in an hour (the same for addresses of no account).
CODES_PER_HOUR = 3
LINK_COMMAND = "/link"


def _lifetime() -> timedelta:
    return timedelta(minutes=settings.DESTEK_MESSENGER_LINK_MINUTES)


def _token_hash(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def _code_hash(link: MailLink, user_id: int, code: str) -> str:
    message = f"messenger-link:{link.contact_id}:{user_id}:{link.email}:{code}"
    return hmac.new(settings.SECRET_KEY.encode(), message.encode(), hashlib.sha256).hexdigest()


def is_linked(contact: Contact) -> bool:
    return contact.linked_at is not None


def _say(contact: Contact, text: object, **values: object) -> None:
    with translation.override(contact.language):
        messenger.queue_text(contact, str(text).format(**values))


# --- the portal's side ----------------------------------------------------------------------


def linkable_channels() -> list[MessagingChannel]:
    """The Telegram bots a customer may connect from the profile: those that work."""
    return list(
        MessagingChannel.objects.filter(kind=ChannelKind.TELEGRAM)
        .exclude(health=Health.FAILING)
        .order_by("name", "pk")
    )


def linked_contacts(user: User) -> list[Contact]:
    return list(
        Contact.objects.filter(customer=user, linked_at__isnull=False)
        .select_related("channel")
        .order_by("linked_at", "pk")
    )


@dataclass(frozen=True)
class DeepLink:
    channel: MessagingChannel
    url: str
    minutes: int


def make_link_token(user: User, channel: MessagingChannel) -> DeepLink:
    """A one-time deep link for `user` to open in `channel`'s bot. Only its hash is stored;
    an earlier unused link of the same account and bot stops working."""
    if not user.is_customer or not user.is_active:
        raise ActionRefused(
            "customers_only", _("Only customer accounts can connect a messenger."), status=403
        )
    if channel.kind != ChannelKind.TELEGRAM or channel.health == Health.FAILING:
        raise ActionRefused(
            "channel_unavailable", _("This messenger cannot be connected now."), status=404
        )
    if not channel.bot_username:
        # A bot added before usernames were kept: ask Telegram now (getMe).
        messenger.check_channel(channel)
    if not channel.bot_username:
        raise ActionRefused(
            "channel_unavailable",
            _("The bot cannot be reached now. Please try again later."),
            status=503,
        )
    raw = secrets.token_urlsafe(32)  # 43 characters of A-Z a-z 0-9 _ -
    with transaction.atomic():
        LinkToken.objects.filter(user=user, channel=channel, used_at__isnull=True).delete()
        LinkToken.objects.create(
            user=user,
            channel=channel,
            token_hash=_token_hash(raw),
            expires_at=timezone.now() + _lifetime(),
        )
    return DeepLink(
        channel=channel,
        url=f"https://t.me/{channel.bot_username}?start={raw}",
        minutes=settings.DESTEK_MESSENGER_LINK_MINUTES,
    )


@transaction.atomic
def unlink_contact(contact: Contact, *, by: User) -> None:
    """The contact is no longer the account's: it gets a new placeholder customer of its own;
    the tickets stay with the account. The chat is told."""
    contact = Contact.objects.select_for_update().select_related("channel").get(pk=contact.pk)
    if contact.customer_id != by.pk or contact.linked_at is None:
        return
    contact.customer = _placeholder(contact)
    contact.linked_at = None
    contact.start_new = False
    contact.save(update_fields=["customer", "linked_at", "start_new"])
    MailLink.objects.filter(contact=contact).delete()
    _say(contact, texts.LINK_REMOVED)


def _placeholder(contact: Contact) -> User:
    customer = User(
        email=f"{contact.channel.kind}-{secrets.token_hex(12)}@{messenger.CONTACT_DOMAIN}",
        full_name=contact.name,
        role=Role.CUSTOMER,
        language=contact.language,
    )
    customer.set_unusable_password()
    customer.save()
    return customer


# --- linking --------------------------------------------------------------------------------


def _link(contact: Contact, account: User) -> None:
    """Make `account` the contact's customer (the caller holds the contact's row lock)."""
    placeholder = contact.customer
    tickets.move_tickets(placeholder, to=account, actor=tickets.Actor(ActorKind.CUSTOMER, account))
    if placeholder.email.endswith("@" + messenger.CONTACT_DOMAIN):
        User.objects.filter(pk=placeholder.pk).update(is_active=False)
    contact.customer = account
    contact.linked_at = timezone.now()
    contact.start_new = False
    contact.save(update_fields=["customer", "linked_at", "start_new"])
    MailLink.objects.filter(contact=contact).delete()
    _say(contact, texts.LINKED, account=account.email)
    # The account's owner hears of it: if it was not them, they unlink it in the profile.
    queue_mail(
        to=notification_address(account, NotificationKind.SECURITY),
        template="messenger_linked",
        context={
            "name": account.display_name,
            "account": account.email,
            "messenger": contact.channel.get_kind_display(),
            "contact": str(contact),
            "profile_url": settings.BASE_URL + reverse("portal:profile") + "#messengers",
        },
        language=account.language,
        time_zone=account.time_zone,
        calendar=account.calendar,
        kind=MailKind.SECURITY,
    )


def _locked(contact: Contact) -> Contact:
    return (
        Contact.objects.select_for_update().select_related("customer", "channel").get(pk=contact.pk)
    )


def _already_linked(contact: Contact, account: User | None) -> bool:
    """Answer a contact that is linked already (to `account`: "already yours"; to another or
    none: "disconnect it there first"); True when there is nothing more to do."""
    if contact.linked_at is None:
        return False
    if account is not None and contact.customer_id == account.pk:
        _say(contact, texts.ALREADY_LINKED)
    else:
        _say(contact, texts.LINKED_TO_ANOTHER)
    return True


def link_by_token(contact: Contact, raw: str) -> bool:
    """`/start <token>`: link the contact to the account that made the deep link. A used,
    expired or unknown token gets an answer and changes nothing."""
    with transaction.atomic():
        contact = _locked(contact)
        token = None
        if TOKEN_RE.match(raw):
            token = (
                LinkToken.objects.select_for_update()
                .select_related("user")
                .filter(token_hash=_token_hash(raw), channel=contact.channel)
                .first()
            )
        usable = (
            token is not None
            and token.used_at is None
            and token.expires_at > timezone.now()
            and token.user.is_active
            and token.user.role == Role.CUSTOMER
        )
        if token is None or not usable:
            _say(contact, texts.LINK_INVALID)
            return False
        if _already_linked(contact, token.user):
            if contact.customer_id == token.user_id:
                LinkToken.objects.filter(pk=token.pk).update(used_at=timezone.now())
            return False
        LinkToken.objects.filter(pk=token.pk).update(used_at=timezone.now())
        _link(contact, token.user)
    return True


# --- by a mailed code -----------------------------------------------------------------------


def _normal_digits(text: str) -> str:
    """The digits typed, in any script (Persian and Arabic-Indic digits too), as ASCII."""
    return "".join(str(unicodedata.decimal(ch)) for ch in text if ch.isdecimal())


def _looks_like_code(text: str) -> bool:
    """Six digits alone (spaces or a dash between groups allowed): `123 456`, `۱۲۳۴۵۶`."""
    return bool(re.fullmatch(r"[\d\s-]+", text)) and len(_normal_digits(text)) == 6


def _looks_like_address(text: str) -> bool:
    if " " in text or "@" not in text or len(text) > 254:
        return False
    try:
        validate_email(text)
    except ValidationError:
        return False
    return True


def begin_link(contact: Contact) -> None:
    """Ask the chat for the address of the account to link (the next text that is an address
    starts the mailed code)."""
    with transaction.atomic():
        contact = _locked(contact)
        if _already_linked(contact, contact.customer):
            return
        MailLink.objects.update_or_create(
            contact=contact,
            defaults={
                "email": "",
                "user": None,
                "code_hash": "",
                "attempts": 0,
                "expires_at": timezone.now() + _lifetime(),
            },
        )
        _say(contact, texts.LINK_ASK_ADDRESS)


def _account_for(address: str) -> User | None:
    account = tickets.account_of(address)
    if account is None or not account.is_active or account.role != Role.CUSTOMER:
        return None
    return account


def start_link_by_mail(contact: Contact, address: str) -> None:
    """Mail a six-digit code to `address` when it is an address of a customer account. The
    chat is answered the same either way (addresses cannot be probed), and codes are limited
    per contact and per address."""
    address = address.strip().lower()
    with transaction.atomic():
        contact = _locked(contact)
        if _already_linked(contact, _account_for(address)):
            return
        if not _looks_like_address(address):
            _say(contact, texts.LINK_NOT_AN_ADDRESS)
            return
        if not (
            hit(
                "messenger-link-contact", str(contact.pk), limit=CODES_PER_HOUR, window_seconds=3600
            )
            and hit("messenger-link-address", address, limit=CODES_PER_HOUR, window_seconds=3600)
        ):
            _say(contact, texts.LINK_TOO_MANY)
            return
        account = _account_for(address)
        link, _created = MailLink.objects.update_or_create(
            contact=contact,
            defaults={
                "email": address,
                "user": account,
                "code_hash": "",
                "attempts": 0,
                "expires_at": timezone.now() + _lifetime(),
            },
        )
        if account is not None:
            code = f"{secrets.randbelow(1_000_000):06d}"
            link.code_hash = _code_hash(link, account.pk, code)
            link.save(update_fields=["code_hash"])
            queue_mail(
                to=address,
                template="messenger_link_code",
                context={
                    "code": code,
                    "account": account.email,
                    "messenger": contact.channel.get_kind_display(),
                    "contact": str(contact),
                    "minutes": settings.DESTEK_MESSENGER_LINK_MINUTES,
                },
                language=account.language,
                time_zone=account.time_zone,
                calendar=account.calendar,
                kind=MailKind.SECURITY,
            )
        _say(contact, texts.LINK_CODE_SENT, address=address)


def confirm_link_code(contact: Contact, code: str) -> bool:
    """The code from the mail, typed in the chat: links the contact. Five wrong tries (or the
    code's lifetime) and it is spent; each try is counted and committed."""
    digits = _normal_digits(code)
    with transaction.atomic():
        contact = _locked(contact)
        if _already_linked(contact, contact.customer):
            return False
        link = MailLink.objects.select_for_update().filter(contact=contact).first()
        if link is None or not link.email:
            _say(contact, texts.LINK_NO_CODE)
            return False
        usable = (
            link.user_id is not None
            and bool(link.code_hash)
            and link.expires_at > timezone.now()
            and link.attempts < CODE_ATTEMPTS
        )
        right = usable and hmac.compare_digest(
            link.code_hash, _code_hash(link, link.user_id or 0, digits)
        )
        account = link.user
        if right and account is not None and account.is_active:
            _link(contact, account)
            return True
        attempts = link.attempts + 1
        if attempts >= CODE_ATTEMPTS or link.expires_at <= timezone.now():
            link.delete()
            _say(contact, texts.LINK_CODE_SPENT)
        else:
            MailLink.objects.filter(pk=link.pk).update(attempts=attempts)
            _say(contact, texts.LINK_CODE_WRONG)
    return False


def handle_link_text(contact: Contact, text: str) -> bool:
    """What a messenger's inbound processing calls before filing a text (Telegram's through
    `actions.text_handlers`): `/start <token>` (a deep link), `/link` (optionally with an
    address), or, while a link is under way, an address or the code. True when the text was
    linking and must not be filed; False for anything else (a bare `/start` too)."""
    text = (text or "").strip()
    word, _sep, rest = text.partition(" ")
    command = word.split("@")[0].lower()
    if command == "/start" and rest.strip():
        link_by_token(contact, rest.strip())
        return True
    if command == LINK_COMMAND:
        if rest.strip():
            start_link_by_mail(contact, rest.strip())
        else:
            begin_link(contact)
        return True
    link = MailLink.objects.filter(contact=contact).first()
    if link is None:
        return False
    if link.expires_at <= timezone.now():
        link.delete()
        if link.email and _looks_like_code(text):
            _say(contact, texts.LINK_CODE_SPENT)  # a late code is answered, not filed
            return True
        return False
    if _looks_like_address(text):
        start_link_by_mail(contact, text)
        return True
    if link.email and _looks_like_code(text):
        confirm_link_code(contact, text)
        return True
    return False


messenger.text_handlers.append(handle_link_text)


# --- what the profile page shows ------------------------------------------------------------


def profile_section(user: User, link: DeepLink | None = None) -> dict[str, object]:
    """The profile's "Messengers" section: the bots to connect, the chats connected, and the
    deep link just made (shown once: only its hash is kept)."""
    if not user.is_customer:
        return {"shown": False}
    channels = linkable_channels()
    contacts = linked_contacts(user)
    return {
        "shown": bool(channels or contacts),
        "channels": channels,
        "contacts": contacts,
        "link": link,
    }


def own_linked_contact(user: User, contact_id: str) -> Contact | None:
    """The door to a contact from the profile: one linked to `user`, else None."""
    if not (contact_id.isascii() and contact_id.isdigit() and len(contact_id) < 19):
        return None
    return (
        Contact.objects.filter(pk=int(contact_id), customer=user, linked_at__isnull=False)
        .select_related("channel")
        .first()
    )


def channel_to_link(contact_channel_id: str) -> MessagingChannel | None:
    if not (contact_channel_id.isascii() and contact_channel_id.isdigit()):
        return None
    if len(contact_channel_id) >= 19:
        return None
    return next((c for c in linkable_channels() if c.pk == int(contact_channel_id)), None)
