from __future__ import annotations

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MessagingConfig(AppConfig):
    name = "destek.messaging"
    label = "messaging"
    verbose_name = _("Messengers")

    def ready(self) -> None:
        from destek.messaging import actions, identity, jobs, linking, receivers, survey  # noqa: F401
        from destek.surveys import actions as surveys
        from destek.surveys.models import SurveyVia
        from destek.tickets import notifications, schemas
        from destek.tickets.signals import message_added

        # A resolved ticket's survey is asked in its chat (survey.py), before any mail.
        if not any(c.via == SurveyVia.MESSENGER for c in surveys.carriers):
            surveys.carriers.append(
                surveys.Carrier(via=SurveyVia.MESSENGER, takes=survey.takes, send=survey.send)
            )
        if survey.handle not in actions.inbound_handlers:
            actions.inbound_handlers.insert(0, survey.handle)

        if identity.as_json not in schemas.messenger_identities:
            schemas.messenger_identities.append(identity.as_json)
        if receivers.chat_carries not in notifications.messenger_carries:
            notifications.messenger_carries.append(receivers.chat_carries)
        message_added.connect(receivers.message_added, dispatch_uid="messaging.message_added")
