"""Who is told of incidents and maintenance, and the telling.

A status event (actions._event) is announced after commit by a job (`jobs.announce`): every
subscriber whose scope touches the affected services or areas (or who follows the incident)
gets one `Notice` row per delivery address, however many of their services are affected and
whichever ways they subscribed (an address, their account, or automatically as a user of the
service). A notice of an incident goes at once unless the address was told of that incident
less than DESTEK_STATUS_NOTICE_MINUTES ago: then it waits for the window's end, and the sweep
(`send_due`) sends everything gathered meanwhile in one message. Sending claims the rows with
a conditional UPDATE, so a job run twice sends nothing twice.

Telegram is a carrier registered by messaging (a floor above): this app never imports it."""

from __future__ import annotations

import secrets
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core import signing
from django.db import transaction
from django.db.models import Max, Q
from django.urls import reverse
from django.utils import timezone, translation

from destek.accounts.choices import Role
from destek.accounts.models import User
from destek.accounts.selectors import notification_address
from destek.announcements.choices import EventKind, NoticeVia
from destek.announcements.models import (
    AutomaticOptOut,
    Incident,
    Maintenance,
    Notice,
    StatusEvent,
    Subscription,
)
from destek.announcements.texts import Picked, pick
from destek.lib.dates import override_calendar
from destek.notify.actions import batched, queue_mail, queue_sms, render_text, zone

#: The events subscribers are told of.
TOLD = frozenset(
    {
        EventKind.INCIDENT_CREATED,
        EventKind.INCIDENT_UPDATED,
        EventKind.INCIDENT_RESOLVED,
        EventKind.MAINTENANCE_SCHEDULED,
        EventKind.MAINTENANCE_STARTED,
        EventKind.MAINTENANCE_COMPLETED,
        EventKind.MAINTENANCE_CANCELLED,
        EventKind.MAINTENANCE_REMINDER,
    }
)
UNSUBSCRIBE_SALT = "destek.announcements.unsubscribe"
#: An event this old when announced (written with a past time, as history; or a queue that
#: was down for a day) is told to nobody: news that late is noise.
STALE_AFTER = timedelta(days=1)


@dataclass(frozen=True)
class Carrier:
    """A way to a subscriber's chat registered by a higher floor: `reach` gives the address
    of an account's chat (None: they have none), `send` queues a text to it in the caller's
    transaction."""

    via: str
    reach: Callable[[User], str | None]
    send: Callable[[str, str], None]


#: Registered by messaging (apps.py): Telegram.
carriers: list[Carrier] = []


def carrier(via: str) -> Carrier | None:
    return next((c for c in carriers if c.via == via), None)


@dataclass(frozen=True)
class Reader:
    """Where one notice goes and how it is written."""

    via: str
    address: str
    user_id: int | None
    language: str
    time_zone: str
    calendar: str = "solar_hijri"

    @property
    def key(self) -> str:
        return f"{self.via}:{self.address.lower()}"


def new_token() -> str:
    return secrets.token_urlsafe(24)


def unsubscribe_token(key: str, user_id: int | None) -> str:
    """`<user id or nothing>:<via>:<address>:<signature>`: short enough for a mail line."""
    return signing.Signer(salt=UNSUBSCRIBE_SALT).sign(f"{user_id or ''}:{key}")


def read_unsubscribe_token(token: str) -> tuple[str, int | None] | None:
    try:
        value = signing.Signer(salt=UNSUBSCRIBE_SALT).unsign(token)
    except signing.BadSignature:
        return None
    user_id, _sep, key = value.partition(":")
    if ":" not in key:
        return None
    return key, int(user_id) if user_id.isdigit() else None


def unsubscribe_link(reader: Reader) -> str:
    token = unsubscribe_token(reader.key, reader.user_id)
    return settings.BASE_URL + reverse("announcements:unsubscribe", args=[token])


# --- who ------------------------------------------------------------------------------------


def _affected(event: StatusEvent) -> tuple[set[int], set[int]]:
    item: Incident | Maintenance | None = event.incident or event.maintenance
    if item is None:
        return set(), set()
    return (
        set(item.services.values_list("pk", flat=True)),
        set(item.areas.values_list("pk", flat=True)),
    )


def _account_reader(user: User, via: str) -> Reader | None:
    if not user.is_active:
        return None
    if via == NoticeVia.EMAIL:
        address = notification_address(user, "announcements")
    elif via == NoticeVia.SMS:
        address = user.phone if user.phone and user.phone_verified_at else ""
    else:
        found = carrier(via)
        address = (found.reach(user) or "") if found else ""
    if not address:
        return None
    return Reader(via, address, user.pk, user.language, user.time_zone, user.calendar)


def readers(event: StatusEvent) -> list[Reader]:
    """Everyone to tell of `event`, once per delivery address."""
    services, areas = _affected(event)
    scope = Q(everything=True) | Q(services__in=services) | Q(areas__in=areas)
    if event.incident_id:
        scope |= Q(incident_id=event.incident_id)
    found: dict[str, Reader] = {}

    def add(reader: Reader | None) -> None:
        if reader is not None and reader.key not in found:
            found[reader.key] = reader

    subscriptions = (
        Subscription.objects.filter(scope, confirmed_at__isnull=False)
        .select_related("user")
        .distinct()
        .order_by("pk")
    )
    for subscription in subscriptions:
        if subscription.user is not None:
            add(_account_reader(subscription.user, subscription.via))
        else:
            add(
                Reader(
                    subscription.via,
                    subscription.address,
                    None,
                    subscription.language,
                    subscription.time_zone,
                )
            )
    used = (
        Q(used_services__service__in=services)
        | Q(used_services__area__in=areas)
        | Q(organisation__used_services__service__in=services)
        | Q(organisation__used_services__area__in=areas)
    )
    automatic = (
        User.objects.filter(used, is_active=True, role=Role.CUSTOMER)
        .exclude(pk__in=AutomaticOptOut.objects.values("user"))
        .distinct()
        .order_by("pk")
    )
    for user in automatic:
        add(_account_reader(user, NoticeVia.EMAIL))
    return list(found.values())


# --- when -----------------------------------------------------------------------------------


def window() -> timedelta:
    return timedelta(minutes=settings.DESTEK_STATUS_NOTICE_MINUTES)


@transaction.atomic
def announce(event_id: int, now: datetime | None = None) -> int:
    """Write the notices of the event (once: a rerun finds them written) and send those due
    now. Returns how many messages were queued."""
    now = now or timezone.now()
    event = (
        StatusEvent.objects.select_related("incident", "maintenance").filter(pk=event_id).first()
    )
    if event is None or event.kind not in TOLD or event.at < now - STALE_AFTER:
        return 0
    told = readers(event)
    due: dict[str, datetime] = {}
    if event.incident_id and told:
        keys = [r.key for r in told]
        earlier = Notice.objects.filter(key__in=keys, incident_id=event.incident_id)
        waiting = earlier.filter(sent_at__isnull=True).values_list("key", "due_at")
        due.update(dict(waiting))
        last_sent = (
            earlier.filter(sent_at__isnull=False)
            .values("key")
            .annotate(last=Max("sent_at"))
            .values_list("key", "last")
        )
        for key, last in last_sent:
            if key not in due and last + window() > now:
                due[key] = last + window()
    Notice.objects.bulk_create(
        [
            Notice(
                key=r.key,
                event=event,
                incident_id=event.incident_id,
                maintenance_id=event.maintenance_id,
                reader=asdict(r),
                due_at=due.get(r.key, now),
            )
            for r in told
        ],
        ignore_conflicts=True,
    )
    return send_due(now, event_id=event.pk)


def send_due(now: datetime | None = None, *, event_id: int | None = None) -> int:
    """Send the notices due by `now` (of one event, or all: the sweep), one message per
    address and incident (or maintenance event). Returns how many messages were queued."""
    now = now or timezone.now()
    pending = Notice.objects.filter(sent_at__isnull=True, due_at__lte=now)
    if event_id is not None:
        pending = pending.filter(event_id=event_id)
    groups: dict[tuple[str, str], list[int]] = defaultdict(list)
    for pk, key, incident_id, event in pending.values_list("pk", "key", "incident_id", "event"):
        groups[(key, f"i{incident_id}" if incident_id else f"e{event}")].append(pk)
    sent = 0
    for (key, _what), _ids in sorted(groups.items()):
        # All of the address's waiting notices of this incident go together, due or not
        # (one message now beats one now and another at the window's end).
        sent += _send_group(key, _ids, now)
    return sent


@transaction.atomic
def _send_group(key: str, ids: Iterable[int], now: datetime) -> int:
    first = Notice.objects.filter(pk__in=list(ids)).first()
    if first is None:
        return 0
    same = Notice.objects.filter(key=key, sent_at__isnull=True)
    if first.incident_id:
        same = same.filter(incident_id=first.incident_id)
    else:
        same = same.filter(pk__in=list(ids))
    claim = secrets.token_hex(8)
    if not same.update(sent_at=now, claim=claim):
        return 0
    notices = list(
        Notice.objects.filter(key=key, claim=claim)
        .select_related("event", "event__incident", "event__maintenance")
        .order_by("event__at", "event__pk")
    )
    if not notices:  # pragma: no cover - claimed just above
        return 0
    reader = Reader(**notices[-1].reader)
    _deliver(reader, [n.event for n in notices])
    return 1


# --- what -----------------------------------------------------------------------------------


@dataclass
class Entry:
    """One gathered event as the reader reads it."""

    event: StatusEvent
    what: str
    state: str
    text: Picked | None


WHAT = {
    EventKind.INCIDENT_CREATED: "opened",
    EventKind.INCIDENT_UPDATED: "updated",
    EventKind.INCIDENT_RESOLVED: "resolved",
    EventKind.MAINTENANCE_SCHEDULED: "scheduled",
    EventKind.MAINTENANCE_STARTED: "started",
    EventKind.MAINTENANCE_COMPLETED: "completed",
    EventKind.MAINTENANCE_CANCELLED: "cancelled",
    EventKind.MAINTENANCE_REMINDER: "reminder",
}


def _entry(event: StatusEvent, language: str) -> Entry:
    text: Picked | None = None
    state = ""
    if event.incident is not None:
        updates = event.incident.updates.all()
        update_id = event.data.get("update")
        update = (
            updates.filter(pk=update_id).first() if update_id else updates.order_by("pk").first()
        )
        if update is not None:
            text = pick(update.body, language)
            state = update.get_state_display()
    elif event.maintenance is not None and event.kind in (
        EventKind.MAINTENANCE_SCHEDULED,
        EventKind.MAINTENANCE_REMINDER,
    ):
        text = pick(event.maintenance.body, language) if event.maintenance.body else None
    return Entry(event, WHAT[EventKind(event.kind)], str(state), text)


def context(reader: Reader, events: list[StatusEvent]) -> dict[str, Any]:
    """What every message of a notice says (rendered in the reader's language)."""
    last = events[-1]
    item: Incident | Maintenance | None = last.incident or last.maintenance
    assert item is not None
    incident = last.incident
    link = settings.BASE_URL + (
        reverse("announcements:incident", args=[incident.pk])
        if incident is not None
        else f"{reverse('announcements:status')}#maintenance-{item.pk}"
    )
    with translation.override(reader.language):
        entries = [_entry(e, reader.language) for e in events]
        services = ", ".join(s.display_name for s in item.services.all())
    return {
        "incident": incident,
        "maintenance": last.maintenance,
        "title": pick(item.title, reader.language),
        "entries": entries,
        "latest": entries[-1],
        "services": services,
        "link": link,
        "unsubscribe": unsubscribe_link(reader),
        "time_zone": reader.time_zone,
    }


@batched
def _deliver(reader: Reader, events: list[StatusEvent]) -> None:
    values = context(reader, events)
    if reader.via == NoticeVia.EMAIL:
        queue_mail(
            to=reader.address,
            template="status_notice",
            context=values,
            language=reader.language,
            time_zone=reader.time_zone,
            calendar=reader.calendar,
            headers={
                "List-Unsubscribe": f"<{values['unsubscribe']}>",
                "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
            },
        )
    elif reader.via == NoticeVia.SMS:
        queue_sms(
            to=reader.address, template="status_notice", context=values, language=reader.language
        )
    else:
        found = carrier(reader.via)
        if found is None:
            return
        found.send(reader.address, chat_text(reader, values))


def chat_text(reader: Reader, values: dict[str, Any]) -> str:
    """The notice as one chat message, in the reader's language and time zone."""
    with (
        translation.override(reader.language),
        timezone.override(zone(reader.time_zone)),
        override_calendar(reader.calendar),
    ):
        return render_text("notify/chat/status_notice.txt", values).strip()
