from __future__ import annotations

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class KbConfig(AppConfig):
    name = "destek.kb"
    label = "kb"
    verbose_name = _("Knowledge base")

    def ready(self) -> None:
        from destek.kb import jobs  # noqa: F401  (registers the deflection sweep)
