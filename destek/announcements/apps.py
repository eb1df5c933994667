from __future__ import annotations

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AnnouncementsConfig(AppConfig):
    name = "destek.announcements"
    label = "announcements"
    verbose_name = _("Service status")

    def ready(self) -> None:
        from destek.announcements import jobs, notice_jobs  # noqa: F401
