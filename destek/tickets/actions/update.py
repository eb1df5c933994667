"""Several workflow fields of one ticket changed together, as one change."""

from __future__ import annotations

from typing import Final, final

from django.db import transaction
from django.utils.translation import gettext_lazy as _

from destek.accounts.models import User
from destek.lib.errors import ActionRefused
from destek.tickets.actions._common import Actor
from destek.tickets.actions.assignment import assign, change_department, change_priority
from destek.tickets.actions.status import change_status
from destek.tickets.models import Department, Ticket


@final
class Unchanged:
    """The value of a field `update_ticket` leaves as it is (None means "nobody" for the
    assignee, so it cannot also mean "unchanged")."""

    def __repr__(self) -> str:
        return "UNCHANGED"


UNCHANGED: Final = Unchanged()


@transaction.atomic
def update_ticket(
    ticket: Ticket,
    actor: Actor,
    *,
    status: str | Unchanged = UNCHANGED,
    priority: str | Unchanged = UNCHANGED,
    department: Department | Unchanged = UNCHANGED,
    assignee: User | Unchanged | None = UNCHANGED,
    priority_reason: str = "",
    close_reason: str = "",
    contract_clause: str = "",
) -> Ticket:
    """Change the given fields of `ticket` all or nothing: one transaction, and one event per
    field that changed, the very events of the single-field actions, whose rules (and
    refusals) apply field by field.

    A field left `UNCHANGED` is not touched (`assignee=None` unassigns). The order is fixed:
    priority, assignee, status, then department last, since after a transfer the actor may
    no longer work the ticket. `priority_reason` goes with `priority`; `close_reason` and
    `contract_clause` go with `status` and are refused without it.

    Each field's action is called whole (its lock, rules, save and mail), so an update is
    exactly the single-field changes in a row, in one transaction. The clocks are therefore
    computed once per changed field, not once at the end: at most four times, for the
    certainty that nothing a mail or an event reads in between differs from today.
    """
    if not isinstance(priority, Unchanged):
        ticket = change_priority(ticket, actor=actor, priority=priority, reason=priority_reason)
    if not isinstance(assignee, Unchanged):
        ticket = assign(ticket, actor=actor, assignee=assignee)
    if not isinstance(status, Unchanged):
        ticket = change_status(
            ticket,
            actor=actor,
            status=status,
            close_reason=close_reason,
            contract_clause=contract_clause,
        )
    elif close_reason or contract_clause:
        raise ActionRefused(
            "close_reason_without_close", _("A close reason is given only when closing.")
        )
    if not isinstance(department, Unchanged):
        ticket = change_department(ticket, actor=actor, department=department)
    return ticket
