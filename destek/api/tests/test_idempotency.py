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
