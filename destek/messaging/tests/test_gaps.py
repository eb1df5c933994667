"""What a messenger customer's tickets look like from outside: the API names them by their
messenger, never by the placeholder address their account carries; mail and chat after a
contact is linked; help texts; names from Meta; replies to agents' messages quoted; a reply
held past Meta's window."""

from __future__ import annotations

from typing import Any

import pytest

from destek.messaging.tests.test_telegram import post, the_ticket, update


@pytest.fixture
def say(channel: dict[str, Any], django_capture_on_commit_callbacks: Any) -> Any:
    def write(text: str, **kwargs: Any) -> None:
        response = post(channel, update(text, **kwargs), django_capture_on_commit_callbacks)
        assert response.status_code == 200

    return write


def mailed(outbox: list[Any], address: str, words: str) -> list[Any]:
    return [m for m in outbox if address in m.to and words in m.body]


def with_username(payload: dict[str, Any], username: str) -> dict[str, Any]:
    payload["message"]["from"]["username"] = username
    return payload


def test_the_api_names_a_telegram_customer_by_the_messenger_not_a_placeholder_address(
    channel, agent, django_capture_on_commit_callbacks
):
    payload = with_username(update("My invoice is wrong"), "aysel")
    post(channel, payload, django_capture_on_commit_callbacks)
    ticket = the_ticket()
    seen = agent.get(f"tickets/{ticket.number}").json()
    assert seen["customer"] is None
    assert seen["customer_messenger"] == {"kind": "telegram", "username": "aysel"}
    listed = agent.get("tickets").json()
    [row] = [t for t in listed["items"] if t["number"] == ticket.number]
    assert row["customer"] is None and row["customer_messenger"]["kind"] == "telegram"
    thread = agent.get(f"tickets/{ticket.number}/messages").json()
    assert "messenger-contacts.invalid" not in str(thread)
    events = agent.get(f"tickets/{ticket.number}/events").json()
    assert "messenger-contacts.invalid" not in str(events)
    assert "messenger-contacts.invalid" not in str(listed)


def test_a_customer_with_an_address_is_still_named_by_it(agent, customer, users):
    made = customer.post("tickets", {"subject": "Backups fail", "body": "Since Monday."})
    assert made.status_code == 201, made.content
    seen = agent.get(f"tickets/{made.json()['number']}").json()
    assert seen["customer"] == users["customer"].email
    assert seen["customer_messenger"] is None
