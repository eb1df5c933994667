from __future__ import annotations

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MessagingConfig(AppConfig):
    name = "destek.messaging"
    label = "messaging"
    verbose_name = _("Messengers")

    def ready(self) -> None:
        from destek.messaging import jobs, linking, receivers  # noqa: F401  (tasks, hooks)
        from destek.tickets.signals import message_added

        message_added.connect(receivers.message_added, dispatch_uid="messaging.message_added")
