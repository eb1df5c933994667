from __future__ import annotations

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AutomationConfig(AppConfig):
    name = "destek.automation"
    label = "automation"
    verbose_name = _("Automation")

    def ready(self) -> None:
        # Rules, assignment and webhooks listen to the tickets' signals (tickets cannot import
        # automation), and the worker finds their sweeps. Webhooks connect first: receivers run
        # in connection order, and `ticket.created` must be written before the
        # `ticket.updated` rows that rules and assignment cause on a new ticket.
        from destek.automation import webhooks

        webhooks.connect()
        from destek.automation import (  # noqa: F401
            assignment,
            assignment_jobs,
            rule_jobs,
            rules,
            webhook_jobs,
        )
        from destek.automation.models import DepartmentAssignment, Rule, RuleText
        from destek.lib import config_cache
        from destek.tickets.signals import ticket_created

        config_cache.watch(DepartmentAssignment)
        config_cache.watch(Rule, RuleText)
        rules.connect()
        # Rules name departments, agents and organisations by slug, e-mail and name: renames
        # rewrite them.
        from destek.automation import renames

        renames.connect()
        # The "when a ticket is filed" rules, applied by tickets' routing before it writes.
        from destek.automation import filed
        from destek.tickets import routing

        routing.register_rule_source(filed.filed_rules)
        ticket_created.connect(assignment.ticket_created, dispatch_uid="automation.assignment")
