from __future__ import annotations

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MailConfig(AppConfig):
    name = "destek.mail"
    label = "mail"
    verbose_name = _("E-mail")

    def ready(self) -> None:
        from destek.lib import config_cache
        from destek.mail import checks, jobs  # noqa: F401  (registers checks, periodic tasks)
        from destek.mail.models import MailAccount
        from destek.mail.selectors import last_inbound_message_id
        from destek.notify.threads import register_latest_mail_lookup

        # Our own addresses (the mailboxes' among them) are read once per process.
        config_cache.watch(MailAccount)

        # A ticket's mail answers the customer's latest mail in it (In-Reply-To).
        register_latest_mail_lookup(last_inbound_message_id)

        # Our own mailboxes are never copied on a ticket (CC).
        from destek.mail.actions import own_addresses
        from destek.tickets.actions import register_own_addresses

        register_own_addresses(own_addresses)
