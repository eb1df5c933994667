from __future__ import annotations

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MessagingConfig(AppConfig):
    name = "destek.messaging"
    label = "messaging"
    verbose_name = _("Messengers")

    def ready(self) -> None:
        from destek.announcements import notices as status_notices
        from destek.announcements.choices import NoticeVia
        from destek.messaging import actions, identity, jobs, linking, receivers, survey  # noqa: F401
        from destek.messaging import status_notices as status_carrier
        from destek.surveys import actions as surveys
        from destek.surveys.models import SurveyVia
        from destek.tickets import notifications, schemas
        from destek.tickets.signals import message_added

        # A resolved ticket's survey is asked in its chat (survey.py), before any mail.
        if not any(c.via == SurveyVia.MESSENGER for c in surveys.carriers):
            surveys.carriers.append(
                surveys.Carrier(via=SurveyVia.MESSENGER, takes=survey.takes, send=survey.send)
            )
        # Status notices reach a customer's linked Telegram chat (status_notices.py).
        if status_notices.carrier(NoticeVia.TELEGRAM) is None:
            status_notices.carriers.append(
                status_notices.Carrier(
                    via=NoticeVia.TELEGRAM, reach=status_carrier.reach, send=status_carrier.send
                )
            )
        if survey.handle not in actions.inbound_handlers:
            actions.inbound_handlers.insert(0, survey.handle)

        if identity.as_json not in schemas.messenger_identities:
            schemas.messenger_identities.append(identity.as_json)
        if receivers.chat_carries not in notifications.messenger_carries:
            notifications.messenger_carries.append(receivers.chat_carries)
        message_added.connect(receivers.message_added, dispatch_uid="messaging.message_added")
