from __future__ import annotations

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AutomationConfig(AppConfig):
    name = "destek.automation"
    label = "automation"
    verbose_name = _("Automation")

    def ready(self) -> None:
        from destek.automation import webhook_jobs, webhooks  # noqa: F401

        webhooks.connect()
