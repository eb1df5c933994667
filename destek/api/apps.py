from __future__ import annotations

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ApiConfig(AppConfig):
    name = "destek.api"
    label = "api"
    verbose_name = _("API")

    def ready(self) -> None:
        from destek.api import idempotency  # noqa: F401  (registers periodic tasks)
