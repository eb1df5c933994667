"""Faults: the database failing mid-action, and two agents replying at the same moment."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from django.db import OperationalError, close_old_connections, connection

from destek.accounts.models import User
from destek.notify.models import Delivery
from destek.tickets import actions
from destek.tickets.models import Message, Ticket, TicketEvent


@pytest.mark.django_db
def test_a_database_failure_mid_action_rolls_the_whole_ticket_back(customer: Any) -> None:
    def fail_on_outbox(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        if sql.lstrip().upper().startswith("INSERT") and "notify_delivery" in sql:
            raise OperationalError("server closed the connection unexpectedly")
        return execute(sql, params, many, context)

    with connection.execute_wrapper(fail_on_outbox), pytest.raises(OperationalError):
        customer.post("tickets", {"subject": "Invoice page shows error 500", "body": "Broken."})
    assert Ticket.objects.count() == 0
    assert Message.objects.count() == 0
    assert TicketEvent.objects.count() == 0
    assert Delivery.objects.count() == 0
    assert (
        customer.post(
            "tickets", {"subject": "Invoice page shows error 500", "body": "Broken."}
        ).status_code
        == 201
    )


@pytest.mark.django_db(transaction=True)
def test_two_agents_replying_at_once_lose_neither_reply(demo: None) -> None:
    customer = User.objects.get(email="customer@example.com")
    agents = [
        User.objects.get(email="agent@example.com"),
        User.objects.get(email="admin@example.com"),
    ]
    ticket = actions.create_ticket(
        customer=customer,
        subject="Export fails",
        body="The CSV export never finishes.",
        channel="api",
    )
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def reply(agent: User, text: str) -> None:
        try:
            barrier.wait(timeout=10)
            actions.add_message(ticket, author=agent, body=text)
        except BaseException as exc:  # reported below
            errors.append(exc)
        finally:
            close_old_connections()
            connection.close()

    threads = [
        threading.Thread(target=reply, args=(agent, f"Answer from {agent.email}"))
        for agent in agents
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert errors == []
    bodies = set(
        Message.objects.filter(ticket=ticket, author_kind="agent").values_list("body", flat=True)
    )
    assert bodies == {"Answer from agent@example.com", "Answer from admin@example.com"}
    ticket.refresh_from_db()
    assert ticket.status == "pending" and ticket.first_response_at is not None
