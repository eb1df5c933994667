"""Every change of a messenger channel: adding a Telegram bot, receiving an update (stored
once), turning it into ticket messages through the tickets actions, and sending what waits
in the outbox. Jobs take ids and are safe to run twice."""

from __future__ import annotations

import logging
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _
from telegram import Message as TelegramMessage
from telegram import Update
from telegram import User as TelegramUser

from destek.accounts.choices import Role
from destek.accounts.models import User
from destek.lib.errors import ActionRefused
from destek.lib.language import site_language
from destek.lib.text import strip_invisible
from destek.messaging import answers, health, telegram, texts
from destek.messaging.choices import ChannelKind, EventState, Health, OutboundState
from destek.messaging.language import learn as learn_language
from destek.messaging.models import Contact, InboundEvent, MessagingChannel, OutboundMessage
from destek.tickets import actions as tickets
from destek.tickets import intake
from destek.tickets.choices import ACTIVE_STATUSES, Channel, TicketStatus
from destek.tickets.models import Attachment, Ticket
from destek.tickets.selectors import customer_status_label

log = logging.getLogger(__name__)

#: A contact made for a messenger user gets an address that can never be anyone's.
CONTACT_DOMAIN = "messenger-contacts.invalid"
SUBJECT_WORDS = 80
TOKEN_RE = re.compile(r"^\d{1,20}:[A-Za-z0-9_-]{20,100}$")
#: Sends that failed on the network or a 5xx are tried again this many times, with backoff.
SEND_ATTEMPTS = 6

#: Called with an outbox row's id once the row is committed (jobs.py schedules the send).
send_requested: list[Callable[[int], None]] = []
#: Called with an inbound event's id once it is committed (jobs.py schedules the work).
event_received: list[Callable[[int], None]] = []


# --- channels -------------------------------------------------------------------------------


def webhook_url(channel: MessagingChannel) -> str:
    return settings.BASE_URL + channel.webhook_path()


@dataclass(frozen=True)
class Added:
    channel: MessagingChannel
    webhook_url: str


def add_telegram_channel(*, name: str, token: str, api_url: str = "") -> Added:
    """A Telegram bot as a channel; `setWebhook` is called when the API answers (a failure
    leaves the channel made, its health saying what went wrong)."""
    name = " ".join(strip_invisible(name or "").split())[:100]
    token = (token or "").strip()
    api_url = (api_url or "").strip().rstrip("/")
    if not name:
        raise ActionRefused("name_required", _("Give the channel a name."), field="name")
    if not TOKEN_RE.match(token):
        raise ActionRefused(
            "invalid_token",
            _("This is not a Telegram bot token (it looks like 123456:ABC-DEF...)."),
            field="token",
        )
    if api_url and not re.match(r"^https?://[^\s/]+", api_url):
        raise ActionRefused(
            "invalid_api_url", _("The API address must start with http:// or https://.")
        )
    channel = MessagingChannel(kind=ChannelKind.TELEGRAM, name=name, api_url=api_url)
    channel.set_token(token)
    channel.save()
    url = webhook_url(channel)
    try:
        telegram.set_webhook(channel, url)
    except telegram.TelegramError as exc:
        mark_failing(channel, exc.description)
    else:
        mark_healthy(channel)
    channel.refresh_from_db()
    return Added(channel=channel, webhook_url=url)


def mark_failing(channel: MessagingChannel, error: str) -> None:
    health.mark_failing(channel, error)  # the admins are told by mail when it turns failing


def mark_healthy(channel: MessagingChannel) -> None:
    health.mark_healthy(channel)


def check_channel(channel: MessagingChannel) -> bool:
    """Ask the platform whether the token works (a failing channel comes back to health)."""
    try:
        telegram.call(channel, "getMe", {})
    except telegram.TelegramError as exc:
        if exc.auth:
            mark_failing(channel, exc.description)
        return False
    mark_healthy(channel)
    return True


# --- receiving ------------------------------------------------------------------------------


class BadUpdate(Exception):
    pass


def parse_update(payload: Any) -> Update:
    """The update Telegram sent, read by python-telegram-bot's types; BadUpdate otherwise."""
    if not isinstance(payload, dict) or not isinstance(payload.get("update_id"), int):
        raise BadUpdate("no update_id")
    try:
        return Update.de_json(payload, None)
    except (TypeError, ValueError, KeyError, AttributeError) as exc:
        raise BadUpdate(str(exc)) from None


def receive_update(channel: MessagingChannel, payload: dict[str, Any]) -> tuple[InboundEvent, bool]:
    """Store the update once; the work is queued only the first time (True)."""
    external_id = str(payload["update_id"])
    try:
        with transaction.atomic():
            event = InboundEvent.objects.create(
                channel=channel, external_id=external_id, payload=payload
            )
    except IntegrityError:
        return InboundEvent.objects.get(channel=channel, external_id=external_id), False
    event_id = event.pk
    transaction.on_commit(lambda: [hook(event_id) for hook in event_received], robust=True)
    return event, True


def process_event(event_id: int) -> None:
    """The work of one stored update; claimed by a conditional UPDATE, so a second run (a
    retried job, two workers) does nothing. A failure marks the event, never the channel."""
    claimed = InboundEvent.objects.filter(pk=event_id, state=EventState.RECEIVED).update(
        state=EventState.PROCESSING, claimed_at=timezone.now()
    )
    if not claimed:
        return
    event = InboundEvent.objects.select_related("channel").get(pk=event_id)
    try:
        _process(event)
    except Exception as exc:
        log.exception("messenger event %s could not be processed", event_id)
        InboundEvent.objects.filter(pk=event_id).update(
            state=EventState.FAILED, error=repr(exc)[:1000], processed_at=timezone.now()
        )
        return
    InboundEvent.objects.filter(pk=event_id).update(
        state=EventState.DONE, processed_at=timezone.now()
    )


def contact_language(code: str | None) -> str:
    """Telegram's `language_code` ("ru", "en-US") as one of ours, else the site's."""
    short = (code or "").split("-")[0].lower()
    return short if short in dict(settings.LANGUAGES) else site_language()


@dataclass
class _File:
    name: str
    content_type: str
    data: bytes


@dataclass
class _Content:
    lines: list[str]
    files: list[_File]
    text: str


def _process(event: InboundEvent) -> None:
    channel = event.channel
    update = parse_update(event.payload)
    message = update.message or update.edited_message
    if message is None or message.from_user is None or message.from_user.is_bot:
        return
    if message.chat.type != "private":
        return
    language = contact_language(message.from_user.language_code)
    with translation.override(language):
        content = _content(channel, message)
    with transaction.atomic():
        contact = _contact(channel, message.from_user, str(message.chat.id))
        learn_language(contact, content.text)  # the customer's words over their app's setting
        with translation.override(contact.language):
            if content.text.startswith("/") and _command(contact, content.text):
                return
            _file(contact, content)


def _content(channel: MessagingChannel, message: TelegramMessage) -> _Content:
    """The words and files of a message; placeholders for what a ticket cannot show."""
    text = strip_invisible(message.text or message.caption or "").strip()
    lines = [text] if text else []
    files: list[_File] = []
    limit = settings.DESTEK_MAX_ATTACHMENT_MB * 1024 * 1024
    wanted: list[tuple[str, str, str, int | None]] = []
    if message.photo:
        largest = max(message.photo, key=lambda p: (p.file_size or 0, p.width * p.height))
        wanted.append(
            (largest.file_id, f"photo-{message.message_id}.jpg", "image/jpeg", largest.file_size)
        )
    if message.document:
        document = message.document
        wanted.append(
            (
                document.file_id,
                document.file_name or f"document-{message.message_id}",
                document.mime_type or "application/octet-stream",
                document.file_size,
            )
        )
    for file_id, name, content_type, size in wanted:
        if size is not None and size > limit:
            lines.append(str(texts.FILE_TOO_LARGE).format(mb=settings.DESTEK_MAX_ATTACHMENT_MB))
            continue
        try:
            remote = telegram.get_file(channel, file_id)
            if remote.size is not None and remote.size > limit:
                raise telegram.TelegramError("file: too large")
            data = telegram.download(channel, remote, limit=limit)
        except telegram.TelegramError as exc:
            log.warning("a Telegram file could not be fetched: %s", exc.description)
            if exc.description == "file: too large":
                mb = settings.DESTEK_MAX_ATTACHMENT_MB
                lines.append(str(texts.FILE_TOO_LARGE).format(mb=mb))
            else:
                lines.append(str(texts.FILE_NOT_FETCHED))
            continue
        files.append(_File(name=name, content_type=content_type, data=data))
    if not text:
        shown = [str(label) for key, label in texts.PLACEHOLDERS.items() if getattr(message, key)]
        lines[:0] = shown or ([] if files else [str(texts.SOMETHING)])
    return _Content(lines=lines, files=files, text=text)


def _contact(channel: MessagingChannel, user: TelegramUser, chat_id: str) -> Contact:
    """The contact of a Telegram user, made with a customer of their own the first time."""
    external_id = str(user.id)
    contact = (
        Contact.objects.select_for_update()
        .select_related("customer", "channel")
        .filter(channel=channel, external_user_id=external_id)
        .first()
    )
    name = " ".join(strip_invisible(user.full_name or "").split())[:200]
    if contact is not None:
        if contact.chat_id != chat_id:
            contact.chat_id = chat_id
            contact.save(update_fields=["chat_id"])
        return contact
    language = contact_language(user.language_code)
    try:
        # Two updates of a new user handled at once: the second finds the first's contact.
        with transaction.atomic():
            customer = User(
                email=f"telegram-{secrets.token_hex(12)}@{CONTACT_DOMAIN}",
                full_name=name,
                role=Role.CUSTOMER,
                language=language,
            )
            customer.set_unusable_password()
            customer.save()
            return Contact.objects.create(
                channel=channel,
                external_user_id=external_id,
                chat_id=chat_id,
                customer=customer,
                name=name,
                username=(user.username or "")[:100],
                language=language,
            )
    except IntegrityError:
        return (
            Contact.objects.select_for_update()
            .select_related("customer", "channel")
            .get(channel=channel, external_user_id=external_id)
        )


def _command(contact: Contact, text: str) -> bool:
    """A bot command answered by the bot; False for one it does not know (filed as text)."""
    word, _sep, rest = text.partition(" ")
    command = word.split("@")[0].lower()
    name = contact.name or str(texts.A_CUSTOMER)
    if command == "/start":
        queue_text(contact, str(texts.GREETING).format(name=name))
    elif command == "/help":
        queue_text(contact, str(texts.HELP))
    elif command == "/status":
        queue_text(contact, _status_text(contact.customer))
    elif command == "/new":
        contact.start_new = True
        contact.save(update_fields=["start_new"])
        rest = rest.strip()
        if rest:
            _file(contact, _Content(lines=[rest], files=[], text=rest))
        else:
            queue_text(contact, str(texts.NEW_TICKET_NEXT))
    else:
        return False
    return True


def _status_text(customer: User) -> str:
    open_tickets = list(
        Ticket.objects.filter(
            customer=customer,
            merged_into__isnull=True,
            status__in=[*ACTIVE_STATUSES, TicketStatus.RESOLVED],
        ).order_by("-created_at")[:10]
    )
    if not open_tickets:
        return str(texts.NO_OPEN_TICKETS)
    lines = [str(texts.OPEN_TICKETS)]
    lines += [f"#{t.number} {t.subject} — {customer_status_label(t)}" for t in open_tickets]
    return "\n".join(lines)


def _current_ticket(customer: User) -> Ticket | None:
    """The ticket a new message continues: the last one, unless it was closed longer ago
    than its reopen window."""
    last = (
        Ticket.objects.filter(customer=customer)
        .select_related("department")
        .order_by("-created_at", "-pk")
        .first()
    )
    if last is None:
        return None
    if last.status == TicketStatus.CLOSED and not tickets.reopen_open(last):
        return None
    return last


def _subject(text: str, contact: Contact) -> str:
    """The customer's first words, or, when they only greet ("hello"), who wrote: a
    messenger ticket is never refused for its opening words."""
    first = " ".join(text.split())
    if len(first) > SUBJECT_WORDS:
        first = first[: SUBJECT_WORDS - 1].rsplit(" ", 1)[0] + "…"
    if not first or intake.is_generic_subject(first) or intake.is_shouting(first):
        return str(texts.SUBJECT_FROM).format(name=contact.name or texts.A_CUSTOMER)
    return first


def _store(contact: Contact, files: list[_File]) -> list[Attachment]:
    return [
        tickets.store_upload(
            contact.customer, SimpleUploadedFile(f.name, f.data, content_type=f.content_type)
        )
        for f in files
    ]


def _file(contact: Contact, content: _Content) -> None:
    customer = contact.customer
    body = "\n".join(content.lines)
    ticket = None if contact.start_new else _current_ticket(customer)
    attachments = _store(contact, content.files)
    if ticket is not None:
        tickets.add_message(
            ticket, author=customer, body=body, channel=Channel.TELEGRAM, attachments=attachments
        )
        return
    ticket = tickets.create_ticket(
        customer=customer,
        subject=_subject(content.text, contact),
        body=body,
        channel=Channel.TELEGRAM,
        department=contact.channel.department,
        attachments=attachments,
        notify_customer=False,  # answers go to Telegram, not to an address they do not have
        intake_rules=False,
    )
    if contact.start_new:
        contact.start_new = False
        contact.save(update_fields=["start_new"])
    queue_text(contact, answers.ticket_filed(ticket))


# --- sending --------------------------------------------------------------------------------


def queue_text(contact: Contact, text: str, *, message: Any = None) -> OutboundMessage:
    """Text for the contact, kept in the outbox and sent by the worker once committed."""
    outbound = OutboundMessage.objects.create(
        channel_id=contact.channel_id, contact=contact, message=message, text=text
    )
    outbound_id = outbound.pk
    transaction.on_commit(lambda: [hook(outbound_id) for hook in send_requested], robust=True)
    return outbound


class SendResult:
    SENT = "sent"
    RETRY = "retry"
    HELD = "held"
    FAILED = "failed"
    NOTHING = "nothing"


def send_outbound(outbound_id: int) -> str:
    """Send one outbox row, part by part from where it stopped. A refused token flags the
    channel and keeps the row; a network fault or a 5xx says RETRY."""
    outbound = (
        OutboundMessage.objects.select_related("channel", "contact")
        .filter(pk=outbound_id, state=OutboundState.PENDING)
        .first()
    )
    if outbound is None:
        return SendResult.NOTHING
    channel = outbound.channel
    if channel.health == Health.FAILING:
        return SendResult.HELD
    # One sender at a time: a run that finds the attempt already counted leaves it.
    claimed = OutboundMessage.objects.filter(
        pk=outbound.pk, state=OutboundState.PENDING, attempts=outbound.attempts
    ).update(attempts=F("attempts") + 1)
    if not claimed:
        return SendResult.NOTHING
    parts = telegram.split_text(outbound.text)
    for index in range(outbound.parts_sent, len(parts)):
        try:
            telegram.send_message(channel, outbound.contact.chat_id, parts[index])
        except telegram.TelegramError as exc:
            OutboundMessage.objects.filter(pk=outbound.pk).update(last_error=exc.description)
            if exc.auth:
                mark_failing(channel, exc.description)
                return SendResult.HELD
            if exc.retry and outbound.attempts + 1 < SEND_ATTEMPTS:
                return SendResult.RETRY
            OutboundMessage.objects.filter(pk=outbound.pk).update(state=OutboundState.FAILED)
            return SendResult.FAILED
        OutboundMessage.objects.filter(pk=outbound.pk).update(parts_sent=index + 1)
    OutboundMessage.objects.filter(pk=outbound.pk).update(
        state=OutboundState.SENT, sent_at=timezone.now(), last_error=""
    )
    mark_healthy(channel)
    return SendResult.SENT


def pending_for_healthy_channels() -> list[int]:
    """Outbox rows waiting on channels that work (again): the sweep sends them."""
    for channel in MessagingChannel.objects.filter(health=Health.FAILING):
        check_channel(channel)
    return list(
        OutboundMessage.objects.filter(state=OutboundState.PENDING)
        .exclude(channel__health=Health.FAILING)
        .order_by("pk")
        .values_list("pk", flat=True)[:500]
    )
