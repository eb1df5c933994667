"""Who works a ticket and how urgently: its priority, its department and its assignee."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _

from destek.accounts.models import User
from destek.lib.errors import ActionRefused
from destek.lib.text import strip_invisible
from destek.tickets import notifications
from destek.tickets.actions._common import Actor, _event, _lock, _require_worker, _save
from destek.tickets.choices import AuthorKind, Channel, EventKind, Priority, priority_rank
from destek.tickets.models import Department, Message, Ticket

REASON_MAX = 500


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
