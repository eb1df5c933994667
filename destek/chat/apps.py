from __future__ import annotations

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ChatConfig(AppConfig):
    name = "destek.chat"
    label = "chat"
    verbose_name = _("Live chat")

    def ready(self) -> None:
        from destek.chat import jobs, realtime, receivers  # noqa: F401  (periodic tasks)
        from destek.tickets.signals import message_added

        message_added.connect(receivers.message_added, dispatch_uid="chat.message_added")
        realtime.register()
        from destek.chat import assignment_hooks

        assignment_hooks.register()
