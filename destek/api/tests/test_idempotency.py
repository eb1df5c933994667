"""An API POST retried with the same Idempotency-Key creates one object."""

from __future__ import annotations

from typing import Any

import pytest

from destek.tickets.models import Message, Ticket

pytestmark = pytest.mark.django_db

TICKET = {"subject": "Invoice page shows error 500", "body": "Since this morning it fails."}


def test_a_retried_ticket_is_created_once_and_answered_the_same(customer: Any) -> None:
    key = {"Idempotency-Key": "4f0c5c2e-retry-1"}
    first = customer.post("tickets", TICKET, headers=key)
    again = customer.post("tickets", TICKET, headers=key)
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json() == again.json()
    assert Ticket.objects.count() == 1


def test_a_key_reused_for_a_different_request_is_refused(customer: Any) -> None:
    key = {"Idempotency-Key": "k-1"}
    customer.post("tickets", TICKET, headers=key)
    other = customer.post("tickets", {**TICKET, "subject": "Export fails"}, headers=key)
    assert other.status_code == 422
    assert other.json()["code"] == "idempotency_key_reused"


def test_keys_are_per_user(customer: Any, customer2: Any) -> None:
    key = {"Idempotency-Key": "same-key"}
    customer.post("tickets", TICKET, headers=key)
    customer2.post("tickets", TICKET, headers=key)
    assert Ticket.objects.count() == 2


def test_a_retried_reply_is_stored_once(customer: Any) -> None:
    number = customer.file_ticket()["number"]
    key = {"Idempotency-Key": "reply-1"}
    first = customer.post(
        f"tickets/{number}/messages", {"body": "More details: code 7."}, headers=key
    )
    again = customer.post(
        f"tickets/{number}/messages", {"body": "More details: code 7."}, headers=key
    )
    assert (first.status_code, again.status_code) == (201, 200)
    assert Message.objects.filter(body="More details: code 7.").count() == 1


def test_a_refused_request_leaves_the_key_free(customer: Any) -> None:
    key = {"Idempotency-Key": "first-try-was-bad"}
    assert customer.post("tickets", {**TICKET, "subject": "hello"}, headers=key).status_code == 422
    assert customer.post("tickets", TICKET, headers=key).status_code == 201


@pytest.mark.django_db(transaction=True)
def test_concurrent_retries_with_one_key_create_one_ticket(demo: None) -> None:
    import threading

    from django.db import connection
    from django.test import Client

    from destek.accounts.actions import issue_api_token
    from destek.accounts.models import User

    token = issue_api_token(User.objects.get(email="customer@example.com"))
    barrier = threading.Barrier(4)
    answers: list[tuple[int, Any]] = []

    def send() -> None:
        try:
            barrier.wait(timeout=10)
            response = Client().post(
                "/api/v1/tickets",
                TICKET,
                content_type="application/json",
                headers={"Authorization": f"Bearer {token}", "Idempotency-Key": "same"},
            )
            answers.append((response.status_code, response.json()))
        finally:
            connection.close()

    threads = [threading.Thread(target=send) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(code for code, _ in answers) == [200, 200, 200, 201]
    assert len({body["number"] for _, body in answers}) == 1
    assert Ticket.objects.count() == 1
