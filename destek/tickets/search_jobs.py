"""Keeping ticket search current: a change marks its ticket, and the worker rebuilds the
ticket's words a few seconds later (a burst of chat lines is indexed once); a sweep catches
tickets that have no words yet (`destek search-index` rebuilds them all)."""

from __future__ import annotations

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.db.models import QuerySet
from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task

from destek.tickets import search
from destek.tickets.models import Ticket

BATCH = 500


def _due_key(ticket_id: int) -> str:
    return f"tickets:search:due:{ticket_id}"


def reindex_soon(ticket_id: int) -> None:
    """Index the ticket once the change commits, at most once per DESTEK_SEARCH_DELAY_SECONDS
    (the words are rebuilt whole, so the latest change is always in)."""
    delay = settings.DESTEK_SEARCH_DELAY_SECONDS
    if delay and not cache.add(_due_key(ticket_id), 1, timeout=delay + 60):
        return  # already due: that run reads this change too

    def enqueue() -> None:
        if delay:
            index_ticket.schedule((ticket_id,), delay=delay)
        else:
            index_ticket(ticket_id)

    transaction.on_commit(enqueue, robust=True)


@db_task()
def index_ticket(ticket_id: int) -> int:
    cache.delete(_due_key(ticket_id))  # first: a change from now on asks for another run
    return search.index_tickets([ticket_id])


@db_task()
def index_customer(customer_id: int) -> int:
    """Every ticket of one customer again (their name or organisation changed)."""
    return _in_batches(Ticket.objects.filter(customer_id=customer_id))


@db_task()
def index_organisation(organisation_id: int) -> int:
    """Every ticket of an organisation's members again (its name changed)."""
    return _in_batches(Ticket.objects.filter(customer__organisation_id=organisation_id))


def _in_batches(tickets: QuerySet[Ticket], batch: int = BATCH) -> int:
    """Index these tickets newest first, a batch per transaction."""
    done = 0
    last = None
    while True:
        page = tickets.order_by("-id")
        if last is not None:
            page = page.filter(pk__lt=last)
        ids = list(page.values_list("pk", flat=True)[:batch])
        if not ids:
            return done
        done += search.index_tickets(ids)
        last = ids[-1]


def unindexed(limit: int = BATCH) -> list[int]:
    return list(
        Ticket.objects.filter(search__isnull=True)
        .order_by("-id")
        .values_list("pk", flat=True)[:limit]
    )


def index_all(*, only_missing: bool = False, batch: int = BATCH) -> int:
    """Rebuild the words of every ticket (or of those that have none), newest first."""
    done = 0
    if only_missing:
        while ids := unindexed(batch):
            done += search.index_tickets(ids)
        return done
    return _in_batches(Ticket.objects.all(), batch)


@db_periodic_task(crontab(minute="*/10"))
def index_missing() -> int:
    """Tickets a lost job left without words (Redis restarted in between)."""
    return search.index_tickets(unindexed())
