from __future__ import annotations

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class NotifyConfig(AppConfig):
    name = "destek.notify"
    label = "notify"
    verbose_name = _("Notifications")

    def ready(self) -> None:
        from destek.notify import checks, jobs  # noqa: F401  (registers checks and periodic tasks)
