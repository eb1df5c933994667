"""What a macro may set, as string choices owned by code."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from destek.tickets.choices import CloseReason, TicketStatus

#: The statuses a macro may leave a ticket in; `closed` needs a close reason on the macro.
MACRO_STATUSES = [
    (TicketStatus.OPEN.value, pgettext_lazy("ticket status", "In progress")),
    (TicketStatus.PENDING.value, pgettext_lazy("ticket status", "Awaiting customer")),
    (TicketStatus.RESOLVED.value, pgettext_lazy("ticket status", "Resolved")),
    (TicketStatus.CLOSED.value, pgettext_lazy("ticket status", "Closed")),
]

#: The reasons an agent closes with and that need nothing typed at the time.
MACRO_CLOSE_REASONS = [(r.value, r.label) for r in (CloseReason.RESOLVED, CloseReason.NO_REPLY)]


class AssigneeChoice(models.TextChoices):
    UNCHANGED = "", _("Leave as it is")
    ME = "me", _("The agent who applies it")
    NOBODY = "nobody", _("Nobody")
    AGENT = "agent", _("The agent named below")


class AssignmentMode(models.TextChoices):
    """How a department's new and waiting tickets find an agent."""

    MANUAL = "manual", _("Manual (agents take tickets)")
    ROUND_ROBIN = "round_robin", _("Round robin")
    LEAST_LOADED = "least_loaded", _("Least loaded")


#: The names automatic assignment writes in a ticket's history (data `rule`): stored as
#: written here, shown in the reader's language by `rule_label`.
RULE_ROUND_ROBIN = "assignment: round robin"
RULE_LEAST_LOADED = "assignment: least loaded"
RULE_ON_LEAVE = "assignment: agent away"
RULE_NO_REPLY = "assignment: no agent reply in time"

_RULE_LABELS = {
    RULE_ROUND_ROBIN: _("Automatic assignment: round robin"),
    RULE_LEAST_LOADED: _("Automatic assignment: least loaded"),
    RULE_ON_LEAVE: _("Automatic assignment: the agent is away"),
    RULE_NO_REPLY: _("Automatic assignment: no agent reply in time"),
}


def rule_label(name: str) -> str:
    """A rule's name as the history shows it: the built-in assignment rules in the reader's
    language, an admin's rule as they named it."""
    label = _RULE_LABELS.get(name)
    return str(label) if label is not None else name
