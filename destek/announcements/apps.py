from __future__ import annotations

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AnnouncementsConfig(AppConfig):
    name = "destek.announcements"
    label = "announcements"
    verbose_name = _("Service status")

    def ready(self) -> None:
        from django.db.models.signals import post_delete, post_save

        from destek.announcements import jobs, notice_jobs  # noqa: F401
        from destek.announcements.models import ServiceUser

        # Who uses what is edited in the admin: the banners read it afresh.
        post_save.connect(_forget, sender=ServiceUser, dispatch_uid="status-uses-saved")
        post_delete.connect(_forget, sender=ServiceUser, dispatch_uid="status-uses-deleted")


def _forget(**kwargs: object) -> None:
    from destek.announcements.cache import bump_on_commit

    bump_on_commit()
