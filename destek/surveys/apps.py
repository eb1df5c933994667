from __future__ import annotations

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SurveysConfig(AppConfig):
    name = "destek.surveys"
    label = "surveys"
    verbose_name = _("Surveys")

    def ready(self) -> None:
        from destek.surveys import jobs, receivers  # noqa: F401
        from destek.tickets.signals import status_changed

        status_changed.connect(receivers.status_changed, dispatch_uid="surveys.status_changed")
