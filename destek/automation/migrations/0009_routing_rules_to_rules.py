"""The intake routing rules (tickets.RoutingRule) become rules "when a ticket is filed"
(automation.Rule, kind "filed"), with the same effect; tickets 0030 then deletes the old model.

Backwards this does nothing: the filed rules stay (the old table comes back empty)."""

from __future__ import annotations

from typing import Any

from django.db import migrations
from django.utils.text import slugify

#: Rule.name is unique and at most 100 characters.
NAME_MAX = 100
#: A tag name is at most 50 characters (tickets.Tag.name).
TAG_MAX = 50


def unique_name(name: str, taken: set[str]) -> str:
    """`name`, or `name (routing)`, `name (routing 2)`, ... when a rule already has it."""
    candidate = name[:NAME_MAX]
    number = 1
    while candidate.lower() in taken:
        suffix = " (routing)" if number == 1 else f" (routing {number})"
        candidate = name[: NAME_MAX - len(suffix)] + suffix
        number += 1
    taken.add(candidate.lower())
    return candidate


def rule_fields(old: Any, taken: set[str]) -> dict[str, Any]:
    """The fields of the filed Rule that does what the routing rule `old` did."""
    conditions: list[dict[str, Any]] = []
    enabled = old.enabled
    keywords = [line.strip() for line in old.keywords.splitlines() if line.strip()]
    if keywords:
        if old.match_subject and old.match_body:
            where = "both"
        elif old.match_subject:
            where = "subject"
        elif old.match_body:
            where = "body"
        else:
            # Keywords looked for nowhere: the old rule never matched; so does a disabled one.
            where, enabled = "both", False
        conditions.append({"field": "text", "op": "contains", "value": keywords, "in": where})
    if old.if_department_id:
        conditions.append({"field": "department", "op": "is", "value": old.if_department.slug})
    for field in ("tier", "channel", "urgency"):
        value = getattr(old, f"if_{field}")
        if value:
            conditions.append({"field": field, "op": "is", "value": value})
    actions: list[dict[str, Any]] = []
    if old.set_department_id:
        actions.append({"type": "set_department", "value": old.set_department.slug})
    if old.set_priority:
        actions.append({"type": "set_priority", "value": old.set_priority})
    if old.min_priority:
        actions.append({"type": "raise_priority", "value": old.min_priority})
    tags: list[str] = []
    for tag in old.add_tags.split(","):
        # As tags are stored (tickets.actions.tag_names): a tag of symbols only ("🔥") is no
        # tag name, and a rule naming it would not parse (every ticket filed refused).
        name = slugify(tag, allow_unicode=True)[:TAG_MAX]
        if name and name not in tags:
            tags.append(name)
    if tags:
        actions.append({"type": "add_tags", "value": tags})
    if old.set_assignee_id:
        actions.append({"type": "assign", "value": old.set_assignee.email})
    if not actions:
        # A rule that only stops: keep its place and its stop with an action that changes
        # nothing (raising to the lowest priority), so it still stops the rules after it.
        actions.append({"type": "raise_priority", "value": "low"})
    return {
        "name": unique_name(old.name, taken),
        "kind": "filed",
        "match": "all",
        "conditions": conditions,
        "actions": actions,
        "position": old.position,
        "enabled": enabled,
        "stop": old.stop,
    }


def forwards(apps: Any, schema_editor: Any) -> None:
    RoutingRule = apps.get_model("tickets", "RoutingRule")
    Rule = apps.get_model("automation", "Rule")
    taken = {name.lower() for name in Rule.objects.values_list("name", flat=True)}
    old_rules = RoutingRule.objects.select_related(
        "if_department", "set_department", "set_assignee"
    ).order_by("position", "pk")
    for old in old_rules:
        Rule.objects.create(**rule_fields(old, taken))


class Migration(migrations.Migration):
    dependencies = [
        ("automation", "0008_rule_stop_and_filed"),
        ("tickets", "0029_incident_events"),
    ]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
