"""A customer's tickets carried to another account: a messenger contact proved it is the
person of an existing account, and what it filed under its own placeholder customer goes with
it, each ticket saying so in its history."""

from __future__ import annotations

from django.db import transaction

from destek.accounts.models import User
from destek.tickets import search_jobs
from destek.tickets.actions._common import Actor, _event, _save
from destek.tickets.choices import AuthorKind, EventKind
from destek.tickets.models import Attachment, Message, Ticket


@transaction.atomic
def move_tickets(source: User, *, to: User, actor: Actor) -> list[Ticket]:
    """Every ticket of `source` becomes `to`'s: the ticket, the messages and files `source`
    wrote, one history entry each; the clocks follow `to`'s tier. Nothing else changes."""
    moved = list(
        Ticket.objects.select_for_update(of=("self",))
        .select_related("department", "customer", "assignee")
        .filter(customer=source)
        .order_by("pk")
    )
    if not moved:
        return []
    ids = [t.pk for t in moved]
    Message.objects.filter(
        ticket_id__in=ids, author=source, author_kind=AuthorKind.CUSTOMER
    ).update(author=to)
    Attachment.objects.filter(ticket_id__in=ids, uploaded_by=source).update(uploaded_by=to)
    for ticket in moved:
        ticket.customer = to
        _save(ticket)  # the clocks and the queue's VIP mark follow the account's tier
        _event(
            ticket,
            actor,
            EventKind.CUSTOMER,
            from_value=source.display_name,
            to_value=to.email,
        )
        # The customer's name and organisation are part of a ticket's search words.
        search_jobs.reindex_soon(ticket.pk)
    return moved
