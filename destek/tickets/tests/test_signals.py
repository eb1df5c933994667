"""What tickets tell the floors above it, inside the change's transaction: webhooks and
assignment build on these."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import transaction

from destek.accounts.models import User
from destek.tickets import actions
from destek.tickets.models import Ticket
from destek.tickets.signals import ticket_created, ticket_event

pytestmark = pytest.mark.django_db


def _file(customer: User) -> Ticket:
    return actions.create_ticket(
        customer=customer,
        subject="Export fails",
        body="Export fails: the button does nothing and the report never arrives.",
        channel="web",
    )


def test_a_new_ticket_is_announced_once_inside_its_transaction(users: dict[str, User]) -> None:
    heard: list[tuple[int, bool]] = []

    def listen(sender: Any, *, ticket: Ticket, **kwargs: Any) -> None:
        heard.append((ticket.pk, transaction.get_connection().in_atomic_block))

    ticket_created.connect(listen)
    try:
        ticket = _file(users["customer"])
    finally:
        ticket_created.disconnect(listen)
    assert heard == [(ticket.pk, True)]


def test_each_later_change_of_a_ticket_is_announced_with_its_history_entry(
    users: dict[str, User],
) -> None:
    ticket = _file(users["customer"])
    heard: list[tuple[str, str, str]] = []

    def listen(sender: Any, *, ticket: Ticket, event: Any, **kwargs: Any) -> None:
        heard.append((event.kind, event.from_value, event.to_value))

    ticket_event.connect(listen)
    try:
        actions.change_status(ticket, actor=actions.Actor.of(users["agent"]), status="pending")
    finally:
        ticket_event.disconnect(listen)
    assert ("status", "new", "pending") in heard
