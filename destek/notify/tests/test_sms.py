"""SMS of an agent's reply: asked for per ticket, to a verified number, sent through the HTTP
gateway by the outbox, retried like mail; tested against a real gateway on loopback."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from typing import Any
from unittest import mock

import httpx
import pytest
import time_machine
from django.core.checks import run_checks
from django.test import Client
from django.utils import timezone

from destek.accounts.models import User
from destek.notify import jobs, sms
from destek.notify.actions import queue_sms
from destek.notify.jobs import is_permanent, sweep_outbox_now
from destek.notify.models import Delivery
from destek.notify.tests.gateway import Gateway, running_gateway
from destek.tickets.models import Ticket

pytestmark = pytest.mark.django_db

PHONE = "+994501234567"


@pytest.fixture
def gateway(settings: Any) -> Iterator[Gateway]:
    with running_gateway(settings) as gateway:
        yield gateway


def verified_phone(user: User, phone: str = PHONE) -> None:
    user.phone = phone
    user.phone_verified_at = timezone.now()
    user.save(update_fields=["phone", "phone_verified_at"])


def ticket_with_sms(customer: Any, users: dict[str, User]) -> int:
    verified_phone(users["customer"])
    number = int(customer.file_ticket()["number"])
    answer = customer.patch(f"tickets/{number}", {"notify_sms": True})
    assert answer.status_code == 200, answer.content
    assert answer.json()["notify_sms"] is True
    return number


def sms_rows() -> Any:
    return Delivery.objects.filter(transport="sms")


def test_an_agent_reply_sends_one_sms_with_the_configured_body_and_header(
    customer: Any, agent: Any, users: dict[str, User], gateway: Gateway
) -> None:
    number = ticket_with_sms(customer, users)
    assert gateway.requests == [], "filing and opting in send nothing by SMS"
    agent.post(f"tickets/{number}/messages", {"body": "Fixed; please try again."})
    [request] = gateway.requests
    assert (request.method, request.path) == ("POST", "/send")
    assert request.headers["authorization"] == "Bearer test-token"
    assert request.headers["content-type"].startswith("application/json")
    assert request.json() == {
        "to": PHONE,
        "text": f"Destek: ticket #{number} has a new reply. "
        f"http://127.0.0.1:8000/my/tickets/{number}/",
    }
    assert len(request.json()["text"]) < 160
    assert "Fixed; please try again." not in request.json()["text"], "no ticket text by SMS"
    delivery = sms_rows().get()
    assert (delivery.status, delivery.recipient, delivery.automatic) == ("sent", PHONE, True)


def test_the_sms_is_written_in_the_tickets_language(
    customer: Any, agent: Any, users: dict[str, User], gateway: Gateway
) -> None:
    number = ticket_with_sms(customer, users)
    Ticket.objects.filter(number=number).update(language="ru")
    agent.post(f"tickets/{number}/messages", {"body": "Готово."})
    assert sms_rows().get().language == "ru"
    assert len(gateway.requests) == 1


def test_an_internal_note_sends_no_sms(
    customer: Any, agent: Any, users: dict[str, User], gateway: Gateway
) -> None:
    number = ticket_with_sms(customer, users)
    note = agent.post(f"tickets/{number}/messages", {"body": "Check logs", "internal": True})
    assert note.status_code == 201, note.content
    assert gateway.requests == []
    assert not sms_rows().exists()


def test_no_sms_unless_the_customer_asked_for_it_on_this_ticket(
    customer: Any, agent: Any, users: dict[str, User], gateway: Gateway
) -> None:
    verified_phone(users["customer"])
    number = customer.file_ticket()["number"]
    agent.post(f"tickets/{number}/messages", {"body": "Here is the fix."})
    assert gateway.requests == []


def test_a_gateway_error_is_retried_and_the_sms_sent_once_later(
    customer: Any, agent: Any, users: dict[str, User], gateway: Gateway
) -> None:
    number = ticket_with_sms(customer, users)
    gateway.answer(500)
    agent.post(f"tickets/{number}/messages", {"body": "Here is the fix."})
    waiting = sms_rows().get()
    assert (waiting.status, waiting.attempts) == ("queued", 1)
    assert "500" in waiting.last_error
    assert sweep_outbox_now() == 0, "not due before its backoff"
    with time_machine.travel(timezone.now() + timedelta(minutes=5), tick=False):
        assert sweep_outbox_now() == 1
        assert sweep_outbox_now() == 0
    waiting.refresh_from_db()
    assert (waiting.status, waiting.attempts) == ("sent", 2)
    assert len(gateway.requests) == 2
    assert gateway.requests[0].body == gateway.requests[1].body


@pytest.mark.parametrize(("status", "outcome"), [(400, "failed"), (401, "failed"), (429, "queued")])
def test_a_refusal_by_the_gateway_gives_up_but_too_many_requests_waits(
    customer: Any, agent: Any, users: dict[str, User], gateway: Gateway, status: int, outcome: str
) -> None:
    number = ticket_with_sms(customer, users)
    gateway.answer(status)
    agent.post(f"tickets/{number}/messages", {"body": "Here is the fix."})
    delivery = sms_rows().get()
    assert (delivery.status, delivery.attempts) == (outcome, 1)
    assert len(gateway.requests) == 1


def test_timeouts_and_unreachable_gateways_are_retried() -> None:
    assert is_permanent(httpx.ReadTimeout("slow")) is False
    assert is_permanent(httpx.ConnectError("refused")) is False
    assert is_permanent(sms.GatewayAnswer(503, "busy")) is False
    assert is_permanent(sms.GatewayAnswer(408, "timeout")) is False
    assert is_permanent(sms.GatewayAnswer(404, "no such route")) is True


def test_quotes_and_braces_in_the_text_stay_valid_json_and_inject_nothing(
    settings: Any, gateway: Gateway
) -> None:
    settings.DESTEK_SMS_GATEWAY_BODY = json.dumps(
        {"to": "{to}", "message": {"text": "{text}", "from": "{sender}"}, "tags": ["{to}", 1]}
    )
    settings.DESTEK_SMS_SENDER = 'Des"tek'
    nasty = 'a "quote", a \\ backslash, {"to": "+10000000000"} and {sender} {to}\n'
    sms.send(PHONE, nasty)
    body = gateway.requests[0].json()
    assert body == {
        "to": PHONE,
        "message": {"text": nasty, "from": 'Des"tek'},
        "tags": [PHONE, 1],
    }


def test_a_get_gateway_receives_the_fields_as_query_parameters(
    settings: Any, gateway: Gateway
) -> None:
    settings.DESTEK_SMS_GATEWAY_METHOD = "GET"
    settings.DESTEK_SMS_GATEWAY_BODY = '{"phone": "{to}", "msg": "{text}", "key": "k&1"}'
    sms.send(PHONE, "Hello & bye")
    [request] = gateway.requests
    assert request.method == "GET"
    assert request.query == {"phone": PHONE, "msg": "Hello & bye", "key": "k&1"}


def test_sms_is_off_without_a_gateway_url(
    customer: Any, agent: Any, users: dict[str, User]
) -> None:
    verified_phone(users["customer"])
    number = customer.file_ticket()["number"]
    refused = customer.patch(f"tickets/{number}", {"notify_sms": True})
    assert refused.status_code == 422
    assert refused.json()["code"] == "sms_off"
    client = Client(headers={"Accept-Language": "en"})
    client.force_login(users["customer"])
    client.cookies["django_language"] = "en"  # the switcher: the demo customer reads az
    page = client.get(f"/my/tickets/{number}/").content.decode()
    assert 'id="sms"' not in page
    Ticket.objects.filter(number=number).update(notify_sms=True)  # asked for while it was on
    agent.post(f"tickets/{number}/messages", {"body": "Here is the fix."})
    assert not sms_rows().exists()


def test_asking_for_sms_needs_a_verified_phone(
    customer: Any, users: dict[str, User], gateway: Gateway, django_capture_on_commit_callbacks: Any
) -> None:
    number = customer.file_ticket()["number"]
    refused = customer.patch(f"tickets/{number}", {"notify_sms": True})
    assert refused.status_code == 422
    assert refused.json()["code"] == "phone_not_verified"
    assert customer.get(f"tickets/{number}").json()["notify_sms"] is False
    client = Client(headers={"Accept-Language": "en"})
    client.force_login(users["customer"])
    client.cookies["django_language"] = "en"  # the switcher: the demo customer reads az
    page = client.get(f"/my/tickets/{number}/").content.decode()
    assert 'href="/my/profile/#phone">verify your phone number in your profile</a>' in page
    forced = client.post(f"/my/tickets/{number}/sms/", {"notify_sms": "1"})
    assert "Verify your phone number in your profile first." in forced.content.decode()
    assert Ticket.objects.get(number=number).notify_sms is False


def test_the_customer_switches_sms_on_and_off_on_the_ticket_page(
    customer: Any, users: dict[str, User], gateway: Gateway
) -> None:
    verified_phone(users["customer"])
    number = customer.file_ticket()["number"]
    client = Client(headers={"Accept-Language": "en"})
    client.force_login(users["customer"])
    client.cookies["django_language"] = "en"  # the switcher: the demo customer reads az
    page = client.get(f"/my/tickets/{number}/").content.decode()
    assert "Send me an SMS when you answer" in page
    on = client.post(f"/my/tickets/{number}/sms/", {"notify_sms": "1"})
    assert on["Location"] == f"/my/tickets/{number}/#sms"
    assert Ticket.objects.get(number=number).notify_sms is True
    assert "Stop the SMS" in client.get(f"/my/tickets/{number}/").content.decode()
    client.post(f"/my/tickets/{number}/sms/", {"notify_sms": "0"})
    assert Ticket.objects.get(number=number).notify_sms is False


def test_only_the_tickets_customer_can_ask_for_its_sms(
    customer: Any, customer2: Any, agent: Any, users: dict[str, User], gateway: Gateway
) -> None:
    verified_phone(users["customer2"], "+994551112233")
    number = customer.file_ticket()["number"]
    assert customer2.patch(f"tickets/{number}", {"notify_sms": True}).status_code == 404
    assert agent.patch(f"tickets/{number}", {"notify_sms": True}).status_code == 403
    client = Client()
    client.force_login(users["customer2"])
    assert client.post(f"/my/tickets/{number}/sms/", {"notify_sms": "1"}).status_code == 404


def test_a_changed_phone_number_gets_no_sms_until_verified_again(
    customer: Any, agent: Any, users: dict[str, User], gateway: Gateway
) -> None:
    from destek.accounts.actions import update_profile

    number = ticket_with_sms(customer, users)
    person = User.objects.get(pk=users["customer"].pk)
    update_profile(
        person,
        full_name=person.full_name,
        language=person.language,
        time_zone=person.time_zone,
        phone="+994 55 999 88 77",
    )
    person.refresh_from_db()
    assert (person.phone, person.phone_verified_at) == ("+994559998877", None)
    agent.post(f"tickets/{number}/messages", {"body": "Here is the fix."})
    assert gateway.requests == []


def test_sms_to_one_number_is_capped_like_automatic_mail(
    customer: Any, agent: Any, users: dict[str, User], gateway: Gateway, settings: Any
) -> None:
    settings.DESTEK_AUTOMAIL_PER_HOUR = 2
    number = ticket_with_sms(customer, users)
    for i in range(4):
        agent.post(f"tickets/{number}/messages", {"body": f"Update {i}."})
    assert sms_rows().filter(status="sent").count() == 2
    assert len(gateway.requests) == 2


def test_a_malformed_gateway_configuration_is_a_system_check_warning(settings: Any) -> None:
    settings.DESTEK_SMS_GATEWAY_URL = "ftp://sms.example.com/send"
    settings.DESTEK_SMS_GATEWAY_BODY = '{"to": "{to}", "text": "{text}"'
    ids = [m.id for m in run_checks() if m.id == "destek.W101"]
    messages = [m.msg for m in run_checks() if m.id == "destek.W101"]
    assert len(ids) == 2
    assert any("not an http(s) URL" in m for m in messages)
    assert any("not JSON" in m for m in messages)
    settings.DESTEK_SMS_GATEWAY_URL = ""
    assert not [m for m in run_checks() if m.id == "destek.W101"], "SMS off: nothing to check"


def test_an_sms_alone_is_sent_without_opening_a_mail_connection(
    gateway: Gateway, django_capture_on_commit_callbacks: Any
) -> None:
    with (
        mock.patch.object(jobs, "get_connection") as smtp,
        django_capture_on_commit_callbacks(execute=True),
    ):
        queue_sms(
            to=PHONE,
            template="agent_reply",
            context={"number": "#1", "link": "http://127.0.0.1:8000/my/tickets/1/"},
            language="en",
        )
    assert len(gateway.requests) == 1, "the SMS went out"
    smtp.assert_not_called()
    assert sms_rows().get().status == "sent"
