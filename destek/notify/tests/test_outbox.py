"""The outbox: mail written with the change, delivered by the worker, retried, never twice."""

from __future__ import annotations

import re
import smtplib
from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.core import mail
from django.core.mail import EmailMessage
from django.utils import timezone

from destek.notify.jobs import deliver_now, is_permanent, sweep_outbox_now
from destek.notify.models import Delivery

pytestmark = pytest.mark.django_db

DOWN = "destek.notify.tests.test_outbox.DownBackend"


class DownBackend:
    """An SMTP server that is not there: every send fails as a refused connection would."""

    def __init__(self, **kwargs: Any) -> None:
        pass

    def send_messages(self, messages: Any) -> int:
        raise ConnectionRefusedError(111, "Connection refused")


def test_mail_is_written_in_the_same_transaction_as_the_ticket(customer: Any) -> None:
    number = customer.file_ticket()["number"]
    delivery = Delivery.objects.get(recipient="customer@example.com")
    assert delivery.ticket is not None and delivery.ticket.number == number
    assert delivery.status == "sent"


def test_smtp_down_keeps_mail_waiting_and_sends_it_once_when_back(
    customer: Any, settings: Any, outbox: list[EmailMessage]
) -> None:
    settings.EMAIL_BACKEND = DOWN
    customer.file_ticket()
    waiting = Delivery.objects.filter(recipient="customer@example.com").get()
    assert (waiting.status, waiting.attempts) == ("queued", 1)
    assert "Connection refused" in waiting.last_error
    assert sweep_outbox_now() == 0, "not due before its backoff"
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    with time_machine.travel(timezone.now() + timedelta(minutes=5), tick=False):
        assert sweep_outbox_now() >= 1
        assert sweep_outbox_now() == 0
    assert [m.to for m in outbox].count(["customer@example.com"]) == 1
    waiting.refresh_from_db()
    assert (waiting.status, waiting.attempts) == ("sent", 2)


def test_a_delivery_is_never_sent_twice(customer: Any, outbox: list[EmailMessage]) -> None:
    customer.file_ticket()
    delivery = Delivery.objects.get(recipient="customer@example.com")
    before = len(mail.outbox)
    assert deliver_now(delivery.pk) == "skipped"
    assert len(mail.outbox) == before


def test_a_worker_killed_mid_send_is_retried_after_the_claim_goes_stale(
    customer: Any, settings: Any, outbox: list[EmailMessage]
) -> None:
    settings.EMAIL_BACKEND = DOWN
    customer.file_ticket()
    delivery = Delivery.objects.get(recipient="customer@example.com")
    Delivery.objects.filter(pk=delivery.pk).update(status="sending", claimed_at=timezone.now())
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    assert deliver_now(delivery.pk) == "skipped", "a fresh claim belongs to a live worker"
    with time_machine.travel(timezone.now() + timedelta(minutes=11), tick=False):
        assert deliver_now(delivery.pk) == "sent"


def test_retries_back_off_and_wait_out_an_outage_before_giving_up(
    customer: Any, settings: Any
) -> None:
    settings.EMAIL_BACKEND = DOWN
    customer.file_ticket()
    delivery = Delivery.objects.get(recipient="customer@example.com")
    now = timezone.now()
    for hours in (1, 2, 3, 4, 5, 6, 12, 24, 48):
        with time_machine.travel(now + timedelta(hours=hours), tick=False):
            assert deliver_now(delivery.pk) == "retry", hours
    with time_machine.travel(now + timedelta(hours=73), tick=False):
        assert deliver_now(delivery.pk) == "failed"
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == ("failed", 11)


def test_a_malformed_address_fails_at_once_instead_of_retrying_forever(
    customer: Any, outbox: list[EmailMessage]
) -> None:
    customer.file_ticket()
    delivery = Delivery.objects.get(recipient="customer@example.com")
    Delivery.objects.filter(pk=delivery.pk).update(
        recipient="a\nb@example.com", status="queued", sent_at=None
    )
    assert deliver_now(delivery.pk) == "failed"


def test_automatic_mail_to_one_address_is_capped_but_agent_replies_are_not(
    customer: Any, agent: Any, settings: Any, outbox: list[EmailMessage]
) -> None:
    settings.DESTEK_AUTOMAIL_PER_HOUR = 3
    for i in range(5):
        customer.file_ticket(subject=f"Report {i} is blank", body=f"Report {i} shows nothing.")
    automatic = Delivery.objects.filter(recipient="customer@example.com", automatic=True)
    assert automatic.filter(status="sent").count() == 3
    held = automatic.filter(status="held")
    assert held.count() == 2, "the worker holds the rest back when it would send them"
    assert {d.last_error for d in held} == {"over the automatic-mail cap of this address"}
    number = customer.get("tickets").json()["items"][0]["number"]
    agent.post(f"tickets/{number}/messages", {"body": "Here is the fix."})
    human = Delivery.objects.get(recipient="customer@example.com", automatic=False)
    assert "Auto-Submitted" not in human.headers


def test_smtp_5xx_is_permanent_and_4xx_is_not() -> None:
    assert is_permanent(smtplib.SMTPRecipientsRefused({"a@b.c": (550, b"no such user")}))
    assert not is_permanent(smtplib.SMTPRecipientsRefused({"a@b.c": (451, b"try later")}))
    assert not is_permanent(ConnectionRefusedError())


def test_outbound_mail_headers_cannot_be_injected_through_the_subject(
    customer: Any, outbox: list[EmailMessage]
) -> None:
    customer.file_ticket(subject="Broken\r\nBcc: victim@example.com", body="Header injection.")
    mine = next(m for m in outbox if m.to == ["customer@example.com"])
    assert "\n" not in mine.subject and "\r" not in mine.subject
    assert "victim@example.com" not in mine.message().get("Bcc", "")


def test_every_mail_has_a_message_id_and_reply_to(
    customer: Any, outbox: list[EmailMessage]
) -> None:
    number = customer.file_ticket()["number"]
    message = outbox[0].message()
    # Signed for its recipient, so a reply can be recognised (destek.mail.tokens).
    assert re.match(rf"^<destek\.[0-9a-f]{{16}}\.t{number}\.[0-9a-f]{{20}}@", message["Message-ID"])
    assert message["Reply-To"].startswith(f"support+t{number}.")
    assert message["References"] == f"<destek.t{number}@destek.localhost>"
