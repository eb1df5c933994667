from __future__ import annotations

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AutomationConfig(AppConfig):
    name = "destek.automation"
    label = "automation"
    verbose_name = _("Automation")

    def ready(self) -> None:
        # Rules listen to the tickets' signals (tickets cannot import automation), and the
        # worker finds the schedule rules' sweep.
        from destek.automation import rule_jobs, rules  # noqa: F401
        from destek.automation.models import Rule, RuleText
        from destek.lib import config_cache

        config_cache.watch(Rule, RuleText)
