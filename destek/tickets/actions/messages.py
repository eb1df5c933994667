"""Every state change of a ticket. Each action runs in one transaction: it writes the ticket,
the message, the audit event and the outbox rows together; jobs run after commit.

Views, the API, e-mail, chat and Telegram all call these; none of them writes a ticket itself.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone, translation
from django.utils.translation import get_language, ngettext
from django.utils.translation import gettext_lazy as _

from destek.accounts.models import User
from destek.lib.dates import format_number
from destek.lib.errors import ActionRefused
from destek.lib.language import choose_language
from destek.lib.text import clean_filename, strip_invisible
from destek.sla import clocks
from destek.tickets import details as ticket_details
from destek.tickets import intake, notifications
from destek.tickets.access import customer_visible_messages
from destek.tickets.choices import (
    ACTIVE_STATUSES,
    ActorKind,
    AuthorKind,
    Channel,
    CloseReason,
    EventKind,
    IntakeRuleCode,
    Priority,
    TicketStatus,
    Verification,
    priority_rank,
)
from destek.tickets.models import (
    Attachment,
    Department,
    IntakeRule,
    Message,
    Tag,
    Ticket,
    TicketEvent,
)
from destek.tickets.routing import route

log = logging.getLogger(__name__)

SUBJECT_MAX = 250
#: After answering a nudge, further nudges within this time get no second automatic answer.
NUDGE_QUIET = timedelta(hours=1)
DUPLICATE_THRESHOLD = 0.9
BODY_MAX = 100_000
#: Critical incidents one customer may declare in `CRITICAL_WINDOW` when the admin set no
#: limit on the intake rule "critical".
CRITICAL_LIMIT_DEFAULT = 3
CRITICAL_WINDOW = timedelta(days=30)
REASON_MAX = 500


@dataclass(frozen=True)
class Actor:
    """Who or what makes a change: a person, or the timer and rules acting on their own."""

    kind: str
    user: User | None = None

    @classmethod
    def of(cls, user: User) -> Actor:
        return cls(ActorKind.CUSTOMER if user.is_customer else ActorKind.AGENT, user)


TIMER = Actor(ActorKind.TIMER)


def _save(ticket: Ticket) -> None:
    """Every save of a changed ticket recomputes its service-level clocks first."""
    clocks.refresh(ticket)
    ticket.save()


def _event(
    ticket: Ticket,
    actor: Actor,
    kind: str,
    *,
    from_value: Any = "",
    to_value: Any = "",
    public: bool = True,
    **data: Any,
) -> TicketEvent:
    return TicketEvent.objects.create(
        ticket=ticket,
        kind=kind,
        actor_kind=actor.kind,
        actor=actor.user,
        from_value=str(from_value or "")[:250],
        to_value=str(to_value or "")[:250],
        public=public,
        data=data,
    )


def check_notify_address(customer: User, address: str) -> str:
    """Ticket mail may go only to an address the customer proved is theirs."""
    from destek.accounts.actions import verified_addresses

    address = (address or "").strip().lower()
    if address and address not in verified_addresses(customer):
        raise ActionRefused(
            "unverified_address",
            _("Verify this address first: add it to your account and enter the code we send."),
        )
    return address


def rule_enabled(code: str) -> bool:
    """Intake rules are on unless an admin switched one off."""
    return code not in disabled_rules()


def disabled_rules() -> set[str]:
    return set(IntakeRule.objects.filter(enabled=False).values_list("code", flat=True))


def _own(ticket: Ticket, customer: User) -> None:
    """Colleagues may read a shared ticket; only the customer who filed it changes it."""
    if ticket.customer_id != customer.pk:
        raise ActionRefused(
            "not_your_ticket",
            _("Only the customer who filed this ticket can change it."),
            status=403,
        )


def _clean_text(value: str, *, field: str, maximum: int) -> str:
    text = strip_invisible(value or "").strip()
    if not text:
        raise ActionRefused(
            f"{field}_required", _("This field is required: {field}.").format(field=field)
        )
    if len(text) > maximum:
        raise ActionRefused(
            f"{field}_too_long",
            _("{field} is too long: at most {maximum} characters.").format(
                field=field, maximum=maximum
            ),
        )
    return text


def _clean_subject(subject: str) -> str:
    # A subject is one line: newlines would break list views and mail headers.
    return " ".join(_clean_text(subject, field="subject", maximum=SUBJECT_MAX).split())


# --- intake ---------------------------------------------------------------------------------


def check_intake(customer: User, subject: str, body: str) -> None:
    """Refuse tickets that cannot be worked, saying why in the caller's language."""
    disabled = disabled_rules()
    if IntakeRuleCode.GENERIC_SUBJECT not in disabled and intake.is_generic_subject(subject):
        raise ActionRefused(
            "generic_subject",
            _(
                "The subject says nothing about the problem. Please describe it in a few "
                "words, for example “Payment failed for order 12345”."
            ),
        )
    if IntakeRuleCode.SHOUTING_SUBJECT not in disabled and intake.is_shouting(subject):
        raise ActionRefused(
            "shouting_subject",
            _("Please write the subject without runs of question or exclamation marks."),
        )
    if IntakeRuleCode.DUPLICATE not in disabled:
        duplicate = find_duplicate(customer, subject, body)
        if duplicate is not None:
            raise ActionRefused(
                "duplicate",
                _(
                    "You already have an open ticket about this: #{number}. Please add to it "
                    "instead of filing a new one."
                ).format(number=duplicate.number),
                status=422,
                ticket=duplicate.number,
            )


def find_duplicate(customer: User, subject: str, body: str) -> Ticket | None:
    """The customer's open ticket from the last day with (nearly) this subject and body.

    Subjects are compared first, on rows without bodies; only the few whose subject matches
    have their first message read.
    """
    since = timezone.now() - timedelta(hours=settings.DESTEK_DUPLICATE_WINDOW_HOURS)
    recent = Ticket.objects.filter(
        customer=customer, status__in=ACTIVE_STATUSES, created_at__gte=since
    ).order_by("-id")
    candidates = [
        t
        for t in recent.only("id", "number", "subject")[:50]
        if intake.alike(subject, t.subject, threshold=DUPLICATE_THRESHOLD)
    ]
    if not candidates:
        return None
    first_bodies: dict[int, str] = {}
    for ticket_id, text in (
        Message.objects.filter(ticket__in=candidates, author_kind=AuthorKind.CUSTOMER)
        .order_by("-id")
        .values_list("ticket_id", "body")
    ):
        first_bodies[ticket_id] = text  # ordered newest first, so the first message wins
    for ticket in candidates:
        if intake.is_near_duplicate(
            subject,
            body,
            ticket.subject,
            first_bodies.get(ticket.pk, ""),
            threshold=DUPLICATE_THRESHOLD,
        ):
            return ticket
    return None


# --- uploads --------------------------------------------------------------------------------


def check_upload_size(size: int | None) -> None:
    limit = settings.DESTEK_MAX_ATTACHMENT_MB * 1024 * 1024
    if size is None or size > limit:
        raise ActionRefused(
            "attachment_too_large",
            _("The file is larger than {mb} MB.").format(mb=settings.DESTEK_MAX_ATTACHMENT_MB),
            status=413,
        )


def upload_digest(upload: Any) -> str:
    """SHA-256 of an uploaded file, read in chunks; the file is rewound for whoever is next."""
    check_upload_size(upload.size)  # before reading a byte of an oversized file
    digest = hashlib.sha256()
    for chunk in upload.chunks():
        digest.update(chunk)
    upload.seek(0)
    return digest.hexdigest()


@transaction.atomic
def store_upload(user: User, upload: Any, *, sha256: str | None = None) -> Attachment:
    """Keep an uploaded file under a generated name until a ticket or message claims it.

    The size limit holds here, at the one door every channel passes through.
    """
    check_upload_size(upload.size)
    sha256 = sha256 or upload_digest(upload)
    attachment = Attachment(
        uploaded_by=user,
        filename=clean_filename(upload.name or "file"),
        content_type=(upload.content_type or "application/octet-stream")[:100],
        size=upload.size,
        sha256=sha256,
    )
    try:
        attachment.file.save(attachment.filename, upload, save=False)
    except OSError as exc:
        # A full disk or a storage fault: the storage left nothing behind (lib/storage.py).
        log.error("an upload could not be stored: %s", exc)
        raise ActionRefused(
            "storage_unavailable",
            _(
                "The file could not be saved: the server has no room for it right now. "
                "Please try again later."
            ),
            status=507,
            field="attachments",
        ) from exc
    stored = attachment.file.name
    try:
        attachment.save()
    except Exception:
        attachment.file.storage.delete(stored)
        raise
    return attachment


# --- creating -------------------------------------------------------------------------------


def _save_with_number(ticket: Ticket) -> None:
    """Random numbers collide now and then; a savepoint lets us retry inside the transaction."""
    for attempt in range(10):
        try:
            with transaction.atomic():
                ticket.save()  # the clocks are set once the ticket has its message and events
            return
        except IntegrityError:
            if attempt == 9 or Ticket.objects.filter(number=ticket.number).count() == 0:
                raise
            from destek.tickets.models import new_ticket_number

            ticket.number = new_ticket_number()


def _attach(attachments: Sequence[Attachment], ticket: Ticket, message: Message) -> None:
    ids = {a.pk for a in attachments}
    if not ids:
        return
    claimed = Attachment.objects.filter(pk__in=ids, message__isnull=True).update(
        ticket=ticket, message=message
    )
    if claimed != len(ids):  # another message took one first, or it was purged
        raise ActionRefused(
            "attachment_not_found", _("An attachment was not found or is already used.")
        )


@transaction.atomic
def create_ticket(
    *,
    customer: User,
    subject: str,
    body: str,
    channel: str,
    department: Department | None = None,
    urgency: str = Priority.NORMAL,
    language: str | None = None,
    related_to: Ticket | None = None,
    attachments: Sequence[Attachment] = (),
    filed_by: User | None = None,
    notify_customer: bool = True,
    notify_address: str = "",
    details: Mapping[str, Any] | None = None,
) -> Ticket:
    """File a ticket for `customer` (by the customer, or by an agent for a phone call).

    `language` is the ticket's language when the caller knows it; without it, the one rule of
    `destek.lib.language.choose_language` picks it from the text, the account and the page.
    `details` are the diagnostic fields of `tickets.details`. A form that collects them (the
    portal, or an API client sending `details`) must give, for critical urgency, the server or
    order and the service; a client that sends no details at all is not asked for them.
    """
    if not customer.is_customer:
        raise ActionRefused("not_a_customer", _("Tickets are filed for customers."))
    subject = _clean_subject(subject)
    body = _clean_text(body, field="body", maximum=BODY_MAX)
    cleaned_details = ticket_details.clean_details(details or {})
    # A customer's critical urgency counts as a declared incident only with the facts, from
    # a form that collects them; an agent filing for a caller sets the priority themselves.
    declared = details is not None and urgency == Priority.CRITICAL
    if declared:
        ticket_details.check_critical(cleaned_details)
    declared = declared and filed_by is None
    # One customer's tickets are filed one at a time, so two identical requests racing on
    # PostgreSQL cannot both pass the duplicate check (SQLite serialises writers anyway).
    User.objects.select_for_update().filter(pk=customer.pk).first()
    if filed_by is None:
        check_intake(customer, subject, body)
    if department is None:
        department = Department.objects.order_by("position", "pk").first()
        if department is None:
            raise ActionRefused("no_department", _("No department accepts tickets yet."))
    if related_to is not None and related_to.customer_id != customer.pk:
        raise Ticket.DoesNotExist
    notify_address = check_notify_address(customer, notify_address)
    declined = _critical_declined(customer) if declared else ""
    routing = route(
        subject=subject,
        body=body,
        department=department,
        tier=customer.tier,
        channel=channel,
        urgency=urgency,
        declared_critical=declared and not declined,
    )
    # Given by the caller (an agent filing for a caller), else the customer's own words when
    # they are clear, else their account's language, else the page's.
    ticket_language = language or choose_language(
        f"{subject}\n{body}", account=customer.language, page=get_language()
    )
    now = timezone.now()
    ticket = Ticket(
        subject=subject,
        department=routing.department,
        priority=routing.priority,
        policy_priority=routing.priority,
        urgency=urgency,
        channel=channel,
        customer=customer,
        assignee=routing.assignee,
        language=ticket_language,
        related_to=related_to,
        notify_customer=notify_customer,
        notify_address=notify_address,
        details=cleaned_details,
        declared_critical=declared and not declined,
        created_at=now,
        updated_at=now,
        status_changed_at=now,
        last_customer_message_at=now,
    )
    _save_with_number(ticket)
    message = Message.objects.create(
        ticket=ticket,
        author=customer,
        author_kind=AuthorKind.CUSTOMER,
        body=body,
        channel=channel,
        created_at=now,
    )
    _attach(attachments, ticket, message)
    if routing.tags:
        ticket.tags.set([Tag.objects.get_or_create(name=name[:50])[0] for name in routing.tags])
    actor = Actor(ActorKind.AGENT, filed_by) if filed_by else Actor.of(customer)
    _event(
        ticket,
        actor,
        EventKind.CREATED,
        to_value=TicketStatus.NEW,
        channel=channel,
        related_to=related_to.number if related_to else None,
    )
    for rule_name, field, old, new in routing.changes:
        _event(
            ticket,
            Actor(ActorKind.RULE),
            field,
            from_value=old,
            to_value=new,
            public=False,
            rule=rule_name,
        )
    if declined:
        _event(
            ticket,
            Actor(ActorKind.SYSTEM),
            EventKind.PRIORITY,
            from_value=Priority.CRITICAL,
            to_value=ticket.priority,
            public=True,
            critical_declined=declined,
        )
        Message.objects.create(
            ticket=ticket,
            author=None,
            author_kind=AuthorKind.SYSTEM,
            body=_critical_declined_text(ticket, declined),
            channel=channel,
            created_at=now,
        )
    _save(ticket)
    notifications.ticket_created(ticket, message)
    return ticket


def critical_limit() -> int | None:
    """How many critical incidents one customer may declare in 30 days; None when the admin
    switched declarations off (the intake rule "critical")."""
    rule = IntakeRule.objects.filter(code=IntakeRuleCode.CRITICAL).first()
    if rule is None:
        return CRITICAL_LIMIT_DEFAULT
    if not rule.enabled or rule.limit == 0:
        return None
    return CRITICAL_LIMIT_DEFAULT if rule.limit is None else rule.limit


def _critical_declined(customer: User) -> str:
    """Why a declaration with the facts is filed as high instead: "off", "limit" or ""."""
    limit = critical_limit()
    if limit is None:
        return "off"
    since = timezone.now() - CRITICAL_WINDOW
    declared = Ticket.objects.filter(
        customer=customer, declared_critical=True, created_at__gte=since
    ).count()
    return "limit" if declared >= limit else ""


def _critical_declined_text(ticket: Ticket, declined: str) -> str:
    """The note on the ticket telling the customer why it is not critical, in its language."""
    with translation.override(ticket.language):
        if declined == "off":
            return str(
                _(
                    "This site does not accept critical incidents declared in the customer "
                    "area, so your ticket was filed with high priority. If the problem is "
                    "critical, reply here and an agent can raise it."
                )
            )
        limit = critical_limit() or 0
        return ngettext(
            "You have already declared {limit} critical incident in the last 30 days, the "
            "most one customer may declare, so this ticket was filed with high priority. If "
            "the problem is critical, reply here and an agent can raise it.",
            "You have already declared {limit} critical incidents in the last 30 days, the "
            "most one customer may declare, so this ticket was filed with high priority. If "
            "the problem is critical, reply here and an agent can raise it.",
            limit,
        ).format(limit=format_number(limit))


# --- messages -------------------------------------------------------------------------------


def _follow_merges(ticket: Ticket) -> Ticket:
    """Replies to a merged duplicate land in the ticket it was merged into."""
    seen = {ticket.pk}
    while ticket.merged_into_id is not None:
        target = (
            Ticket.objects.select_for_update(of=("self",))
            .select_related("department", "customer", "assignee")
            .get(pk=ticket.merged_into_id)
        )
        if target.pk in seen:  # a cycle cannot be made through merge(), but never loop
            break
        seen.add(target.pk)
        ticket = target
    return ticket


def _lock(ticket: Ticket) -> Ticket:
    return (
        Ticket.objects.select_for_update(of=("self",))
        .select_related("department", "customer", "assignee")
        .get(pk=ticket.pk)
    )


def reopen_deadline(ticket: Ticket) -> Any:
    assert ticket.closed_at is not None
    return ticket.closed_at + timedelta(days=ticket.department.reopen_window_days)


def reopen_open(ticket: Ticket) -> bool:
    """Whether the customer may still reopen this closed ticket."""
    return ticket.closed_at is not None and timezone.now() <= reopen_deadline(ticket)


def _check_reopen_window(ticket: Ticket) -> None:
    if not reopen_open(ticket):
        raise ActionRefused(
            "reopen_window_expired",
            _(
                "Ticket #{number} was closed more than {days} days ago and can no longer be "
                "reopened. Please file a new ticket; it will be linked to this one."
            ).format(number=ticket.number, days=ticket.department.reopen_window_days),
            status=409,
            related_to=ticket.number,
        )


def _set_status(
    ticket: Ticket, actor: Actor, status: str, *, now: Any, close_reason: str = "", clause: str = ""
) -> bool:
    """Move `ticket` to `status` and log it; the caller saves. True when it changed."""
    old = ticket.status
    ticket.status_changed_at = now
    if old == status:
        return False
    ticket.status = status
    if status == TicketStatus.RESOLVED:
        ticket.resolved_at = now
    if status == TicketStatus.CLOSED:
        ticket.closed_at = now
        ticket.close_reason = close_reason
        ticket.contract_clause = clause
    elif old == TicketStatus.CLOSED:
        ticket.closed_at = None
        ticket.close_reason = ""
        ticket.contract_clause = ""
    _event(
        ticket,
        actor,
        EventKind.STATUS,
        from_value=old,
        to_value=status,
        close_reason=close_reason or None,
        contract_clause=clause or None,
    )
    return True


def _reopen(ticket: Ticket, actor: Actor, status: str, *, now: Any) -> None:
    """A closed ticket comes back: logged as a reopening, then as the status change."""
    _event(ticket, actor, EventKind.REOPENED, from_value=TicketStatus.CLOSED, to_value=status)
    _set_status(ticket, actor, status, now=now)


@transaction.atomic
def add_message(
    ticket: Ticket,
    *,
    author: User,
    body: str,
    internal: bool = False,
    status_after: str | None = None,
    channel: str = Channel.API,
    attachments: Sequence[Attachment] = (),
) -> Message:
    """A reply or an internal note. The rules of who may write what, and what it changes:

    - a customer's message on `pending` or `resolved` puts the ticket back to `open`; on
      `closed` it reopens within the reopen window, and is refused after it (409);
    - a customer's message that only asks for news (a nudge) is kept but changes nothing,
      and the customer gets an automatic answer with the expected answer time;
    - an agent's public reply records the first response and sets `status_after`
      (default `pending`); an internal note changes nothing and is never shown to customers.
    """
    ticket = _follow_merges(_lock(ticket))
    body = _clean_text(body, field="body", maximum=BODY_MAX)
    now = timezone.now()
    if author.is_customer:
        _own(ticket, author)
        if internal:
            raise ActionRefused(
                "forbidden", _("Customers cannot write internal notes."), status=403
            )
        return _customer_message(ticket, author, body, channel, attachments, now)
    return _agent_message(ticket, author, body, internal, status_after, channel, attachments, now)


def _customer_message(
    ticket: Ticket,
    author: User,
    body: str,
    channel: str,
    attachments: Sequence[Attachment],
    now: Any,
) -> Message:
    if ticket.status == TicketStatus.CLOSED:
        _check_reopen_window(ticket)
    message = Message.objects.create(
        ticket=ticket,
        author=author,
        author_kind=AuthorKind.CUSTOMER,
        body=body,
        channel=channel,
        nudge=_is_nudge(ticket, body, has_files=bool(attachments)),
        created_at=now,
    )
    _attach(attachments, ticket, message)
    _customer_message_counts(ticket, author, message, now)
    return message


def _is_nudge(ticket: Ticket, body: str, *, has_files: bool) -> bool:
    return (
        ticket.status in (TicketStatus.NEW, TicketStatus.OPEN)
        and not has_files
        and rule_enabled(IntakeRuleCode.NUDGE)
        and intake.is_nudge(body)
    )


def _customer_message_counts(ticket: Ticket, author: User, message: Message, now: Any) -> None:
    """What a customer's message changes: the ticket's status, the clocks, the assignee's
    mail; a nudge changes nothing and gets an automatic answer."""
    actor = Actor.of(author)
    channel = message.channel
    if message.nudge:
        # A nudge does not move the ticket in the queue, wake agents or touch the clocks.
        _event(ticket, actor, EventKind.NUDGE, public=False, message=message.pk)
        answered_recently = Message.objects.filter(
            ticket=ticket, author_kind=AuthorKind.SYSTEM, created_at__gte=now - NUDGE_QUIET
        ).exists()
        if answered_recently:  # one automatic answer an hour is enough to reassure
            return
        # In the language of the nudge when it is clear, else the account's, else the page's.
        language = choose_language(message.body, account=author.language, page=get_language())
        answer = Message.objects.create(
            ticket=ticket,
            author=None,
            author_kind=AuthorKind.SYSTEM,
            body=notifications.nudge_answer_text(ticket, language=language),
            channel=channel,
            created_at=now,
        )
        notifications.nudge_answered(ticket, answer, language=language)
        return
    if ticket.status == TicketStatus.CLOSED:
        _reopen(ticket, actor, TicketStatus.OPEN, now=now)
    elif ticket.status in (TicketStatus.PENDING, TicketStatus.RESOLVED):
        _set_status(ticket, actor, TicketStatus.OPEN, now=now)
    ticket.last_customer_message_at = now
    ticket.updated_at = now
    _save(ticket)
    _event(ticket, actor, EventKind.REPLY, message=message.pk)
    notifications.customer_replied(ticket, message)


@transaction.atomic
def hold_message(
    ticket: Ticket,
    *,
    author: User,
    body: str,
    channel: str = Channel.EMAIL,
    attachments: Sequence[Attachment] = (),
) -> Message:
    """Mail in the customer's name whose sender could not be verified: kept on the ticket for
    agents, with a warning, but not shown to the customer and changing nothing (status, clocks,
    notifications) until the customer confirms it (`confirm_held_message`)."""
    ticket = _follow_merges(_lock(ticket))
    _own(ticket, author)
    body = _clean_text(body, field="body", maximum=BODY_MAX)
    message = Message.objects.create(
        ticket=ticket,
        author=author,
        author_kind=AuthorKind.CUSTOMER,
        body=body,
        channel=channel,
        verification=Verification.PENDING,
        created_at=timezone.now(),
    )
    _attach(attachments, ticket, message)
    _event(ticket, Actor(ActorKind.RULE), EventKind.HELD, public=False, message=message.pk)
    return message


@transaction.atomic
def confirm_held_message(message: Message) -> Message:
    """The customer confirmed a held mail: from now on it is their message, and it changes
    what their reply would have changed. Confirming twice changes nothing more. Raises
    ActionRefused (`reopen_window_expired`) when the ticket was closed too long ago: the
    caller then files the words as a new ticket."""
    ticket = _follow_merges(_lock(message.ticket))
    message = (
        Message.objects.select_for_update(of=("self",)).select_related("author").get(pk=message.pk)
    )
    if message.verification != Verification.PENDING or message.author is None:
        return message
    if ticket.status == TicketStatus.CLOSED:
        _check_reopen_window(ticket)
    now = timezone.now()
    message.verification = Verification.CONFIRMED
    message.nudge = _is_nudge(ticket, message.body, has_files=message.attachments.exists())
    message.save(update_fields=["verification", "nudge"])
    _event(ticket, Actor.of(message.author), EventKind.CONFIRMED, public=False, message=message.pk)
    _customer_message_counts(ticket, message.author, message, now)
    return message


AGENT_REPLY_STATUSES = (TicketStatus.OPEN, TicketStatus.PENDING, TicketStatus.RESOLVED)


def _agent_message(
    ticket: Ticket,
    author: User,
    body: str,
    internal: bool,
    status_after: str | None,
    channel: str,
    attachments: Sequence[Attachment],
    now: Any,
) -> Message:
    from destek.tickets.access import can_work

    if not can_work(author, ticket):
        raise Ticket.DoesNotExist
    actor = Actor.of(author)
    message = Message.objects.create(
        ticket=ticket,
        author=author,
        author_kind=AuthorKind.AGENT,
        body=body,
        internal=internal,
        channel=channel,
        created_at=now,
    )
    _attach(attachments, ticket, message)
    if internal:
        if status_after:
            raise ActionRefused(
                "status_with_note", _("A status is chosen with a public reply, not with a note.")
            )
        _event(ticket, actor, EventKind.NOTE, public=False, message=message.pk)
        ticket.updated_at = now
        ticket.save(update_fields=["updated_at"])
        return message
    if ticket.status == TicketStatus.CLOSED:
        if not status_after:
            raise ActionRefused(
                "ticket_closed",
                _("The ticket is closed. Choose the status it reopens with, or leave a note."),
                status=409,
            )
        _event(
            ticket, actor, EventKind.REOPENED, from_value=TicketStatus.CLOSED, to_value=status_after
        )
    status = status_after or TicketStatus.PENDING
    if status not in AGENT_REPLY_STATUSES:
        raise ActionRefused(
            "invalid_status",
            _("After a reply the ticket can be open, pending or resolved."),
        )
    if ticket.first_response_at is None:
        ticket.first_response_at = now
    ticket.last_agent_message_at = now
    ticket.updated_at = now
    _event(ticket, actor, EventKind.REPLY, message=message.pk)
    _set_status(ticket, actor, status, now=now)
    _save(ticket)
    notifications.agent_replied(ticket, message)
    return message


# --- agents' changes ------------------------------------------------------------------------


def _require_worker(actor: Actor, ticket: Ticket) -> None:
    from destek.tickets.access import can_work

    if actor.user is not None and not can_work(actor.user, ticket):
        raise ActionRefused(
            "forbidden", _("Only agents of the department can do this."), status=403
        )


@transaction.atomic
def change_status(
    ticket: Ticket, *, actor: Actor, status: str, close_reason: str = "", contract_clause: str = ""
) -> Ticket:
    """An agent (or the timer) moves a ticket; closing needs a reason, `contract` a clause."""
    ticket = _lock(ticket)
    _require_worker(actor, ticket)
    if ticket.merged_into_id is not None:
        raise ActionRefused(
            "ticket_merged", _("This ticket was merged into another one."), status=409
        )
    if status not in TicketStatus.values:
        raise ActionRefused("invalid_status", _("Unknown status."))
    if status == TicketStatus.NEW and ticket.status != TicketStatus.NEW:
        raise ActionRefused("invalid_status", _("A ticket cannot go back to new."))
    clause = strip_invisible(contract_clause or "").strip()[:100]
    if status == TicketStatus.CLOSED:
        if close_reason not in CloseReason.values:
            raise ActionRefused("close_reason_required", _("Closing needs a reason."))
        if close_reason == CloseReason.CONTRACT and not clause:
            raise ActionRefused(
                "contract_clause_required",
                _("Closing under the contract needs the clause, for example “9.5”."),
            )
        if close_reason == CloseReason.DUPLICATE:
            raise ActionRefused("use_merge", _("Merge a duplicate into the other ticket."))
        if close_reason == CloseReason.CUSTOMER and actor.kind != ActorKind.CUSTOMER:
            raise ActionRefused(
                "close_reason_not_allowed", _("Only the customer closes a ticket as theirs.")
            )
    elif close_reason or clause:
        raise ActionRefused(
            "close_reason_without_close", _("A close reason is given only when closing.")
        )
    now = timezone.now()
    if ticket.status == TicketStatus.CLOSED and status == TicketStatus.CLOSED:
        raise ActionRefused("already_closed", _("The ticket is already closed."), status=409)
    if _set_status(ticket, actor, status, now=now, close_reason=close_reason, clause=clause):
        ticket.updated_at = now
        _save(ticket)
        notifications.status_changed(ticket)
    return ticket


@transaction.atomic
def close_by_customer(ticket: Ticket, *, customer: User) -> Ticket:
    ticket = _lock(ticket)
    _own(ticket, customer)
    if ticket.status == TicketStatus.CLOSED:
        raise ActionRefused("already_closed", _("The ticket is already closed."), status=409)
    now = timezone.now()
    _set_status(
        ticket, Actor.of(customer), TicketStatus.CLOSED, now=now, close_reason=CloseReason.CUSTOMER
    )
    ticket.updated_at = now
    _save(ticket)
    notifications.status_changed(ticket)
    return ticket


@transaction.atomic
def reopen_by_customer(ticket: Ticket, *, customer: User) -> Ticket:
    ticket = _lock(ticket)
    _own(ticket, customer)
    if ticket.status != TicketStatus.CLOSED:
        raise ActionRefused("not_closed", _("Only a closed ticket can be reopened."), status=409)
    if ticket.merged_into_id is not None:
        target = Ticket.objects.get(pk=ticket.merged_into_id)
        raise ActionRefused(
            "ticket_merged",
            _("This ticket was merged into #{number}; please write there.").format(
                number=target.number
            ),
            status=409,
            merged_into=target.number,
        )
    _check_reopen_window(ticket)
    now = timezone.now()
    _reopen(ticket, Actor.of(customer), TicketStatus.OPEN, now=now)
    ticket.updated_at = now
    _save(ticket)
    return ticket


@transaction.atomic
def change_priority(ticket: Ticket, *, actor: Actor, priority: str, reason: str = "") -> Ticket:
    """Set the priority. Lowering a critical incident the customer declared needs a `reason`:
    it is logged, and the customer sees it on the ticket with the change."""
    ticket = _lock(ticket)
    _require_worker(actor, ticket)
    if priority not in Priority.values:
        raise ActionRefused("invalid_priority", _("Unknown priority."))
    reason = " ".join(strip_invisible(reason or "").split())
    if len(reason) > REASON_MAX:
        raise ActionRefused(
            "priority_reason_too_long",
            _("The reason is too long: at most {maximum} characters.").format(maximum=REASON_MAX),
            field="priority_reason",
        )
    lowering_declared = ticket.declared_critical and priority_rank(priority) < priority_rank(
        ticket.priority
    )
    if lowering_declared and not reason:
        raise ActionRefused(
            "priority_reason_required",
            _(
                "The customer declared this a critical incident: say why you lower its "
                "priority. The customer will see the reason."
            ),
            field="priority_reason",
        )
    if priority != ticket.priority:
        _event(
            ticket,
            actor,
            EventKind.PRIORITY,
            from_value=ticket.priority,
            to_value=priority,
            # The customer declared the priority, so they see its change and why.
            public=ticket.declared_critical,
            **({"reason": reason} if reason else {}),
        )
        if lowering_declared:
            note = Message.objects.create(
                ticket=ticket,
                author=None,
                author_kind=AuthorKind.SYSTEM,
                body=_priority_lowered_text(ticket, priority, reason),
                channel=Channel.WEB,
                created_at=timezone.now(),
            )
            notifications.ticket_note(ticket, note)
        ticket.priority = priority
        ticket.policy_priority = priority
        ticket.updated_at = timezone.now()
        _save(ticket)
    return ticket


def _priority_lowered_text(ticket: Ticket, priority: str, reason: str) -> str:
    with translation.override(ticket.language):
        return str(
            _(
                "We changed the priority of your critical incident to “{priority}”. The "
                "reason: {reason}"
            ).format(priority=Priority(priority).label, reason=reason)
        )


@transaction.atomic
def change_department(ticket: Ticket, *, actor: Actor, department: Department) -> Ticket:
    """Transfer to another department; an assignee who is not in it is released."""
    ticket = _lock(ticket)
    _require_worker(actor, ticket)
    if department.pk == ticket.department_id:
        return ticket
    _event(
        ticket,
        actor,
        EventKind.DEPARTMENT,
        from_value=ticket.department.slug,
        to_value=department.slug,
        public=False,
    )
    ticket.department = department
    if ticket.assignee is not None and not (
        ticket.assignee.is_admin or department.membership_set.filter(user=ticket.assignee).exists()
    ):
        _event(
            ticket,
            actor,
            EventKind.ASSIGNEE,
            from_value=ticket.assignee.email,
            to_value="",
            public=False,
        )
        ticket.assignee = None
    ticket.updated_at = timezone.now()
    _save(ticket)
    return ticket


@transaction.atomic
def assign(ticket: Ticket, *, actor: Actor, assignee: User | None) -> Ticket:
    ticket = _lock(ticket)
    _require_worker(actor, ticket)
    if assignee is not None and not (
        assignee.is_active
        and assignee.is_agent
        and (assignee.is_admin or ticket.department.membership_set.filter(user=assignee).exists())
    ):
        raise ActionRefused(
            "invalid_assignee", _("The assignee must be an agent of the ticket's department.")
        )
    if (assignee.pk if assignee else None) != ticket.assignee_id:
        _event(
            ticket,
            actor,
            EventKind.ASSIGNEE,
            from_value=ticket.assignee.email if ticket.assignee else "",
            to_value=assignee.email if assignee else "",
            public=False,
        )
        ticket.assignee = assignee
        ticket.updated_at = timezone.now()
        _save(ticket)
    return ticket


@transaction.atomic
def mark_seen(ticket: Ticket, *, agent: User) -> None:
    """The first time an agent opens a ticket, the customer sees "Seen, under review"."""
    now = timezone.now()
    if Ticket.objects.filter(pk=ticket.pk, first_seen_at__isnull=True).update(first_seen_at=now):
        ticket.first_seen_at = now
        _event(ticket, Actor.of(agent), EventKind.SEEN)


@transaction.atomic
def set_sms_notifications(ticket: Ticket, *, customer: User, enabled: bool) -> Ticket:
    """Ask for (or stop) an SMS of each agent reply; only to a verified phone number."""
    from destek.notify.sms import sms_enabled

    ticket = _lock(ticket)
    _own(ticket, customer)
    if enabled and not sms_enabled():
        raise ActionRefused(
            "sms_off", _("SMS notices are not available on this site."), field="notify_sms"
        )
    if enabled and not (customer.phone and customer.phone_verified_at):
        raise ActionRefused(
            "phone_not_verified",
            _("Verify your phone number in your profile first."),
            field="notify_sms",
        )
    if ticket.notify_sms == enabled:
        return ticket
    ticket.notify_sms = enabled
    ticket.save(update_fields=["notify_sms"])
    _event(
        ticket,
        Actor.of(customer),
        EventKind.NOTIFY,
        to_value="sms on" if enabled else "sms off",
        public=True,
    )
    return ticket


@transaction.atomic
def set_customer_notifications(
    ticket: Ticket, *, customer: User, enabled: bool, address: str = ""
) -> Ticket:
    ticket = _lock(ticket)
    _own(ticket, customer)
    ticket.notify_customer = enabled
    ticket.notify_address = check_notify_address(customer, address)
    ticket.save(update_fields=["notify_customer", "notify_address"])
    _event(
        ticket,
        Actor.of(customer),
        EventKind.NOTIFY,
        to_value="on" if enabled else "off",
        public=True,
        address=address or None,
    )
    return ticket


def check_merge(source: Ticket, *, into: Ticket, actor: Actor) -> None:
    """Raise the refusal `merge` would give, changing nothing: the desk asks for confirmation
    only of a merge that can be done."""
    if source.pk == into.pk:
        raise ActionRefused("merge_into_itself", _("A ticket cannot be merged into itself."))
    _require_worker(actor, source)
    _require_worker(actor, into)
    if source.merged_into_id is not None or into.merged_into_id is not None:
        raise ActionRefused(
            "already_merged", _("One of the tickets is already merged."), status=409
        )
    if into.status == TicketStatus.CLOSED:
        raise ActionRefused(
            "merge_target_closed", _("Reopen the target ticket before merging into it."), status=409
        )
    if source.customer_id != into.customer_id:
        # So the target of a merge is always a ticket the merged one's customer may open.
        raise ActionRefused(
            "merge_customer_mismatch",
            _(
                "Only tickets of the same customer can be merged: the customer would see the "
                "other's conversation."
            ),
        )


@transaction.atomic
def merge(source: Ticket, *, into: Ticket, actor: Actor) -> Ticket:
    """Merge duplicate `source` into `into`: its messages move, it closes as `duplicate`."""
    if source.pk == into.pk:
        raise ActionRefused("merge_into_itself", _("A ticket cannot be merged into itself."))
    # Lock in id order so two opposite merges cannot deadlock.
    first, second = sorted([source.pk, into.pk])
    locked = {
        t.pk: t
        for t in Ticket.objects.select_for_update(of=("self",))
        .select_related("department", "customer", "assignee")
        .filter(pk__in=[first, second])
        .order_by("pk")
    }
    source, into = locked[source.pk], locked[into.pk]
    check_merge(source, into=into, actor=actor)
    now = timezone.now()
    # Each moved message remembers the ticket it was written on (the first one, when it
    # moves again), so both tickets' threads can say where it came from and went.
    Message.objects.filter(ticket=source, merged_from__isnull=True).update(merged_from=source)
    # The public event counts only what the customer may see: internal notes and held mail
    # are not theirs to count.
    moved = customer_visible_messages(Message.objects.filter(ticket=source)).count()
    Message.objects.filter(ticket=source).update(ticket=into)
    Attachment.objects.filter(ticket=source).update(ticket=into)
    for name in ("last_customer_message_at", "last_agent_message_at", "first_response_at"):
        values = [v for v in (getattr(source, name), getattr(into, name)) if v is not None]
        if values:
            setattr(into, name, min(values) if name == "first_response_at" else max(values))
    into.updated_at = now
    _save(into)
    _event(
        into,
        actor,
        EventKind.MERGED,
        from_value=source.number,
        to_value=into.number,
        moved_messages=moved,
    )
    source.merged_into = into
    _event(source, actor, EventKind.MERGED, from_value=source.number, to_value=into.number)
    if source.status != TicketStatus.CLOSED:
        _set_status(source, actor, TicketStatus.CLOSED, now=now, close_reason=CloseReason.DUPLICATE)
    else:
        source.close_reason = CloseReason.DUPLICATE
    source.updated_at = now
    _save(source)
    notifications.ticket_merged(source, into)
    return into


@transaction.atomic
def recompute_clocks(ticket: Ticket) -> Ticket:
    """After something outside the ticket changed (the customer's tier, a policy), its
    clocks are computed again from its history."""
    ticket = _lock(ticket)
    _save(ticket)
    return ticket


def recompute_customer_clocks(customer: User) -> int:
    tickets = list(Ticket.objects.filter(customer=customer, status__in=ACTIVE_STATUSES))
    for ticket in tickets:
        recompute_clocks(ticket)
    return len(tickets)


# --- the timer ------------------------------------------------------------------------------


@transaction.atomic
def auto_close(ticket_id: int) -> bool:
    """Close a ticket left `pending` or `resolved` too long. Safe to run twice: it re-checks."""
    ticket = (
        Ticket.objects.select_for_update(of=("self",))
        .select_related("department", "customer", "assignee")
        .filter(pk=ticket_id)
        .first()
    )
    if ticket is None:
        return False
    now = timezone.now()
    if ticket.status == TicketStatus.PENDING:
        limit, reason = settings.DESTEK_PENDING_AUTO_CLOSE_DAYS, CloseReason.NO_REPLY
    elif ticket.status == TicketStatus.RESOLVED:
        limit, reason = settings.DESTEK_RESOLVED_AUTO_CLOSE_DAYS, CloseReason.RESOLVED
    else:
        return False
    if ticket.status_changed_at > now - timedelta(days=limit):
        return False
    _set_status(ticket, TIMER, TicketStatus.CLOSED, now=now, close_reason=reason)
    ticket.updated_at = now
    _save(ticket)
    notifications.status_changed(ticket)
    return True
