"""Delivering the outbox. Jobs take ids, re-read their row and are safe to run twice.

What survives what:

- **A worker killed mid-send**: its claim names it (`claims.py`); once its heartbeat is a
  minute old another worker takes the row over. If the killed worker had already handed the
  message to the transport, this machine's sent-mail journal (`journal.py`) says so and the
  row is marked sent instead of sent again.
- **The database away right after a send**: the send is journalled (fsynced) before the
  database is asked; marking it sent is retried for a few seconds, and otherwise replayed from
  the journal when the database is back. Before a stale claim is sent again, the journal is read.
- **The queue losing its messages**: the sweep sends whatever is due, in batches, until
  nothing is left or its time budget (`DESTEK_OUTBOX_SWEEP_SECONDS`) is spent, then queues
  itself again at once.
- **The SMTP server (or SMS gateway) down**: the first transport-level failure marks the
  transport down; while it is, nothing else is tried and one probe runs 5, 15, 30, then every
  60 seconds. The first send that works again wakes everything that waited.
"""

from __future__ import annotations

import logging
import secrets
import smtplib
import threading
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, TypeVar

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.db import DatabaseError, connection
from django.db.models import F, Q
from django.utils import timezone
from huey import crontab
from huey.contrib.djhuey import HUEY, db_periodic_task, db_task

from destek.lib import outage
from destek.notify import caps, claims, journal, sms
from destek.notify.choices import DeliveryStatus, MailKind, Transport
from destek.notify.models import Delivery, TransportState

log = logging.getLogger(__name__)

T = TypeVar("T")

SWEEP_BATCH = 200
#: Seconds between tries of a transport that is down: 5, 15, 30, then every 60.
PROBE_DELAYS = (5, 15, 30, 60)
#: Seconds to wait between tries of marking a sent delivery while the database is away.
MARK_RETRIES = (0.25, 0.5, 1.0, 2.0)

_local = threading.local()


def backoff(attempts: int) -> timedelta:
    """1, 2, 4 ... minutes, then every hour until the give-up age. A delivery that waited for
    a transport outage is woken as soon as the transport works again, whatever this says."""
    return timedelta(minutes=min(2 ** max(attempts - 1, 0), 60))


def probe_delay(failures: int) -> timedelta:
    return timedelta(seconds=PROBE_DELAYS[min(max(failures, 1), len(PROBE_DELAYS)) - 1])


def _send_email(delivery: Delivery, connection: Any = None) -> None:
    mail = EmailMultiAlternatives(
        subject=delivery.subject,
        body=delivery.body_text,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[delivery.recipient],
        headers={**delivery.headers, "Message-ID": delivery.message_id},
        connection=connection or get_connection(fail_silently=False),
    )
    if delivery.body_html:
        mail.attach_alternative(delivery.body_html, "text/html")
    if connection is None:
        mail.send()
        return
    try:
        mail.send()
    except Exception as exc:
        # A reused connection the server dropped (idle, or its per-connection limit) is no
        # outage: once more on a fresh one before anything is concluded.
        connection.close()
        if not is_transport_down(exc):
            raise
        mail.connection = get_connection(fail_silently=False)
        mail.send()


def _send_sms(delivery: Delivery) -> None:
    sms.send(delivery.recipient, delivery.body_text)


def _send(delivery: Delivery, connection: Any = None) -> None:
    if delivery.transport == Transport.SMS:
        _send_sms(delivery)
    else:
        _send_email(delivery, connection)


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


def is_transport_down(exc: Exception) -> bool:
    """The transport itself failed (no connection, a timeout, the server going away, 421, a
    gateway's 5xx), as opposed to one message being refused."""
    import httpx

    if isinstance(exc, smtplib.SMTPResponseException):
        return exc.smtp_code == 421 or isinstance(exc, smtplib.SMTPConnectError)
    if isinstance(exc, smtplib.SMTPServerDisconnected):
        return True
    if isinstance(exc, smtplib.SMTPException):
        return False
    if isinstance(exc, sms.GatewayAnswer):
        return exc.status >= 500 or exc.status in (408, 429)
    return isinstance(exc, OSError | httpx.TransportError)


# --- the transport's state -------------------------------------------------------------------


def _probe_slot(transport: str, now: datetime) -> bool | None:
    """None when the transport is up; True when it is down and this attempt is the one probe
    of this round; False when it is down and it is not this attempt's turn."""
    state = TransportState.objects.filter(transport=transport, failures__gt=0).first()
    if state is None:
        return None
    if state.next_probe_at is not None and state.next_probe_at > now:
        return False
    taken = TransportState.objects.filter(
        transport=transport, failures=state.failures, next_probe_at=state.next_probe_at
    ).update(next_probe_at=now + probe_delay(state.failures + 1))
    return taken == 1


def _transport_failed(transport: str, error: str, now: datetime, *, probed: bool) -> None:
    """The first failure marks the transport down and schedules the first probe; a failed
    probe counts one more failure and schedules the next; any other attempt that failed
    meanwhile (already under way when the transport went down) only leaves its error."""
    first = TransportState.objects.filter(transport=transport, failures=0).update(
        failures=1, down_since=now, next_probe_at=now + probe_delay(1), last_error=error[:2000]
    )
    if not first and not TransportState.objects.filter(transport=transport).exists():
        _, created = TransportState.objects.get_or_create(
            transport=transport,
            defaults={
                "failures": 1,
                "down_since": now,
                "next_probe_at": now + probe_delay(1),
                "last_error": error[:2000],
            },
        )
        first = int(created)
    if not first and not probed:
        TransportState.objects.filter(transport=transport).update(last_error=error[:2000])
        return
    if not first:
        TransportState.objects.filter(transport=transport).update(
            failures=F("failures") + 1, last_error=error[:2000]
        )
    state = TransportState.objects.get(transport=transport)
    log.warning(
        "transport %s is down (%s failures): %s; next try at %s",
        transport,
        state.failures,
        error,
        state.next_probe_at,
    )
    if state.next_probe_at is not None:
        _schedule_probe(transport, max(1.0, (state.next_probe_at - now).total_seconds()))


def _schedule_probe(transport: str, delay: float) -> None:
    try:
        probe_transport.schedule((transport,), delay=delay)
    except Exception as exc:  # the queue is down: the minute's sweep probes instead
        log.warning("probe of %s not queued (%r); the outbox sweep will try it", transport, exc)


def _transport_recovered(transport: str, now: datetime) -> None:
    """The transport works again: forget the outage and wake whatever waited for it."""
    if not TransportState.objects.filter(transport=transport, failures__gt=0).update(
        failures=0, down_since=None, next_probe_at=None, last_error=""
    ):
        return
    woken = Delivery.objects.filter(
        status=DeliveryStatus.QUEUED, transport=transport, next_attempt_at__gt=now
    ).update(next_attempt_at=now)
    log.warning("transport %s works again; %d waiting deliveries woken", transport, woken)
    if not getattr(_local, "sweeping", False):
        try:
            sweep_outbox()
        except Exception as exc:  # the queue is down: the minute's sweep sends them
            log.warning("outbox sweep not queued after recovery: %r", exc)


def transports_down(now: datetime) -> list[str]:
    """Transports that are down and not due for their next try."""
    return list(
        TransportState.objects.filter(failures__gt=0, next_probe_at__gt=now).values_list(
            "transport", flat=True
        )
    )


# --- one delivery ----------------------------------------------------------------------------


def _claim(delivery_id: int, now: datetime, *, probe: bool) -> tuple[str, str | None] | None:
    """Take the row for this worker: (attempt id, the worker whose stale claim was taken over,
    or None). Later updates match the attempt id, so a worker whose claim went stale cannot
    overwrite another's result."""
    attempt = secrets.token_hex(8)
    fields = {
        "status": DeliveryStatus.SENDING,
        "claimed_at": now,
        "claimed_by": claims.worker_name(),
        "attempt_id": attempt,
    }
    queued = Q(status=DeliveryStatus.QUEUED)
    if not probe:
        queued &= Q(next_attempt_at__lte=now)
    if Delivery.objects.filter(queued, pk=delivery_id).update(**fields) == 1:
        return attempt, None
    stale = Delivery.objects.filter(claims.stale_claim(now), pk=delivery_id)
    previous = stale.values_list("claimed_by", flat=True).first()
    if previous is None or not claims.may_take_over(now):
        return None
    if stale.filter(claimed_by=previous).update(**fields) == 1:
        return attempt, previous
    return None


def deliver_now(delivery_id: int, *, probe: bool = False, smtp: Any = None) -> str:
    """Send one delivery if it is due and unclaimed; returns what happened (for tests, logs):
    sent, sent_unrecorded (sent and journalled, the database away), already_sent (a stale
    claim the journal shows as sent), retry, failed, deferred
    (its transport is down), held (automatic mail over its cap or to a bouncing address),
    skipped (not due, or another worker has it)."""
    claims.start_heartbeat()
    claims.touch_if_due()
    now = timezone.now()
    transport = Delivery.objects.filter(pk=delivery_id).values_list("transport", flat=True).first()
    if transport is None:
        return "skipped"
    slot = _probe_slot(transport, now)
    if slot is False:
        due = Delivery.objects.filter(
            pk=delivery_id, status=DeliveryStatus.QUEUED, next_attempt_at__lte=now
        )
        return "deferred" if due.exists() else "skipped"
    claimed = _claim(delivery_id, now, probe=probe or slot is True)
    if claimed is None:
        if slot is True:  # the probe's turn, but not this row's: hand the turn back
            TransportState.objects.filter(transport=transport).update(next_probe_at=now)
        return "skipped"
    attempt, previous = claimed
    delivery = Delivery.objects.get(pk=delivery_id)
    if previous is not None and claims.host_of(previous) == claims.host():
        entry = _journal_lookup(delivery.message_id)
        if entry is not None:
            journal.mark_sent(delivery.message_id, entry.get("sent_at"))
            log.warning("delivery %s: sent before its worker died; not sent again", delivery.pk)
            return "already_sent"
    held = _held_back(delivery)
    if held:
        log.warning("delivery %s to %s not sent: %s", delivery.pk, delivery.recipient, held)
        Delivery.objects.filter(pk=delivery.pk, attempt_id=attempt).update(
            status=DeliveryStatus.HELD, last_error=held, claimed_at=None, claimed_by=""
        )
        if slot is True:  # the probe's turn, but nothing was sent: hand the turn back
            TransportState.objects.filter(transport=transport).update(next_probe_at=now)
        return "held"
    attempts = delivery.attempts + 1
    try:
        _send(delivery, smtp)
    except Exception as exc:  # every failure is recorded on the row, none escapes the sweep
        return _record_failure(delivery, attempt, attempts, exc, probed=slot is True)
    sent_at = timezone.now()
    try:
        journal.record(delivery, attempt, sent_at)
    except OSError as exc:  # a full disk: the database is still told, below
        outage.log_outage(outage.outage_kind(exc) or "journal", "outbox journal", exc)
    if not _mark_sent(delivery, attempt, attempts, sent_at):
        return "sent_unrecorded"
    if slot is True or TransportState.objects.filter(transport=transport, failures__gt=0).exists():
        _transport_recovered(transport, timezone.now())
    return "sent"


def _held_back(delivery: Delivery) -> str:
    """Why an automatic mail or SMS must not go now, or "": its address bounces for good, or
    it is over the automatic caps (a loop, or someone filing tickets with another's address).
    Decided at send time, so a request never counts the outbox."""
    if delivery.kind != MailKind.AUTOMATIC:
        return ""
    if delivery.transport == Transport.EMAIL and caps.bounces_for_good(delivery.recipient):
        return "the address bounces for good"
    if caps.over_automatic_cap(
        delivery.recipient, unverified=delivery.answers_unverified, besides=delivery.pk
    ):
        return "over the automatic-mail cap of this address"
    return ""


def _journal_lookup(message_id: str) -> dict[str, Any] | None:
    """An unreadable journal cannot say the mail went out: better twice than never."""
    try:
        return journal.lookup(message_id)
    except OSError as exc:
        outage.log_outage(outage.outage_kind(exc) or "journal_unreadable", "outbox journal", exc)
        return None


def _replay_journal() -> None:
    try:
        journal.replay()
    except OSError as exc:  # the database errors propagate: nothing can be done without it
        outage.log_outage(outage.outage_kind(exc) or "journal_unreadable", "outbox journal", exc)


def _mark_sent(delivery: Delivery, attempt: str, attempts: int, sent_at: datetime) -> bool:
    """Tell the database, retrying a few seconds while it is away; after that the journal
    holds the send and `journal.replay` tells the database when it is back."""
    for pause in (*MARK_RETRIES, None):
        try:
            Delivery.objects.filter(pk=delivery.pk, attempt_id=attempt).update(
                status=DeliveryStatus.SENT,
                sent_at=sent_at,
                attempts=attempts,
                last_error="",
                claimed_at=None,
            )
            return True
        except DatabaseError as exc:
            if pause is None:
                outage.log_outage(
                    outage.outage_kind(exc) or outage.DATABASE, "outbox: marking sent", exc
                )
                return False
            time.sleep(pause)
            if not connection.in_atomic_block:
                connection.close_if_unusable_or_obsolete()
    return False


def _record_failure(
    delivery: Delivery, attempt: str, attempts: int, exc: Exception, *, probed: bool
) -> str:
    now = timezone.now()
    error = repr(exc)
    permanent = is_permanent(exc)
    too_old = delivery.created_at < now - timedelta(hours=settings.DESTEK_OUTBOX_GIVE_UP_HOURS)
    give_up = permanent or too_old
    log.warning("delivery %s attempt %s failed: %s", delivery.pk, attempts, error)
    Delivery.objects.filter(pk=delivery.pk, attempt_id=attempt).update(
        status=DeliveryStatus.FAILED if give_up else DeliveryStatus.QUEUED,
        attempts=attempts,
        last_error=error[:2000],
        next_attempt_at=now + backoff(attempts),
        claimed_at=None,
        claimed_by="",
    )
    if not permanent and is_transport_down(exc):
        _transport_failed(delivery.transport, error, now, probed=probed)
    return "failed" if give_up else "retry"


def _database_away(where: str, exc: DatabaseError) -> str:
    """The row stays as it was; the sweep picks it up once the database is back."""
    outage.log_outage(outage.outage_kind(exc) or outage.DATABASE, where, exc)
    return "database_unavailable"


@db_task(retries=0)
def deliver(delivery_id: int) -> str:
    try:
        return deliver_now(delivery_id)
    except DatabaseError as exc:
        return _database_away("outbox: deliver", exc)


@db_task(retries=0)
def deliver_many(delivery_ids: list[int], mail: bool = True) -> list[str]:
    """The mails (and SMS) one change queued, over one SMTP connection, opened only when
    there is a mail among them (`mail`)."""
    try:
        if not mail:
            return [deliver_now(pk) for pk in delivery_ids]
        return _with_connection(lambda smtp: [deliver_now(pk, smtp=smtp) for pk in delivery_ids])
    except DatabaseError as exc:
        return [_database_away("outbox: deliver", exc)]


def _with_connection(send: Callable[[Any], T]) -> T:
    """`send(smtp)` with one open SMTP connection, or None (each send opens its own) when the
    server is known to be down, the backend keeps none, or it cannot be opened."""
    smtp: Any = None
    if Transport.EMAIL not in transports_down(timezone.now()):
        smtp = get_connection(fail_silently=False)
        if not hasattr(smtp, "open"):
            smtp = None
    try:
        if smtp is not None:
            try:
                smtp.open()
            except Exception:  # each send opens its own and records why it failed
                smtp.close()
                smtp = None
        return send(smtp)
    finally:
        if smtp is not None:
            smtp.close()


def probe_now(transport: str) -> str:
    """Try a transport that is down with its oldest waiting delivery."""
    oldest = (
        Delivery.objects.filter(status=DeliveryStatus.QUEUED, transport=transport)
        .order_by("next_attempt_at", "pk")
        .values_list("pk", flat=True)
        .first()
    )
    if oldest is None:  # nothing waits: the next send tells whether it works
        TransportState.objects.filter(transport=transport).update(
            failures=0, down_since=None, next_probe_at=None
        )
        return "idle"
    return deliver_now(oldest, probe=True)


@db_task(retries=0)
def probe_transport(transport: str) -> str:
    try:
        return probe_now(transport)
    except DatabaseError as exc:
        return _database_away("outbox: probe", exc)


# --- the sweep -------------------------------------------------------------------------------


def _due(now: datetime, down: list[str]) -> Any:
    due = Q(status=DeliveryStatus.QUEUED, next_attempt_at__lte=now)
    if claims.may_take_over(now):
        due |= claims.stale_claim(now)
    return Delivery.objects.filter(due).exclude(transport__in=down).order_by("next_attempt_at")


def _give_up_waiting(now: datetime, down: list[str]) -> None:
    """Mail that waited out a whole outage longer than the give-up age fails, as retried mail
    does."""
    if down:
        Delivery.objects.filter(
            status=DeliveryStatus.QUEUED,
            transport__in=down,
            created_at__lt=now - timedelta(hours=settings.DESTEK_OUTBOX_GIVE_UP_HOURS),
        ).update(status=DeliveryStatus.FAILED, last_error="the transport was down too long")


def sweep_outbox_now(budget: float | None = None) -> int:
    """Send whatever is due (retries after backoff, rows whose queue message was lost, claims
    of dead workers) in batches until nothing is left or `budget` seconds are spent. Returns
    how many deliveries it handled; queues itself again when time ran out first."""
    deadline = time.monotonic() + (budget or settings.DESTEK_OUTBOX_SWEEP_SECONDS)
    claims.start_heartbeat()
    claims.touch_if_due()
    _replay_journal()
    now = timezone.now()
    handled = 0
    for transport in TransportState.objects.filter(
        failures__gt=0, next_probe_at__lte=now
    ).values_list("transport", flat=True):
        # The probe's queued task may have been lost with the queue.
        handled += probe_now(transport) not in ("idle", "deferred", "skipped")
    # One SMTP connection for the whole sweep, unless the server is known to be down.
    smtp: Any = None
    if Transport.EMAIL not in transports_down(now):
        smtp = get_connection(fail_silently=False)
        if not hasattr(smtp, "open"):  # a backend that keeps no connection
            smtp = None
    tried: set[int] = set()
    _local.sweeping = True
    try:
        try:
            if smtp is not None:
                smtp.open()
        except Exception:  # each send opens its own and records why it failed
            smtp.close()
            smtp = None
        while time.monotonic() < deadline:
            now = timezone.now()
            down = transports_down(now)
            _give_up_waiting(now, down)
            ids = list(_due(now, down).values_list("pk", flat=True)[:SWEEP_BATCH])
            fresh = [pk for pk in ids if pk not in tried]
            if not fresh:
                return handled
            for delivery_id in fresh:
                tried.add(delivery_id)
                deliver_now(delivery_id, smtp=smtp)
                handled += 1
                if time.monotonic() >= deadline:
                    break
    finally:
        _local.sweeping = False
        if smtp is not None:
            smtp.close()
    if not HUEY.immediate:
        sweep_outbox()  # time ran out with mail left: carry on at once, not in a minute
    return handled


@db_periodic_task(crontab(minute="*"))
def sweep_outbox() -> int:
    try:
        claims.forget_dead_workers(timezone.now())
        return sweep_outbox_now()
    except DatabaseError as exc:  # one line per interval, not a traceback a minute per worker
        _database_away("outbox sweep", exc)
        return 0


@HUEY.on_startup()
def start_worker() -> None:
    """Each worker beats from the start and first records what it sent before a crash."""
    claims.start_heartbeat()
    try:
        _replay_journal()
    except DatabaseError as exc:
        outage.log_outage(outage.outage_kind(exc) or outage.DATABASE, "outbox journal", exc)
