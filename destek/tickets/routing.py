"""Routing and priority: the admin's "when a ticket is filed" rules applied to a new ticket,
before it is written.

The rules are automation's (`automation.Rule` of kind "filed"); tickets cannot import
automation, so automation registers a source of compiled rules here (`register_rule_source`,
in its AppConfig.ready) and this module keeps what applying them means: the urgency ceiling,
a declared critical never lowered, later rules seeing earlier department changes, the
assignee read fresh and dropped when they cannot work the ticket, and the audit list."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from destek.accounts.models import User, normalize_email
from destek.tickets import config
from destek.tickets.choices import Priority, priority_rank
from destek.tickets.intake import matches_keywords
from destek.tickets.models import Department

#: The highest priority a customer's own urgency can give: critical only when the customer
#: declares a critical incident with its facts and within their limit (`declared_critical`).
URGENCY_CEILING = Priority.HIGH

#: What a filed rule may look at: known before the ticket is written (its language is chosen
#: from the customer's words and account before the rules run).
CONDITION_FIELDS = (
    "text",
    "department",
    "tier",
    "organisation",
    "language",
    "channel",
    "urgency",
)


@dataclass(frozen=True)
class RuleCondition:
    """One condition of a filed rule: `field` is one of `CONDITION_FIELDS`; `values` are
    choices (a department by slug) or, for text, keywords looked for `where`."""

    field: str
    values: tuple[str, ...]
    negate: bool = False
    where: str = "both"


@dataclass(frozen=True)
class FiledRule:
    """A rule as routing applies it; conditions matched all, or any with `match_any`."""

    name: str
    conditions: tuple[RuleCondition, ...] = ()
    match_any: bool = False
    set_department: str = ""  # a slug
    set_priority: str = ""
    min_priority: str = ""  # a floor
    add_tags: tuple[str, ...] = ()
    assignee_email: str = ""
    stop: bool = False


_rule_source: Callable[[], Sequence[FiledRule]] | None = None


def register_rule_source(source: Callable[[], Sequence[FiledRule]]) -> None:
    """Where the enabled filed rules come from, in order (automation, when it is ready)."""
    global _rule_source
    _rule_source = source


def filed_rules() -> Sequence[FiledRule]:
    return _rule_source() if _rule_source is not None else ()


@dataclass
class Routing:
    department: Department
    priority: str
    tags: list[str] = field(default_factory=list)
    assignee: Any = None
    applied: list[FiledRule] = field(default_factory=list)
    assignee_rule: str = ""
    changes: list[tuple[str, str, str, str]] = field(default_factory=list)
    """(rule name, field, from, to) for the audit log."""


@dataclass(frozen=True)
class Draft:
    """What a filed rule reads of the ticket about to be written."""

    subject: str
    body: str
    tier: str
    channel: str
    urgency: str
    language: str = ""
    #: The customer's organisation by name, read only when a rule asks (it costs a query).
    organisation: Callable[[], str] = field(default=lambda: "", compare=False)


def priority_from_urgency(urgency: str) -> str:
    if priority_rank(urgency) > priority_rank(URGENCY_CEILING):
        return URGENCY_CEILING
    return urgency


def _holds(condition: RuleCondition, draft: Draft, state: Routing) -> bool:
    if condition.field == "text":
        texts = ([draft.subject] if condition.where in ("subject", "both") else []) + (
            [draft.body] if condition.where in ("body", "both") else []
        )
        found = any(matches_keywords(text, condition.values) for text in texts)
    else:
        value = {
            # Later rules see the department earlier rules chose.
            "department": state.department.slug,
            "tier": draft.tier,
            "channel": draft.channel,
            "urgency": draft.urgency,
            "language": draft.language,
        }.get(condition.field)
        if condition.field == "organisation":
            value = draft.organisation()
        found = value in condition.values
    return not found if condition.negate else found


def _matches(rule: FiledRule, draft: Draft, state: Routing) -> bool:
    """All (or any) conditions hold; a rule without conditions matches every ticket."""
    if not rule.conditions:
        return True
    held = (_holds(condition, draft, state) for condition in rule.conditions)
    return any(held) if rule.match_any else all(held)


def _urgency_only(rule: FiledRule, draft: Draft, state: Routing) -> bool:
    """The rule matched on the customer's urgency alone: it has an urgency condition and
    nothing else it requires (all), or none of its other conditions held (any)."""
    urgency = [c for c in rule.conditions if c.field == "urgency"]
    others = [c for c in rule.conditions if c.field != "urgency"]
    if not urgency:
        return False
    if rule.match_any:
        return not any(_holds(c, draft, state) for c in others)
    return not others


def route(
    *,
    subject: str,
    body: str,
    department: Department,
    tier: str,
    channel: str,
    urgency: str,
    rules: Iterable[FiledRule] | None = None,
    declared_critical: bool = False,
    language: str = "",
    organisation: Callable[[], str] = lambda: "",
) -> Routing:
    """Start from the customer's choices and apply every enabled rule that matches, in order,
    until one that stops.

    An accepted critical declaration starts critical and no rule lowers it: only an agent
    does, with a reason the customer sees."""
    start = Priority.CRITICAL if declared_critical else priority_from_urgency(urgency)
    state = Routing(department=department, priority=start)
    draft = Draft(
        subject=subject,
        body=body,
        tier=tier,
        channel=channel,
        urgency=urgency,
        language=language,
        organisation=organisation,
    )
    if rules is None:
        rules = filed_rules()
    for rule in rules:
        if not _matches(rule, draft, state):
            continue
        # Decided before this rule's department change: its conditions are what matched.
        urgency_only = _urgency_only(rule, draft, state)
        state.applied.append(rule)
        target = config.department_by_slug(rule.set_department) if rule.set_department else None
        if target is not None and target.pk != state.department.pk:
            state.changes.append((rule.name, "department", state.department.slug, target.slug))
            state.department = target
        new_priority = state.priority
        if rule.set_priority:
            new_priority = rule.set_priority
        if rule.min_priority and priority_rank(rule.min_priority) > priority_rank(new_priority):
            new_priority = rule.min_priority
        if urgency_only and priority_rank(new_priority) > priority_rank(URGENCY_CEILING):
            # A rule on the customer's urgency alone is the customer asking in other words.
            new_priority = max(URGENCY_CEILING, state.priority, key=priority_rank)
        if declared_critical:
            new_priority = Priority.CRITICAL
        if new_priority != state.priority:
            state.changes.append((rule.name, "priority", state.priority, new_priority))
            state.priority = new_priority
        for tag in rule.add_tags:
            if tag.strip() and tag.strip() not in state.tags:
                state.tags.append(tag.strip())
                state.changes.append((rule.name, "tags", "", tag.strip()))
        if rule.assignee_email:
            state.assignee = rule.assignee_email
            state.assignee_rule = rule.name
        if rule.stop:
            break
    if state.assignee is not None:
        # People are read fresh, never from the cached rules: one who left is seen at once.
        # E-mails are stored in lower case: an exact lookup uses the unique index (a
        # case-insensitive one would read every user, customers included, per ticket filed).
        state.assignee = User.objects.filter(email=normalize_email(state.assignee)).first()
    if state.assignee is not None and not _may_work(state.assignee, state.department):
        # The rule names someone who cannot work this ticket (left, not an agent, or a later
        # rule moved the ticket): leave it unassigned rather than leak it.
        state.assignee = None
    if state.assignee is not None:
        state.changes.append((state.assignee_rule, "assignee", "", state.assignee.email))
    return state


def _may_work(user: Any, department: Department) -> bool:
    if not (user.is_active and user.is_agent):
        return False
    return bool(user.is_admin or config.works_in(user.pk, department.pk))
