from __future__ import annotations

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class TicketsConfig(AppConfig):
    name = "destek.tickets"
    label = "tickets"
    verbose_name = _("Tickets")

    def ready(self) -> None:
        from destek.accounts.signals import (
            customer_named,
            customer_terms_changed,
            organisation_renamed,
        )
        from destek.sla.signals import service_levels_changed
        from destek.tickets import clock_jobs, config, jobs, receivers, search_jobs  # noqa: F401
        from destek.tickets.signals import message_added

        config.watch()  # the admin's configuration, cached per process

        customer_terms_changed.connect(
            receivers.customer_terms_changed, dispatch_uid="tickets.customer_terms_changed"
        )
        service_levels_changed.connect(
            receivers.service_levels_changed, dispatch_uid="tickets.service_levels_changed"
        )
        customer_named.connect(receivers.customer_named, dispatch_uid="tickets.customer_named")
        organisation_renamed.connect(
            receivers.organisation_renamed, dispatch_uid="tickets.organisation_renamed"
        )
        message_added.connect(receivers.message_added, dispatch_uid="tickets.search")
