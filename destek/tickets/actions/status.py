"""A ticket's status: agents' and customers' changes, closing and reopening, the timer's
auto-close, and the service-level clocks computed again from the history."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from destek.accounts.models import User
from destek.lib.errors import ActionRefused
from destek.lib.text import strip_invisible
from destek.tickets import notifications
from destek.tickets.actions._common import TIMER, Actor, _event, _lock, _own, _require_worker, _save
from destek.tickets.choices import ACTIVE_STATUSES, ActorKind, CloseReason, EventKind, TicketStatus
from destek.tickets.models import Ticket
from destek.tickets.signals import status_changed


def reopen_deadline(ticket: Ticket) -> datetime:
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
    status_changed.send(sender=Ticket, ticket=ticket, old=old, new=status)
    return True


def _reopen(ticket: Ticket, actor: Actor, status: str, *, now: Any) -> None:
    """A closed ticket comes back: logged as a reopening, then as the status change."""
    _event(ticket, actor, EventKind.REOPENED, from_value=TicketStatus.CLOSED, to_value=status)
    _set_status(ticket, actor, status, now=now)


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
