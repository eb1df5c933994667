"""Ticket mail goes only to addresses a customer proved are theirs."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.core.mail import EmailMessage

pytestmark = pytest.mark.django_db


def mailed_code(outbox: list[EmailMessage], to: str) -> str:
    mail = [m for m in outbox if m.to == [to]][-1]
    found = re.search(r"\b(\d{6})\b", str(mail.body))
    assert found is not None
    return found.group(1)


def test_an_address_is_verified_with_the_code_mailed_to_it(
    customer: Any, outbox: list[EmailMessage]
) -> None:
    added = customer.post("auth/addresses", {"email": "Billing@Example.com"})
    assert added.status_code == 202
    assert added.json() == {"email": "billing@example.com", "verified": False}
    code = mailed_code(outbox, "billing@example.com")
    wrong = customer.post(
        "auth/addresses/verify",
        {"email": "billing@example.com", "code": "000000" if code != "000000" else "111111"},
    )
    assert wrong.status_code == 422
    assert wrong.json()["code"] == "invalid_code"
    right = customer.post("auth/addresses/verify", {"email": "billing@example.com", "code": code})
    assert right.json() == {"email": "billing@example.com", "verified": True}
    assert customer.get("auth/addresses").json() == [
        {"email": "billing@example.com", "verified": True}
    ]


def test_five_wrong_codes_spend_the_code(customer: Any, outbox: list[EmailMessage]) -> None:
    customer.post("auth/addresses", {"email": "billing@example.com"})
    code = mailed_code(outbox, "billing@example.com")
    wrong = "000000" if code != "000000" else "111111"
    for _ in range(5):
        customer.post("auth/addresses/verify", {"email": "billing@example.com", "code": wrong})
    late = customer.post("auth/addresses/verify", {"email": "billing@example.com", "code": code})
    assert late.status_code == 422


def test_ticket_mail_cannot_go_to_an_unverified_address(
    customer: Any, outbox: list[EmailMessage]
) -> None:
    refused = customer.post(
        "tickets",
        {
            "subject": "Printer offline",
            "body": "No paper.",
            "notify_address": "victim@elsewhere.example",
        },
    )
    assert refused.status_code == 422
    assert refused.json()["code"] == "unverified_address"
    number = customer.file_ticket()["number"]
    patch = customer.patch(f"tickets/{number}", {"notify_address": "victim@elsewhere.example"})
    assert patch.json()["code"] == "unverified_address"
    assert not [m for m in outbox if m.to == ["victim@elsewhere.example"]]


def test_another_customers_verified_address_is_not_yours(
    customer: Any, customer2: Any, outbox: list[EmailMessage]
) -> None:
    customer.post("auth/addresses", {"email": "billing@example.com"})
    customer.post(
        "auth/addresses/verify",
        {"email": "billing@example.com", "code": mailed_code(outbox, "billing@example.com")},
    )
    response = customer2.post(
        "tickets",
        {
            "subject": "Printer offline",
            "body": "No paper.",
            "notify_address": "billing@example.com",
        },
    )
    assert response.json()["code"] == "unverified_address"


@pytest.mark.usefixtures("one_rate_window")
def test_asking_for_codes_is_rate_limited(customer: Any) -> None:
    codes = [
        customer.post("auth/addresses", {"email": f"a{i}@example.com"}).status_code
        for i in range(6)
    ]
    assert codes == [202] * 5 + [429]
