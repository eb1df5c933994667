from __future__ import annotations

from datetime import datetime
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.db import connection

from destek.accounts.choices import Tier
from destek.accounts.models import User
from destek.demo.seeding import SEEDED_TABLES
from destek.tickets.choices import ActorKind, AuthorKind, EventKind, TicketStatus, priority_rank
from destek.tickets.models import FAR_FUTURE, Department, Message, Ticket, TicketEvent


def seed(**options: Any) -> str:
    out = StringIO()
    call_command("seed", stdout=out, **options)
    return out.getvalue()


def test_seed_creates_tickets_with_unique_eight_digit_numbers_and_their_threads(db: Any) -> None:
    output = seed(tickets=50, messages=2, customers=5)

    numbers = list(Ticket.objects.values_list("number", flat=True))
    assert len(numbers) == 50
    assert len(set(numbers)) == 50
    assert all(10_000_000 <= n <= 99_999_999 for n in numbers)
    assert Message.objects.count() == 100
    assert TicketEvent.objects.filter(kind=EventKind.CREATED).count() == 50
    assert "Seeded 50 tickets" in output


def test_seeded_threads_start_with_the_customer(db: Any) -> None:
    seed(tickets=20, messages=3, customers=5)

    for ticket in Ticket.objects.all():
        first = ticket.messages.order_by("id").first()
        assert first is not None
        assert first.author_kind == AuthorKind.CUSTOMER
        assert first.author_id == ticket.customer_id
        assert first.created_at == ticket.created_at


def test_seed_creates_customers_once_with_customer_numbers(db: Any) -> None:
    seed(tickets=10, messages=1, customers=5)
    seed(tickets=10, messages=1, customers=5)

    customers = User.objects.filter(email__startswith="seed-customer-")
    assert customers.count() == 5
    assert all(c.customer_number and not c.has_usable_password() for c in customers)
    assert Ticket.objects.count() == 20


def test_seed_clear_removes_seeded_tickets_only(db: Any) -> None:
    seed(tickets=50, messages=2, customers=5)
    customer = User.objects.get(email="customer@example.com")
    own = Ticket.objects.create(
        subject="Invoice 1234 is wrong",
        department=Department.objects.get(slug="technical"),
        customer=customer,
        language="en",
    )

    seed(tickets=0, clear=True)

    assert list(Ticket.objects.all()) == [own]
    assert Message.objects.count() == 0
    assert TicketEvent.objects.count() == 0


def test_seeded_tickets_agree_with_their_threads_customers_clocks_and_events(db: Any) -> None:
    # Several batches, so that ids and times carry on from one batch to the next.
    seed(tickets=60, messages=4, customers=8, batch=25)

    created_at: list[datetime] = []
    for ticket in Ticket.objects.select_related("customer").order_by("pk"):
        created_at.append(ticket.created_at)
        thread = list(ticket.messages.order_by("id"))
        assert len(thread) == 4
        times = [m.created_at for m in thread]
        assert times == sorted(times) and times[0] == ticket.created_at
        by_customer = [m.created_at for m in thread if m.author_kind == AuthorKind.CUSTOMER]
        by_agent = [m.created_at for m in thread if m.author_kind == AuthorKind.AGENT]
        assert ticket.last_customer_message_at == max(by_customer)
        assert ticket.last_agent_message_at == (max(by_agent) if by_agent else None)
        assert ticket.first_response_at == (min(by_agent) if by_agent else None)
        assert ticket.updated_at >= times[-1]
        assert ticket.priority_rank == priority_rank(ticket.priority)
        assert ticket.policy_priority == ticket.priority
        assert ticket.customer_vip == (ticket.customer.tier == Tier.VIP)
        if ticket.status == TicketStatus.NEW:
            assert ticket.assignee_id is None and not by_agent
        if ticket.status == TicketStatus.CLOSED:
            assert ticket.closed_at and ticket.close_reason
        else:
            assert ticket.closed_at is None and not ticket.close_reason

        # The clocks that still run decide the ticket's place in the queue.
        assert ticket.sla_policy is not None
        assert ticket.first_response_due and ticket.resolution_due
        running = [
            due
            for due, runs in (
                (ticket.first_response_due, ticket.first_response_at is None),
                (ticket.resolution_due, ticket.status in (TicketStatus.NEW, TicketStatus.OPEN)),
            )
            if runs
        ]
        assert ticket.queue_due == (min(running) if running else FAR_FUTURE)
        assert ticket.sla_check_at == (min(running) if running else None)

        (event,) = ticket.events.all()
        assert (event.kind, event.actor_kind, event.actor_id) == (
            EventKind.CREATED,
            ActorKind.CUSTOMER,
            ticket.customer_id,
        )
        assert event.to_value == TicketStatus.NEW and event.created_at == ticket.created_at
        assert event.data == {"channel": ticket.channel, "related_to": None}
    # Ids grow with creation time, as in a real queue.
    assert created_at == sorted(created_at)


@pytest.mark.skipif(connection.vendor != "postgresql", reason="COPY and index rebuilds")
def test_a_seed_that_rebuilds_the_indexes_leaves_every_index_and_foreign_key_in_place(
    db: Any,
) -> None:
    def schema() -> set[tuple[str, ...]]:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT tablename, indexname, indexdef FROM pg_indexes WHERE tablename = ANY(%s)",
                [SEEDED_TABLES],
            )
            indexes = {tuple(row) for row in cursor.fetchall()}
            cursor.execute(
                "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid)"
                " FROM pg_constraint WHERE conrelid::regclass::text = ANY(%s)",
                [SEEDED_TABLES],
            )
            return indexes | {tuple(row) for row in cursor.fetchall()}

    before = schema()
    output = seed(tickets=30, messages=2, customers=3, verbosity=1)

    assert "building the indexes and foreign keys again" in output
    assert schema() == before
    assert Message.objects.filter(ticket__in=Ticket.objects.all()).count() == 60
