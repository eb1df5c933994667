from __future__ import annotations

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AutomationConfig(AppConfig):
    name = "destek.automation"
    label = "automation"
    verbose_name = _("Automation")

    def ready(self) -> None:
        # Rules, assignment and webhooks listen to the tickets' signals (tickets cannot import
        # automation), and the worker finds their sweeps.
        from destek.automation import (  # noqa: F401
            assignment,
            assignment_jobs,
            rule_jobs,
            rules,
            webhook_jobs,
            webhooks,
        )
        from destek.automation.models import DepartmentAssignment, Rule, RuleText
        from destek.lib import config_cache
        from destek.tickets.signals import ticket_created

        config_cache.watch(DepartmentAssignment)
        config_cache.watch(Rule, RuleText)
        ticket_created.connect(assignment.ticket_created, dispatch_uid="automation.assignment")
        webhooks.connect()
