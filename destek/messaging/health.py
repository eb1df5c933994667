"""A channel's health as people learn it, and updates whose work failed.

A channel that turns failing (a revoked token, an expired page token, a platform that keeps
refusing) is flagged once: each active admin gets one mail naming the channel, the error and
what to do; nothing more while it stays failing, and a "working again" mail when it recovers.
An admin gives a new token in the admin (`replace_token`).

An update whose processing raised stays FAILED with its raw payload; the periodic job tries it
again a few times with growing pauses (`retry_failed_events`), then it waits in the admin
for "Process again" (`reopen_failed`)."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from destek.accounts.choices import Role
from destek.accounts.models import User
from destek.lib.errors import ActionRefused
from destek.messaging import telegram
from destek.messaging.choices import ChannelKind, EventState, Health, OutboundState
from destek.messaging.models import InboundEvent, MessagingChannel, OutboundMessage
from destek.messaging.platform import PlatformError
from destek.messaging.platforms import platform_for
from destek.notify.actions import queue_mail

log = logging.getLogger(__name__)

#: Tries after the first failure of an update's work, then it waits for an admin.
EVENT_RETRIES = 5
#: The pause before try n (0-based) after a failure: 1, 2, 4, 8, 16 minutes.
EVENT_RETRY_BASE = timedelta(minutes=1)
#: An update whose job was lost (a worker restarted before it ran) is picked up after this.
LOST_AFTER = timedelta(minutes=5)
#: An update claimed this long ago and still being worked on was left by a worker that died.
INTERRUPTED_AFTER = timedelta(minutes=30)

TELEGRAM_TOKEN_RE = re.compile(r"^\d{1,20}:[A-Za-z0-9_-]{20,100}$")


# --- health -----------------------------------------------------------------------------------


def admin_link(channel: MessagingChannel) -> str:
    return f"{settings.BASE_URL}/admin/messaging/messagingchannel/{channel.pk}/change/"


def mark_failing(channel: MessagingChannel, error: str) -> None:
    """Flag the channel with its error; the admins are told only when it turns failing."""
    now = timezone.now()
    error = error[:1000]
    with transaction.atomic():
        turned = (
            MessagingChannel.objects.filter(pk=channel.pk)
            .exclude(health=Health.FAILING)
            .update(health=Health.FAILING, last_error=error, last_error_at=now)
        )
        if not turned:
            MessagingChannel.objects.filter(pk=channel.pk).update(
                last_error=error, last_error_at=now
            )
        channel.health, channel.last_error, channel.last_error_at = Health.FAILING, error, now
        if turned:
            _tell_admins(channel, "messenger_failing")
    log.warning("messenger channel %s is failing: %s", channel.pk, error)


def mark_healthy(channel: MessagingChannel) -> None:
    """The channel works; when it was failing, the admins hear it works again."""
    if channel.health == Health.HEALTHY:
        return
    with transaction.atomic():
        recovered = MessagingChannel.objects.filter(pk=channel.pk, health=Health.FAILING).update(
            health=Health.HEALTHY
        )
        if not recovered:
            MessagingChannel.objects.filter(pk=channel.pk).exclude(health=Health.HEALTHY).update(
                health=Health.HEALTHY
            )
        channel.health = Health.HEALTHY
        if recovered:
            _tell_admins(channel, "messenger_recovered")


def _tell_admins(channel: MessagingChannel, template: str) -> None:
    waiting = OutboundMessage.objects.filter(channel=channel, state=OutboundState.PENDING).count()
    for admin in User.objects.filter(role=Role.ADMIN, is_active=True).order_by("pk"):
        queue_mail(
            to=admin.email,
            template=template,
            context={
                "channel": channel.name,
                "kind": channel.kind,
                "error": channel.last_error.strip()[:300],
                "waiting": waiting,
                "link": admin_link(channel),
            },
            language=admin.language,
            time_zone=admin.time_zone,
        )


def failing_channels() -> list[MessagingChannel]:
    """The failing channels, for the admins' notice in the desk (one statement)."""
    return list(
        MessagingChannel.objects.filter(health=Health.FAILING)
        .only("pk", "kind", "name", "last_error", "last_error_at")
        .order_by("pk")
    )


# --- a new token ----------------------------------------------------------------------------


def check_token(kind: str, token: str) -> str:
    """The token as stored, or ActionRefused when it cannot be one of this platform's."""
    token = (token or "").strip()
    if kind == ChannelKind.TELEGRAM and not TELEGRAM_TOKEN_RE.match(token):
        raise ActionRefused(
            "invalid_token",
            _("This is not a Telegram bot token (it looks like 123456:ABC-DEF...)."),
            field="token",
        )
    if not token or len(token) > 1000 or any(c.isspace() for c in token):
        raise ActionRefused("invalid_token", _("Paste the whole token, without spaces."))
    return token


def replace_token(channel: MessagingChannel, token: str) -> bool:
    """Store a new token. A Telegram bot's webhook is pointed here again with it: the channel
    is healthy when Telegram takes it (and what waited is sent by the sweep), else failing
    with Telegram's answer; another platform's token is tried at once. True when the
    platform took the token."""
    token = check_token(channel.kind, token)
    channel.set_token(token)
    MessagingChannel.objects.filter(pk=channel.pk).update(
        credentials_encrypted=channel.credentials_encrypted
    )
    try:
        if channel.kind == ChannelKind.TELEGRAM:
            telegram.set_webhook(channel, settings.BASE_URL + channel.webhook_path())
        else:
            # Meta's webhook is set in its app dashboard: the token only has to work.
            platform_for(channel.kind).check(channel)
    except PlatformError as exc:
        mark_failing(channel, exc.description)
        return False
    mark_healthy(channel)
    return True


# --- failed updates -------------------------------------------------------------------------


def retry_delay(attempts: int) -> timedelta:
    return EVENT_RETRY_BASE * int(2**attempts)


def due_events(now: datetime | None = None) -> list[int]:
    """Updates to work on again: failed ones whose pause is over (claimed here, one try
    counted), and received ones whose job was lost; one left half-done by a worker that died
    becomes failed first (and is tried again after its pause). Safe to run twice: a row is
    claimed by a conditional UPDATE, and the work itself claims it again (RECEIVED ->
    PROCESSING)."""
    now = now or timezone.now()
    ready: list[int] = []
    failed = (
        InboundEvent.objects.filter(state=EventState.FAILED, attempts__lt=EVENT_RETRIES)
        .order_by("pk")
        .values_list("pk", "attempts", "processed_at")[:200]
    )
    for pk, attempts, failed_at in failed:
        if failed_at is not None and failed_at + retry_delay(attempts) > now:
            continue
        claimed = InboundEvent.objects.filter(
            pk=pk, state=EventState.FAILED, attempts=attempts
        ).update(state=EventState.RECEIVED, attempts=attempts + 1)
        if claimed:
            ready.append(pk)
    # A worker that died while working on one (claimed long ago, never finished): a failure.
    InboundEvent.objects.filter(
        state=EventState.PROCESSING, claimed_at__lte=now - INTERRUPTED_AFTER
    ).update(state=EventState.FAILED, error="interrupted: the worker stopped", processed_at=now)
    lost = InboundEvent.objects.filter(
        state=EventState.RECEIVED, received_at__lte=now - LOST_AFTER
    ).exclude(pk__in=ready)
    ready += list(lost.order_by("pk").values_list("pk", flat=True)[:200])
    return ready


def reopen_failed(event_ids: Iterable[int]) -> list[int]:
    """ "Process again" in the admin: failed updates back to received (their tries kept)."""
    reopened = []
    for pk in event_ids:
        if InboundEvent.objects.filter(pk=pk, state=EventState.FAILED).update(
            state=EventState.RECEIVED
        ):
            reopened.append(pk)
    return reopened
