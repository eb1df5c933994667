"""Who is told of incidents and maintenance, and the telling.

A status event (actions._event) is announced after commit by a job (`jobs.announce`): every
subscriber whose scope touches the affected services or areas (or who follows the incident)
gets one `Notice` row per delivery address, however many of their services are affected and
whichever ways they subscribed (an address, their account, or automatically as a user of the
service). A notice of an incident goes at once unless the address was told of that incident
less than DESTEK_STATUS_NOTICE_MINUTES ago: then it waits for the window's end, and the sweep
(`send_due`) sends everything gathered meanwhile in one message. Sending claims the rows with
a conditional UPDATE, so a job run twice sends nothing twice; the jobs of one incident take
turns (its row locked), so two at once cannot both decide nobody was told yet. Messages are
sent in chunks with a savepoint each: one that fails is logged and left for the next sweep,
never holding up the others. The unsubscribe link names the notice (signed), not the address.

Telegram is a carrier registered by messaging (a floor above): this app never imports it."""

from __future__ import annotations

import logging
import secrets
from collections import defaultdict
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core import signing
from django.db import transaction
from django.db.models import Max, Prefetch, Q
from django.urls import reverse
from django.utils import timezone, translation

from destek.accounts.choices import Role
from destek.accounts.models import ContactAddress, User
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
from destek.notify.actions import batch, queue_mail, queue_sms, render_text, zone

log = logging.getLogger(__name__)

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
        EventKind.MAINTENANCE_RESCHEDULED,
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


def unsubscribe_token(notice_id: int) -> str:
    """`n<notice id>:<signature>`: opaque (the address is in the notice's row, never in the
    link, so no address can break the URL or show in logs), short enough for a mail line."""
    return signing.Signer(salt=UNSUBSCRIBE_SALT).sign(f"n{notice_id}")


def read_unsubscribe_token(token: str) -> tuple[str, int | None] | None:
    """(key, user id) of the notice the link was sent with; None when forged or gone."""
    try:
        value = signing.Signer(salt=UNSUBSCRIBE_SALT).unsign(token)
    except signing.BadSignature:
        return None
    if value.startswith("n") and value[1:].isascii() and value[1:].isdigit():
        found = Notice.objects.filter(pk=int(value[1:])).values_list("key", "reader").first()
        if found is None:
            return None
        key, reader = found
        user_id = reader.get("user_id") if isinstance(reader, dict) else None
        return key, user_id if isinstance(user_id, int) else None
    # Links mailed before the tokens were opaque: `<user id or nothing>:<via>:<address>`.
    user_id_text, _sep, key = value.partition(":")
    if ":" not in key:
        return None
    ascii_id = user_id_text.isascii() and user_id_text.isdigit()
    return key, int(user_id_text) if ascii_id else None


def unsubscribe_link(notice_id: int) -> str:
    token = unsubscribe_token(notice_id)
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


#: A customer's verified announcements addresses, read for many users in one query.
ANNOUNCEMENT_ADDRESSES = "announcement_addresses"


def _with_addresses(prefix: str = "") -> Prefetch[Any]:
    return Prefetch(
        f"{prefix}contact_addresses",
        queryset=ContactAddress.objects.filter(verified_at__isnull=False, for_announcements=True),
        to_attr=ANNOUNCEMENT_ADDRESSES,
    )


def _announcements_address(user: User) -> str:
    chosen: list[ContactAddress] | None = getattr(user, ANNOUNCEMENT_ADDRESSES, None)
    if chosen is None:
        return notification_address(user, "announcements")
    return chosen[0].email if chosen else user.email


def _account_reader(user: User, via: str) -> Reader | None:
    if not user.is_active:
        return None
    if via == NoticeVia.EMAIL:
        address = _announcements_address(user)
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
    everywhere = bool(event.incident_id or event.maintenance_id) and not areas
    if everywhere:
        # Limited to no area, it is in every area: whoever follows an area is told (the
        # banner and the desk's suggestion read it the same way).
        scope |= Q(areas__isnull=False)
    if event.incident_id:
        scope |= Q(incident_id=event.incident_id)
    found: dict[str, Reader] = {}

    def add(reader: Reader | None) -> None:
        if reader is not None and reader.key not in found:
            found[reader.key] = reader

    subscriptions = (
        Subscription.objects.filter(scope, confirmed_at__isnull=False)
        .select_related("user")
        .prefetch_related(_with_addresses("user__"))
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
    if everywhere:
        used |= Q(used_services__area__isnull=False) | Q(
            organisation__used_services__area__isnull=False
        )
    automatic = (
        User.objects.filter(used, is_active=True, role=Role.CUSTOMER)
        .exclude(pk__in=AutomaticOptOut.objects.values("user"))
        .prefetch_related(_with_addresses())
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
    if event.incident_id:
        # Two jobs of one incident (opened, then updated a second later) take turns here
        # (PostgreSQL; SQLite has one writer): the second sees the first's notices and
        # batches instead of both deciding "nobody was told yet" and mailing twice.
        Incident.objects.select_for_update().filter(pk=event.incident_id).first()
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


#: Messages claimed, rendered and inserted together (one savepoint, one INSERT).
CHUNK = 100

#: One message: the address (key) and the incident ("i<id>") or event ("e<id>").
Group = tuple[str, str]


def _group(key: str, incident_id: int | None, event_id: int) -> Group:
    return (key, f"i{incident_id}" if incident_id else f"e{event_id}")


def send_due(now: datetime | None = None, *, event_id: int | None = None) -> int:
    """Send the notices due by `now` (of one event, or all: the sweep), one message per
    address and incident (or maintenance event). Returns how many messages were queued.

    Each chunk of messages has its own savepoint; when one fails, its messages are tried
    one by one, and the one that fails again is logged and left unsent (tried again by the
    next sweep): one bad address never stops the others, nor rolls back the announcing."""
    now = now or timezone.now()
    pending = Notice.objects.filter(sent_at__isnull=True, due_at__lte=now)
    if event_id is not None:
        pending = pending.filter(event_id=event_id)
    groups = sorted({_group(*row) for row in pending.values_list("key", "incident_id", "event_id")})
    sent = 0
    for start in range(0, len(groups), CHUNK):
        chunk = groups[start : start + CHUNK]
        try:
            with transaction.atomic():
                sent += _send_groups(chunk, now)
            continue
        except Exception:
            if len(chunk) == 1:
                log.exception("status notice to %s not sent", chunk[0][0])
                continue
        for one in chunk:
            try:
                with transaction.atomic():
                    sent += _send_groups([one], now)
            except Exception:
                log.exception("status notice to %s not sent", one[0])
    return sent


def _send_groups(groups: list[Group], now: datetime) -> int:
    """Claim the groups' unsent notices (all of an address's waiting notices of an incident
    go together, due or not: one message now beats one now and another at the window's end)
    by one conditional UPDATE, then queue one message per group in one batch."""
    which = Q()
    for key, what in groups:
        if what.startswith("i"):
            which |= Q(key=key, incident_id=int(what[1:]))
        else:
            which |= Q(key=key, event_id=int(what[1:]))
    claim = secrets.token_hex(8)
    if not Notice.objects.filter(which, sent_at__isnull=True).update(sent_at=now, claim=claim):
        return 0
    claimed = (
        Notice.objects.filter(claim=claim)
        .select_related("event", "event__incident", "event__maintenance")
        .prefetch_related(
            "event__incident__updates",
            "event__incident__services",
            "event__maintenance__services",
        )
        .order_by("event__at", "event__pk", "pk")
    )
    gathered: dict[Group, list[Notice]] = defaultdict(list)
    for notice in claimed:
        gathered[_group(notice.key, notice.incident_id, notice.event_id)].append(notice)
    texts = Texts()
    with batch():
        for notices in gathered.values():
            _deliver(Reader(**notices[-1].reader), notices, texts)
    return len(gathered)


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
    EventKind.MAINTENANCE_RESCHEDULED: "rescheduled",
}


class Texts:
    """What the messages of one sending share, worked out once per event and language
    (the update's text, the services' names), whoever the reader."""

    def __init__(self) -> None:
        self.entries: dict[tuple[int, str], Entry] = {}
        self.services: dict[tuple[str, int, str], str] = {}

    def entry(self, event: StatusEvent, language: str) -> Entry:
        known = self.entries.get((event.pk, language))
        if known is None:
            with translation.override(language):
                known = self.entries[(event.pk, language)] = _entry(event, language)
        return known

    def services_of(self, item: Incident | Maintenance, language: str) -> str:
        kind = "i" if isinstance(item, Incident) else "m"
        known = self.services.get((kind, item.pk, language))
        if known is None:
            with translation.override(language):
                known = ", ".join(s.display_name for s in item.services.all())
            self.services[(kind, item.pk, language)] = known
        return known


def _entry(event: StatusEvent, language: str) -> Entry:
    text: Picked | None = None
    state = ""
    if event.incident is not None:
        updates = sorted(event.incident.updates.all(), key=lambda u: u.pk)  # prefetched
        update_id = event.data.get("update")
        update = (
            next((u for u in updates if u.pk == update_id), None)
            if update_id
            else next(iter(updates), None)
        )
        if update is not None:
            text = pick(update.body, language)
            state = update.get_state_display()
    elif event.maintenance is not None and event.kind in (
        EventKind.MAINTENANCE_SCHEDULED,
        EventKind.MAINTENANCE_REMINDER,
        EventKind.MAINTENANCE_RESCHEDULED,
    ):
        text = pick(event.maintenance.body, language) if event.maintenance.body else None
    return Entry(event, WHAT[EventKind(event.kind)], str(state), text)


def context(reader: Reader, notices: list[Notice], texts: Texts | None = None) -> dict[str, Any]:
    """What every message of a notice says (rendered in the reader's language)."""
    texts = texts or Texts()
    events = [n.event for n in notices]
    last = events[-1]
    item: Incident | Maintenance | None = last.incident or last.maintenance
    assert item is not None
    incident = last.incident
    link = settings.BASE_URL + (
        reverse("announcements:incident", args=[incident.pk])
        if incident is not None
        else f"{reverse('announcements:status')}#maintenance-{item.pk}"
    )
    entries = [texts.entry(e, reader.language) for e in events]
    return {
        "incident": incident,
        "maintenance": last.maintenance,
        "title": pick(item.title, reader.language),
        "entries": entries,
        "latest": entries[-1],
        "services": texts.services_of(item, reader.language),
        "link": link,
        "unsubscribe": unsubscribe_link(notices[-1].pk),
        "time_zone": reader.time_zone,
    }


def _deliver(reader: Reader, notices: list[Notice], texts: Texts | None = None) -> None:
    values = context(reader, notices, texts)
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
