"""The life of a ticket through the API, as customers and agents live it."""

from __future__ import annotations

import itertools
import re
from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.core.mail import EmailMessage, EmailMultiAlternatives
from django.utils import timezone

from destek.accounts.models import User
from destek.tickets.jobs import auto_close_now
from destek.tickets.models import Ticket, TicketEvent

pytestmark = pytest.mark.django_db


def events(client: Any, number: int) -> list[dict[str, Any]]:
    response = client.get(f"tickets/{number}/events")
    assert response.status_code == 200
    return list(response.json())


def test_customer_files_a_ticket_and_is_mailed_its_number(
    customer: Any, outbox: list[EmailMessage]
) -> None:
    ticket = customer.file_ticket()
    assert ticket["status"] == "new"
    assert ticket["channel"] == "api"
    assert ticket["department"] == "technical"
    assert ticket["display_number"] == f"#{ticket['number']}"
    assert len(str(ticket["number"])) >= 6
    assert ticket["first_response_due"].endswith("+00:00")
    to_customer = [m for m in outbox if m.to == ["customer@example.com"]]
    assert len(to_customer) == 1
    assert f"[#{ticket['number']}]" in to_customer[0].subject
    assert f"#{ticket['number']}" in to_customer[0].body
    assert to_customer[0].extra_headers["Auto-Submitted"] == "auto-generated"
    assert isinstance(to_customer[0], EmailMultiAlternatives)
    assert to_customer[0].alternatives, "the mail has an HTML part too"


def test_agents_of_the_department_are_mailed_about_a_new_ticket(
    customer: Any, outbox: list[EmailMessage]
) -> None:
    customer.file_ticket()
    recipients = {m.to[0] for m in outbox}
    assert "agent@example.com" in recipients
    assert "finance@example.com" not in recipients


def test_ticket_numbers_are_unique_and_not_a_sequence(customer: Any) -> None:
    numbers = [
        customer.file_ticket(subject=f"Report {i} does not load", body=f"Report {i} is blank.")[
            "number"
        ]
        for i in range(6)
    ]
    assert len(set(numbers)) == 6
    gaps = {b - a for a, b in itertools.pairwise(numbers)}
    assert gaps != {1}, "consecutive tickets must not get consecutive numbers"


def test_new_ticket_reads_awaiting_operator_then_seen_once_an_agent_opens_it(
    customer: Any, agent: Any
) -> None:
    ticket = customer.file_ticket()
    assert ticket["status_label"] == "Awaiting operator reply"
    agent.get(f"tickets/{ticket['number']}")
    seen = customer.get(f"tickets/{ticket['number']}").json()
    assert seen["status"] == "new"
    assert seen["status_label"] == "Seen, under review"
    assert seen["first_seen_at"] is not None
    assert [e["kind"] for e in events(customer, ticket["number"])] == ["created", "seen"]


def test_agent_reply_records_first_response_and_awaits_the_customer(
    customer: Any, agent: Any, outbox: list[EmailMessage]
) -> None:
    number = customer.file_ticket()["number"]
    outbox.clear()
    response = agent.post(f"tickets/{number}/messages", {"body": "Please clear the cache."})
    assert response.status_code == 201
    ticket = customer.get(f"tickets/{number}").json()
    assert ticket["status"] == "pending"
    assert ticket["status_label"] == "Awaiting your reply"
    assert ticket["first_response_at"] is not None
    assert [m.to for m in outbox] == [["customer@example.com"]]
    assert "Please clear the cache." in outbox[0].body


def test_agent_picks_the_status_after_a_reply(customer: Any, agent: Any) -> None:
    number = customer.file_ticket()["number"]
    agent.post(f"tickets/{number}/messages", {"body": "Fixed on our side.", "status": "resolved"})
    assert customer.get(f"tickets/{number}").json()["status"] == "resolved"


def test_second_agent_reply_keeps_the_first_response_time(customer: Any, agent: Any) -> None:
    number = customer.file_ticket()["number"]
    agent.post(f"tickets/{number}/messages", {"body": "Looking."})
    first = customer.get(f"tickets/{number}").json()["first_response_at"]
    agent.post(f"tickets/{number}/messages", {"body": "Still looking."})
    assert customer.get(f"tickets/{number}").json()["first_response_at"] == first


@pytest.mark.parametrize("status_after", ["pending", "resolved"])
def test_customer_reply_puts_an_answered_ticket_back_to_the_operator(
    customer: Any, agent: Any, status_after: str
) -> None:
    number = customer.file_ticket()["number"]
    agent.post(f"tickets/{number}/messages", {"body": "Try again?", "status": status_after})
    customer.post(f"tickets/{number}/messages", {"body": "I tried again, same error 500."})
    ticket = customer.get(f"tickets/{number}").json()
    assert ticket["status"] == "open"
    assert ticket["status_label"] == "Awaiting operator reply"
    status_events = [e for e in events(agent, number) if e["kind"] == "status"]
    assert status_events[-1]["from_value"] == status_after
    assert status_events[-1]["to_value"] == "open"
    assert status_events[-1]["actor_kind"] == "customer"


def test_internal_notes_never_reach_the_customer(
    customer: Any, agent: Any, outbox: list[EmailMessage]
) -> None:
    number = customer.file_ticket()["number"]
    outbox.clear()
    note = agent.post(
        f"tickets/{number}/messages", {"body": "Customer is on the old plan", "internal": True}
    )
    assert note.status_code == 201
    assert note.json()["internal"] is True
    assert outbox == []
    bodies = [m["body"] for m in customer.get(f"tickets/{number}/messages").json()]
    assert "Customer is on the old plan" not in bodies
    assert "note" not in [e["kind"] for e in events(customer, number)]
    agent_bodies = [m["body"] for m in agent.get(f"tickets/{number}/messages").json()]
    assert "Customer is on the old plan" in agent_bodies
    assert customer.get(f"tickets/{number}").json()["status"] == "new"


def test_customer_cannot_write_an_internal_note(customer: Any) -> None:
    number = customer.file_ticket()["number"]
    response = customer.post(f"tickets/{number}/messages", {"body": "x y z", "internal": True})
    assert response.status_code == 403
    assert response.json()["code"] == "forbidden"


def test_customer_closes_their_own_ticket(customer: Any, outbox: list[EmailMessage]) -> None:
    number = customer.file_ticket()["number"]
    response = customer.post(f"tickets/{number}/close")
    assert response.status_code == 200
    assert response.json()["status"] == "closed"
    assert response.json()["close_reason"] == "customer"
    assert response.json()["reopen_until"] is not None
    assert customer.post(f"tickets/{number}/close").json()["code"] == "already_closed"


def test_customer_reopens_a_closed_ticket_within_the_window(customer: Any) -> None:
    number = customer.file_ticket()["number"]
    customer.post(f"tickets/{number}/close")
    with time_machine.travel(timezone.now() + timedelta(days=29), tick=False):
        response = customer.post(f"tickets/{number}/reopen")
    assert response.status_code == 200
    assert response.json()["status"] == "open"
    assert response.json()["close_reason"] is None
    kinds = [e["kind"] for e in events(customer, number)]
    assert "reopened" in kinds


def test_customer_reply_to_a_closed_ticket_reopens_it_within_the_window(customer: Any) -> None:
    number = customer.file_ticket()["number"]
    customer.post(f"tickets/{number}/close")
    response = customer.post(f"tickets/{number}/messages", {"body": "The error is back today."})
    assert response.status_code == 201
    assert customer.get(f"tickets/{number}").json()["status"] == "open"


def test_after_the_reopen_window_a_follow_up_ticket_is_offered(customer: Any) -> None:
    number = customer.file_ticket()["number"]
    customer.post(f"tickets/{number}/close")
    with time_machine.travel(timezone.now() + timedelta(days=31), tick=False):
        reopen = customer.post(f"tickets/{number}/reopen")
        reply = customer.post(f"tickets/{number}/messages", {"body": "It broke again today."})
        follow_up = customer.post(
            "tickets",
            {
                "subject": "Invoice page error is back",
                "body": "The error 500 returned on the invoice page.",
                "related_to": reopen.json().get("related_to"),
            },
        )
    for response in (reopen, reply):
        assert response.status_code == 409
        assert response.json()["code"] == "reopen_window_expired"
        assert response.json()["related_to"] == number
    assert follow_up.status_code == 201
    assert follow_up.json()["related_to"] == number
    assert customer.get(f"tickets/{number}").json()["status"] == "closed"


def test_reopen_window_is_set_per_department(customer: Any) -> None:
    from destek.tickets.models import Department

    Department.objects.filter(slug="technical").update(reopen_window_days=3)
    number = customer.file_ticket()["number"]
    customer.post(f"tickets/{number}/close")
    with time_machine.travel(timezone.now() + timedelta(days=4), tick=False):
        assert customer.post(f"tickets/{number}/reopen").status_code == 409


def test_a_follow_up_cannot_point_at_another_customers_ticket(
    customer: Any, customer2: Any
) -> None:
    number = customer.file_ticket()["number"]
    response = customer2.post(
        "tickets",
        {
            "subject": "Cannot log in to the panel",
            "body": "Password is rejected.",
            "related_to": number,
        },
    )
    assert response.status_code == 404


def test_agent_closes_with_a_reason_and_contract_needs_a_clause(customer: Any, agent: Any) -> None:
    number = customer.file_ticket()["number"]
    no_reason = agent.patch(f"tickets/{number}", {"status": "closed"})
    assert no_reason.status_code == 422
    assert no_reason.json()["code"] == "close_reason_required"
    no_clause = agent.patch(f"tickets/{number}", {"status": "closed", "close_reason": "contract"})
    assert no_clause.json()["code"] == "contract_clause_required"
    closed = agent.patch(
        f"tickets/{number}",
        {"status": "closed", "close_reason": "contract", "contract_clause": "9.5"},
    )
    assert closed.status_code == 200
    seen_by_customer = customer.get(f"tickets/{number}").json()
    assert seen_by_customer["close_reason"] == "contract"
    assert seen_by_customer["contract_clause"] == "9.5"


def test_contract_close_mail_names_the_clause(
    customer: Any, agent: Any, outbox: list[EmailMessage]
) -> None:
    number = customer.file_ticket()["number"]
    outbox.clear()
    agent.patch(
        f"tickets/{number}",
        {"status": "closed", "close_reason": "contract", "contract_clause": "9.5"},
    )
    assert len(outbox) == 1
    assert "9.5" in outbox[0].body


def test_pending_for_thirty_days_closes_without_reply_and_tells_the_customer(
    customer: Any, agent: Any, outbox: list[EmailMessage], run_job: Any
) -> None:
    number = customer.file_ticket()["number"]
    agent.post(f"tickets/{number}/messages", {"body": "Which browser do you use?"})
    outbox.clear()
    with time_machine.travel(timezone.now() + timedelta(days=29), tick=False):
        assert auto_close_now() == 0
    with time_machine.travel(timezone.now() + timedelta(days=31), tick=False):
        assert run_job(auto_close_now) == 1
        assert run_job(auto_close_now) == 0, "a second sweep finds nothing left to do"
    ticket = customer.get(f"tickets/{number}").json()
    assert ticket["status"] == "closed"
    assert ticket["close_reason"] == "no_reply"
    assert ticket["status_label"] == "Closed without a reply"
    closing = [e for e in events(customer, number) if e["to_value"] == "closed"]
    assert closing[0]["actor_kind"] == "timer"
    assert [m.to for m in outbox] == [["customer@example.com"]]


def test_resolved_for_seven_days_closes_as_resolved(customer: Any, agent: Any) -> None:
    number = customer.file_ticket()["number"]
    agent.post(f"tickets/{number}/messages", {"body": "Done.", "status": "resolved"})
    with time_machine.travel(timezone.now() + timedelta(days=8), tick=False):
        assert auto_close_now() == 1
    ticket = customer.get(f"tickets/{number}").json()
    assert (ticket["status"], ticket["close_reason"]) == ("closed", "resolved")


def test_open_tickets_are_never_auto_closed(customer: Any) -> None:
    customer.file_ticket()
    with time_machine.travel(timezone.now() + timedelta(days=400), tick=False):
        assert auto_close_now() == 0


def test_merge_moves_messages_and_closes_the_duplicate(customer: Any, agent: Any) -> None:
    first = customer.file_ticket()["number"]
    second = customer.file_ticket(
        subject="Export to CSV fails", body="The export button does nothing."
    )["number"]
    response = agent.post(f"tickets/{second}/merge", {"into": first})
    assert response.status_code == 200
    assert response.json()["number"] == first
    source = customer.get(f"tickets/{second}").json()
    assert (source["status"], source["close_reason"]) == ("closed", "duplicate")
    assert source["merged_into"] == first
    bodies = [m["body"] for m in customer.get(f"tickets/{first}/messages").json()]
    assert "The export button does nothing." in bodies
    still_listed = customer.get(f"tickets/{second}/messages").json()
    assert [(m["ticket"], m["merged_from"]) for m in still_listed] == [(first, second)]


def test_a_reply_to_a_merged_ticket_lands_in_the_target(customer: Any, agent: Any) -> None:
    first = customer.file_ticket()["number"]
    second = customer.file_ticket(
        subject="Export to CSV fails", body="The export button does nothing."
    )["number"]
    agent.post(f"tickets/{second}/merge", {"into": first})
    reply = customer.post(
        f"tickets/{second}/messages",
        {
            "body": "Any progress on the export?"
            " I attached nothing new, just asking"
            " because the month closes Friday."
        },
    )
    assert reply.status_code == 201
    assert reply.json()["ticket"] == first
    reopen = customer.post(f"tickets/{second}/reopen")
    assert reopen.status_code == 409
    assert reopen.json() == {
        "detail": reopen.json()["detail"],
        "code": "ticket_merged",
        "merged_into": first,
    }


def test_merge_refuses_tickets_of_different_customers(
    customer: Any, customer2: Any, agent: Any
) -> None:
    first = customer.file_ticket()["number"]
    other = customer2.file_ticket()["number"]
    response = agent.post(f"tickets/{other}/merge", {"into": first})
    assert response.status_code == 422
    assert response.json()["code"] == "merge_customer_mismatch"


def test_merge_refuses_itself_and_a_closed_target(customer: Any, agent: Any) -> None:
    first = customer.file_ticket()["number"]
    second = customer.file_ticket(subject="Export to CSV fails", body="Nothing happens.")["number"]
    assert agent.post(f"tickets/{first}/merge", {"into": first}).json()["code"] == (
        "merge_into_itself"
    )
    customer.post(f"tickets/{first}/close")
    assert agent.post(f"tickets/{second}/merge", {"into": first}).json()["code"] == (
        "merge_target_closed"
    )


def test_customers_cannot_merge(customer: Any) -> None:
    first = customer.file_ticket()["number"]
    second = customer.file_ticket(subject="Export to CSV fails", body="Nothing happens.")["number"]
    assert customer.post(f"tickets/{second}/merge", {"into": first}).status_code == 403


def test_every_change_is_in_the_event_history_with_who_did_it(
    customer: Any, agent: Any, users: dict[str, User]
) -> None:
    number = customer.file_ticket()["number"]
    agent.patch(f"tickets/{number}", {"priority": "high", "assignee": "agent@example.com"})
    agent.post(f"tickets/{number}/messages", {"body": "On it.", "status": "open"})
    history = events(agent, number)
    kinds = [(e["kind"], e["actor_kind"], e["from_value"], e["to_value"]) for e in history]
    assert ("created", "customer", "", "new") in kinds
    assert ("priority", "agent", "normal", "high") in kinds
    assert ("assignee", "agent", "", "agent@example.com") in kinds
    assert ("status", "agent", "new", "open") in kinds
    assert all(e["created_at"] for e in history)
    customer_view = [e["kind"] for e in events(customer, number)]
    assert "priority" not in customer_view and "assignee" not in customer_view


def test_agent_can_transfer_a_ticket_to_another_department(
    customer: Any, agent: Any, finance: Any
) -> None:
    number = customer.file_ticket()["number"]
    agent.patch(f"tickets/{number}", {"assignee": "agent@example.com"})
    moved = agent.patch(f"tickets/{number}", {"department": "finance"})
    assert moved.status_code == 200
    assert moved.json()["department"] == "finance"
    assert moved.json()["assignee"] is None, "the old assignee is not in Finance"
    assert agent.get(f"tickets/{number}").status_code == 404
    assert finance.get(f"tickets/{number}").status_code == 200


def test_assignee_must_be_an_agent_of_the_department(customer: Any, agent: Any) -> None:
    number = customer.file_ticket()["number"]
    for email in ("finance@example.com", "customer2@example.com", "nobody@example.com"):
        response = agent.patch(f"tickets/{number}", {"assignee": email})
        assert response.status_code == 422, email
        assert response.json()["code"] == "invalid_assignee"


def test_agent_files_a_ticket_for_a_customer_on_the_phone(agent: Any, customer: Any) -> None:
    response = agent.post(
        "tickets",
        {
            "subject": "Called: cannot reset password",
            "body": "Customer called, reset mail never arrives.",
            "customer": "customer@example.com",
        },
    )
    assert response.status_code == 201
    assert response.json()["channel"] == "phone"
    mine = customer.get("tickets").json()["items"]
    assert [t["number"] for t in mine] == [response.json()["number"]]
    created = events(agent, response.json()["number"])[0]
    assert (created["kind"], created["actor_kind"]) == ("created", "agent")


def test_customer_switches_ticket_mail_off_and_chooses_the_address(
    customer: Any, agent: Any, outbox: list[EmailMessage]
) -> None:
    customer.post("auth/addresses", {"email": "billing@example.com"})
    found = re.search(r"\b(\d{6})\b", str(outbox[-1].body))
    assert found is not None
    code = found.group(1)
    customer.post("auth/addresses/verify", {"email": "billing@example.com", "code": code})
    number = customer.file_ticket()["number"]
    assert (
        customer.patch(f"tickets/{number}", {"notify_address": "billing@example.com"}).status_code
        == 200
    )
    outbox.clear()
    agent.post(f"tickets/{number}/messages", {"body": "First answer."})
    assert [m.to for m in outbox] == [["billing@example.com"]]
    customer.patch(f"tickets/{number}", {"notify": False})
    outbox.clear()
    agent.post(f"tickets/{number}/messages", {"body": "Second answer."})
    assert outbox == []


def test_ticket_records_every_timestamp(customer: Any, agent: Any) -> None:
    number = customer.file_ticket()["number"]
    agent.get(f"tickets/{number}")
    agent.post(f"tickets/{number}/messages", {"body": "Answer", "status": "resolved"})
    customer.post(f"tickets/{number}/close")
    ticket = Ticket.objects.get(number=number)
    for name in (
        "created_at",
        "first_seen_at",
        "first_response_at",
        "last_customer_message_at",
        "last_agent_message_at",
        "resolved_at",
        "closed_at",
    ):
        assert getattr(ticket, name) is not None, name
    assert TicketEvent.objects.filter(ticket=ticket).count() >= 5
