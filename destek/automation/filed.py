"""Rules that run when a ticket is filed (kind "filed"): before it is written, they decide
its department, priority, tags and assignee.

`tickets.routing` applies them (tickets cannot import automation); this module compiles the
enabled rules into `tickets.routing.FiledRule`s, kept per process until a rule changes. What a
filed rule may say is checked by `conditions.check_filed`."""

from __future__ import annotations

import logging

from destek.automation.conditions import RuleInvalid, parse_actions, parse_conditions
from destek.automation.models import Rule, RuleKind, RuleMatch
from destek.lib import config_cache
from destek.tickets.choices import priority_rank
from destek.tickets.routing import FiledRule, RuleCondition

log = logging.getLogger(__name__)


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
    """A stored rule that does not parse (written past the admin's checks) is left out and
    logged: one such rule must not refuse every ticket filed."""
    compiled = []
    for rule in Rule.objects.filter(enabled=True, kind=RuleKind.FILED).order_by("position", "pk"):
        try:
            compiled.append(compile_rule(rule))
        except RuleInvalid as invalid:
            log.warning("filed rule %r left out: %s", rule.name, invalid)
    return compiled
