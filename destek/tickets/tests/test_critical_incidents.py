"""Critical incidents a customer declares with the facts (seed 004): answered within the hour
at any time, lowered only with a reason the customer sees, and limited per customer."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.mail import EmailMessage
from django.test import Client

from destek.accounts.models import User
from destek.tickets.models import IntakeRule, Message, Policy, Ticket, TicketEvent

pytestmark = pytest.mark.django_db

BAKU = ZoneInfo("Asia/Baku")
FACTS = {
    "server_ip": "203.0.113.7",
    "service_name": "VPS Baku-2",
    "started_at": "2026-12-04 21:10",
    "time_zone": "Asia/Baku",
}


def declare(client: Any, subject: str = "VPS Baku-2 is unreachable", **extra: Any) -> Any:
    return client.post(
        "tickets",
        {
            "subject": subject,
            "body": "Ping and SSH fail since 21:10, all our sites on it are down.",
            "urgency": "critical",
            "details": FACTS,
            **extra,
        },
    )


def test_a_critical_incident_filed_on_a_friday_evening_is_due_within_the_hour(
    customer: Any,
) -> None:
    friday_evening = datetime(2026, 12, 4, 21, 30, tzinfo=BAKU)
    with time_machine.travel(friday_evening, tick=False):
        response = declare(customer)
    assert response.status_code == 201, response.content
    filed = response.json()
    assert (filed["urgency"], filed["priority"]) == ("critical", "critical")
    ticket = Ticket.objects.get(number=filed["number"])
    assert ticket.declared_critical
    assert ticket.sla_policy is not None and ticket.sla_policy.name == "Critical"
    assert ticket.first_response_due is not None
    assert ticket.first_response_due <= ticket.created_at + timedelta(minutes=60)
    assert ticket.first_response_due.astimezone(BAKU) == datetime(2026, 12, 4, 22, 30, tzinfo=BAKU)


def test_the_migrations_give_critical_priority_a_60_minute_policy_around_the_clock(
    db: None,
) -> None:
    policy = Policy.objects.get(if_priority="critical")
    assert policy.first_response_minutes == 60
    hours = {(h.weekday, h.start.hour, h.end.hour) for h in policy.calendar.hours.all()}
    assert hours == {(day, 0, 0) for day in range(7)}  # every day, midnight to midnight


@pytest.mark.parametrize(
    ("missing", "words"),
    [("started_at", "when it started"), ("time_zone", "time zone of the start time")],
)
def test_a_critical_declaration_needs_the_start_time_and_its_time_zone(
    customer: Any, missing: str, words: str
) -> None:
    details = {key: value for key, value in FACTS.items() if key != missing}
    response = declare(customer, details=details)
    assert response.status_code == 422
    assert response.json()["code"] == "critical_details_required"
    assert response.json()["field"] == missing
    assert words in response.json()["detail"]
    assert not Ticket.objects.exists()


def test_a_customer_without_the_facts_still_cannot_make_a_ticket_critical(
    customer: Any,
) -> None:
    filed = customer.file_ticket(subject="Server down", body="Ping fails.", urgency="critical")
    assert filed["priority"] == "high"
    assert not Ticket.objects.get().declared_critical


def test_lowering_a_declared_critical_incident_needs_a_reason_the_customer_sees(
    customer: Any, agent: Any, outbox: list[EmailMessage]
) -> None:
    filed = declare(customer).json()
    assert filed["declared_critical"] is True
    number = filed["number"]
    refused = agent.patch(f"tickets/{number}", {"priority": "high"})
    assert refused.status_code == 422
    assert refused.json()["code"] == "priority_reason_required"
    assert refused.json()["field"] == "priority_reason"
    assert Ticket.objects.get().priority == "critical"

    reason = "Only one of your three servers is affected; the others answer."
    changed = agent.patch(f"tickets/{number}", {"priority": "high", "priority_reason": reason})
    assert changed.status_code == 200
    assert changed.json()["priority"] == "high"

    events = customer.get(f"tickets/{number}/events").json()
    [lowered] = [e for e in events if e["kind"] == "priority"]
    assert (lowered["from_value"], lowered["to_value"]) == ("critical", "high")
    assert lowered["data"]["reason"] == reason
    thread = customer.get(f"tickets/{number}/messages").json()
    assert thread[-1]["author_kind"] == "system"
    assert reason in thread[-1]["body"]
    [mailed] = [m for m in outbox if m.to == ["customer@example.com"] and reason in m.body]
    assert "/my/tickets/" in mailed.body  # the mail links to the ticket like every other
    assert "About your ticket" in mailed.subject


def test_the_reason_shows_on_the_customers_ticket_page(
    customer: Any, agent: Any, users: dict[str, User]
) -> None:
    number = declare(customer).json()["number"]
    reason = "The service answers again; we keep watching it."
    agent.patch(f"tickets/{number}", {"priority": "normal", "priority_reason": reason})
    browser = Client(headers={"Accept-Language": "en"})
    browser.force_login(users["customer"])
    page = browser.get(f"/my/tickets/{number}/").content.decode()
    assert reason in page


def test_the_desk_refuses_to_lower_a_declared_critical_incident_without_a_reason(
    customer: Any, users: dict[str, User]
) -> None:
    number = declare(customer).json()["number"]
    ticket = Ticket.objects.get()
    desk = Client(headers={"Accept-Language": "en"})
    desk.force_login(users["agent"])
    desk.cookies["django_language"] = "en"
    fields = {"priority": "high", "department": str(ticket.department_id)}
    assert 'id="declared-critical"' in desk.get(f"/desk/tickets/{number}/").content.decode()
    page = desk.post(f"/desk/tickets/{number}/fields/", fields)
    assert page.status_code == 200
    assert "say why you lower its priority" in page.content.decode()
    assert Ticket.objects.get().priority == "critical"

    desk.post(
        f"/desk/tickets/{number}/fields/",
        {**fields, "priority_reason": "A test server only."},
    )
    assert Ticket.objects.get().priority == "high"
    event = TicketEvent.objects.get(kind="priority")
    assert event.public and event.data["reason"] == "A test server only."


def test_raising_or_lowering_other_tickets_needs_no_reason(customer: Any, agent: Any) -> None:
    number = customer.file_ticket()["number"]
    assert agent.patch(f"tickets/{number}", {"priority": "critical"}).status_code == 200
    assert agent.patch(f"tickets/{number}", {"priority": "low"}).status_code == 200
    assert not TicketEvent.objects.filter(kind="priority", public=True).exists()


def test_beyond_the_admins_limit_a_declaration_is_filed_as_high_and_the_customer_told_why(
    customer: Any,
) -> None:
    IntakeRule.objects.filter(code="critical").update(limit=1)
    first = declare(customer).json()
    assert first["priority"] == "critical"
    second = declare(customer, subject="VPS Baku-3 is unreachable too").json()
    assert (second["urgency"], second["priority"]) == ("critical", "high")
    assert not Ticket.objects.get(number=second["number"]).declared_critical
    [note] = Message.objects.filter(ticket__number=second["number"], author_kind="system")
    assert "1 critical incident in the last 30 days" in note.body
    thread = customer.get(f"tickets/{second['number']}/messages").json()
    assert note.body in [m["body"] for m in thread]


def test_the_limit_counts_the_last_30_days_only(customer: Any) -> None:
    IntakeRule.objects.filter(code="critical").update(limit=1)
    with time_machine.travel(datetime(2026, 10, 1, 12, tzinfo=UTC), tick=False):
        assert declare(customer).json()["priority"] == "critical"
    with time_machine.travel(datetime(2026, 11, 15, 12, tzinfo=UTC), tick=False):
        assert declare(customer, subject="Again down").json()["priority"] == "critical"


@pytest.mark.parametrize("switch", [{"enabled": False}, {"limit": 0}])
def test_an_admin_can_switch_critical_declarations_off(
    customer: Any, switch: dict[str, object]
) -> None:
    IntakeRule.objects.filter(code="critical").update(**switch)
    filed = declare(customer).json()
    assert filed["priority"] == "high"
    [note] = Message.objects.filter(ticket__number=filed["number"], author_kind="system")
    assert "does not accept critical incidents" in note.body


def test_a_vip_declaring_a_critical_incident_keeps_the_vip_promise(vip: Any) -> None:
    filed = declare(vip).json()
    assert filed["priority"] == "critical"
    ticket = Ticket.objects.get()
    assert ticket.sla_policy is not None and ticket.sla_policy.name == "VIP"  # 15 minutes
