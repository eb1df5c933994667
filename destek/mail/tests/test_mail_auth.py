"""Forged senders, on real mail: a reply our mail server could not verify is held until the
customer confirms it, forged mail cannot silence security mail, and a reused Message-ID
cannot suppress the real message."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from django.core import mail as django_mail
from django.core.mail import EmailMessage
from django.test import Client

from destek.accounts.actions import request_password_reset
from destek.accounts.models import User
from destek.mail.actions import process_message
from destek.mail.models import InboundMessage
from destek.notify.models import Delivery
from destek.tickets.models import Message, Ticket

pytestmark = pytest.mark.django_db

AUTH = Path(__file__).parent / "fixtures" / "auth"
SUPPORT = "support@destek.localhost"


def fixture(name: str, **values: Any) -> bytes:
    text = (AUTH / name).read_bytes().decode()
    for key, value in values.items():
        text = text.replace("{" + key + "}", str(value))
    return text.encode()


@pytest.fixture
def deliver(demo: None, django_capture_on_commit_callbacks: Any, outbox: list[EmailMessage]) -> Any:
    def run(raw: bytes) -> Any:
        with django_capture_on_commit_callbacks(execute=True):
            return process_message(raw, "test")

    return run


@pytest.fixture
def checked(settings: Any) -> Any:
    """Our mail server, mx.destek.test, writes the verdicts we trust."""
    settings.DESTEK_MAIL_TRUSTED_AUTHSERV_IDS = frozenset({"mx.destek.test"})
    settings.DESTEK_MAIL_REQUIRE_AUTH = "when-present"
    return settings


@pytest.fixture
def waiting_ticket(customer: Any, agent: Any) -> Ticket:
    """The customer's ticket, answered by an agent: pending, waiting for the customer."""
    number = customer.file_ticket()["number"]
    agent.post(f"tickets/{number}/messages", {"body": "Which browser do you use?"})
    ticket = Ticket.objects.get(number=number)
    assert ticket.status == "pending"
    return ticket


def confirm_link(address: str) -> str:
    [mail] = [m for m in django_mail.outbox if address in m.to and "/mail/confirm/" in m.body]
    found = re.search(r"https?://[^/\s]+(/mail/confirm/[^\s]+/)", str(mail.body))
    assert found is not None
    return found.group(1)


def test_a_forged_reply_in_a_customers_name_is_held_for_agents_and_hidden_from_the_customer(
    deliver: Any, checked: Any, waiting_ticket: Ticket, customer: Any, agent: Any
) -> None:
    number = waiting_ticket.number
    outcome = deliver(fixture("forged_reply_dmarc_fail.eml", number=number))
    assert (outcome.status, outcome.reason, outcome.ticket_number) == (
        "stored",
        "held-unverified",
        number,
    )
    held = Message.objects.get(ticket=waiting_ticket, body__contains="IBAN")
    assert held.verification == "pending"
    assert InboundMessage.objects.get(pk=outcome.inbound_id).authentication == "fail"
    waiting_ticket.refresh_from_db()
    assert waiting_ticket.status == "pending", "held mail changes nothing"
    seen_by_customer = customer.get(f"tickets/{number}/messages").json()
    assert all("IBAN" not in m["body"] for m in seen_by_customer)
    seen_by_agent = agent.get(f"tickets/{number}/messages").json()
    assert [m["verification"] for m in seen_by_agent if "IBAN" in m["body"]] == ["pending"]
    # The real owner of the address is asked, at that address, whether they sent it.
    assert confirm_link("customer@example.com").startswith("/mail/confirm/")


def test_agents_see_a_warning_on_held_mail_and_the_customers_page_does_not_show_it(
    deliver: Any, checked: Any, waiting_ticket: Ticket, users: dict[str, User]
) -> None:
    number = waiting_ticket.number
    deliver(fixture("forged_reply_dmarc_fail.eml", number=number))
    desk = Client()
    desk.force_login(users["agent"])
    desk.cookies["django_language"] = "en"
    page = desk.get(f"/desk/tickets/{number}/").content.decode()
    assert "IBAN" in page and "Held: sender not verified" in page
    portal = Client()
    portal.force_login(users["customer"])
    assert "IBAN" not in portal.get(f"/my/tickets/{number}/").content.decode()


def test_the_customer_confirms_a_held_message_with_one_click_and_it_counts_as_their_reply(
    deliver: Any, checked: Any, waiting_ticket: Ticket, customer: Any
) -> None:
    number = waiting_ticket.number
    deliver(fixture("forged_reply_dmarc_fail.eml", number=number))
    link = confirm_link("customer@example.com")
    browser = Client()
    browser.cookies["django_language"] = "en"
    page = browser.get(link)
    assert page.status_code == 200 and "IBAN" in page.content.decode()
    held = Message.objects.get(ticket=waiting_ticket, body__contains="IBAN")
    assert held.verification == "pending", "opening the link (a mail scanner) confirms nothing"
    done = browser.post(link)
    assert done.status_code == 200 and "confirmed" in done.content.decode()
    held.refresh_from_db()
    waiting_ticket.refresh_from_db()
    assert held.verification == "confirmed"
    assert waiting_ticket.status == "open", "a confirmed message is the customer's reply"
    assert any("IBAN" in m["body"] for m in customer.get(f"tickets/{number}/messages").json())
    assert browser.post(link).status_code == 200, "a second click changes nothing more"
    assert Message.objects.filter(ticket=waiting_ticket, body__contains="IBAN").count() == 1


def test_a_forged_or_broken_confirmation_link_confirms_nothing(
    deliver: Any, checked: Any, waiting_ticket: Ticket
) -> None:
    deliver(fixture("forged_reply_dmarc_fail.eml", number=waiting_ticket.number))
    held = Message.objects.get(ticket=waiting_ticket, body__contains="IBAN")
    for link in (f"/mail/confirm/{held.pk}/", f"/mail/confirm/{held.pk}:AAAAAA:BBBBBBBB/"):
        assert Client().post(link).status_code == 404
    held.refresh_from_db()
    assert held.verification == "pending"


def test_a_reply_our_server_verified_joins_the_thread_as_before(
    deliver: Any, checked: Any, waiting_ticket: Ticket
) -> None:
    outcome = deliver(fixture("reply_rspamd_pass.eml", number=waiting_ticket.number))
    assert (outcome.status, outcome.reason) == ("stored", "")
    message = Message.objects.get(ticket=waiting_ticket, body__contains="səhifə")
    assert message.verification == ""
    waiting_ticket.refresh_from_db()
    assert waiting_ticket.status == "open"


def test_without_trusted_servers_nothing_is_checked_and_mail_flows_as_before(
    deliver: Any, waiting_ticket: Ticket
) -> None:
    outcome = deliver(fixture("forged_reply_dmarc_fail.eml", number=waiting_ticket.number))
    assert (outcome.status, outcome.reason) == ("stored", "")
    assert InboundMessage.objects.get(pk=outcome.inbound_id).authentication == "not-checked"
    assert Message.objects.get(body__contains="IBAN").verification == ""


def test_a_missing_verdict_holds_mail_only_when_the_setting_says_always(
    deliver: Any, checked: Any, waiting_ticket: Ticket
) -> None:
    number = waiting_ticket.number
    first = deliver(fixture("reply_no_verdict.eml", number=number))
    assert (first.status, first.reason) == ("stored", "")
    assert Message.objects.get(pk=_message_of(first)).verification == "unverified"
    checked.DESTEK_MAIL_REQUIRE_AUTH = "always"
    raw = fixture("reply_no_verdict.eml", number=number).replace(b"no-verdict-1", b"no-verdict-2")
    second = deliver(raw)
    assert second.reason == "held-unverified"


def _message_of(outcome: Any) -> int:
    message_id = InboundMessage.objects.get(pk=outcome.inbound_id).message_id
    assert message_id is not None
    return int(message_id)


def test_forged_mail_cannot_silence_a_password_reset(
    deliver: Any, checked: Any, settings: Any
) -> None:
    settings.DESTEK_AUTOMAIL_PER_HOUR = 3
    for i in range(6):
        deliver(
            fixture(
                "forged_new_ticket.eml",
                subject=f"Order {i} never arrived",
                message_id=f"flood-{i}@evil.example.net",
                body=f"Order {i} was paid but never arrived, please check it.",
            )
        )
    automatic = Delivery.objects.filter(recipient="customer@example.com", kind="automatic")
    # New tickets are still opened (mail is the customer's channel), but forged mail gets
    # at most the tighter cap of automatic answers.
    assert Ticket.objects.filter(customer__email="customer@example.com").count() == 6
    sent = automatic.filter(status="sent")
    assert sent.count() == settings.DESTEK_AUTOMAIL_UNVERIFIED_PER_HOUR
    assert automatic.filter(answers_unverified=True).count() == automatic.count()
    assert Message.objects.filter(body__startswith="Order 5").get().verification == "unverified"
    request_password_reset("customer@example.com")
    reset = Delivery.objects.get(recipient="customer@example.com", template="password_reset")
    assert reset.kind == "security"


def test_security_mail_is_never_held_by_a_full_automatic_cap(
    customer: Any, settings: Any, outbox: list[EmailMessage]
) -> None:
    settings.DESTEK_AUTOMAIL_PER_HOUR = 2
    for i in range(3):
        customer.file_ticket(subject=f"Report {i} is blank", body=f"Report {i} shows nothing.")
    automatic = Delivery.objects.filter(recipient="customer@example.com", kind="automatic")
    assert automatic.filter(status="sent").count() == 2
    request_password_reset("customer@example.com")
    assert Delivery.objects.filter(template="password_reset").count() == 1


def test_security_mail_has_its_own_limit_per_address_and_kind(demo: None, settings: Any) -> None:
    settings.DESTEK_SECURITY_MAIL_PER_HOUR = 2
    for _ in range(4):
        request_password_reset("customer@example.com")
    assert Delivery.objects.filter(template="password_reset").count() == 2
    request_password_reset("customer2@example.com")
    assert Delivery.objects.filter(recipient="customer2@example.com").count() == 1


def test_a_stranger_reusing_a_message_id_cannot_suppress_the_real_mail(
    deliver: Any, waiting_ticket: Ticket
) -> None:
    real = fixture("reply_rspamd_pass.eml", number=waiting_ticket.number)
    stolen_id = b"<CAK9f2x=real-reply-1@mail.example.com>"
    stranger = (
        b"From: someone@elsewhere.example\r\nTo: " + SUPPORT.encode() + b"\r\n"
        b"Subject: Invoice 4471 is missing\r\nMessage-ID: " + stolen_id + b"\r\n\r\n"
        b"Invoice 4471 is not in my account.\r\n"
    )
    first = deliver(stranger)
    assert first.status == "stored" and not first.duplicate
    second = deliver(real)
    assert second.status == "stored" and not second.duplicate
    assert Message.objects.filter(ticket=waiting_ticket, body__contains="səhifə").exists()
    assert deliver(real).duplicate, "the same mail delivered twice is still filed once"


def test_asking_for_verification_without_a_trusted_server_is_flagged_at_start_up(
    settings: Any,
) -> None:
    from destek.mail.checks import sender_verification_check

    settings.DESTEK_MAIL_REQUIRE_AUTH = "always"
    settings.DESTEK_MAIL_TRUSTED_AUTHSERV_IDS = frozenset()
    assert [w.id for w in sender_verification_check()] == ["destek.W111"]
    settings.DESTEK_MAIL_TRUSTED_AUTHSERV_IDS = frozenset({"mx.destek.test"})
    assert sender_verification_check() == []


def test_a_held_reply_confirmed_after_the_reopen_window_files_a_linked_follow_up(
    deliver: Any, checked: Any, users: dict[str, User]
) -> None:
    from datetime import timedelta

    from django.utils import timezone

    from destek.tickets import actions

    old = actions.create_ticket(
        customer=users["customer"],
        subject="Invoice page shows error 500",
        body="The invoice page fails.",
        channel="web",
    )
    actions.close_by_customer(old, customer=users["customer"])
    Ticket.objects.filter(pk=old.pk).update(closed_at=timezone.now() - timedelta(days=40))
    outcome = deliver(fixture("forged_reply_dmarc_fail.eml", number=old.number))
    assert (outcome.reason, outcome.ticket_number) == ("held-unverified", old.number)
    assert Client().post(confirm_link("customer@example.com")).status_code == 200
    follow_up = Ticket.objects.exclude(pk=old.pk).get(customer=users["customer"])
    assert follow_up.related_to_id == old.pk
    assert "IBAN" in follow_up.messages.earliest("id").body
    assert Message.objects.get(ticket=old, body__contains="IBAN").verification == "confirmed"


def test_a_status_lookup_without_signing_in_never_shows_held_mail(
    deliver: Any, checked: Any, waiting_ticket: Ticket
) -> None:
    deliver(fixture("forged_reply_dmarc_fail.eml", number=waiting_ticket.number))
    browser = Client()
    browser.cookies["django_language"] = "en"
    started = browser.post(
        "/status/", {"number": waiting_ticket.number, "email": "customer@example.com"}
    )
    code_mail = Delivery.objects.get(template="status_code")
    code = re.search(r"\b(\d{6})\b", code_mail.body_text)
    assert code is not None
    page = browser.post(started["Location"], {"code": code.group(1)}, follow=True)
    text = page.content.decode()
    assert "Invoice page" in text and "IBAN" not in text
