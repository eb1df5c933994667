"""What tickets does when a floor below it reports a change (connected in `apps.ready`)."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from destek.accounts.models import Organisation, User
from destek.tickets import search_jobs
from destek.tickets.actions import recompute_customer_clocks
from destek.tickets.clock_jobs import recompute_open_tickets
from destek.tickets.models import Ticket


def customer_terms_changed(sender: Any, customer: User, **kwargs: Any) -> None:
    """A VIP's open tickets move to the VIP clocks, from their start."""
    recompute_customer_clocks(customer)


def customer_named(sender: Any, customer: User, **kwargs: Any) -> None:
    """Their tickets are found by the new name (or organisation) once the worker indexed them."""
    customer_id = customer.pk
    transaction.on_commit(lambda: search_jobs.index_customer(customer_id), robust=True)


def organisation_renamed(sender: Any, organisation: Organisation, **kwargs: Any) -> None:
    """Its members' tickets are found by the new name once the worker indexed them."""
    organisation_id = organisation.pk
    transaction.on_commit(lambda: search_jobs.index_organisation(organisation_id), robust=True)


def service_levels_changed(sender: Any, **kwargs: Any) -> None:
    """Hours or targets changed: every open ticket's clocks follow, in the worker."""
    transaction.on_commit(recompute_open_tickets, robust=True)


def message_added(sender: Any, *, ticket: Ticket, **kwargs: Any) -> None:
    """A message is new words to find the ticket by."""
    search_jobs.reindex_soon(ticket.pk)
