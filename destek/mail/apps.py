from __future__ import annotations

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MailConfig(AppConfig):
    name = "destek.mail"
    label = "mail"
    verbose_name = _("E-mail")

    def ready(self) -> None:
        from destek.mail import checks, jobs  # noqa: F401  (registers checks, periodic tasks)
