from __future__ import annotations

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class TicketsConfig(AppConfig):
    name = "destek.tickets"
    label = "tickets"
    verbose_name = _("Tickets")

    def ready(self) -> None:
        from destek.tickets import jobs  # noqa: F401  (registers periodic tasks)
