"""Filing a ticket: the intake rules (generic or shouting subjects, duplicates), routing,
and critical incidents a customer declares."""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from datetime import timedelta
from typing import Any, ParamSpec

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import OuterRef, Subquery
from django.utils import timezone, translation
from django.utils.translation import get_language, ngettext
from django.utils.translation import gettext_lazy as _

from destek.accounts.models import User
from destek.accounts.selectors import forget_addresses, lock_with_addresses
from destek.lib.dates import format_number
from destek.lib.errors import ActionRefused
from destek.lib.language import choose_language
from destek.tickets import clocks, config, intake, notifications
from destek.tickets import details as ticket_details
from destek.tickets.actions._common import (
    BODY_MAX,
    Actor,
    _attach,
    _clean_text,
    _new_event,
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
    TicketEvent,
)
from destek.tickets.routing import route
from destek.tickets.signals import message_added, ticket_created

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

    One statement reads the recent tickets with their first message; the subject is
    compared first and the body only when the subject matches.
    """
    since = timezone.now() - timedelta(hours=settings.DESTEK_DUPLICATE_WINDOW_HOURS)
    first_body = (
        Message.objects.filter(ticket=OuterRef("pk"), author_kind=AuthorKind.CUSTOMER)
        .order_by("id")
        .values("body")[:1]
    )
    recent = (
        Ticket.objects.filter(customer=customer, status__in=ACTIVE_STATUSES, created_at__gte=since)
        .order_by("-id")
        .only("id", "number", "subject")
        .annotate(first_body=Subquery(first_body))[:50]
    )
    for ticket in recent:  # one statement: a customer has few open tickets from the last day
        if intake.alike(subject, ticket.subject, threshold=DUPLICATE_THRESHOLD) and (
            intake.is_near_duplicate(
                subject,
                body,
                ticket.subject,
                getattr(ticket, "first_body", None) or "",
                threshold=DUPLICATE_THRESHOLD,
            )
        ):
            return ticket
    return None


NUMBER_TRIES = 10

P = ParamSpec("P")


class NumberTaken(Exception):
    """The random number drawn for a new ticket belongs to another."""


def _number_clash(exc: IntegrityError) -> bool:
    """Whether the unique ticket number was violated. PostgreSQL names the constraint in the
    error's diagnostics (its message is in the server's language); SQLite names the column.
    The transaction cannot be asked: PostgreSQL has aborted it."""
    cause = exc.__cause__
    if getattr(cause, "sqlstate", None) == "23505":  # unique_violation
        constraint = getattr(getattr(cause, "diag", None), "constraint_name", None) or ""
        return constraint == NUMBER_CONSTRAINT
    return "tickets_ticket.number" in str(exc)


#: The name PostgreSQL gave the unique constraint of `Ticket.number` (its column, `_key`).
NUMBER_CONSTRAINT = "tickets_ticket_number_key"


def _new_number_when_taken(action: Callable[P, Ticket]) -> Callable[P, Ticket]:
    """Ticket numbers are random, so now and then one is taken: the whole action is rolled
    back to its own savepoint and tried again with a new number. That costs a repeat once in
    a while instead of a savepoint around every insert. The customer's addresses the action
    kept on its instance (`lock_with_addresses`) are forgotten when it ends."""

    @functools.wraps(action)
    def retrying(*args: P.args, **kwargs: P.kwargs) -> Ticket:
        try:
            for attempt in range(NUMBER_TRIES):
                try:
                    return action(*args, **kwargs)
                except NumberTaken:
                    if attempt == NUMBER_TRIES - 1:
                        raise
            raise AssertionError("unreachable")
        finally:
            customer = kwargs.get("customer")
            if isinstance(customer, User):
                forget_addresses(customer)

    return retrying


@_new_number_when_taken
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
    intake_rules: bool = True,
    contact_address: str = "",
) -> Ticket:
    """File a ticket for `customer` (by the customer, or by an agent for a phone call).

    `language` is the ticket's language when the caller knows it; without it, the one rule of
    `destek.lib.language.choose_language` picks it from the text, the account and the page.
    `details` are the diagnostic fields of `tickets.details`. A form that collects them (the
    portal, or an API client sending `details`) must give, for critical urgency, the server or
    order and the service; a client that sends no details at all is not asked for them.

    `intake_rules=False` skips the rules for a filed form (generic subjects, duplicates): a
    chat opens with "hello", and its subject is made by the caller. `contact_address` is where
    the ticket's mail goes for a contact made for one conversation (a chat visitor who gave an
    address): the caller vouches that it is the only address that contact has, so it is not
    checked against the account's verified ones.
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
    # PostgreSQL cannot both pass the duplicate check (SQLite serialises writers anyway). The
    # same statement reads where the customer's mail goes, for the confirmation.
    lock_with_addresses(customer)
    if filed_by is None and intake_rules:
        check_intake(customer, subject, body)
    if department is None:
        department = config.default_department()
        if department is None:
            raise ActionRefused("no_department", _("No department accepts tickets yet."))
    if related_to is not None and related_to.customer_id != customer.pk:
        raise Ticket.DoesNotExist
    if contact_address:
        notify_address = contact_address.strip().lower()
    else:
        notify_address = check_notify_address(customer, notify_address)
    declined = _critical_declined(customer) if declared else ""
    # Given by the caller (an agent filing for a caller), else the customer's own words when
    # they are clear, else their account's language, else the page's.
    ticket_language = language or choose_language(
        f"{subject}\n{body}", account=customer.language, page=get_language()
    )
    routing = route(
        subject=subject,
        body=body,
        department=department,
        tier=customer.tier,
        channel=channel,
        urgency=urgency,
        declared_critical=declared and not declined,
        language=ticket_language,
        organisation=lambda: (
            customer.organisation.name if customer.organisation is not None else ""
        ),
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
    # A new ticket has no status history: its clocks are known before it is written, so it
    # is inserted once, complete.
    clocks.refresh(ticket, history=[])
    try:
        ticket.save(force_insert=True)
    except IntegrityError as exc:
        if _number_clash(exc):
            raise NumberTaken from exc
        raise
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
    events = [
        _new_event(
            ticket,
            actor,
            EventKind.CREATED,
            to_value=TicketStatus.NEW,
            channel=channel,
            related_to=related_to.number if related_to else None,
        )
    ]
    events += [
        _new_event(
            ticket,
            Actor(ActorKind.RULE),
            field,
            from_value=old,
            to_value=new,
            public=False,
            rule=rule_name,
        )
        for rule_name, field, old, new in routing.changes
    ]
    if declined:
        events.append(
            _new_event(
                ticket,
                Actor(ActorKind.SYSTEM),
                EventKind.PRIORITY,
                from_value=Priority.CRITICAL,
                to_value=ticket.priority,
                public=True,
                critical_declined=declined,
            )
        )
        Message.objects.create(
            ticket=ticket,
            author=None,
            author_kind=AuthorKind.SYSTEM,
            body=_critical_declined_text(ticket, declined),
            channel=channel,
            created_at=now,
        )
    TicketEvent.objects.bulk_create(events)
    notifications.ticket_created(ticket, message)
    message_added.send(
        sender=Message, ticket=ticket, message=message, attachments=tuple(attachments)
    )
    ticket_created.send(sender=Ticket, ticket=ticket)
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
