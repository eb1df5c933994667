"""Replies, notes and nudges: who may write what on a ticket and what each message changes;
held mail in a customer's name; the customer's choice of notices."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from destek.accounts.models import User, normalize_email
from destek.lib.errors import ActionRefused
from destek.lib.language import choose_language
from destek.notify.sms import sms_enabled
from destek.tickets import intake, notifications
from destek.tickets.access import can_work
from destek.tickets.actions._common import (
    BODY_MAX,
    Actor,
    _attach,
    _clean_text,
    _event,
    _lock,
    _own,
    _save,
    check_notify_address,
    rule_enabled,
)
from destek.tickets.actions.status import _check_reopen_window, _reopen, _set_status
from destek.tickets.choices import (
    ActorKind,
    AuthorKind,
    Channel,
    EventKind,
    IntakeRuleCode,
    TicketStatus,
    Verification,
)
from destek.tickets.models import Attachment, Message, Ticket, TicketCC
from destek.tickets.signals import message_added

#: After answering a nudge, further nudges within this time get no second automatic answer.
NUDGE_QUIET = timedelta(hours=1)


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
    cc_address: str = "",
) -> Message:
    """A reply or an internal note. The rules of who may write what, and what it changes:

    - a customer writes on their own ticket, or on one `cc_address` is copied on when the
      mail pipeline files mail from that address (a public message of theirs, never more);

    - a customer's message on `pending` or `resolved` puts the ticket back to `open`; on
      `closed` it reopens within the reopen window, and is refused after it (409);
    - a customer's message that only asks for news (a nudge) is kept but changes nothing,
      and the customer gets an automatic answer with the expected answer time;
    - an agent's public reply records the first response and sets `status_after`
      (default `pending`); an internal note changes nothing and is never shown to customers.
    """
    written_on = ticket
    ticket = _follow_merges(_lock(ticket))
    body = _clean_text(body, field="body", maximum=BODY_MAX)
    now = timezone.now()
    if author.is_customer:
        _own_or_copied(ticket, written_on, author, cc_address)
        if internal:
            raise ActionRefused(
                "forbidden", _("Customers cannot write internal notes."), status=403
            )
        message = _customer_message(ticket, author, body, channel, attachments, now)
    else:
        message = _agent_message(
            ticket, author, body, internal, status_after, channel, attachments, now
        )
    message_added.send(
        sender=Message, ticket=ticket, message=message, attachments=tuple(attachments)
    )
    return message


def _own_or_copied(ticket: Ticket, written_on: Ticket, author: User, cc_address: str) -> None:
    """The ticket's customer writes on it; so does the person of an address copied on it (on
    the ticket the mail answered, or the one it was merged into). Anyone else is refused."""
    if ticket.customer_id == author.pk or not cc_address:
        _own(ticket, author)
        return
    address = normalize_email(cc_address)
    copied = TicketCC.objects.filter(ticket__in={ticket.pk, written_on.pk}, address=address)
    if not copied.exists():
        _own(ticket, author)
        return
    # The address had no account when it was copied: it is this one now.
    copied.filter(user__isnull=True).update(user=author)


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
        nudge=channel != Channel.CHAT and _is_nudge(ticket, body, has_files=bool(attachments)),
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
    cc_address: str = "",
) -> Message:
    """Mail in the customer's name whose sender could not be verified: kept on the ticket for
    agents, with a warning, but not shown to the customer and changing nothing (status, clocks,
    notifications) until the customer confirms it (`confirm_held_message`). From an address
    copied on the ticket (`cc_address`) the same."""
    written_on = ticket
    ticket = _follow_merges(_lock(ticket))
    _own_or_copied(ticket, written_on, author, cc_address)
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
        notifications.note_added(ticket, message)
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


@transaction.atomic
def add_system_note(ticket: Ticket, *, body: str, rule: str = "") -> Message:
    """An internal note written by Destek itself (a customer's low survey rating, or an
    automation rule, named by `rule`): agents see it in the thread, customers never do, and
    it changes nothing else."""
    ticket = _lock(ticket)
    message = Message.objects.create(
        ticket=ticket,
        author=None,
        author_kind=AuthorKind.SYSTEM,
        body=_clean_text(body, field="body", maximum=BODY_MAX),
        internal=True,
        written_by_rule=rule[:100],
        channel=Channel.WEB,
        created_at=timezone.now(),
    )
    message_added.send(sender=Message, ticket=ticket, message=message, attachments=())
    return message
