"""Routing and priority: the admin's rules applied to a new ticket."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from destek.accounts.models import User
from destek.tickets import config
from destek.tickets.choices import Priority, priority_rank
from destek.tickets.intake import matches_keywords
from destek.tickets.models import Department, RoutingRule

#: The highest priority a customer's own urgency can give: critical only when the customer
#: declares a critical incident with its facts and within their limit (`declared_critical`).
URGENCY_CEILING = Priority.HIGH


@dataclass
class Routing:
    department: Department
    priority: str
    tags: list[str] = field(default_factory=list)
    assignee: Any = None
    applied: list[RoutingRule] = field(default_factory=list)
    assignee_rule: str = ""
    changes: list[tuple[str, str, str, str]] = field(default_factory=list)
    """(rule name, field, from, to) for the audit log."""


def priority_from_urgency(urgency: str) -> str:
    if priority_rank(urgency) > priority_rank(URGENCY_CEILING):
        return URGENCY_CEILING
    return urgency


def _matches(
    rule: RoutingRule,
    *,
    subject: str,
    body: str,
    state: Routing,
    tier: str,
    channel: str,
    urgency: str,
) -> bool:
    if rule.if_department_id and rule.if_department_id != state.department.pk:
        return False
    if rule.if_tier and rule.if_tier != tier:
        return False
    if rule.if_channel and rule.if_channel != channel:
        return False
    if rule.if_urgency and rule.if_urgency != urgency:
        return False
    keywords = rule.keyword_list()
    if keywords:
        haystacks = ([subject] if rule.match_subject else []) + ([body] if rule.match_body else [])
        if not any(matches_keywords(text, keywords) for text in haystacks):
            return False
    return True


def route(
    *,
    subject: str,
    body: str,
    department: Department,
    tier: str,
    channel: str,
    urgency: str,
    rules: Iterable[RoutingRule] | None = None,
    declared_critical: bool = False,
) -> Routing:
    """Start from the customer's choices and apply every enabled rule that matches, in order.

    An accepted critical declaration starts critical and no rule lowers it: only an agent
    does, with a reason the customer sees."""
    start = Priority.CRITICAL if declared_critical else priority_from_urgency(urgency)
    state = Routing(department=department, priority=start)
    if rules is None:
        rules = config.routing_rules()
    for rule in rules:
        if not _matches(
            rule,
            subject=subject,
            body=body,
            state=state,
            tier=tier,
            channel=channel,
            urgency=urgency,
        ):
            continue
        state.applied.append(rule)
        if rule.set_department_id and rule.set_department_id != state.department.pk:
            assert rule.set_department is not None
            state.changes.append(
                (rule.name, "department", state.department.slug, rule.set_department.slug)
            )
            state.department = rule.set_department
        new_priority = state.priority
        if rule.set_priority:
            new_priority = rule.set_priority
        if rule.min_priority and priority_rank(rule.min_priority) > priority_rank(new_priority):
            new_priority = rule.min_priority
        if _urgency_only(rule) and priority_rank(new_priority) > priority_rank(URGENCY_CEILING):
            # A rule on the customer's urgency alone is the customer asking in other words.
            new_priority = max(URGENCY_CEILING, state.priority, key=priority_rank)
        if declared_critical:
            new_priority = Priority.CRITICAL
        if new_priority != state.priority:
            state.changes.append((rule.name, "priority", state.priority, new_priority))
            state.priority = new_priority
        for tag in rule.add_tags.split(","):
            if tag.strip() and tag.strip() not in state.tags:
                state.tags.append(tag.strip())
                state.changes.append((rule.name, "tags", "", tag.strip()))
        if rule.set_assignee_id:
            state.assignee = rule.set_assignee_id
            state.assignee_rule = rule.name
        if rule.stop:
            break
    if state.assignee is not None:
        # People are read fresh, never from the cached rules: one who left is seen at once.
        state.assignee = User.objects.filter(pk=state.assignee).first()
    if state.assignee is not None and not _may_work(state.assignee, state.department):
        # The rule names someone who cannot work this ticket (left, not an agent, or a later
        # rule moved the ticket): leave it unassigned rather than leak it.
        state.assignee = None
    if state.assignee is not None:
        state.changes.append((state.assignee_rule, "assignee", "", state.assignee.email))
    return state


def _urgency_only(rule: RoutingRule) -> bool:
    return bool(rule.if_urgency) and not (
        rule.keywords.strip() or rule.if_department_id or rule.if_tier or rule.if_channel
    )


def _may_work(user: Any, department: Department) -> bool:
    if not (user.is_active and user.is_agent):
        return False
    return bool(user.is_admin or config.works_in(user.pk, department.pk))
