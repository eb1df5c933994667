from __future__ import annotations

from io import StringIO
from typing import Any

from django.core.management import call_command

from destek.accounts.models import User
from destek.tickets.choices import AuthorKind, EventKind
from destek.tickets.models import Department, Message, Ticket, TicketEvent


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
