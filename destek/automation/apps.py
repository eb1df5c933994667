from __future__ import annotations

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AutomationConfig(AppConfig):
    name = "destek.automation"
    label = "automation"
    verbose_name = _("Automation")

    def ready(self) -> None:
        from destek.automation import assignment, assignment_jobs  # noqa: F401  (periodic task)
        from destek.automation.models import DepartmentAssignment
        from destek.lib import config_cache
        from destek.tickets.signals import ticket_created

        config_cache.watch(DepartmentAssignment)
        ticket_created.connect(assignment.ticket_created, dispatch_uid="automation.assignment")
