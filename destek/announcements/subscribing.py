"""Subscribing to status notices. An address given by someone not signed in is told nothing
until the link sent to it is opened (nobody can subscribe a stranger); a signed-in customer's
own channels (the announcements address, the verified phone, the linked Telegram) need no
confirming. Customers who use a service (ServiceUser) are subscribed automatically and may
opt out. Every notice carries a link that unsubscribes its address."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _

from destek.accounts.actions import normalize_phone
from destek.accounts.models import ContactAddress, User
from destek.announcements.choices import NoticeVia
from destek.announcements.models import Area, AutomaticOptOut, Incident, Service, Subscription
from destek.announcements.notices import carrier, new_token, read_unsubscribe_token
from destek.announcements.texts import pick
from destek.lib.errors import ActionRefused
from destek.notify.actions import queue_mail, queue_sms
from destek.notify.choices import MailKind


def _scope(
    everything: bool, services: Sequence[int], areas: Sequence[int]
) -> tuple[list[Service], list[Area]]:
    chosen_services = list(Service.objects.filter(pk__in=list(services)))
    chosen_areas = list(Area.objects.filter(pk__in=list(areas)))
    if not everything and not chosen_services and not chosen_areas:
        raise ActionRefused(
            "nothing_chosen",
            _("Choose everything, or at least one service or area."),
            field="services",
        )
    return chosen_services, chosen_areas


def confirm_link(subscription: Subscription) -> str:
    return settings.BASE_URL + reverse("announcements:confirm", args=[subscription.token])


def clean_address(*, email: str = "", phone: str = "") -> tuple[str, str]:
    """(via, address) of what the form was given: an e-mail address or a phone number."""
    email = email.strip()
    if email:
        try:
            validate_email(email)
        except ValidationError:
            raise ActionRefused(
                "invalid_email", _("Enter a valid e-mail address."), field="email"
            ) from None
        return NoticeVia.EMAIL, email.lower()
    if phone.strip():
        return NoticeVia.SMS, normalize_phone(phone)
    raise ActionRefused("no_address", _("Give an e-mail address or a phone number."), field="email")


@transaction.atomic
def subscribe_address(
    *,
    via: str,
    address: str,
    everything: bool = False,
    services: Sequence[int] = (),
    areas: Sequence[int] = (),
    incident: Incident | None = None,
    language: str | None = None,
    send: bool = True,
) -> Subscription:
    """A subscription waiting for its confirmation, and the link mailed (or sent by SMS) to
    the address. The same whether or not the address is subscribed already: confirming
    replaces its earlier choice. `send` False: over the rate limit, the link is not sent."""
    chosen_services: list[Service] = []
    chosen_areas: list[Area] = []
    if incident is None:
        chosen_services, chosen_areas = _scope(everything, services, areas)
    language = (language or translation.get_language() or settings.LANGUAGE_CODE).split("-")[0]
    subscription = Subscription.objects.create(
        via=via,
        address=address,
        language=language,
        time_zone=settings.TIME_ZONE,
        everything=everything and incident is None,
        incident=incident,
        token=new_token(),
    )
    subscription.services.set(chosen_services)
    subscription.areas.set(chosen_areas)
    if send:
        _send_confirmation(subscription)
    return subscription


def _send_confirmation(subscription: Subscription) -> None:
    values = {
        "link": confirm_link(subscription),
        "incident_title": (
            pick(subscription.incident.title, subscription.language).text
            if subscription.incident
            else ""
        ),
        "days": settings.DESTEK_MAIL_CONFIRM_DAYS,
    }
    if subscription.via == NoticeVia.EMAIL:
        queue_mail(
            to=subscription.address,
            template="status_confirm",
            context=values,
            language=subscription.language,
            time_zone=subscription.time_zone,
            kind=MailKind.SECURITY,
        )
    else:
        queue_sms(
            to=subscription.address,
            template="status_confirm",
            context=values,
            language=subscription.language,
            refuse_over_cap=True,
        )


def pending(token: str) -> Subscription | None:
    """The subscription a confirmation link names, if it may still be confirmed."""
    oldest = timezone.now() - timedelta(days=settings.DESTEK_MAIL_CONFIRM_DAYS)
    return (
        Subscription.objects.filter(token=token, user__isnull=True, created_at__gte=oldest)
        .select_related("incident")
        .first()
    )


def forget_unconfirmed(now: datetime | None = None) -> int:
    """Addresses that never opened their link, once it has expired: nothing was ever sent
    to them but the link, and they are kept no longer than it worked."""
    now = now or timezone.now()
    oldest = now - timedelta(days=settings.DESTEK_MAIL_CONFIRM_DAYS)
    deleted, _kinds = Subscription.objects.filter(
        user__isnull=True, confirmed_at__isnull=True, created_at__lt=oldest
    ).delete()
    return deleted


@transaction.atomic
def confirm(token: str) -> Subscription | None:
    """The address asked for it: it is told from now on. Its earlier choice of the same kind
    (all or chosen services; or following the same incident) is replaced."""
    subscription = pending(token)
    if subscription is None:
        return None
    if subscription.confirmed_at is None:
        Subscription.objects.filter(
            via=subscription.via,
            address=subscription.address,
            user__isnull=True,
            incident=subscription.incident,
            confirmed_at__isnull=False,
        ).exclude(pk=subscription.pk).delete()
        subscription.confirmed_at = timezone.now()
        subscription.save(update_fields=["confirmed_at"])
    return subscription


def _reachable(user: User, via: str) -> None:
    if via == NoticeVia.EMAIL:
        return
    if via == NoticeVia.SMS:
        if user.phone and user.phone_verified_at:
            return
        raise ActionRefused(
            "no_phone", _("Verify your phone number in your profile first."), field="via"
        )
    found = carrier(via)
    if found is None or not found.reach(user):
        raise ActionRefused("no_chat", _("Connect Telegram in your profile first."), field="via")


@transaction.atomic
def subscribe_account(
    user: User,
    *,
    via: str,
    everything: bool = False,
    services: Sequence[int] = (),
    areas: Sequence[int] = (),
) -> Subscription:
    """The customer's own channel, to everything or chosen services and areas (replacing
    what they chose for it before); no confirming: it is their account."""
    if via not in NoticeVia.values:
        raise ActionRefused("invalid_via", _("Choose e-mail, SMS or Telegram."), field="via")
    _reachable(user, via)
    chosen_services, chosen_areas = _scope(everything, services, areas)
    Subscription.objects.filter(user=user, via=via, incident__isnull=True).delete()
    subscription = Subscription.objects.create(
        user=user,
        via=via,
        language=user.language,
        time_zone=user.time_zone,
        everything=everything,
        token=new_token(),
        confirmed_at=timezone.now(),
    )
    subscription.services.set(chosen_services)
    subscription.areas.set(chosen_areas)
    return subscription


@transaction.atomic
def unsubscribe_account(user: User, *, via: str) -> int:
    return int(Subscription.objects.filter(user=user, via=via, incident__isnull=True).delete()[0])


@transaction.atomic
def follow_incident(user: User, incident: Incident) -> Subscription:
    """One click: the customer's announcements address is told of this incident."""
    found = Subscription.objects.filter(user=user, via=NoticeVia.EMAIL, incident=incident).first()
    if found is not None:
        return found
    return Subscription.objects.create(
        user=user,
        via=NoticeVia.EMAIL,
        language=user.language,
        time_zone=user.time_zone,
        incident=incident,
        token=new_token(),
        confirmed_at=timezone.now(),
    )


@transaction.atomic
def unfollow_incident(user: User, incident_id: int) -> None:
    Subscription.objects.filter(user=user, incident_id=incident_id).delete()


@transaction.atomic
def set_automatic(user: User, *, on: bool) -> None:
    """Whether the customer is told of the services they use (on unless they opted out)."""
    if on:
        AutomaticOptOut.objects.filter(user=user).delete()
    else:
        AutomaticOptOut.objects.get_or_create(user=user)


def _users_reached_at(via: str, address: str) -> list[int]:
    """The active customers whose notices by `via` go to `address`: by e-mail, those whose
    announcements address it is (a verified contact address chosen for announcements, else
    the account address); by SMS, those whose verified phone it is."""
    if via == NoticeVia.EMAIL:
        chosen = ContactAddress.objects.filter(verified_at__isnull=False, for_announcements=True)
        reached = User.objects.filter(
            Q(pk__in=chosen.filter(email__iexact=address).values("user"))
            | (Q(email__iexact=address) & ~Q(pk__in=chosen.values("user")))
        )
    elif via == NoticeVia.SMS:
        reached = User.objects.filter(phone=address, phone_verified_at__isnull=False)
    else:
        return []
    return list(reached.filter(is_active=True).values_list("pk", flat=True))


@transaction.atomic
def unsubscribe(token: str) -> bool:
    """What a notice's unsubscribe link does (by POST): its address is told nothing more,
    whichever way it was subscribed (an address, the account's channel, automatically), and
    whichever account's notices reach the same address (the message may have been written
    for an address subscription while a customer's automatic notices go there too)."""
    read = read_unsubscribe_token(token)
    if read is None:
        return False
    key, user_id = read
    via, _sep, address = key.partition(":")
    Subscription.objects.filter(via=via, user__isnull=True, address__iexact=address).delete()
    users = set(_users_reached_at(via, address))
    if user_id is not None:
        users.add(user_id)
    if users:
        Subscription.objects.filter(user_id__in=users, via=via).delete()
        if via == NoticeVia.EMAIL:
            AutomaticOptOut.objects.bulk_create(
                [AutomaticOptOut(user_id=pk) for pk in sorted(users)], ignore_conflicts=True
            )
    return True
