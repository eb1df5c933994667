"""Filing a ticket: the intake rules (generic or shouting subjects, duplicates), routing,
and critical incidents a customer declares."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
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
from destek.tickets import config, intake, notifications
from destek.tickets import details as ticket_details
from destek.tickets.actions._common import (
    BODY_MAX,
    Actor,
    _attach,
    _clean_text,
    _event,
    _save,
    check_notify_address,
    disabled_rules,
)
from destek.tickets.choices import (
    ACTIVE_STATUSES,
    ActorKind,
    AuthorKind,
    EventKind,
    IntakeRuleCode,
    Priority,
    TicketStatus,
)
from destek.tickets.models import (
    Attachment,
    Department,
    Message,
    Tag,
    Ticket,
    new_ticket_number,
)
from destek.tickets.routing import route

SUBJECT_MAX = 250

DUPLICATE_THRESHOLD = 0.9

#: Critical incidents one customer may declare in `CRITICAL_WINDOW` when the admin set no
#: limit on the intake rule "critical".
CRITICAL_LIMIT_DEFAULT = 3

CRITICAL_WINDOW = timedelta(days=30)


def _clean_subject(subject: str) -> str:
    # A subject is one line: newlines would break list views and mail headers.
    return " ".join(_clean_text(subject, field="subject", maximum=SUBJECT_MAX).split())


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
            ticket.number = new_ticket_number()


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
        department = config.default_department()
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
    rule = config.intake_rule(IntakeRuleCode.CRITICAL)
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
