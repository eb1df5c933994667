"""The routing rules' migration run on a database, as an upgrade runs it."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

BEFORE = [("tickets", "0029_incident_events"), ("automation", "0008_rule_stop_and_filed")]
AFTER = [("tickets", "0030_routing_rules_are_automation_rules")]


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_an_upgrade_turns_every_kind_of_routing_rule_into_a_filed_rule(demo: Any) -> None:
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    apps = executor.loader.project_state(BEFORE).apps
    RoutingRule = apps.get_model("tickets", "RoutingRule")
    Rule = apps.get_model("automation", "Rule")
    Department = apps.get_model("tickets", "Department")
    User = apps.get_model("accounts", "User")
    Rule.objects.all().delete()
    Rule.objects.create(name="Taken", kind="created", conditions=[], actions=[])
    finance = Department.objects.get(slug="finance")
    agent = User.objects.get(email="finance@example.com")
    RoutingRule.objects.all().delete()
    RoutingRule.objects.create(name="Taken", position=1, stop=True)  # nothing but stop
    RoutingRule.objects.create(name="taken", position=2, enabled=False, add_tags="Hot, 🔥")
    RoutingRule.objects.create(
        name="Money",
        position=3,
        keywords="refund\nmoney back",
        match_body=True,
        set_department=finance,
        set_assignee=agent,
        if_urgency="high",
    )
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(AFTER)
    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())

    from destek.automation.models import Rule as Now

    rules = {r.name: r for r in Now.objects.filter(kind="filed")}
    assert set(rules) == {"Taken (routing)", "taken (routing 2)", "Money"}
    stop = rules["Taken (routing)"]
    assert (stop.stop, stop.conditions, stop.actions) == (
        True,
        [],
        [{"type": "raise_priority", "value": "low"}],
    )
    tagged = rules["taken (routing 2)"]
    assert tagged.enabled is False and tagged.actions == [{"type": "add_tags", "value": ["hot"]}]
    money = rules["Money"]
    assert money.conditions == [
        {"field": "text", "op": "contains", "value": ["refund", "money back"], "in": "both"},
        {"field": "urgency", "op": "is", "value": "high"},
    ]
    assert money.actions == [
        {"type": "set_department", "value": "finance"},
        {"type": "assign", "value": "finance@example.com"},
    ]
    for rule in rules.values():
        rule.full_clean()
