"""Intake rules, routing and priority as a customer meets them through the API."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.mail import EmailMessage

from destek.tickets.models import IntakeRule, Message, Ticket

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "subject",
    [
        "hello",
        "Question",
        "Request!",
        "problem",
        "HELP",
        "Salam",
        "sual",
        "سلام",
        "درخواست",
        "Вопрос",
        "Здравствуйте!",
        "Merhaba, bir sorum var",
        "Sorun",
    ],
)
def test_subjects_that_say_nothing_are_refused(customer: Any, subject: str) -> None:
    response = customer.post("tickets", {"subject": subject, "body": "Please help me."})
    assert response.status_code == 422
    assert response.json()["code"] == "generic_subject"
    assert Ticket.objects.count() == 0


@pytest.mark.parametrize(
    ("language", "expected"),
    [("ru", "Тема"), ("az", "Mövzu"), ("tr", "Konu"), ("fa", "موضوع"), ("en", "subject")],
)
def test_refusals_speak_the_callers_language(as_user: Any, language: str, expected: str) -> None:
    client = as_user("customer", language=language)
    response = client.post("tickets", {"subject": "hello", "body": "Please help."})
    assert response.status_code == 422
    assert expected in response.json()["detail"]


def test_without_accept_language_the_users_own_language_is_used(as_user: Any) -> None:
    client = as_user("customer2", language=None)  # customer2 prefers Russian
    response = client.post("tickets", {"subject": "hello", "body": "Please help."})
    assert "Тема" in response.json()["detail"]


@pytest.mark.parametrize("subject", ["Site down???", "Why!!!", "Pul hanı ?!?", "چرا؟؟؟"])
def test_subjects_with_runs_of_marks_are_refused(customer: Any, subject: str) -> None:
    response = customer.post("tickets", {"subject": subject, "body": "The site is down."})
    assert response.status_code == 422
    assert response.json()["code"] == "shouting_subject"


def test_a_duplicate_of_an_open_ticket_is_refused_and_named(customer: Any) -> None:
    first = customer.file_ticket(
        subject="Invoice page shows error 500", body="Since this morning the invoice page fails."
    )
    again = customer.post(
        "tickets",
        {
            "subject": "invoice page shows error 500!",
            "body": "Since this morning the invoice page fails",
        },
    )
    assert again.status_code == 422
    assert again.json()["code"] == "duplicate"
    assert again.json()["ticket"] == first["number"]
    assert str(first["number"]) in again.json()["detail"]


def test_the_same_text_from_another_customer_is_not_a_duplicate(
    customer: Any, customer2: Any
) -> None:
    customer.file_ticket()
    customer2.file_ticket()
    assert Ticket.objects.count() == 2


def test_a_closed_ticket_does_not_block_a_new_one(customer: Any) -> None:
    first = customer.file_ticket()
    customer.post(f"tickets/{first['number']}/close")
    customer.file_ticket()
    assert Ticket.objects.count() == 2


def test_an_admin_can_switch_a_rule_off(customer: Any) -> None:
    IntakeRule.objects.filter(code="generic_subject").update(enabled=False)
    assert customer.post("tickets", {"subject": "hello", "body": "Hi."}).status_code == 201


@pytest.mark.parametrize(
    "text",
    [
        "when will you answer?",
        "any update?",
        "Сколько ещё ждать?",
        "ne zaman cevap vereceksiniz",
        "nə vaxt cavab verəcəksiniz",
        "چرا جواب نمی‌دهید",
    ],
)
def test_a_nudge_is_kept_but_does_not_move_the_ticket(
    customer: Any, agent: Any, outbox: list[EmailMessage], text: str
) -> None:
    ticket = customer.file_ticket()
    number = ticket["number"]
    outbox.clear()
    response = customer.post(f"tickets/{number}/messages", {"body": text})
    assert response.status_code == 201
    assert response.json()["nudge"] is True
    after = customer.get(f"tickets/{number}").json()
    assert after["updated_at"] == ticket["updated_at"]
    assert after["last_customer_message_at"] == ticket["last_customer_message_at"]
    assert after["status"] == "new"
    assert [m.to for m in outbox] == [["customer@example.com"]], "no agent is woken"
    thread = customer.get(f"tickets/{number}/messages").json()
    assert thread[-1]["author_kind"] == "system"
    assert str(number) in thread[-1]["body"]


def test_the_nudge_answer_gives_the_expected_answer_time_in_the_customers_language(
    as_user: Any, outbox: list[EmailMessage]
) -> None:
    client = as_user("customer2", language="ru")
    number = client.file_ticket()["number"]
    client.post(f"tickets/{number}/messages", {"body": "Сколько ещё ждать?"})
    answer = Message.objects.filter(ticket__number=number, author_kind="system").get()
    assert "ответим" in answer.body.lower()


def test_a_real_reply_is_not_a_nudge(customer: Any) -> None:
    number = customer.file_ticket()["number"]
    response = customer.post(
        f"tickets/{number}/messages",
        {
            "body": "Any update? I also see error 502 on /billing since 9:00"
            " and the export of March invoices fails too."
        },
    )
    assert response.json()["nudge"] is False


@pytest.mark.parametrize(
    "subject",
    [
        "Payment failed for order 12345",
        "Ödəniş keçmir",
        "Ödənişlə bağlı sual var idi",
        "Оплата не прошла",
        "Проблема с оплатой заказа",
        "Ödeme alınmadı",
        "مشکل پرداخت",
    ],
)
def test_payment_words_in_five_languages_route_to_finance(customer: Any, subject: str) -> None:
    ticket = customer.file_ticket(subject=subject, body="Card was charged twice.")
    assert ticket["department"] == "finance"


@pytest.mark.parametrize(
    "subject",
    ["Service is down", "Sayt işləmir", "Сайт не работает", "Hizmet çalışmıyor", "سایت کار نمی‌کند"],
)
def test_service_down_phrases_raise_priority_to_high(customer: Any, subject: str) -> None:
    ticket = customer.file_ticket(subject=subject, body="Nothing loads at all since 9:00.")
    assert ticket["priority"] == "high"


def test_vip_customers_get_at_least_high(vip: Any, agent: Any) -> None:
    ticket = vip.file_ticket(urgency="low")
    assert ticket["priority"] == "high"
    assert ticket["tags"] == [], "tags are the team's own labels"
    assert "vip" in agent.get(f"tickets/{ticket['number']}").json()["tags"]


def test_a_customer_cannot_make_a_ticket_critical_by_asking(customer: Any) -> None:
    ticket = customer.file_ticket(urgency="critical")
    assert ticket["urgency"] == "critical"
    assert ticket["priority"] == "high"


def test_routing_rules_are_in_the_event_history(customer: Any, finance: Any) -> None:
    number = customer.file_ticket(subject="Оплата не прошла", body="Деньги списаны.")["number"]
    history = finance.get(f"tickets/{number}/events").json()
    routed = [e for e in history if e["kind"] == "department"]
    assert routed[0]["actor_kind"] == "rule"
    assert (routed[0]["from_value"], routed[0]["to_value"]) == ("technical", "finance")


def test_unknown_department_and_bad_urgency_are_clear_errors(customer: Any) -> None:
    bad_department = customer.post(
        "tickets", {"subject": "Printer offline", "body": "x y", "department": "nope"}
    )
    assert bad_department.status_code == 422
    assert bad_department.json()["code"] == "invalid_department"
    bad_urgency = customer.post(
        "tickets", {"subject": "Printer offline", "body": "x y", "urgency": "extreme"}
    )
    assert bad_urgency.status_code == 422
    assert bad_urgency.json()["code"] == "invalid"
    assert "urgency" in bad_urgency.json()["detail"]


def test_empty_subject_or_body_is_refused(customer: Any) -> None:
    for payload in ({"subject": "  ", "body": "x"}, {"subject": "Printer offline", "body": " "}):
        response = customer.post("tickets", payload)
        assert response.status_code == 422
        assert response.json()["code"].endswith("_required")


def test_nudges_in_a_row_get_one_automatic_answer_an_hour(
    customer: Any, outbox: list[EmailMessage]
) -> None:
    number = customer.file_ticket()["number"]
    outbox.clear()
    for _ in range(3):
        assert (
            customer.post(f"tickets/{number}/messages", {"body": "any update?"}).json()["nudge"]
            is True
        )
    answers = Message.objects.filter(ticket__number=number, author_kind="system")
    assert answers.count() == 1
    assert len(outbox) == 1
    assert outbox[0].extra_headers["Auto-Submitted"] == "auto-replied"


def test_a_bad_body_field_is_named_in_the_error(customer: Any) -> None:
    response = customer.post("tickets", {"subject": "Printer offline", "body": None})
    assert response.status_code == 422
    assert response.json()["detail"].startswith("body:")


def test_invalid_json_is_a_clear_400(customer: Any) -> None:
    response = customer.client.post(
        "/api/v1/tickets",
        "{not json",
        content_type="application/json",
        headers={"Authorization": f"Bearer {customer.token}"},
    )
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_json"
