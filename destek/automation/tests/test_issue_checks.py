"""Issue 18's "How it will be checked", walked end to end with the real parts: the API as
customers, agents and admins use it, a real HTTP receiver on 127.0.0.1, the worker's jobs run
as the worker runs them (Huey is immediate in tests) with the clock moved forward instead of
waiting, and the mail outbox. Nothing of Destek's own is mocked.

1. A webhook pointed at a receiver on loopback (private addresses allowed by the setting), a
   ticket created and changed, the deliveries verified by their signatures.
2. The receiver failing twice, then succeeding: retried, delivered once.
3. A time rule reminding a pending customer (once, however often the sweep runs).
4. Round-robin and least-loaded assignment across three agents.
5. A rule that would loop stopping, both rules' changes in the history under their names.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import time
from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.utils import timezone

from destek.accounts.models import User
from destek.automation import rule_jobs, webhook_jobs
from destek.automation.choices import AssignmentMode
from destek.automation.models import DepartmentAssignment, Rule, RuleText, WebhookDelivery
from destek.automation.tests.test_webhooks import Receiver
from destek.notify.models import Delivery
from destek.tickets import actions
from destek.tickets.models import Department, Ticket, TicketEvent

pytestmark = pytest.mark.django_db


def verified(secret: str, header: str, body: bytes, tolerance: int = 300) -> bool:
    """The README's receiver check, word for word."""
    fields = dict(part.split("=", 1) for part in header.split(","))
    t = int(fields["t"])
    if abs(time.time() - t) > tolerance:  # an old request replayed
        return False
    expected = hmac.new(secret.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, fields["v1"])


@pytest.fixture(autouse=True)
def allow_private(settings: Any) -> None:
    """The receiver is on 127.0.0.1: allowed by DESTEK_WEBHOOKS_ALLOW_PRIVATE."""
    settings.DESTEK_WEBHOOKS_ALLOW_PRIVATE = True


def webhook(admin: Any, url: str, events: list[str]) -> dict[str, Any]:
    response = admin.post("webhooks", {"url": url, "events": events})
    assert response.status_code == 201, response.content
    return dict(response.json())


def rule(name: str, kind: str, conditions: list[Any], rule_actions: list[Any]) -> Rule:
    made = Rule(name=name, kind=kind, conditions=conditions, actions=rule_actions)
    made.full_clean()  # what the admin checks
    made.save()
    return made


# --- 1. signed deliveries to a receiver on loopback ----------------------------------------


def test_1_a_ticket_created_and_changed_reaches_a_loopback_receiver_signed(
    receiver: Receiver, admin: Any, customer: Any, agent: Any
) -> None:
    target = webhook(admin, receiver.url, ["*"])
    secret = target["secret"]

    number = customer.file_ticket(subject="Printer on fire")["number"]
    reply = agent.post(f"tickets/{number}/messages", {"body": "Which model is it?"})
    assert reply.status_code == 201, reply.content
    assert agent.patch(f"tickets/{number}", {"status": "resolved"}).status_code == 200

    events = receiver.events()
    assert events[0] == "ticket.created"
    assert "message.created" in events
    assert "ticket.updated" in events
    for request in receiver.requests:
        headers, body = request["headers"], request["body"]
        assert verified(secret, headers["X-Destek-Signature"], body)
        assert not verified("not the secret, not at all", headers["X-Destek-Signature"], body)
        assert not verified(secret, headers["X-Destek-Signature"], body.replace(b"{", b"{ ", 1))
        assert json.loads(body)["ticket"]["number"] == number
    assert receiver.payloads("message.created")[0]["message"]["body"] == "Which model is it?"
    statuses = [
        change["to"]
        for payload in receiver.payloads("ticket.updated")
        for change in payload["changes"]
        if change["kind"] == "status"
    ]
    assert statuses[-1] == "resolved"
    deliveries = admin.get(f"webhooks/{target['id']}/deliveries").json()
    assert {row["status"] for row in deliveries["items"]} == {"delivered"}
    assert len(deliveries["items"]) == len(receiver.requests)


# --- 2. retried, delivered once ------------------------------------------------------------


def test_2_a_receiver_failing_twice_then_answering_gets_the_event_delivered_once(
    receiver: Receiver, admin: Any, customer: Any
) -> None:
    target = webhook(admin, receiver.url, ["ticket.created"])
    receiver.answers = [500, 500]

    customer.file_ticket()  # sent after the commit: the first answer is a 500
    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.attempts) == ("pending", 1)

    # The worker's minute sweep, with the clock moved on to each retry instead of waiting.
    for _retry in range(2):
        assert delivery.next_attempt_at is not None
        with time_machine.travel(delivery.next_attempt_at + timedelta(seconds=1)):
            webhook_jobs.sweep_webhooks()
            delivery.refresh_from_db()
            last = receiver.requests[-1]
            assert verified(target["secret"], last["headers"]["X-Destek-Signature"], last["body"])
    assert (delivery.status, delivery.attempts, delivery.response_status) == ("delivered", 3, 200)

    with time_machine.travel(timezone.now() + timedelta(hours=2)):
        webhook_jobs.sweep_webhooks()  # nothing left to send
        webhook_jobs.send_delivery(delivery.pk)  # the job run twice: nothing more
    assert len(receiver.requests) == 3
    assert receiver.answers == []  # two 500s, then the one 200
    assert {r["headers"]["X-Destek-Delivery"] for r in receiver.requests} == {
        str(delivery.public_id)
    }
    assert len({r["body"] for r in receiver.requests}) == 1


# --- 3. a time rule reminds a pending customer ---------------------------------------------


def test_3_a_customer_pending_for_three_days_is_reminded_once(
    customer: Any, agent: Any, users: dict[str, User]
) -> None:
    remind = rule(
        "Remind after 3 days",
        "schedule",
        [
            {"field": "status", "op": "is", "value": "pending"},
            {"field": "days_in_status", "op": "gte", "value": 3},
        ],
        [{"type": "mail_customer"}],
    )
    RuleText.objects.create(
        rule=remind, language="", subject="Still there? {ticket_number}", body="We await you."
    )
    number = customer.file_ticket()["number"]
    asked = agent.post(f"tickets/{number}/messages", {"body": "Which browser do you use?"})
    assert asked.status_code == 201, asked.content
    ticket = Ticket.objects.get(number=number)
    assert ticket.status == "pending"

    def reminders() -> list[Delivery]:
        return list(Delivery.objects.filter(ticket_id=ticket.pk, template="automation_rule"))

    start = timezone.now()
    with time_machine.travel(start + timedelta(days=2, hours=23)):
        rule_jobs.rules_sweep()
    assert reminders() == []
    with time_machine.travel(start + timedelta(days=3, minutes=5)):
        rule_jobs.rules_sweep()
    with time_machine.travel(start + timedelta(days=3, minutes=10)):
        rule_jobs.rules_sweep()  # the next sweep: the same state, no second reminder
    sent = reminders()
    assert len(sent) == 1
    assert sent[0].recipient == users["customer"].email
    assert sent[0].subject.endswith(f"Still there? #{number}")
    assert "We await you." in sent[0].body_text


# --- 4. fair assignment across three agents ------------------------------------------------

_numbers = itertools.count(1)


@pytest.fixture
def three_agents(team: dict[str, Any]) -> tuple[Department, list[User]]:
    return team["department"], team["agents"]


def filed(department: Department, customer: User) -> Ticket:
    n = next(_numbers)
    ticket = actions.create_ticket(
        customer=customer,
        subject=f"Invoice {n} does not open",
        body=f"Invoice number {n} shows an error page when I open it from the account.",
        channel="web",
        department=department,
        intake_rules=False,
    )
    ticket.refresh_from_db()
    return ticket


def test_4a_round_robin_gives_tickets_in_turn_a_b_c_a(
    three_agents: tuple[Department, list[User]], users: dict[str, User]
) -> None:
    department, (aynur, boris, cemal) = three_agents
    DepartmentAssignment.objects.create(department=department, mode=AssignmentMode.ROUND_ROBIN)

    given = [filed(department, users["customer"]).assignee for _ in range(7)]

    assert given == [aynur, boris, cemal, aynur, boris, cemal, aynur]
    history = TicketEvent.objects.filter(kind="assignee", actor_kind="rule")
    assert {e.data["rule"] for e in history} == {"assignment: round robin"}


def test_4b_least_loaded_gives_nothing_to_the_busiest_until_the_load_is_even(
    three_agents: tuple[Department, list[User]], users: dict[str, User]
) -> None:
    department, (aynur, boris, cemal) = three_agents
    # Boris already has two open tickets, Cemal one, Aynur none (taken by hand).
    for agent, count in ((boris, 2), (cemal, 1)):
        for _ in range(count):
            ticket = filed(department, users["customer2"])
            actions.assign(ticket, actor=actions.Actor.of(agent), assignee=agent)
    DepartmentAssignment.objects.create(department=department, mode=AssignmentMode.LEAST_LOADED)

    given = [filed(department, users["customer"]).assignee for _ in range(5)]

    # Loads 0/2/1 → Aynur; 1/2/1, tie to Cemal who has waited longest; 1/2/2 → Aynur;
    # 2/2/2: Boris's first, he has waited longest; 2/3/3 … → Aynur, and so on evenly.
    assert given == [aynur, cemal, aynur, boris, cemal]
    assert boris not in given[:3]
    open_counts = {
        agent: Ticket.objects.filter(assignee=agent, department=department).count()
        for agent in (aynur, boris, cemal)
    }
    assert open_counts == {aynur: 2, boris: 3, cemal: 3}


# --- 5. a rule that would loop stops ---------------------------------------------------------


def test_5_a_ping_pong_pair_of_rules_stops_with_both_changes_named_in_the_history(
    customer: Any, agent: Any, caplog: pytest.LogCaptureFixture
) -> None:
    rule(
        "Ping: high becomes low",
        "updated",
        [{"field": "priority", "op": "is", "value": "high"}],
        [{"type": "set_priority", "value": "low"}],
    )
    rule(
        "Pong: low becomes high",
        "updated",
        [{"field": "priority", "op": "is", "value": "low"}],
        [{"type": "set_priority", "value": "high"}],
    )
    number = customer.file_ticket()["number"]

    changed = agent.patch(f"tickets/{number}", {"priority": "high"})

    assert changed.status_code == 200, changed.content  # the agent's change still commits
    ticket = Ticket.objects.get(number=number)
    assert ticket.priority == "high"
    by_rules = TicketEvent.objects.filter(ticket=ticket, kind="priority", actor_kind="rule")
    assert [(e.data["rule"], e.from_value, e.to_value) for e in by_rules.order_by("id")] == [
        ("Ping: high becomes low", "high", "low"),
        ("Pong: low becomes high", "low", "high"),
    ]
    assert "'Ping: high becomes low' stopped" in caplog.text
    assert "would loop" in caplog.text
