"""How much automatic mail (and SMS) one address may get, and which addresses bounce for good.

Asked by the worker when it sends (`destek.notify.jobs`): a request only writes outbox rows."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db.models import Count, Q
from django.utils import timezone

from destek.notify.choices import DeliveryStatus, MailKind
from destek.notify.models import Delivery, FailingAddress

SENT_OR_SENDING = (DeliveryStatus.SENT.value, DeliveryStatus.SENDING.value)
WILL_BE_SENT = (*SENT_OR_SENDING, DeliveryStatus.QUEUED.value)


def over_automatic_cap(
    address: str,
    *,
    unverified: bool = False,
    counting: tuple[str, ...] = SENT_OR_SENDING,
    besides: int | None = None,
) -> bool:
    """Automatic mail to one address is capped per hour and per day: a loop or an abuser
    filing tickets with someone else's address cannot turn us into a mail cannon. The same
    caps hold for SMS to one number (its E.164 form is the recipient). Answers to mail whose
    sender was not authenticated (`unverified`) also count against a tighter cap of their own,
    so forged mail alone can never use up the address's allowance.

    The worker asks when it sends (`counting` what was sent or is being sent, `besides` the
    row it holds); a caller that must answer the person at once counts what is queued too."""
    now = timezone.now()
    rows = Delivery.objects.filter(
        recipient=address,
        kind=MailKind.AUTOMATIC,
        status__in=counting,
        created_at__gte=now - timedelta(days=1),
    )
    if besides is not None:
        rows = rows.exclude(pk=besides)
    counts = rows.aggregate(
        day=Count("pk"),
        hour=Count("pk", filter=Q(created_at__gte=now - timedelta(hours=1))),
        unverified_day=Count("pk", filter=Q(answers_unverified=True)),
        unverified_hour=Count(
            "pk", filter=Q(answers_unverified=True, created_at__gte=now - timedelta(hours=1))
        ),
    )
    if unverified and (
        counts["unverified_hour"] >= settings.DESTEK_AUTOMAIL_UNVERIFIED_PER_HOUR
        or counts["unverified_day"] >= settings.DESTEK_AUTOMAIL_UNVERIFIED_PER_DAY
    ):
        return True
    return bool(
        counts["hour"] >= settings.DESTEK_AUTOMAIL_PER_HOUR
        or counts["day"] >= settings.DESTEK_AUTOMAIL_PER_DAY
    )


def bounces_for_good(address: str) -> bool:
    return FailingAddress.objects.filter(email=address.strip().lower(), permanent=True).exists()
