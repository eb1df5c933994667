"""A rule's conditions and actions: typed dataclasses parsed from the rule's JSON, the facts
of a ticket they are checked against, and what each action would change, in words.

Stored as JSON (not rows per condition) because a rule is read whole, every time, in order:
one row per rule keeps event rules at one query for all of them, and the admin edits a rule
on one page. The dataclasses are the schema: `parse_*` refuses anything else with a message
in the reader's language (`RuleInvalid`), so a stored rule always parses.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.conf import settings
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from destek.accounts.choices import Tier
from destek.sla.engine import business_minutes_between
from destek.tickets import clocks
from destek.tickets.actions import tag_names
from destek.tickets.choices import Channel, CloseReason, Priority, TicketStatus
from destek.tickets.intake import matches_keywords
from destek.tickets.models import Ticket
from destek.tickets.routing import CONDITION_FIELDS


class RuleInvalid(ValueError):
    """A rule's conditions or actions do not parse; the message is for the admin."""


# --- conditions -----------------------------------------------------------------------------

#: Fields compared with "is" / "is_not" (a value or a list of values).
CHOICE_FIELDS: dict[str, Callable[[], Iterable[str]]] = {
    "status": lambda: TicketStatus.values,
    "priority": lambda: Priority.values,
    "channel": lambda: Channel.values,
    "tier": lambda: Tier.values,
    "department": lambda: (),  # a slug: any
    "language": lambda: (),
    "organisation": lambda: (),  # a name: any
    "urgency": lambda: Priority.values,  # what the customer declared when filing
}
#: Business hours since a moment, compared with "gte" / "lte" (a number).
HOUR_FIELDS = ("hours_since_customer_message", "hours_since_agent_reply", "hours_in_status")
#: Calendar days (wall clock) in the present status, compared with "gte" / "lte".
DAY_FIELDS = ("days_in_status",)
#: An open SLA clock due within N minutes (a number; overdue counts).
DUE_FIELDS = ("first_response_due_within", "resolution_due_within")

OPS = {
    **dict.fromkeys(CHOICE_FIELDS, ("is", "is_not")),
    "tags": ("has", "has_not"),
    "text": ("contains", "not_contains"),
    **dict.fromkeys(HOUR_FIELDS + DAY_FIELDS, ("gte", "lte")),
    **dict.fromkeys(DUE_FIELDS, ("within",)),
}

TEXT_WHERE = ("subject", "body", "both")


@dataclass(frozen=True)
class Condition:
    field: str
    op: str
    values: tuple[str, ...] = ()
    number: float = 0
    where: str = "both"

    def holds(self, facts: Facts) -> bool:
        if self.field in CHOICE_FIELDS:
            found = facts.choice(self.field) in self.values
            return found if self.op == "is" else not found
        if self.field == "tags":
            found = bool(set(self.values) & facts.tags)
            return found if self.op == "has" else not found
        if self.field == "text":
            found = any(matches_keywords(text, self.values) for text in facts.texts(self.where))
            return found if self.op == "contains" else not found
        if self.field in HOUR_FIELDS + DAY_FIELDS:
            hours = facts.business_hours_since(self.field)
            if hours is None:
                return False
            return hours >= self.number if self.op == "gte" else hours <= self.number
        minutes = facts.minutes_until_due(self.field)
        return minutes is not None and minutes <= self.number


def _values(raw: Any, field: str) -> tuple[str, ...]:
    items = raw if isinstance(raw, list) else [raw]
    if not items or not all(isinstance(item, str) and item.strip() for item in items):
        raise RuleInvalid(
            _("Give “{field}” a value or a list of values.").format(field=_field_label(field))
        )
    return tuple(item.strip() for item in items)


def parse_condition(raw: Any) -> Condition:
    if not isinstance(raw, dict):
        raise RuleInvalid(_("Each condition is an object with “field”, “op” and “value”."))
    field, op, value = raw.get("field"), raw.get("op"), raw.get("value")
    if field not in OPS:
        raise RuleInvalid(
            _("Unknown condition field “{field}”. Known: {known}.").format(
                field=field, known=", ".join(OPS)
            )
        )
    if op not in OPS[field]:
        raise RuleInvalid(
            _("The field “{field}” takes the operators {known}.").format(
                field=_field_label(field),
                known=", ".join(str(OP_LABELS.get(o, o)) for o in OPS[field]),
            )
        )
    if field in HOUR_FIELDS or field in DAY_FIELDS or field in DUE_FIELDS:
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not math.isfinite(value)  # NaN and infinity are not JSON a database keeps
            or value < 0
        ):
            raise RuleInvalid(
                _("“{field}” takes a number of zero or more.").format(field=_field_label(field))
            )
        return Condition(field, op, number=float(value))
    values = _values(value, field)
    if field in CHOICE_FIELDS:
        allowed = list(CHOICE_FIELDS[field]())
        wrong = [v for v in values if allowed and v not in allowed]
        if wrong:
            raise RuleInvalid(
                _("“{value}” is not a value of “{field}”. Known: {known}.").format(
                    value=wrong[0], field=_field_label(field), known=", ".join(allowed)
                )
            )
    if field == "tags":
        values = tuple(tag_names(values))
    where = raw.get("in", "both")
    if field == "text" and where not in TEXT_WHERE:
        raise RuleInvalid(_("Text is looked for “in” subject, body or both."))
    return Condition(field, op, values=values, where=where)


def parse_conditions(raw: Any) -> list[Condition]:
    if not isinstance(raw, list):
        raise RuleInvalid(_("Conditions are a list."))
    return [parse_condition(item) for item in raw]


def matches(conditions: list[Condition], match: str, facts: Facts) -> bool:
    """All (or any) of the conditions hold; a rule without conditions matches every ticket."""
    if not conditions:
        return True
    if match == "any":
        return any(condition.holds(facts) for condition in conditions)
    return all(condition.holds(facts) for condition in conditions)


class Facts:
    """What conditions read of one ticket, each read once and only when asked."""

    def __init__(self, ticket: Ticket, now: datetime | None = None) -> None:
        self.ticket = ticket
        self.now = now or timezone.now()
        self._tags: set[str] | None = None
        self._body: str | None = None

    def choice(self, field: str) -> str:
        ticket = self.ticket
        if field == "department":
            return ticket.department.slug
        if field == "tier":
            return ticket.customer.tier
        if field == "organisation":
            organisation = ticket.customer.organisation
            return organisation.name if organisation else ""
        return str(getattr(ticket, field))

    @property
    def tags(self) -> set[str]:
        if self._tags is None:
            self._tags = {tag.name for tag in self.ticket.tags.all()}  # prefetched in lists
        return self._tags

    def texts(self, where: str) -> list[str]:
        found = [self.ticket.subject] if where in ("subject", "both") else []
        if where in ("body", "both"):
            if self._body is None:
                first = self.ticket.messages.filter(internal=False).order_by("id").first()
                self._body = first.body if first else ""
            found.append(self._body)
        return found

    def business_hours_since(self, field: str) -> float | None:
        """Hours on the ticket's service-level calendar (its policy's), wall-clock hours
        when it has none."""
        since = {
            "hours_since_customer_message": self.ticket.last_customer_message_at,
            # No reply yet: the wait counts from when the ticket was filed.
            "hours_since_agent_reply": self.ticket.last_agent_message_at or self.ticket.created_at,
            "hours_in_status": self.ticket.status_changed_at,
            "days_in_status": self.ticket.status_changed_at,
        }[field]
        if since is None:
            return None
        if field in DAY_FIELDS:
            return (self.now - since).total_seconds() / 86400
        policy = self.ticket.sla_policy
        if policy is None:
            return (self.now - since).total_seconds() / 3600
        schedule = clocks.Schedules().get(policy.calendar_id)
        return business_minutes_between(schedule, since, self.now) / 60

    def minutes_until_due(self, field: str) -> float | None:
        ticket = self.ticket
        if field == "first_response_due_within":
            due, done = ticket.first_response_due, ticket.first_response_at
        else:
            due, done = ticket.resolution_due, ticket.resolved_at
        if due is None or done is not None:
            return None
        return (due - self.now).total_seconds() / 60


# --- actions --------------------------------------------------------------------------------

ACTION_TYPES = (
    "set_status",
    "set_priority",
    "set_department",
    "add_tags",
    "remove_tags",
    "assign",
    "reassign",  # to another available agent, by the department's assignment
    "unassign",
    "note",
    "mail_customer",
    "mail_department",
    "sms_customer",
    "call_webhook",
    "raise_priority",  # a floor: to at least this priority, never lower
)


@dataclass(frozen=True)
class Action:
    type: str
    value: str = ""
    values: tuple[str, ...] = ()
    close_reason: str = ""
    target: int = 0  # call_webhook: a WebhookTarget's id


def parse_action(raw: Any) -> Action:
    if not isinstance(raw, dict) or raw.get("type") not in ACTION_TYPES:
        raise RuleInvalid(
            _("Each action is an object with a “type”, one of: {known}.").format(
                known=", ".join(ACTION_TYPES)
            )
        )
    kind, value = raw["type"], raw.get("value")
    if kind in ("unassign", "reassign", "mail_customer", "sms_customer"):
        return Action(kind)
    if kind == "call_webhook":
        target = raw.get("target")
        if isinstance(target, bool) or not isinstance(target, int) or target <= 0:
            raise RuleInvalid(_("Choose an active webhook target."))
        return Action(kind, target=target)
    if kind in ("add_tags", "remove_tags"):
        names = tag_names(value if isinstance(value, list | str) else "")
        if not names:
            raise RuleInvalid(_("Name the tags to add or remove."))
        return Action(kind, values=tuple(names))
    if not isinstance(value, str) or not value.strip():
        raise RuleInvalid(_("The action “{type}” needs a value.").format(type=_type_label(kind)))
    value = value.strip()
    allowed = {
        "set_status": TicketStatus.values,
        "set_priority": Priority.values,
        "raise_priority": Priority.values,
    }.get(kind)
    if allowed is not None and value not in allowed:
        raise RuleInvalid(
            _("“{value}” is not a value of “{type}”. Known: {known}.").format(
                value=value, type=_type_label(kind), known=", ".join(allowed)
            )
        )
    reason = raw.get("close_reason", "")
    # A rule closes as resolved or for no reply: a duplicate is merged, a contract closing
    # needs its clause, and only the customer closes as "customer" (the action refuses them).
    reasons = [CloseReason.RESOLVED.value, CloseReason.NO_REPLY.value]
    if kind == "set_status" and value == TicketStatus.CLOSED and reason not in reasons:
        raise RuleInvalid(
            _("Closing needs a reason, one of: {known}.").format(
                known=", ".join(str(CloseReason(r).label) for r in reasons)
            )
        )
    return Action(kind, value=value, close_reason=reason or "")


def parse_actions(raw: Any) -> list[Action]:
    if not isinstance(raw, list):
        raise RuleInvalid(_("Actions are a list."))
    return [parse_action(item) for item in raw]


# --- the schema the admin's rule editor is built from ---------------------------------------
# Derived from `OPS`, `CHOICE_FIELDS` and `ACTION_TYPES` above, so a condition or an action
# added there appears in the editor by itself: with its name as its label and a free value
# until it gets a label here and, for an action, a value kind.

FIELD_LABELS: dict[str, Promise] = {
    "status": gettext_lazy("Status"),
    "priority": gettext_lazy("Priority"),
    "channel": gettext_lazy("Channel"),
    "tier": gettext_lazy("Customer tier"),
    "department": gettext_lazy("Department"),
    "language": gettext_lazy("Language"),
    "organisation": gettext_lazy("Organisation"),
    "tags": gettext_lazy("Tags"),
    "text": gettext_lazy("Text"),
    "hours_since_customer_message": gettext_lazy("Hours since the customer wrote (business hours)"),
    "hours_since_agent_reply": gettext_lazy("Hours since an agent replied (business hours)"),
    "hours_in_status": gettext_lazy("Hours in the status (business hours)"),
    "days_in_status": gettext_lazy("Days in the status"),
    "first_response_due_within": gettext_lazy("First reply due within (minutes)"),
    "resolution_due_within": gettext_lazy("Resolution due within (minutes)"),
    "urgency": gettext_lazy("Urgency the customer chose"),
}
OP_LABELS: dict[str, Promise] = {
    "is": gettext_lazy("is"),
    "is_not": gettext_lazy("is not"),
    "has": gettext_lazy("has"),
    "has_not": gettext_lazy("has not"),
    "contains": gettext_lazy("contains"),
    "not_contains": gettext_lazy("does not contain"),
    "gte": gettext_lazy("at least"),
    "lte": gettext_lazy("at most"),
    "within": gettext_lazy("within"),
}
WHERE_LABELS: dict[str, Promise] = {
    "subject": gettext_lazy("in the subject"),
    "body": gettext_lazy("in the text"),
    "both": gettext_lazy("in the subject or the text"),
}
ACTION_LABELS: dict[str, Promise] = {
    "set_status": gettext_lazy("Set the status"),
    "set_priority": gettext_lazy("Set the priority"),
    "set_department": gettext_lazy("Move to the department"),
    "add_tags": gettext_lazy("Add tags"),
    "remove_tags": gettext_lazy("Remove tags"),
    "assign": gettext_lazy("Assign to the agent"),
    "reassign": gettext_lazy("Hand over to another available agent"),
    "unassign": gettext_lazy("Unassign"),
    "note": gettext_lazy("Add an internal note"),
    "mail_customer": gettext_lazy("Mail the customer (the mail texts below)"),
    "mail_department": gettext_lazy("Mail the department (the mail texts below)"),
    "sms_customer": gettext_lazy("SMS the customer (the mail texts below)"),
    "call_webhook": gettext_lazy("Call a webhook"),
    "raise_priority": gettext_lazy("Raise the priority to at least"),
}
#: What an action's value is: "status" (and a close reason), "priority", "department",
#: "agent" (an e-mail), "tags", "text", "target" (a webhook target's id) or "none".
ACTION_VALUE_KINDS: dict[str, str] = {
    "set_status": "status",
    "set_priority": "priority",
    "set_department": "department",
    "mail_department": "department",
    "assign": "agent",
    "add_tags": "tags",
    "remove_tags": "tags",
    "note": "text",
    "unassign": "none",
    "reassign": "none",
    "mail_customer": "none",
    "sms_customer": "none",
    "call_webhook": "target",
    "raise_priority": "priority",
}


def _departments() -> list[tuple[str, str]]:
    from destek.tickets.models import Department

    return [(d.slug, d.display_name()) for d in Department.objects.order_by("name")]


#: The options (value, label) of the choice fields; a field of `CHOICE_FIELDS` without an
#: entry offers its values as they are, one without values takes free words.
CHOICE_OPTIONS: dict[str, Callable[[], Iterable[tuple[str, Any]]]] = {
    "status": lambda: TicketStatus.choices,
    "priority": lambda: Priority.choices,
    "urgency": lambda: Priority.choices,
    "channel": lambda: Channel.choices,
    "tier": lambda: Tier.choices,
    "department": _departments,
    "language": lambda: settings.LANGUAGES,
}


@dataclass(frozen=True)
class FieldSpec:
    """A condition field as the editor shows it. `kind`: "choice" (pick among `choices`),
    "words" (free words, comma separated), "tags", "text" (keywords and where) or "number"."""

    name: str
    label: str
    ops: tuple[tuple[str, str], ...]
    kind: str
    choices: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class ActionSpec:
    name: str
    label: str
    kind: str


def _field_label(field: Any) -> str:
    """A condition field as the admin's editor names it (its code when it has no label)."""
    return str(FIELD_LABELS.get(field, field))


def _type_label(kind: Any) -> str:
    return str(ACTION_LABELS.get(kind, kind))


def condition_fields() -> list[FieldSpec]:
    """Every condition field, in the order of `OPS`, labelled in the active language."""
    specs = []
    for name, ops in OPS.items():
        choices: tuple[tuple[str, str], ...] = ()
        if name in CHOICE_FIELDS:
            options = CHOICE_OPTIONS.get(name)
            pairs = options() if options else ((v, v) for v in CHOICE_FIELDS[name]())
            choices = tuple((str(value), str(label)) for value, label in pairs)
            kind = "choice" if choices else "words"
        elif name in ("tags", "text"):
            kind = name
        elif set(ops) <= {"gte", "lte", "within"}:
            kind = "number"
        else:
            kind = "words"
        label = str(FIELD_LABELS.get(name, name))
        ops_labelled = tuple((op, str(OP_LABELS.get(op, op))) for op in ops)
        specs.append(FieldSpec(name, label, ops_labelled, kind, choices))
    return specs


def action_types() -> list[ActionSpec]:
    """Every action, in the order of `ACTION_TYPES`, labelled in the active language."""
    return [
        ActionSpec(name, str(ACTION_LABELS.get(name, name)), ACTION_VALUE_KINDS.get(name, "text"))
        for name in ACTION_TYPES
    ]


# --- rules that run when a ticket is filed ---------------------------------------------------

#: What a rule that runs when a ticket is filed may do: its first department, priority, tags
#: and assignee. What it may look at is `tickets.routing.CONDITION_FIELDS`.
FILED_ACTION_TYPES = ("set_department", "set_priority", "raise_priority", "add_tags", "assign")


#: Actions only a schedule rule may take: it runs once per ticket and state, where a rule on
#: a change would be set off again by the change the action makes (a hand-over is one).
SCHEDULE_ACTION_TYPES = ("reassign",)


def check_schedule_only(parsed: Sequence[Condition] | Sequence[Action]) -> None:
    """Refuse, for a rule that is not on a schedule, an action only schedule rules take."""
    for item in parsed:
        if isinstance(item, Action) and item.type in SCHEDULE_ACTION_TYPES:
            raise RuleInvalid(
                _(
                    "“{type}” is for rules on a schedule, which act once per ticket and state; "
                    "on a change, the hand-over would set the rule off again."
                ).format(type=ACTION_LABELS.get(item.type, item.type))
            )


def check_filed(parsed: Sequence[Condition] | Sequence[Action]) -> None:
    """Refuse a condition or action that is not known or not possible before the ticket
    exists (`RuleInvalid`, in the reader's language)."""
    for item in parsed:
        if isinstance(item, Condition) and item.field not in CONDITION_FIELDS:
            raise RuleInvalid(
                _(
                    "A rule that runs when a ticket is filed cannot look at “{field}”: the "
                    "ticket does not exist yet. It can look at: {known}."
                ).format(
                    field=FIELD_LABELS.get(item.field, item.field),
                    known=", ".join(str(FIELD_LABELS.get(f, f)) for f in CONDITION_FIELDS),
                )
            )
        if isinstance(item, Action) and item.type not in FILED_ACTION_TYPES:
            raise RuleInvalid(
                _(
                    "A rule that runs when a ticket is filed cannot “{type}”: the ticket does "
                    "not exist yet. It can: {known}."
                ).format(
                    type=ACTION_LABELS.get(item.type, item.type),
                    known=", ".join(str(ACTION_LABELS.get(a, a)) for a in FILED_ACTION_TYPES),
                )
            )
