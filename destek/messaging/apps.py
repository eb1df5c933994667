from __future__ import annotations

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MessagingConfig(AppConfig):
    name = "destek.messaging"
    label = "messaging"
    verbose_name = _("Messengers")

    def ready(self) -> None:
        from destek.messaging import identity, jobs, linking, receivers  # noqa: F401
        from destek.tickets import notifications, schemas
        from destek.tickets.signals import message_added

        if identity.as_json not in schemas.messenger_identities:
            schemas.messenger_identities.append(identity.as_json)
        if receivers.chat_carries not in notifications.messenger_carries:
            notifications.messenger_carries.append(receivers.chat_carries)
        message_added.connect(receivers.message_added, dispatch_uid="messaging.message_added")
