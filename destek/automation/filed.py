"""Rules that run when a ticket is filed (kind "filed"): before it is written, they decide
its department, priority, tags and assignee.

`tickets.routing` applies them (tickets cannot import automation); this module checks what a
filed rule may say (only what is known before the ticket exists) and compiles the enabled
rules into `tickets.routing.FiledRule`s, kept per process until a rule changes."""

from __future__ import annotations

from collections.abc import Sequence

from django.utils.translation import gettext as _

from destek.automation.conditions import (
    Action,
    Condition,
    RuleInvalid,
    parse_actions,
    parse_conditions,
)
from destek.automation.models import Rule, RuleKind, RuleMatch
from destek.lib import config_cache
from destek.tickets.choices import priority_rank
from destek.tickets.routing import CONDITION_FIELDS, FiledRule, RuleCondition

#: What a filed rule may do: the ticket's first department, priority, tags and assignee.
ACTION_TYPES = ("set_department", "set_priority", "raise_priority", "add_tags", "assign")


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
        if isinstance(item, Action) and item.type not in ACTION_TYPES:
            raise RuleInvalid(
                _(
                    "A rule that runs when a ticket is filed cannot “{type}”: the ticket does "
                    "not exist yet. It can: {known}."
                ).format(type=item.type, known=", ".join(ACTION_TYPES))
            )


def compile_rule(rule: Rule) -> FiledRule:
    conditions = tuple(
        RuleCondition(
            field=condition.field,
            values=condition.values,
            negate=condition.op in ("is_not", "not_contains"),
            where=condition.where,
        )
        for condition in parse_conditions(rule.conditions)
    )
    set_department = set_priority = min_priority = assignee = ""
    tags: list[str] = []
    for action in parse_actions(rule.actions):
        if action.type == "set_department":
            set_department = action.value
        elif action.type == "set_priority":
            set_priority = action.value
        elif action.type == "raise_priority":
            if not min_priority or priority_rank(action.value) > priority_rank(min_priority):
                min_priority = action.value
        elif action.type == "add_tags":
            tags += [name for name in action.values if name not in tags]
        elif action.type == "assign":
            assignee = action.value
    return FiledRule(
        name=rule.name,
        conditions=conditions,
        match_any=rule.match == RuleMatch.ANY,
        set_department=set_department,
        set_priority=set_priority,
        min_priority=min_priority,
        add_tags=tuple(tags),
        assignee_email=assignee,
        stop=rule.stop,
    )


def filed_rules() -> list[FiledRule]:
    """The enabled filed rules in order, compiled once per configuration version."""
    return config_cache.cached("automation:filed_rules", _load)


def _load() -> list[FiledRule]:
    rules = Rule.objects.filter(enabled=True, kind=RuleKind.FILED).order_by("position", "pk")
    return [compile_rule(rule) for rule in rules]
