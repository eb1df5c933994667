"""Delivering the outbox. Jobs take ids, re-read their row and are safe to run twice."""

from __future__ import annotations

import logging
import smtplib
from datetime import datetime, timedelta

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.db.models import Q
from django.utils import timezone
from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task

from destek.notify import sms
from destek.notify.choices import DeliveryStatus, Transport
from destek.notify.models import Delivery

log = logging.getLogger(__name__)

#: A claim older than this is taken to mean the worker died mid-send; the row is retried.
#: That is the one case where a mail can go out twice (sent, then killed before the row was
#: marked); the Message-ID stays the same, so the recipient's client shows it once.
STALE_CLAIM = timedelta(minutes=10)
SWEEP_BATCH = 200


def backoff(attempts: int) -> timedelta:
    """1, 2, 4 ... minutes, then every hour until the give-up age."""
    return timedelta(minutes=min(2 ** max(attempts - 1, 0), 60))


def _claim(delivery_id: int) -> datetime | None:
    """Take the row for this worker; returns the claim's instant, which later updates match
    so a worker whose claim went stale cannot overwrite another's result."""
    now = timezone.now()
    claimable = Q(status=DeliveryStatus.QUEUED, next_attempt_at__lte=now) | Q(
        status=DeliveryStatus.SENDING, claimed_at__lt=now - STALE_CLAIM
    )
    claimed = Delivery.objects.filter(claimable, pk=delivery_id).update(
        status=DeliveryStatus.SENDING, claimed_at=now
    )
    return now if claimed == 1 else None


def _send_email(delivery: Delivery) -> None:
    mail = EmailMultiAlternatives(
        subject=delivery.subject,
        body=delivery.body_text,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[delivery.recipient],
        headers={**delivery.headers, "Message-ID": delivery.message_id},
        connection=get_connection(fail_silently=False),
    )
    if delivery.body_html:
        mail.attach_alternative(delivery.body_html, "text/html")
    mail.send()


def _send_sms(delivery: Delivery) -> None:
    sms.send(delivery.recipient, delivery.body_text)


def _send(delivery: Delivery) -> None:
    if delivery.transport == Transport.SMS:
        _send_sms(delivery)
    else:
        _send_email(delivery)


def is_permanent(exc: Exception) -> bool:
    """SMTP 5yz answers (RFC 5321) will not get better by retrying; 4yz and network errors
    may. Anything that is not about the network (a malformed address) never will. For the
    SMS gateway: 4xx but 408 and 429 are permanent; 5xx, 408, 429 and timeouts are not."""
    sms_verdict = sms.is_permanent(exc)
    if sms_verdict is not None:
        return sms_verdict
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _ in exc.recipients.values()]
        return bool(codes) and all(500 <= code < 600 for code in codes)
    if isinstance(exc, smtplib.SMTPResponseException):
        return 500 <= exc.smtp_code < 600
    return not isinstance(exc, OSError | smtplib.SMTPException)


def deliver_now(delivery_id: int) -> str:
    """Send one delivery if it is due and unclaimed; returns what happened (for tests, logs)."""
    claim = _claim(delivery_id)
    if claim is None:
        return "skipped"
    delivery = Delivery.objects.get(pk=delivery_id)
    attempts = delivery.attempts + 1
    try:
        _send(delivery)
    except Exception as exc:  # every failure is recorded on the row, none escapes the sweep
        return _record_failure(delivery, claim, attempts, repr(exc), permanent=is_permanent(exc))
    Delivery.objects.filter(pk=delivery.pk, claimed_at=claim).update(
        status=DeliveryStatus.SENT, sent_at=timezone.now(), attempts=attempts, last_error=""
    )
    return "sent"


def _record_failure(
    delivery: Delivery, claim: datetime, attempts: int, error: str, *, permanent: bool
) -> str:
    now = timezone.now()
    too_old = delivery.created_at < now - timedelta(hours=settings.DESTEK_OUTBOX_GIVE_UP_HOURS)
    give_up = permanent or too_old
    log.warning("delivery %s attempt %s failed: %s", delivery.pk, attempts, error)
    Delivery.objects.filter(pk=delivery.pk, claimed_at=claim).update(
        status=DeliveryStatus.FAILED if give_up else DeliveryStatus.QUEUED,
        attempts=attempts,
        last_error=error[:2000],
        next_attempt_at=now + backoff(attempts),
        claimed_at=None,
    )
    return "failed" if give_up else "retry"


@db_task(retries=0)
def deliver(delivery_id: int) -> str:
    return deliver_now(delivery_id)


def sweep_outbox_now() -> int:
    """Send whatever is due: retries after backoff, and rows whose queue message was lost."""
    now = timezone.now()
    due = Delivery.objects.filter(
        Q(status=DeliveryStatus.QUEUED, next_attempt_at__lte=now)
        | Q(status=DeliveryStatus.SENDING, claimed_at__lt=now - STALE_CLAIM)
    ).order_by("next_attempt_at")
    ids = list(due.values_list("pk", flat=True)[:SWEEP_BATCH])
    for delivery_id in ids:
        deliver_now(delivery_id)
    return len(ids)


@db_periodic_task(crontab(minute="*"))
def sweep_outbox() -> int:
    return sweep_outbox_now()
