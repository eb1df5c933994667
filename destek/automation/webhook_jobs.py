"""Sending webhook deliveries. Jobs take ids, re-read their row and are safe to run twice: a
delivery is claimed by a conditional UPDATE (pending and due -> sending), so two workers given
the same id send it once. A sweep every minute sends what is due and takes back claims a
killed worker left behind, so a queue that lost its messages loses no delivery.

Each request goes to an address checked right before sending (after DNS, every address the
name has): the connection is made to that very IP, with the URL's host in `Host` and in TLS
SNI and certificate checks, so a name re-pointed between the check and the connect (DNS
rebinding) cannot reach a private network. Redirects are not followed.
"""

from __future__ import annotations

import json
import logging
import time
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx
from django.conf import settings
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task

from destek.automation.models import WebhookDelivery
from destek.automation.webhook_choices import WebhookDeliveryStatus
from destek.automation.webhook_safety import resolve, signature, split_url
from destek.lib.errors import ActionRefused

#: The reasons the worker writes when it stops trying, shown in the reader's language by the
#: delivery log (`ERROR_LABELS`).
TARGET_INACTIVE = "target inactive"
GIVEN_UP = "given up: too old"
ERROR_LABELS = {
    TARGET_INACTIVE: _("The target was switched off or deleted."),
    GIVEN_UP: _("Given up: no success within the retry period."),
}

log = logging.getLogger(__name__)

RESPONSE_KEEP = 2048
#: Each connect, write, read and pool wait; httpx has no total timeout, hence SEND_DEADLINE.
TIMEOUT = httpx.Timeout(5.0)
#: A send (connect, request, response up to RESPONSE_KEEP bytes) gives up after this many
#: seconds, checked between reads: at most SEND_DEADLINE + one read timeout, well under
#: STALE_CLAIM, so a slow-dripping receiver cannot outlive its claim.
SEND_DEADLINE = 15.0
#: A claim older than this belongs to a worker that died mid-send (a send takes at most 20 s).
STALE_CLAIM = timedelta(minutes=2)
#: Resolution failures that may pass (DNS down for a while): retried like a network error.
TEMPORARY_REFUSALS = frozenset({"webhook_unresolvable"})
SWEEP_BATCH = 200
USER_AGENT = "Destek-Webhooks/1"


def backoff(attempts: int) -> timedelta:
    """1, 2, 4 ... minutes after each failed attempt, then every hour until the give-up age."""
    return timedelta(minutes=min(2 ** max(attempts - 1, 0), 60))


def body_of(delivery: WebhookDelivery) -> bytes:
    return json.dumps(delivery.payload, ensure_ascii=False, separators=(",", ":")).encode()


def _pinned(url: str, ip: str) -> tuple[str, str, str]:
    """The URL with its host replaced by the checked IP, the Host header and the SNI name."""
    parts = urlsplit(url)
    scheme, host, port = split_url(url)
    literal = f"[{ip}]" if ":" in ip else ip
    default = 443 if scheme == "https" else 80
    netloc = literal if port == default else f"{literal}:{port}"
    host_name = f"[{host}]" if ":" in host else host  # an IPv6 literal keeps its brackets
    host_header = host_name if port == default else f"{host_name}:{port}"
    return urlunsplit((scheme, netloc, parts.path or "/", parts.query, "")), host_header, host


class SendTooSlow(httpx.TimeoutException):
    """The whole send took longer than SEND_DEADLINE."""


def _post(delivery: WebhookDelivery) -> tuple[int, str]:
    """POST the delivery; its status code and at most RESPONSE_KEEP bytes of the answer."""
    started = time.monotonic()
    target = delivery.target
    addresses = resolve(target.url)  # refused here when the name now points somewhere private
    url, host_header, sni = _pinned(target.url, addresses[0][0])
    body = body_of(delivery)
    headers = {
        "Host": host_header,
        "Content-Type": "application/json",
        "Accept-Encoding": "identity",
        "User-Agent": USER_AGENT,
        "X-Destek-Delivery": str(delivery.public_id),
        "X-Destek-Event": delivery.event,
        "X-Destek-Signature": signature(target.secret, int(time.time()), body),
    }
    with httpx.Client(timeout=TIMEOUT, follow_redirects=False, trust_env=False) as client:
        request = client.build_request("POST", url, content=body, headers=headers)
        request.extensions["sni_hostname"] = sni
        response = client.send(request, stream=True)
        try:
            kept = b""
            for chunk in response.iter_raw():
                if time.monotonic() - started > SEND_DEADLINE:
                    raise SendTooSlow(f"no full answer within {SEND_DEADLINE:g} s", request=request)
                kept += chunk[: RESPONSE_KEEP - len(kept)]
                if len(kept) >= RESPONSE_KEEP:
                    break  # the rest is not read: the connection is closed
        finally:
            response.close()
        return response.status_code, kept.decode("utf-8", errors="replace")


def claim(delivery_id: int, now: datetime) -> WebhookDelivery | None:
    taken = WebhookDelivery.objects.filter(
        pk=delivery_id,
        status=WebhookDeliveryStatus.PENDING,
        next_attempt_at__lte=now,
        target__active=True,
    ).update(status=WebhookDeliveryStatus.SENDING, claimed_at=now, attempts=F("attempts") + 1)
    if not taken:
        return None
    return WebhookDelivery.objects.select_related("target").get(pk=delivery_id)


def send_delivery(delivery_id: int, now: datetime | None = None) -> WebhookDelivery | None:
    """Send one delivery if it is still due; None when there was nothing to do."""
    now = now or timezone.now()
    delivery = claim(delivery_id, now)
    if delivery is None:
        return None
    started = time.monotonic()
    status_code: int | None = None
    response_body = ""
    error = ""
    permanent = False
    try:
        status_code, response_body = _post(delivery)
        if not 200 <= status_code < 300:
            error = f"HTTP {status_code}"
    except ActionRefused as exc:
        error, permanent = str(exc.detail), exc.code not in TEMPORARY_REFUSALS
    except httpx.HTTPError as exc:
        error = f"{type(exc).__name__}: {exc}"
    duration = int((time.monotonic() - started) * 1000)
    done = max(now, timezone.now())
    fields: dict[str, Any] = {
        "response_status": status_code,
        "response_body": response_body,
        "duration_ms": duration,
        "error": error[:500],
        "claimed_at": None,
    }
    if not error:
        fields |= {"status": WebhookDeliveryStatus.DELIVERED, "delivered_at": done}
    elif permanent or done - delivery.created_at >= timedelta(
        hours=settings.DESTEK_WEBHOOKS_GIVE_UP_HOURS
    ):
        fields |= {"status": WebhookDeliveryStatus.FAILED, "next_attempt_at": None}
    else:
        retry_at = done + backoff(delivery.attempts)
        fields |= {"status": WebhookDeliveryStatus.PENDING, "next_attempt_at": retry_at}
    if not finish(delivery, fields):
        log.warning("webhook %s: claim taken back before this send ended", delivery.public_id)
        return delivery
    if fields["status"] == WebhookDeliveryStatus.PENDING:
        _schedule(delivery.pk, fields["next_attempt_at"])
    else:
        log.info("webhook %s %s: %s", delivery.public_id, fields["status"], error or status_code)
    delivery.refresh_from_db()
    return delivery


def finish(delivery: WebhookDelivery, fields: dict[str, Any]) -> bool:
    """Record a send's outcome, only if the claim is still this worker's (same claimed_at):
    a claim the sweep took back and another worker took belongs to that worker."""
    return bool(
        WebhookDelivery.objects.filter(
            pk=delivery.pk,
            status=WebhookDeliveryStatus.SENDING,
            claimed_at=delivery.claimed_at,
        ).update(**fields)
    )


def sweep(now: datetime | None = None) -> int:
    """Take back stale claims, then send what is due; the number sent or tried."""
    now = now or timezone.now()
    WebhookDelivery.objects.filter(
        status=WebhookDeliveryStatus.SENDING, claimed_at__lt=now - STALE_CLAIM
    ).update(status=WebhookDeliveryStatus.PENDING, claimed_at=None, next_attempt_at=now)
    # Deliveries of a deactivated target, and any too old to matter, are given up: a target
    # switched back on does not receive a day-old backlog.
    give_up = WebhookDelivery.objects.filter(status=WebhookDeliveryStatus.PENDING)
    give_up.filter(target__active=False).update(
        status=WebhookDeliveryStatus.FAILED, next_attempt_at=None, error=TARGET_INACTIVE
    )
    give_up.filter(
        created_at__lt=now - timedelta(hours=settings.DESTEK_WEBHOOKS_GIVE_UP_HOURS)
    ).update(status=WebhookDeliveryStatus.FAILED, next_attempt_at=None, error=GIVEN_UP)
    due = list(
        WebhookDelivery.objects.filter(
            status=WebhookDeliveryStatus.PENDING, next_attempt_at__lte=now, target__active=True
        )
        .order_by("next_attempt_at", "pk")
        .values_list("pk", flat=True)[:SWEEP_BATCH]
    )
    return sum(1 for pk in due if send_delivery(pk, now) is not None)


# --- the queue ---------------------------------------------------------------------------


@db_task(retries=0)
def deliver(delivery_id: int) -> None:
    send_delivery(delivery_id)


@db_periodic_task(crontab(minute="*"))
def sweep_webhooks() -> None:
    sweep()


def enqueue(delivery_id: int) -> None:
    try:
        deliver(delivery_id)
    except Exception as exc:  # the queue is down: the minute's sweep sends it
        log.warning("webhook delivery %s not queued (%r); the sweep will send it", delivery_id, exc)


def _schedule(delivery_id: int, at: datetime) -> None:
    try:
        deliver.schedule(args=(delivery_id,), eta=at)
    except Exception as exc:
        log.warning("webhook retry %s not queued (%r); the sweep will send it", delivery_id, exc)
