"""A rule's conditions and actions: typed dataclasses parsed from the rule's JSON, the facts
of a ticket they are checked against, and what each action would change, in words.

Stored as JSON (not rows per condition) because a rule is read whole, every time, in order:
one row per rule keeps event rules at one query for all of them, and the admin edits a rule
on one page. The dataclasses are the schema: `parse_*` refuses anything else with a message
in the reader's language (`RuleInvalid`), so a stored rule always parses.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext as _

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
        raise RuleInvalid(_("Give “{field}” a value or a list of values.").format(field=field))
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
                field=field, known=", ".join(OPS[field])
            )
        )
    if field in HOUR_FIELDS or field in DAY_FIELDS or field in DUE_FIELDS:
        if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
            raise RuleInvalid(_("“{field}” takes a number of zero or more.").format(field=field))
        return Condition(field, op, number=float(value))
    values = _values(value, field)
    if field in CHOICE_FIELDS:
        allowed = list(CHOICE_FIELDS[field]())
        wrong = [v for v in values if allowed and v not in allowed]
        if wrong:
            raise RuleInvalid(
                _("“{value}” is not a value of “{field}”. Known: {known}.").format(
                    value=wrong[0], field=field, known=", ".join(allowed)
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
    "unassign",
    "note",
    "mail_customer",
    "mail_department",
    "sms_customer",
    "raise_priority",  # a floor: to at least this priority, never lower
)


@dataclass(frozen=True)
class Action:
    type: str
    value: str = ""
    values: tuple[str, ...] = ()
    close_reason: str = ""


def parse_action(raw: Any) -> Action:
    if not isinstance(raw, dict) or raw.get("type") not in ACTION_TYPES:
        raise RuleInvalid(
            _("Each action is an object with a “type”, one of: {known}.").format(
                known=", ".join(ACTION_TYPES)
            )
        )
    kind, value = raw["type"], raw.get("value")
    if kind in ("unassign", "mail_customer", "sms_customer"):
        return Action(kind)
    if kind in ("add_tags", "remove_tags"):
        names = tag_names(value if isinstance(value, list | str) else "")
        if not names:
            raise RuleInvalid(_("Name the tags to add or remove."))
        return Action(kind, values=tuple(names))
    if not isinstance(value, str) or not value.strip():
        raise RuleInvalid(_("The action “{type}” needs a “value”.").format(type=kind))
    value = value.strip()
    allowed = {
        "set_status": TicketStatus.values,
        "set_priority": Priority.values,
        "raise_priority": Priority.values,
    }.get(kind)
    if allowed is not None and value not in allowed:
        raise RuleInvalid(
            _("“{value}” is not a value of “{type}”. Known: {known}.").format(
                value=value, type=kind, known=", ".join(allowed)
            )
        )
    reason = raw.get("close_reason", "")
    # A rule closes as resolved or for no reply: a duplicate is merged, a contract closing
    # needs its clause, and only the customer closes as "customer" (the action refuses them).
    reasons = [CloseReason.RESOLVED.value, CloseReason.NO_REPLY.value]
    if kind == "set_status" and value == TicketStatus.CLOSED and reason not in reasons:
        raise RuleInvalid(
            _("Closing needs a “close_reason”, one of: {known}.").format(known=", ".join(reasons))
        )
    return Action(kind, value=value, close_reason=reason or "")


def parse_actions(raw: Any) -> list[Action]:
    if not isinstance(raw, list):
        raise RuleInvalid(_("Actions are a list."))
    return [parse_action(item) for item in raw]


# --- rules that run when a ticket is filed ---------------------------------------------------

#: What a rule that runs when a ticket is filed may do: its first department, priority, tags
#: and assignee. What it may look at is `tickets.routing.CONDITION_FIELDS`.
FILED_ACTION_TYPES = ("set_department", "set_priority", "raise_priority", "add_tags", "assign")


def check_filed(parsed: Sequence[Condition] | Sequence[Action]) -> None:
    """Refuse a condition or action that is not known or not possible before the ticket
    exists (`RuleInvalid`, in the reader's language)."""
    for item in parsed:
        if isinstance(item, Condition) and item.field not in CONDITION_FIELDS:
            raise RuleInvalid(
                _(
                    "A rule that runs when a ticket is filed cannot look at “{field}”: the "
                    "ticket does not exist yet. It can look at: {known}."
                ).format(field=item.field, known=", ".join(CONDITION_FIELDS))
            )
        if isinstance(item, Action) and item.type not in FILED_ACTION_TYPES:
            raise RuleInvalid(
                _(
                    "A rule that runs when a ticket is filed cannot “{type}”: the ticket does "
                    "not exist yet. It can: {known}."
                ).format(type=item.type, known=", ".join(FILED_ACTION_TYPES))
            )
