"""The SQL statements one inbound mail costs, pinned: a new one that files a ticket, and a reply
that continues one. On a transactional database, as in production: no test-wrapper savepoints;
the configuration is cached by the mail before (a warm-up), as in a running worker.

Of a new ticket's 14 statements the pipeline itself makes seven: BEGIN, the look-up of dedupe,
sender cap, bounce mark and account (one statement), the new customer's INSERT, the SAVEPOINT
and RELEASE around the ticket action, the record's INSERT, COMMIT; the action makes the other
seven (with the outbox's one bulk INSERT). Of a reply's 12, the pipeline makes eight: the same
without the customer's INSERT, with the ticket it continues and the UPDATE of the history it
quoted; the action makes four.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from huey.contrib.djhuey import HUEY

from destek.accounts.models import User
from destek.mail.actions import process_message
from destek.mail.models import InboundStatus
from destek.mail.tests.test_pipeline import compose
from destek.notify.models import Delivery
from destek.tickets import actions
from destek.tickets.models import Ticket

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def queue_elsewhere(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[Any]]:
    """Jobs go to the queue as in production (Redis there, no SQL), instead of running inline
    at the commit as the test settings make them."""
    queued: list[Any] = []
    monkeypatch.setattr(HUEY, "enqueue", queued.append)
    yield queued


def test_a_new_mail_from_a_new_sender_files_its_ticket_in_14_statements(
    demo: None, queue_elsewhere: list[Any], django_assert_num_queries: Any
) -> None:
    process_message(compose(subject="Warm-up", sender="first@example.org"), "test")
    with django_assert_num_queries(14):
        outcome = process_message(compose(), "test")
    assert outcome.status == InboundStatus.STORED and outcome.ticket_number is not None
    assert Ticket.objects.get(number=outcome.ticket_number).customer.email == "leyla@example.org"


def test_a_reply_to_our_mail_adds_to_the_ticket_in_12_statements(
    users: dict[str, User], queue_elsewhere: list[Any], django_assert_num_queries: Any
) -> None:
    process_message(compose(subject="Warm-up", sender="first@example.org"), "test")
    customer = users["customer"]
    ticket = actions.create_ticket(
        customer=customer, subject="Refund for order 77", body="Please.", channel="web"
    )
    ours = Delivery.objects.filter(ticket=ticket, recipient=customer.email).latest("pk")
    reply = compose(
        sender=customer.email,
        subject=f"Re: {ours.subject}",
        body="The card was charged twice.\n\nOn Monday, Support wrote:\n> We have your request",
        headers={"In-Reply-To": ours.message_id},
    )
    with django_assert_num_queries(12):
        outcome = process_message(reply, "test")
    assert (outcome.status, outcome.ticket_number) == (InboundStatus.STORED, ticket.number)
    assert ticket.messages.latest("id").quoted.endswith("> We have your request")
