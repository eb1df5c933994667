"""Every change of a messenger channel: adding one, receiving an event (stored once),
turning it into ticket messages through the tickets actions, and sending what waits in the
outbox. The same for every platform: each one's own API is behind platform.py's door.
Jobs take ids and are safe to run twice."""

from __future__ import annotations

import logging
import re
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from functools import partial
from typing import Any

from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _

from destek.accounts.choices import Role
from destek.accounts.models import MESSENGER_CONTACT_DOMAIN, User
from destek.lib.errors import ActionRefused
from destek.lib.language import site_language
from destek.lib.text import strip_invisible
from destek.messaging import answers, health, telegram, texts, whatsapp, window
from destek.messaging.choices import ChannelKind, EventState, Health, OutboundState
from destek.messaging.language import learn as learn_language
from destek.messaging.models import (
    ChatMessage,
    Contact,
    InboundEvent,
    MessagingChannel,
    OutboundMessage,
)
from destek.messaging.platform import BadEvent, Inbound, PlatformError, split_text
from destek.messaging.platforms import platform_for
from destek.messaging.selectors import contact_of
from destek.tickets import actions as tickets
from destek.tickets import intake
from destek.tickets.choices import ACTIVE_STATUSES, AuthorKind, Channel, TicketStatus
from destek.tickets.models import Attachment, Message, Ticket
from destek.tickets.selectors import customer_status_label

log = logging.getLogger(__name__)

#: A contact made for a messenger user gets an address that can never be anyone's.
CONTACT_DOMAIN = MESSENGER_CONTACT_DOMAIN
SUBJECT_WORDS = 80
TOKEN_RE = re.compile(r"^\d{1,20}:[A-Za-z0-9_-]{20,100}$")
#: Sends that failed on the network or a 5xx are tried again this many times, with backoff.
SEND_ATTEMPTS = 6
#: How long a sender holds an outbox row between two parts or files it sent.
SEND_LEASE = timedelta(minutes=10)

#: Called with an outbox row's id once the row is committed (jobs.py schedules the send).
send_requested: list[Callable[[int], None]] = []
#: Called with an inbound event's id once it is committed (jobs.py schedules the work).
event_received: list[Callable[[int], None]] = []
#: Asked first about each text a contact sends, in the contact's row lock: True when the
#: handler answered it and it must not be filed (linking.py: `/start <token>`, `/link`, and an
#: address or a code while a link is under way).
text_handlers: list[Callable[[Contact, str], bool]] = []
#: Asked before them about each message (a button press too), in the contact's row lock, with
#: its text: True when the handler took it (survey.py: an answer to the chat's survey).
inbound_handlers: list[Callable[[Contact, Inbound, str], bool]] = []


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
        check_channel(channel)  # healthy, and the bot's username for deep links
    channel.refresh_from_db()
    return Added(channel=channel, webhook_url=url)


#: What each of Meta's platforms calls the account a channel speaks for.
ACCOUNT_LABELS: dict[str, Any] = {
    ChannelKind.WHATSAPP: _("the phone number ID"),
    ChannelKind.MESSENGER: _("the page ID"),
    ChannelKind.INSTAGRAM: _("the Instagram account ID"),
}
GRAPH_ID_RE = re.compile(r"^[0-9]{1,30}$")


def add_meta_channel(
    *,
    kind: str,
    name: str,
    token: str,
    account_id: str,
    app_secret: str,
    api_url: str = "",
    token_expires_at: Any = None,
    templates: list[str] | None = None,
) -> Added:
    """A WhatsApp number, a Facebook page or an Instagram account as a channel. Its webhook
    is set in Meta's app dashboard (the URL and the verify token this prints); the token is
    tried once (a failure leaves the channel made, its health saying what went wrong)."""
    if kind not in ACCOUNT_LABELS:
        raise ActionRefused("invalid_kind", _("Not one of Meta's platforms."), field="kind")
    name = " ".join(strip_invisible(name or "").split())[:100]
    token = (token or "").strip()
    account_id = (account_id or "").strip()
    app_secret = (app_secret or "").strip()
    api_url = (api_url or "").strip().rstrip("/")
    if not name:
        raise ActionRefused("name_required", _("Give the channel a name."), field="name")
    if not re.match(r"^[A-Za-z0-9_|-]{20,1000}$", token):
        raise ActionRefused(
            "invalid_token", _("This is not a Graph API access token."), field="token"
        )
    if not GRAPH_ID_RE.match(account_id):
        raise ActionRefused(
            "invalid_account_id",
            _("Give {what} (digits) from Meta's app dashboard.").format(what=ACCOUNT_LABELS[kind]),
            field="account_id",
        )
    if not re.match(r"^[0-9a-f]{16,64}$", app_secret):
        raise ActionRefused(
            "invalid_app_secret",
            _("Give the app secret (App settings → Basic in Meta's app dashboard)."),
            field="app_secret",
        )
    if api_url and not re.match(r"^https?://[^\s/]+", api_url):
        raise ActionRefused(
            "invalid_api_url", _("The API address must start with http:// or https://.")
        )
    channel = MessagingChannel(
        kind=kind,
        name=name,
        api_url=api_url,
        account_id=account_id,
        token_expires_at=token_expires_at,
        templates=[t.strip() for t in templates or [] if t.strip()],
    )
    channel.set_token(token)
    channel.set_app_secret(app_secret)
    channel.save()
    check_channel(channel)
    channel.refresh_from_db()
    return Added(channel=channel, webhook_url=webhook_url(channel))


def set_channel_token(
    channel: MessagingChannel, token: str, *, token_expires_at: Any = None
) -> bool:
    """A new access token (a page token renewed in Meta's dashboard): stored encrypted and
    tried at once; True when the platform takes it (the channel is healthy again)."""
    token = (token or "").strip()
    if not re.match(r"^[A-Za-z0-9_|:-]{20,1000}$", token):
        raise ActionRefused("invalid_token", _("This is not a Graph API access token."))
    channel.set_token(token)
    channel.token_expires_at = token_expires_at
    channel.save(update_fields=["credentials_encrypted", "token_expires_at"])
    return check_channel(channel)


def flag_expiring_tokens() -> None:
    """A channel whose access token has ended is failing (its replies wait) until an admin
    gives it a new one; Meta's page tokens from a long-lived user token do not end."""
    for channel in MessagingChannel.objects.filter(token_expires_at__lte=timezone.now()).exclude(
        health=Health.FAILING
    ):
        mark_failing(
            channel, f"the access token expired at {channel.token_expires_at:%Y-%m-%d %H:%M} UTC"
        )


def mark_failing(channel: MessagingChannel, error: str) -> None:
    health.mark_failing(channel, error)  # the admins are told by mail when it turns failing


def mark_healthy(channel: MessagingChannel) -> None:
    health.mark_healthy(channel)


def check_channel(channel: MessagingChannel) -> bool:
    """Ask the platform whether the token works (a failing channel comes back to health)."""
    try:
        username = platform_for(channel.kind).check(channel)
    except PlatformError as exc:
        if exc.auth:
            mark_failing(channel, exc.description)
        return False
    if username and username != channel.bot_username:
        MessagingChannel.objects.filter(pk=channel.pk).update(bot_username=username)
        channel.bot_username = username
    mark_healthy(channel)
    return True


# --- receiving ------------------------------------------------------------------------------


#: A webhook body that is not the platform's (platform.BadEvent).
BadUpdate = BadEvent
parse_update = telegram.parse_update


def receive(channel: MessagingChannel, payload: Any) -> list[tuple[InboundEvent, bool]]:
    """Store each event of a webhook body once (BadEvent for a body that is not the
    platform's: nothing is stored); each one's work is queued only the first time (True)."""
    events = platform_for(channel.kind).events(payload)
    return [_store_event(channel, external_id, event) for external_id, event in events]


def receive_update(channel: MessagingChannel, payload: dict[str, Any]) -> tuple[InboundEvent, bool]:
    """Store a Telegram update once; the work is queued only the first time (True)."""
    return _store_event(channel, str(payload["update_id"]), payload)


def _store_event(
    channel: MessagingChannel, external_id: str, payload: dict[str, Any]
) -> tuple[InboundEvent, bool]:
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
    """The platform's language hint ("ru", "en-US") as one of ours, else the site's."""
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
    inbound = platform_for(channel.kind).parse(channel, event.payload)
    if inbound is None:
        return
    _ask_profile(channel, inbound)
    language = contact_language(inbound.language)
    with translation.override(language):
        content = _content(channel, inbound)
    try:
        _handle(channel, inbound, content)
    finally:
        _acknowledge(channel, inbound)


def _acknowledge(channel: MessagingChannel, inbound: Inbound) -> None:
    """A button press answered to the platform (Telegram's spinning button stops); best
    effort, after the work is committed."""
    acknowledge = getattr(platform_for(channel.kind), "acknowledge", None)
    if acknowledge is None or not inbound.callback_id:
        return
    try:
        acknowledge(channel, inbound)
    except PlatformError as exc:
        log.info("a button press could not be acknowledged: %s", exc.description)


def _handle(channel: MessagingChannel, inbound: Inbound, content: _Content) -> None:
    with transaction.atomic():
        contact = _contact(channel, inbound)
        _seen(contact, inbound)
        with translation.override(contact.language):
            if not inbound.is_edit and any(
                handle(contact, inbound, content.text) for handle in inbound_handlers
            ):
                return
            if inbound.callback_id:
                return  # a press of a button no one asks about now: no words to file
            # An edit is the customer's words again, never a link code or a command run twice.
            if not inbound.is_edit and any(
                handle(contact, content.text) for handle in text_handlers
            ):
                return
            command = content.text.startswith("/") and not inbound.is_edit
            if command and _command(contact, content):
                return
        # The customer's words over their app's setting; never an address or a code typed
        # to link the chat (answered above).
        learn_language(contact, content.text)
        with translation.override(contact.language):
            earlier = _earlier(contact, inbound)
            excerpt = _excerpt(content.text or "\n".join(content.lines))
            content.lines[:0] = _context_lines(inbound, earlier)
            message = _file(contact, content)
            _remember(contact, inbound, earlier, message, excerpt)


def _ask_profile(channel: MessagingChannel, inbound: Inbound) -> None:
    """A new contact of a platform whose webhook does not name the user (Messenger,
    Instagram): their name and username asked of the platform, outside the transaction.
    Best effort: a refusal or a fault leaves them unnamed and the message is filed."""
    profile = getattr(platform_for(channel.kind), "profile", None)
    if profile is None or inbound.name:
        return
    if Contact.objects.filter(channel=channel, external_user_id=inbound.user_id).exists():
        return
    try:
        name, username = profile(channel, inbound.user_id)
    except PlatformError as exc:
        log.info("no %s profile for a new contact: %s", channel.kind, exc.description)
        return
    inbound.name = name
    inbound.username = inbound.username or username


def _content(channel: MessagingChannel, inbound: Inbound) -> _Content:
    """The words and files of a message; placeholders for what a ticket cannot show."""
    platform = platform_for(channel.kind)
    text = inbound.text
    lines = [text] if text else []
    files: list[_File] = []
    limit = settings.DESTEK_MAX_ATTACHMENT_MB * 1024 * 1024
    for media in inbound.media:
        if media.size is not None and media.size > limit:
            lines.append(str(texts.FILE_TOO_LARGE).format(mb=settings.DESTEK_MAX_ATTACHMENT_MB))
            continue
        try:
            data = platform.fetch_media(channel, media, limit=limit)
        except PlatformError as exc:
            log.warning("a %s file could not be fetched: %s", channel.kind, exc.description)
            if exc.too_large:
                mb = settings.DESTEK_MAX_ATTACHMENT_MB
                lines.append(str(texts.FILE_TOO_LARGE).format(mb=mb))
            else:
                lines.append(str(texts.FILE_NOT_FETCHED))
            continue
        files.append(_File(name=media.name, content_type=media.content_type, data=data))
    if not text:
        shown = [str(texts.PLACEHOLDERS[key]) for key in inbound.placeholders]
        lines[:0] = shown or ([] if files else [str(texts.SOMETHING)])
    lines += inbound.details
    return _Content(lines=lines, files=files, text=text)


def _earlier(contact: Contact, inbound: Inbound) -> ChatMessage | None:
    """What we kept of the message this one changes (an edit) or answers (a reply)."""
    wanted = (inbound.message_id or inbound.external_id) if inbound.is_edit else inbound.reply_to
    if not wanted:
        return None
    return (
        ChatMessage.objects.select_for_update()
        .filter(contact=contact, external_id=wanted[:200])
        .first()
    )


def _excerpt(text: str, limit: int = 120) -> str:
    first = next((line.strip() for line in text.splitlines() if line.strip()), "")
    return first if len(first) <= limit else first[: limit - 1].rstrip() + "…"


def _context_lines(inbound: Inbound, earlier: ChatMessage | None) -> list[str]:
    """The line that says a message changes an earlier one (never replacing its words) or
    answers one, quoting the first line of it when we have it."""
    if inbound.is_edit:
        if earlier is not None and earlier.excerpt:
            return [str(texts.EDITED_FROM), str(texts.QUOTED).format(quote=earlier.excerpt)]
        return [str(texts.EDITED)]
    if not inbound.reply_to:
        return []
    quote = earlier.excerpt if earlier is not None and earlier.excerpt else ""
    quote = quote or _excerpt(inbound.reply_text)
    if quote:
        return [str(texts.REPLY_TO), str(texts.QUOTED).format(quote=quote)]
    return [str(texts.REPLY_TO_UNKNOWN)]


def _remember(
    contact: Contact,
    inbound: Inbound,
    earlier: ChatMessage | None,
    message: Message | None,
    excerpt: str,
) -> None:
    """Keep the platform's id of the message and its first line: an edit updates what it
    said (the next edit quotes it), the ticket keeps both."""
    if inbound.is_edit and earlier is not None:
        earlier.excerpt, earlier.message = excerpt, message
        earlier.save(update_fields=["excerpt", "message"])
        return
    ChatMessage.objects.get_or_create(
        contact=contact,
        external_id=(inbound.message_id or inbound.external_id)[:200],
        defaults={"message": message, "excerpt": excerpt},
    )


def _seen(contact: Contact, inbound: Inbound) -> None:
    """When the customer last wrote (Meta's 24-hour reply window counts from it)."""
    at = min(inbound.sent_at or timezone.now(), timezone.now())
    if contact.last_inbound_at is None or at > contact.last_inbound_at:
        contact.last_inbound_at = at
        contact.save(update_fields=["last_inbound_at"])


def _contact(channel: MessagingChannel, inbound: Inbound) -> Contact:
    """The contact of a messenger user, made with a customer of their own the first time."""
    external_id = inbound.user_id
    chat_id = inbound.chat_id
    contact = (
        Contact.objects.select_for_update()
        .select_related("customer", "channel")
        .filter(channel=channel, external_user_id=external_id)
        .first()
    )
    name = inbound.name
    if contact is not None:
        if contact.chat_id != chat_id:
            contact.chat_id = chat_id
            contact.save(update_fields=["chat_id"])
        return contact
    language = contact_language(inbound.language)
    try:
        # Two updates of a new user handled at once: the second finds the first's contact.
        with transaction.atomic():
            customer = User(
                email=f"{channel.kind}-{secrets.token_hex(12)}@{CONTACT_DOMAIN}",
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
                username=inbound.username,
                language=language,
            )
    except IntegrityError:
        return (
            Contact.objects.select_for_update()
            .select_related("customer", "channel")
            .get(channel=channel, external_user_id=external_id)
        )


def _command(contact: Contact, content: _Content) -> bool:
    """A bot command answered by the bot; False for one it does not know (filed as text),
    and for `/new` with words: they are filed as the message (in a ticket of their own)."""
    text = content.text
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
            content.lines[content.lines.index(text)] = content.text = rest
            return False
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


def _current_ticket(contact: Contact, channel: str) -> Ticket | None:
    """The ticket a new message continues: the last one of this messenger, unless it was
    closed longer ago than its reopen window."""
    # The messenger's own tickets only: a linked account's web or mail tickets are answered
    # there, not in this chat; and of a linked account, those of this chat (the account may
    # have linked others).
    found = Ticket.objects.filter(customer=contact.customer, channel=channel)
    if contact.linked_at is not None:
        written = ChatMessage.objects.filter(contact=contact, message__isnull=False)
        found = found.filter(pk__in=written.values("message__ticket_id"))
    last = found.select_related("department").order_by("-created_at", "-pk").first()
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
        said = texts.SUBJECTS_FROM.get(contact.channel.kind, texts.SUBJECT_FROM)
        return str(said).format(name=contact.name or texts.A_CUSTOMER)
    return first


def _store(contact: Contact, files: list[_File]) -> list[Attachment]:
    return [
        tickets.store_upload(
            contact.customer, SimpleUploadedFile(f.name, f.data, content_type=f.content_type)
        )
        for f in files
    ]


def ticket_channel(kind: str) -> str:
    """The tickets' channel of a messenger (the same word)."""
    return Channel(kind).value


def _file(contact: Contact, content: _Content) -> Message | None:
    customer = contact.customer
    channel = ticket_channel(contact.channel.kind)
    body = "\n".join(content.lines)
    ticket = None if contact.start_new else _current_ticket(contact, channel)
    attachments = _store(contact, content.files)
    if ticket is not None:
        message = tickets.add_message(
            ticket, author=customer, body=body, channel=channel, attachments=attachments
        )
        if message.nudge:
            # Asking for news: the automatic answer (when to expect ours) goes to the chat.
            answer = (
                Message.objects.filter(
                    ticket_id=message.ticket_id, author_kind=AuthorKind.SYSTEM, pk__gt=message.pk
                )
                .order_by("pk")
                .first()
            )
            if answer is not None:
                queue_text(contact, answer.body, message=answer)
        return message
    ticket = tickets.create_ticket(
        customer=customer,
        subject=_subject(content.text, contact),
        body=body,
        channel=channel,
        department=contact.channel.department,
        attachments=attachments,
        notify_customer=False,  # answers go to the messenger, not to an address they do not have
        intake_rules=False,
    )
    if contact.start_new:
        contact.start_new = False
        contact.save(update_fields=["start_new"])
    said = answers.ticket_filed(ticket)
    if _first_unlinked_ticket(contact, ticket):
        said += "\n\n" + str(texts.LINK_HINT)
    queue_text(contact, said)
    return ticket.messages.order_by("pk").first()


def _first_unlinked_ticket(contact: Contact, ticket: Ticket) -> bool:
    """Whether a Meta platform's contact (no command menu, no /start) that is not linked to an
    account just filed its first ticket: its answer then says how to link."""
    if contact.channel.kind == ChannelKind.TELEGRAM or contact.linked_at is not None:
        return False
    return (
        not Ticket.objects.filter(customer=contact.customer, channel=ticket.channel)
        .exclude(pk=ticket.pk)
        .exists()
    )


# --- sending --------------------------------------------------------------------------------


def queue_text(
    contact: Contact,
    text: str,
    *,
    message: Any = None,
    files: Sequence[Attachment] = (),
    buttons: Sequence[tuple[str, str]] = (),
) -> OutboundMessage:
    """Text for the contact, and files sent after it, kept in the outbox and sent by the
    worker once committed; with `buttons` ((payload, title) pairs) the text goes as one
    message with them."""
    outbound = OutboundMessage.objects.create(
        channel_id=contact.channel_id,
        contact=contact,
        message=message,
        text=text,
        buttons=[list(button) for button in buttons],
    )
    if files:
        outbound.files.set(files)
    outbound_id = outbound.pk
    transaction.on_commit(lambda: [hook(outbound_id) for hook in send_requested], robust=True)
    return outbound


def send_template(ticket: Ticket, *, agent: User, name: str) -> OutboundMessage:
    """An approved WhatsApp template to the ticket's customer (what WhatsApp takes outside
    the 24-hour window); the ticket keeps an internal note that it was sent."""
    contact = contact_of(ticket) if ticket.channel == Channel.WHATSAPP else None
    if contact is None:
        raise ActionRefused("not_whatsapp", _("This ticket did not come from WhatsApp."))
    if name not in (contact.channel.templates or []):
        raise ActionRefused(
            "unknown_template", _("Choose one of the channel's approved templates."), field="name"
        )
    with transaction.atomic():
        tickets.add_message(
            ticket,
            author=agent,
            body=str(_("WhatsApp template “{name}” sent.")).format(name=name),
            internal=True,
            channel=Channel.WEB,
        )
        outbound = OutboundMessage.objects.create(
            channel_id=contact.channel_id, contact=contact, text=name, template=name
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
    if not outbound.template and not window.is_open(outbound.contact):
        # It waited past Meta's window (a failing channel): the platform would refuse it.
        OutboundMessage.objects.filter(pk=outbound.pk, state=OutboundState.PENDING).update(
            state=OutboundState.FAILED, last_error=window.CLOSED_ERROR
        )
        return SendResult.FAILED
    # One sender at a time: a run that finds the attempt already counted, or the row held by
    # a sender still at work (the sweep while a job sends), leaves it.
    now = timezone.now()
    claimed = (
        OutboundMessage.objects.filter(
            pk=outbound.pk, state=OutboundState.PENDING, attempts=outbound.attempts
        )
        .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lt=now))
        .update(attempts=F("attempts") + 1, claimed_until=now + SEND_LEASE)
    )
    if not claimed:
        return SendResult.NOTHING
    try:
        return _send_steps(outbound)
    finally:
        OutboundMessage.objects.filter(pk=outbound.pk).update(claimed_until=None)


def _send_steps(outbound: OutboundMessage) -> str:
    channel = outbound.channel
    platform = platform_for(channel.kind)
    chat_id = outbound.contact.chat_id
    parts = split_text(outbound.text, platform.text_limit) if outbound.text.strip() else []
    files = list(outbound.files.order_by("pk"))
    # Each part and each file counts as sent once the platform took it: a retry goes on
    # from the next one and never sends one twice.
    steps: list[tuple[str, int, Callable[[], None]]] = [
        ("parts_sent", index + 1, partial(_send_part, outbound, part))
        for index, part in enumerate(parts)
        if index >= outbound.parts_sent
    ]
    if outbound.buttons:
        # A question with buttons: one message, cut to the platform's limit if it must be.
        pairs = [(str(payload), str(title)) for payload, title in outbound.buttons]
        text = outbound.text[: platform.text_limit]

        def send_buttons() -> None:
            # What the platform adds (WhatsApp's list button) in the contact's language.
            with translation.override(outbound.contact.language):
                platform.send_buttons(channel, chat_id, text, pairs)

        steps = [("parts_sent", 1, send_buttons)] if outbound.parts_sent == 0 else []
    if outbound.template:
        # An approved WhatsApp template (its name is the row's text): one part.
        template, language = outbound.template, outbound.contact.language
        send = partial(whatsapp.PLATFORM.send_template, channel, chat_id, template, language)
        steps = [("parts_sent", 1, send)] if outbound.parts_sent == 0 else []
    steps += [
        ("files_sent", index + 1, partial(_send_file, outbound, file))
        for index, file in enumerate(files)
        if index >= outbound.files_sent
    ]
    for counter, done, step in steps:
        try:
            step()
        except PlatformError as exc:
            OutboundMessage.objects.filter(pk=outbound.pk).update(last_error=exc.description)
            if exc.auth:
                mark_failing(channel, exc.description)
                return SendResult.HELD
            if exc.retry and outbound.attempts + 1 < SEND_ATTEMPTS:
                return SendResult.RETRY
            OutboundMessage.objects.filter(pk=outbound.pk).update(state=OutboundState.FAILED)
            return SendResult.FAILED
        held = timezone.now() + SEND_LEASE
        OutboundMessage.objects.filter(pk=outbound.pk).update(
            **{counter: done, "claimed_until": held}
        )
    OutboundMessage.objects.filter(pk=outbound.pk).update(
        state=OutboundState.SENT, sent_at=timezone.now(), last_error=""
    )
    mark_healthy(channel)
    return SendResult.SENT


def _send_part(outbound: OutboundMessage, part: str) -> None:
    """One part of the text; the platform's id of it is kept with its first line, so that a
    customer's reply to an agent's message is quoted like a reply to their own."""
    channel, contact = outbound.channel, outbound.contact
    sent_id = platform_for(channel.kind).send_text(channel, contact.chat_id, part)
    if sent_id:
        ChatMessage.objects.get_or_create(
            contact=contact,
            external_id=sent_id[:200],
            defaults={"message_id": outbound.message_id, "excerpt": _excerpt(part)},
        )


def _send_file(outbound: OutboundMessage, attachment: Attachment) -> None:
    """One of an agent's files to the chat; one the platform refuses for good (too large, a
    type it does not take) or that is gone from storage becomes a line in the chat that says
    so. A refused token or a fault worth retrying is raised (the outbox keeps the row)."""
    channel, contact = outbound.channel, outbound.contact
    platform = platform_for(channel.kind)
    note = texts.FILE_NOT_SENT
    try:
        with attachment.file.open("rb") as handle:
            data = handle.read()
        platform.send_file(
            channel,
            contact.chat_id,
            name=attachment.filename,
            content_type=attachment.content_type,
            data=data,
        )
        return
    except OSError as exc:
        log.error("attachment %s could not be read to send: %s", attachment.pk, exc)
    except PlatformError as exc:
        if exc.auth or exc.retry:
            raise
        # Refused for good (too large, a type it does not take): the rest still goes.
        log.warning("a file could not be sent to %s: %s", channel.kind, exc.description)
        note = texts.FILE_TOO_LARGE_TO_SEND if exc.too_large else texts.FILE_NOT_SENT
    with translation.override(contact.language):
        platform.send_text(channel, contact.chat_id, str(note).format(name=attachment.filename))


def pending_for_healthy_channels() -> list[int]:
    """Outbox rows waiting on channels that work (again): the sweep sends them."""
    flag_expiring_tokens()
    expired = Q(token_expires_at__lte=timezone.now())
    for channel in MessagingChannel.objects.filter(health=Health.FAILING).exclude(expired):
        if channel.kind == ChannelKind.TELEGRAM:
            # Its webhook may never have been set (Telegram was unreachable when it was
            # added): healthy only once Telegram takes it.
            try:
                telegram.set_webhook(channel, webhook_url(channel))
            except telegram.TelegramError as exc:
                mark_failing(channel, exc.description)
                continue
        check_channel(channel)
    return list(
        OutboundMessage.objects.filter(state=OutboundState.PENDING)
        .exclude(channel__health=Health.FAILING)
        .order_by("pk")
        .values_list("pk", flat=True)[:500]
    )
