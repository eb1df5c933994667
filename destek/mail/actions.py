"""The inbound mail pipeline: one message in, stored in a ticket, ignored on purpose or
quarantined, and never lost.

Every adapter (the `ingest-email` pipe, IMAP polling, the SMTP/LMTP listener) hands raw bytes to
`process_message`. The steps, in order: keep the raw bytes → dedupe → bounces → loop and
auto-reply guard → sender → threading → the ticket actions → attachments. The raw message is
committed first, on its own, so whatever happens afterwards it can be looked at and retried.
"""

from __future__ import annotations

import email.utils
import hashlib
import logging
import re
import traceback
from dataclasses import dataclass, replace
from datetime import timedelta

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import DatabaseError, IntegrityError, InterfaceError, OperationalError, transaction
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from destek.accounts.choices import Role
from destek.accounts.models import ContactAddress, User, normalize_email
from destek.lib.errors import ActionRefused
from destek.lib.language import choose_language
from destek.mail import authres, guards, tokens
from destek.mail.language import guess_language
from destek.mail.models import InboundMessage, InboundStatus, MailAccount
from destek.mail.parse import ParsedMessage, Part, Unparseable, cap_parts, parse_message
from destek.notify.actions import AutoSubmitted, queue_mail
from destek.notify.models import Delivery, FailingAddress
from destek.notify.threads import Thread, answering
from destek.tickets import actions as ticket_actions
from destek.tickets.access import access_ticket
from destek.tickets.choices import AuthorKind, Channel, Verification
from destek.tickets.models import Attachment, Department, Message, Ticket
from destek.tickets.notifications import portal_link

log = logging.getLogger(__name__)

#: Automatic messages that never open or continue a ticket.
SILENT = {
    "own-address",
    "own-message",
    "loop",
    "daemon",
    "null-sender",
    "report",
    "out-of-office",
}


class Unacceptable(Exception):
    """The bytes cannot be accepted at all (empty, over the size limit): the sender's mail
    server should bounce it (pipe exit 65, SMTP 552/554)."""


class TemporaryFailure(Exception):
    """Nothing was kept (the database is away): the mail server should try again later
    (pipe exit 75, SMTP 451)."""


@dataclass(frozen=True)
class Outcome:
    status: str  # an InboundStatus value
    reason: str = ""
    ticket_number: int | None = None
    inbound_id: int | None = None
    duplicate: bool = False

    def describe(self) -> str:
        """One line for the pipe's standard output and the logs."""
        if self.status == InboundStatus.STORED:
            return f"stored #{self.ticket_number}" + (" (duplicate)" if self.duplicate else "")
        return f"{self.status}: {self.reason}" + (" (duplicate)" if self.duplicate else "")


_SURROGATES = re.compile("[\ud800-\udfff]")


def _scrubbed(value: str) -> str:
    """Text the database can store: lone surrogates (undecodable bytes a parser escaped)
    become U+FFFD."""
    return _SURROGATES.sub("\ufffd", value)


def scrub(parsed: ParsedMessage) -> ParsedMessage:
    """The parsed message with every text field storable as UTF-8."""
    return replace(
        parsed,
        message_id=_scrubbed(parsed.message_id),
        in_reply_to=tuple(_scrubbed(v) for v in parsed.in_reply_to),
        references=tuple(_scrubbed(v) for v in parsed.references),
        subject=_scrubbed(parsed.subject),
        sender=replace(
            parsed.sender, email=_scrubbed(parsed.sender.email), name=_scrubbed(parsed.sender.name)
        ),
        text=_scrubbed(parsed.text),
        quoted=_scrubbed(parsed.quoted),
        html=_scrubbed(parsed.html),
        parts=tuple(replace(p, filename=_scrubbed(p.filename)) for p in parsed.parts),
    )


def process_message(raw: bytes, source: str, *, department: Department | None = None) -> Outcome:
    """Take one message from an adapter. Raises `Unacceptable` or `TemporaryFailure`; every
    other problem ends in quarantine with the raw bytes and the error."""
    if not raw.strip():
        raise Unacceptable("empty message")
    if len(raw) > settings.DESTEK_MAIL_MAX_MB * 1024 * 1024:
        raise Unacceptable(f"larger than {settings.DESTEK_MAIL_MAX_MB} MB")
    parsed: ParsedMessage | None
    try:
        parsed = scrub(parse_message(raw))
        error = ""
    except Unparseable as exc:
        parsed, error = None, f"unparseable: {exc}"
    except Exception:  # a parser bug must not lose the message
        parsed, error = None, traceback.format_exc(limit=20)
    try:
        inbound, fresh = _keep(raw, source, parsed)
    except (OperationalError, DatabaseError, OSError) as exc:  # OSError: a full disk
        raise TemporaryFailure(str(exc)) from exc
    if not fresh and inbound.status != InboundStatus.RECEIVED:
        return _outcome(inbound, duplicate=True)
    if parsed is None:
        return _quarantine(inbound, error)
    return run(inbound, parsed, raw, department=department)


def run(
    inbound: InboundMessage,
    parsed: ParsedMessage,
    raw: bytes,
    *,
    department: Department | None = None,
) -> Outcome:
    """The steps after keeping: in one transaction, so a failure half-way leaves no ticket."""
    InboundMessage.objects.filter(pk=inbound.pk).update(attempts=inbound.attempts + 1)
    try:
        with transaction.atomic():
            # Two deliveries of one message at once: the second waits here for the first and
            # then finds it done, instead of filing the message a second time.
            current = (
                InboundMessage.objects.select_for_update()
                .filter(pk=inbound.pk)
                .values_list("status", flat=True)
                .first()
            )
            if current != InboundStatus.RECEIVED:
                raise _AlreadyDone
            status, reason, ticket, message = _route(inbound, parsed, raw, department)
            InboundMessage.objects.filter(pk=inbound.pk).update(
                status=status,
                reason=reason,
                ticket=ticket,
                message=message,
                error="",
                processed_at=timezone.now(),
            )
    except _AlreadyDone:
        inbound.refresh_from_db()
        return _outcome(inbound, duplicate=True)
    except TemporaryFailure:
        raise  # no room for the attachments: the row stays `received` and is tried again
    except (OperationalError, InterfaceError) as exc:
        # The row stays `received`: the mail server's retry (or an admin) runs it again.
        # Other database errors (integrity, data) would fail the same way every time: they
        # are quarantined like any other fault instead of being retried for ever.
        raise TemporaryFailure(str(exc)) from exc
    except Exception:
        log.exception("inbound message %s quarantined", inbound.pk)
        return _quarantine(inbound, traceback.format_exc(limit=20))
    inbound.refresh_from_db()
    return _outcome(inbound)


class _AlreadyDone(Exception):
    """Another delivery of the same message finished it first."""


def retry(inbound: InboundMessage) -> Outcome:
    """An admin runs a quarantined (or stuck) message through the pipeline again."""
    with inbound.raw.open("rb") as handle:
        raw = handle.read()
    try:
        parsed = scrub(parse_message(raw))
    except Unparseable as exc:
        return _quarantine(inbound, f"unparseable: {exc}")
    InboundMessage.objects.filter(pk=inbound.pk).update(status=InboundStatus.RECEIVED)
    inbound.refresh_from_db()
    return run(inbound, parsed, raw)


# --- keeping the raw bytes, dedupe ---------------------------------------------------------


def _body_bytes(raw: bytes) -> bytes:
    """The bytes after the header block, line ends and trailing blanks made alike: what two
    deliveries of one message share even when their transport headers differ."""
    normal = raw.replace(b"\r\n", b"\n")
    _head, _sep, body = normal.partition(b"\n\n")
    return body.rstrip()


def _dedupe_key(raw: bytes, parsed: ParsedMessage | None) -> str:
    """The same message delivered twice (an IMAP retry, a second attempt by the sending server,
    the same mail through two mailboxes) has one key. A Message-ID alone is not enough: anyone
    can reuse one (it is in every reply's References), and a stranger sending it first would
    silence the real mail. So the key is the Message-ID together with the sender and the body,
    which a stranger cannot know before the real mail arrives."""
    if parsed is not None and parsed.message_id:
        digest = hashlib.sha256()
        for piece in (parsed.message_id.encode(), normalize_email(parsed.sender.email).encode()):
            digest.update(piece + b"\0")
        digest.update(_body_bytes(raw))
        return "mid:" + digest.hexdigest()
    return "sha256:" + hashlib.sha256(raw).hexdigest()


def _keep(raw: bytes, source: str, parsed: ParsedMessage | None) -> tuple[InboundMessage, bool]:
    """The raw message, committed on its own before anything else happens. The same message
    twice (same Message-ID, sender and body, or the same bytes when it has no Message-ID) is
    kept once."""
    key = _dedupe_key(raw, parsed)
    existing = InboundMessage.objects.filter(dedupe_key=key).first()
    if existing is not None:
        return existing, False
    inbound = InboundMessage(
        source=source[:100],
        dedupe_key=key,
        rfc_message_id=(parsed.message_id if parsed else "")[:300],
        size=len(raw),
        sender=(parsed.sender.email if parsed else "")[:254],
        subject=(parsed.subject if parsed else "")[:300],
    )
    inbound.raw.save("message.eml", ContentFile(raw), save=False)
    try:
        with transaction.atomic():
            inbound.save()
    except IntegrityError:
        # Delivered twice at the same moment: the other copy won.
        inbound.raw.storage.delete(inbound.raw.name)
        return InboundMessage.objects.get(dedupe_key=key), False
    return inbound, True


def _quarantine(inbound: InboundMessage, error: str) -> Outcome:
    InboundMessage.objects.filter(pk=inbound.pk).update(
        status=InboundStatus.QUARANTINED,
        reason="error",
        error=error[:20000],
        keep=True,
        processed_at=timezone.now(),
    )
    inbound.refresh_from_db()
    _alert_admins(inbound)
    return _outcome(inbound)


def _alert_admins(inbound: InboundMessage) -> None:
    for admin in User.objects.filter(role=Role.ADMIN, is_active=True).order_by("pk"):
        queue_mail(
            to=admin.email,
            template="mail_quarantined",
            context={
                "sender": inbound.sender,
                "subject": inbound.subject,
                "reason": inbound.error.strip().splitlines()[-1][:300] if inbound.error else "",
                "link": f"{settings.BASE_URL}/admin/mail/inboundmessage/{inbound.pk}/change/",
            },
            language=admin.language,
            time_zone=admin.time_zone,
        )


def _outcome(inbound: InboundMessage, *, duplicate: bool = False) -> Outcome:
    number = None
    if inbound.ticket_id is not None:
        number = Ticket.objects.filter(pk=inbound.ticket_id).values_list("number", flat=True)[0]
    return Outcome(
        status=inbound.status,
        reason=inbound.reason,
        ticket_number=number,
        inbound_id=inbound.pk,
        duplicate=duplicate,
    )


# --- the steps -------------------------------------------------------------------------------


Routed = tuple[str, str, Ticket | None, Message | None]


def _route(
    inbound: InboundMessage,
    parsed: ParsedMessage,
    raw: bytes,
    department: Department | None,
) -> Routed:
    # Read only as far as the parser read: all 10,000 parts of a mail cost 30 s here.
    bounce = guards.bounce_info(parsed, cap_parts(raw, settings.DESTEK_MAIL_MAX_PARTS)[0])
    if bounce is not None:
        _mark_failing(bounce, raw)
        return InboundStatus.IGNORED, "bounce", None, None
    # Our own Message-IDs are recognised by their form, not by the domain alone: people at
    # the support address's domain (agents, colleagues) have mail clients that use it too.
    reasons = guards.automatic_reasons(
        parsed, own_addresses=_own_addresses(), own_message_id_domain=""
    )
    if tokens.is_ours(parsed.message_id):
        reasons.insert(0, "own-message")
    silent = [reason for reason in reasons if reason in SILENT]
    if silent:
        return InboundStatus.IGNORED, silent[0], None, None
    automatic = bool(reasons)
    sender = normalize_email(parsed.sender.email)
    if not sender or "@" not in sender:
        return InboundStatus.IGNORED, "no-sender", None, None
    if _over_sender_cap(sender, inbound):
        return InboundStatus.IGNORED, "sender-cap", None, None

    ids = [*parsed.in_reply_to, *parsed.references]
    token = tokens.from_ids(ids, sender)
    account = User.objects.filter(email=sender).first()
    if account is not None and account.is_agent:
        if automatic:  # an agent's out-of-office is never an answer to the customer
            return InboundStatus.IGNORED, "agent-automatic", None, None
        return _agent_mail(account, token, parsed, inbound)

    # A person writing from an address proves it receives mail again.
    FailingAddress.objects.filter(email=sender).delete()
    customer, registered = _customer_for(sender, parsed)
    if customer is None:
        return InboundStatus.IGNORED, "inactive-sender", None, None
    # What our mail server said about the sender (SPF, DKIM, DMARC): mail not proven to come
    # from its From: is never added to a thread as the customer without their confirmation.
    found = authres.verdict(raw, sender)
    InboundMessage.objects.filter(pk=inbound.pk).update(authentication=found.value)
    unverified = authres.unverified(found)
    stored, refused = _store_parts(customer, parsed.parts)
    if refused or parsed.capped or len(parsed.parts) > MAX_FILES:
        InboundMessage.objects.filter(pk=inbound.pk).update(keep=True)
    ticket = _thread(parsed, token, customer)
    language = customer.language
    body = _body(parsed, language)
    with answering(
        parsed.message_id,
        automatic_from=sender if automatic else "",
        unverified_for=_addresses_of(customer, sender) if unverified else (),
    ):
        try:
            if ticket is not None and authres.needs_confirmation(found):
                return _hold(ticket, customer, sender, parsed, body, stored, registered)
            message = _file(ticket, customer, parsed, body, stored, department, registered)
        except ActionRefused as refusal:
            # The stored files stay unattached; the daily purge removes them with their files.
            if not automatic:
                _answer_refusal(sender, customer, parsed, refusal)
            return InboundStatus.IGNORED, refusal.code[:64], None, None
        Message.objects.filter(pk=message.pk).update(
            quoted=parsed.quoted,
            email_from="" if registered else sender,
            verification=Verification.UNVERIFIED if unverified else Verification.NONE,
        )
        if refused and not automatic:
            _answer_refused_files(
                sender, customer, message.ticket, refused, f"{parsed.subject}\n{parsed.text}"
            )
        if parsed.capped and not automatic:
            _answer_parts_skipped(
                sender, customer, message.ticket, f"{parsed.subject}\n{parsed.text}"
            )
    return InboundStatus.STORED, "", message.ticket, message


def _addresses_of(customer: User, sender: str) -> set[str]:
    """Where automatic answers about this customer's mail may go: every one of them counts
    against the tighter cap when the mail was not authenticated."""
    verified = ContactAddress.objects.filter(user=customer, verified_at__isnull=False)
    return {sender, customer.email, *verified.values_list("email", flat=True)}


def _hold(
    ticket: Ticket,
    customer: User,
    sender: str,
    parsed: ParsedMessage,
    body: str,
    stored: list[Attachment],
    registered: bool,
) -> Routed:
    """Mail in the customer's name that their provider did not vouch for: kept on the ticket
    for agents, hidden from the customer, and the address it claims is asked to confirm it."""
    message = ticket_actions.hold_message(ticket, author=customer, body=body, attachments=stored)
    Message.objects.filter(pk=message.pk).update(
        quoted=parsed.quoted, email_from="" if registered else sender
    )
    queue_mail(
        to=sender,
        template="mail_confirm",
        context={
            "number": f"#{message.ticket.number}",
            "subject": parsed.subject or message.ticket.subject,
            "address": sender,
            "link": settings.BASE_URL
            + reverse("portal:confirm_mail", args=[tokens.confirm_token(message.pk)]),
            "days": settings.DESTEK_MAIL_CONFIRM_DAYS,
        },
        language=choose_language(f"{parsed.subject}\n{parsed.text}", account=customer.language),
        time_zone=customer.time_zone,
        calendar=customer.calendar,
        thread=Thread.of(message.ticket),
        auto_submitted=AutoSubmitted.REPLIED,
    )
    return InboundStatus.STORED, "held-unverified", message.ticket, message


def held_message(token: str) -> Message | None:
    """The held (or already confirmed) message a confirmation link names, while it is good."""
    pk = tokens.held_message_of(token)
    if pk is None:
        return None
    return (
        Message.objects.filter(
            pk=pk,
            author_kind=AuthorKind.CUSTOMER,
            author__is_active=True,
            verification__in=[Verification.PENDING, Verification.CONFIRMED],
        )
        .select_related("ticket", "author")
        .first()
    )


def confirm_held_mail(token: str) -> Message:
    """The customer confirms, from the link we mailed to the address, that they sent a held
    message: it becomes their message and changes what their reply would have changed. After
    the reopen window a new ticket, linked to the old one, carries their words."""
    message = held_message(token)
    if message is None or message.author is None:
        raise ActionRefused(
            "invalid_link",
            _("This link is invalid or has expired. If you sent the message, send it again."),
            status=404,
        )
    try:
        return ticket_actions.confirm_held_message(message)
    except ActionRefused as refusal:
        if refusal.code != "reopen_window_expired":
            raise
    return _confirm_as_follow_up(message, message.author)


@transaction.atomic
def _confirm_as_follow_up(message: Message, customer: User) -> Message:
    held = Message.objects.select_for_update().get(pk=message.pk)
    if held.verification != Verification.PENDING:
        return held
    Message.objects.filter(pk=held.pk).update(verification=Verification.CONFIRMED)
    old = message.ticket
    created = ticket_actions.create_ticket(
        customer=customer,
        subject=old.subject,
        body=held.body,
        channel=Channel.EMAIL,
        department=old.department,
        language=old.language or customer.language,
        related_to=old,
    )
    return created.messages.earliest("id")


def _file(
    ticket: Ticket | None,
    customer: User,
    parsed: ParsedMessage,
    body: str,
    stored: list[Attachment],
    department: Department | None,
    registered: bool,
) -> Message:
    """Add to the ticket the mail continues, or file a new one."""
    if ticket is None:
        created = _new_ticket(customer, parsed, body, stored, department, registered)
        return created.messages.earliest("id")
    try:
        return ticket_actions.add_message(
            ticket, author=customer, body=body, channel=Channel.EMAIL, attachments=stored
        )
    except ActionRefused as refusal:
        if refusal.code != "reopen_window_expired":
            raise
    # Too late to reopen: a new ticket, linked to the old one.
    created = _new_ticket(customer, parsed, body, stored, department, registered, related_to=ticket)
    return created.messages.earliest("id")


def _own_addresses() -> set[str]:
    own = {normalize_email(settings.DESTEK_SUPPORT_ADDRESS)}
    own.add(normalize_email(email.utils.parseaddr(settings.DEFAULT_FROM_EMAIL)[1]))
    own |= {
        normalize_email(address)
        for address in Department.objects.exclude(email="").values_list("email", flat=True)
    }
    own |= {
        normalize_email(name)
        for name in MailAccount.objects.values_list("username", flat=True)
        if "@" in name
    }
    return own


def _returned_to(raw: bytes) -> set[str]:
    """The addresses the mails quoted in a bounce were sent to, by their Message-IDs: a bounce
    counts only for an address we really mailed, proven by a Message-ID nobody else knows."""
    domain = re.escape(settings.DESTEK_SUPPORT_ADDRESS.rsplit("@", 1)[-1].lower().encode())
    found = re.findall(
        rb"destek\.[0-9a-f]{16}(?:\.t\d{1,15}\.[0-9a-f]{20})?@" + domain, raw, re.IGNORECASE
    )
    ids = {f"<{value.decode().lower()}>" for value in found[:200]}
    if not ids:
        return set()
    return {
        normalize_email(recipient)
        for recipient in Delivery.objects.filter(message_id__in=ids).values_list(
            "recipient", flat=True
        )
    }


def _mark_failing(bounce: guards.Bounce, raw: bytes) -> None:
    """Anyone can send a delivery report naming any address; marking a stranger's address
    failing would stop their password resets and security mail. So only addresses the
    report proves we mailed are marked."""
    now = timezone.now()
    ours = _returned_to(raw)
    for address in bounce.recipients:
        email = normalize_email(address)
        if not email or "@" not in email or email not in ours:
            continue
        failing, _created = FailingAddress.objects.get_or_create(
            email=email, defaults={"first_failed_at": now}
        )
        failing.bounces += 1
        failing.permanent = failing.permanent or bounce.permanent
        failing.status = bounce.status[:20]
        failing.diagnostic = bounce.diagnostic[:2000]
        failing.last_failed_at = now
        failing.save()


def _over_sender_cap(sender: str, inbound: InboundMessage) -> bool:
    since = timezone.now() - timedelta(hours=1)
    recent = (
        InboundMessage.objects.filter(sender=sender, received_at__gte=since)
        .exclude(pk=inbound.pk)
        .filter(status=InboundStatus.STORED)
        .count()
    )
    return recent >= settings.DESTEK_MAIL_PER_SENDER_PER_HOUR


def _customer_for(sender: str, parsed: ParsedMessage) -> tuple[User | None, bool]:
    """The customer a sender is, and whether this is the account's registered address.

    A registered account by its address, or the account a verified contact address belongs
    to; an unknown address becomes a customer who has not verified it (they can claim the
    account later by signing up or resetting the password).
    """
    account = User.objects.filter(email=sender).first()
    if account is not None:
        return (account if account.is_active else None), True
    contact = (
        ContactAddress.objects.filter(email=sender, verified_at__isnull=False)
        .select_related("user")
        .first()
    )
    if contact is not None:
        return (contact.user if contact.user.is_active else None), False
    text = f"{parsed.subject}\n{parsed.text}"
    customer = User(
        email=sender,
        full_name=" ".join(parsed.sender.name.split())[:200],
        role=Role.CUSTOMER,
        language=guess_language(text),
        email_verified_at=None,
    )
    customer.set_unusable_password()
    try:
        with transaction.atomic():
            customer.save()
    except IntegrityError:
        customer = User.objects.get(email=sender)
    return customer, True


def _thread(parsed: ParsedMessage, token: tokens.Token | None, customer: User) -> Ticket | None:
    """The ticket this message continues, if its sender takes part in it.

    Our signed token first, then a signed plus-address, then In-Reply-To and References (our
    mails' Message-IDs, the customer's earlier mails), then `[#123456]` in the subject. Only
    the ticket's customer may add to it: anyone else starts a ticket of their own.
    """
    candidates: list[int] = []
    if token is not None:
        candidates.append(token.ticket_number)
    recipients = [a.email for a in (*parsed.to, *parsed.cc)] + list(parsed.delivered_to)
    plus = tokens.from_plus_address(recipients)
    if plus is not None:
        candidates.append(plus)
    ids = [*parsed.in_reply_to, *parsed.references]
    root = tokens.from_root(ids)
    if root is not None:
        candidates.append(root)
    for ticket_id in _tickets_of_ids(ids):
        number = Ticket.objects.filter(pk=ticket_id).values_list("number", flat=True).first()
        if number is not None:
            candidates.append(number)
    subject_number = tokens.from_subject(parsed.subject)
    if subject_number is not None:
        candidates.append(subject_number)
    for number in candidates:
        ticket = Ticket.objects.filter(number=number).select_related("customer").first()
        if ticket is not None and ticket.customer_id == customer.pk:
            return ticket
    return None


def _tickets_of_ids(ids: list[str]) -> list[int]:
    if not ids:
        return []
    wrapped = [f"<{value}>" for value in ids[:50]]
    ours = list(
        Delivery.objects.filter(message_id__in=wrapped, ticket__isnull=False)
        .order_by("-pk")
        .values_list("ticket_id", flat=True)
    )
    theirs = list(
        InboundMessage.objects.filter(rfc_message_id__in=ids[:50], ticket__isnull=False)
        .order_by("-pk")
        .values_list("ticket_id", flat=True)
    )
    return [*ours, *theirs]


def _body(parsed: ParsedMessage, language: str) -> str:
    text = parsed.text.strip()
    if text:
        return text
    with translation.override(language):
        if parsed.parts:
            return _("(The message had no text, only attachments.)")
        return _("(The message had no text.)")


def _subject(parsed: ParsedMessage, body: str) -> str:
    subject = " ".join(parsed.subject.split())
    if subject:
        return subject[:250]
    first = next((line.strip() for line in body.splitlines() if line.strip()), "")
    return first[:80] or "—"


def _new_ticket(
    customer: User,
    parsed: ParsedMessage,
    body: str,
    stored: list[Attachment],
    department: Department | None,
    registered: bool,
    *,
    related_to: Ticket | None = None,
) -> Ticket:
    return ticket_actions.create_ticket(
        customer=customer,
        subject=_subject(parsed, body),
        body=body,
        channel=Channel.EMAIL,
        department=department,
        # No language: the mail's own words when clear, else the account's (one rule).
        related_to=related_to,
        attachments=stored,
        # Mail from a verified contact address is answered there.
        notify_address="" if registered else normalize_email(parsed.sender.email),
    )


def _agent_mail(
    agent: User, token: tokens.Token | None, parsed: ParsedMessage, inbound: InboundMessage
) -> Routed:
    """An agent answers a notification by mail: only with the token we signed for that very
    address does it post, as a reply or, after the note marker, as an internal note."""
    if token is None or not token.for_sender:
        return InboundStatus.IGNORED, "agent-without-token", None, None
    try:
        ticket = access_ticket(agent, token.ticket_number)
    except Ticket.DoesNotExist:
        return InboundStatus.IGNORED, "agent-not-allowed", None, None
    text = parsed.text.strip()
    marker = settings.DESTEK_MAIL_NOTE_MARKER
    internal = bool(marker) and text.lower().startswith(marker.lower())
    if internal:
        text = text[len(marker) :].strip()
    stored, _refused = _store_parts(agent, parsed.parts)
    try:
        message = ticket_actions.add_message(
            ticket,
            author=agent,
            body=text or _body(parsed, agent.language),
            internal=internal,
            channel=Channel.EMAIL,
            attachments=stored,
        )
    except ActionRefused as refusal:
        return InboundStatus.IGNORED, refusal.code[:64], None, None
    Message.objects.filter(pk=message.pk).update(quoted=parsed.quoted)
    return InboundStatus.STORED, "", message.ticket, message


# --- attachments -----------------------------------------------------------------------------


#: Files attached from one mail at most.
MAX_FILES = 100


def _store_parts(user: User, parts: tuple[Part, ...]) -> tuple[list[Attachment], list[Part]]:
    """Each file through the one upload action; files over the limit are refused (the ticket is
    still filed, and the sender is told which)."""
    stored: list[Attachment] = []
    refused: list[Part] = []
    if len(parts) > MAX_FILES:
        # Thousands of tiny parts would be thousands of files; the raw message keeps them all.
        log.warning("%d parts in one mail: only the first %d are attached", len(parts), MAX_FILES)
        parts = parts[:MAX_FILES]
    for part in parts:
        upload = SimpleUploadedFile(
            part.filename or "attachment",
            part.payload,
            content_type=part.content_type or "application/octet-stream",
        )
        try:
            stored.append(ticket_actions.store_upload(user, upload))
        except ActionRefused as refusal:
            if refusal.code == "storage_unavailable":
                # A full disk is not the sender's fault: the adapter tries again later.
                raise TemporaryFailure("no room to store the attachments") from refusal
            refused.append(part)
    return stored, refused


# --- automatic answers -----------------------------------------------------------------------


def _answer_refusal(
    sender: str, customer: User, parsed: ParsedMessage, refusal: ActionRefused
) -> None:
    # The customer's own words decide when they are clear; "Salam" alone is not, and then
    # the account's language answers (a new sender's account has the guess from their mail).
    language = choose_language(f"{parsed.subject}\n{parsed.text}", account=customer.language)
    with translation.override(language):
        why = str(refusal.detail)
    queue_mail(
        to=sender,
        template="mail_refused",
        context={"subject": parsed.subject, "why": why},
        language=language,
        time_zone=customer.time_zone,
        auto_submitted=AutoSubmitted.REPLIED,
    )


def _answer_refused_files(
    sender: str, customer: User, ticket: Ticket, parts: list[Part], text: str
) -> None:
    queue_mail(
        to=sender,
        template="mail_files_refused",
        context={
            "number": f"#{ticket.number}",
            "files": [part.filename or "attachment" for part in parts],
            "mb": settings.DESTEK_MAX_ATTACHMENT_MB,
            "link": portal_link(ticket),
        },
        language=choose_language(text, account=customer.language),
        time_zone=customer.time_zone,
        thread=Thread.of(ticket),
        auto_submitted=AutoSubmitted.REPLIED,
    )


def _answer_parts_skipped(sender: str, customer: User, ticket: Ticket, text: str) -> None:
    """More parts (or deeper nesting) than the parser reads: the ticket has what came before
    the cap, the raw message keeps everything, and the sender hears what was not read."""
    queue_mail(
        to=sender,
        template="mail_parts_skipped",
        context={
            "number": f"#{ticket.number}",
            "max_parts": settings.DESTEK_MAIL_MAX_PARTS,
            "max_depth": settings.DESTEK_MAIL_MAX_DEPTH,
            "link": portal_link(ticket),
        },
        # The same language as the other answers to this mail: its text's, else the account's.
        language=choose_language(text, account=customer.language),
        time_zone=customer.time_zone,
        calendar=customer.calendar,
        thread=Thread.of(ticket),
        auto_submitted=AutoSubmitted.REPLIED,
    )
