"""The inbound pipeline under attack and under faults: what a review found, each a test."""

from __future__ import annotations

from typing import Any

import pytest
from django.core import mail as django_mail
from django.db import DataError

from destek.mail import actions as mail_actions
from destek.mail.actions import process_message, run
from destek.mail.models import FailingAddress, InboundMessage, InboundStatus
from destek.mail.parse import parse_message
from destek.mail.tests.test_pipeline import compose, mails_to
from destek.tickets import actions
from destek.tickets.models import Attachment, Message, Ticket

pytestmark = pytest.mark.django_db


@pytest.fixture
def deliver(demo: None, django_capture_on_commit_callbacks: Any, outbox: list) -> Any:
    def run_one(raw: bytes, source: str = "test") -> Any:
        with django_capture_on_commit_callbacks(execute=True):
            return process_message(raw, source)

    return run_one


def _agent_ticket(deliver: Any, users: dict, settings: Any) -> tuple[Ticket, Any]:
    """A ticket filed by mail in the agent's department, and the notification the agent got."""
    settings.DESTEK_NOTIFY_AGENTS_ON_NEW = True
    filed = deliver(compose(subject="Reports page stays blank", body="Since 09:10."))
    ticket = Ticket.objects.get(number=filed.ticket_number)
    agent = users["agent"]
    if ticket.department.slug != "technical":
        actions.change_department(
            ticket, actor=actions.Actor.of(users["admin"]), department=agent.departments.get()
        )
    to_agent = [m for m in django_mail.outbox if m.to == [agent.email]][-1]
    return ticket, to_agent


def test_an_agent_whose_mail_client_uses_the_support_domain_can_still_answer_by_mail(
    deliver: Any, users: dict, settings: Any
) -> None:
    # The support address shares its domain with the staff's own mailboxes, and Thunderbird
    # (like many clients) writes Message-IDs at the sender's domain.
    settings.DESTEK_SUPPORT_ADDRESS = "support@example.com"
    ticket, to_agent = _agent_ticket(deliver, users, settings)
    answer = compose(
        sender=users["agent"].email,
        subject=f"Re: {to_agent.subject}",
        body="Keşi təmizləyin, sonra yenidən cəhd edin.",
        message_id="<b7c1e0a2-55aa-4f1e-9d3c-1a2b3c4d5e6f@example.com>",
        headers={"In-Reply-To": to_agent.extra_headers["Message-ID"]},
    )
    outcome = deliver(answer)
    assert (outcome.status, outcome.reason) == (InboundStatus.STORED, "")
    assert ticket.messages.filter(author=users["agent"], body__contains="Keşi").exists()


def test_our_own_message_id_coming_back_is_still_ignored(deliver: Any) -> None:
    ours = "<destek.0123456789abcdef@destek.localhost>"
    outcome = deliver(compose(sender="relay@example.net", message_id=ours))
    assert (outcome.status, outcome.reason) == (InboundStatus.IGNORED, "own-message")
    assert Ticket.objects.count() == 0


def test_an_agents_out_of_office_reply_is_never_posted_as_an_answer_to_the_customer(
    deliver: Any, users: dict, settings: Any
) -> None:
    ticket, to_agent = _agent_ticket(deliver, users, settings)
    away = compose(
        sender=users["agent"].email,
        subject=f"Re: {to_agent.subject}",  # no out-of-office words in the subject
        body="I am away until Monday and will answer then.",
        headers={
            "In-Reply-To": to_agent.extra_headers["Message-ID"],
            "Auto-Submitted": "auto-replied",
        },
    )
    outcome = deliver(away)
    assert outcome.status == InboundStatus.IGNORED
    assert not ticket.messages.filter(body__contains="away until Monday").exists()


def test_an_automatic_mail_that_opens_a_ticket_gets_no_automatic_answer(
    deliver: Any,
) -> None:
    # Another helpdesk's confirmation, or an auto-responder that does not say so in its
    # subject: answering it is how two systems mail each other for ever.
    outcome = deliver(
        compose(
            sender="helpdesk@other.example",
            subject="[#4711] We have received your request",
            body="Your request was registered; we answer within one working day.",
            headers={"Auto-Submitted": "auto-generated"},
        )
    )
    assert outcome.status == InboundStatus.STORED
    assert mails_to("helpdesk@other.example") == []


def test_the_same_message_delivered_twice_at_once_is_filed_once(deliver: Any) -> None:
    raw = compose(message_id="<twice-at-once@example.org>")
    parsed = parse_message(raw)
    first = deliver(raw)
    # The second delivery read the row while the first was still working on it.
    stale = InboundMessage.objects.get(pk=first.inbound_id)
    stale.status = InboundStatus.RECEIVED
    second = run(stale, parsed, raw)
    assert second.duplicate and second.ticket_number == first.ticket_number
    assert Message.objects.count() == 1 and Ticket.objects.count() == 1


def test_a_database_error_that_would_repeat_is_quarantined_not_retried_for_ever(
    deliver: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: Any) -> Any:
        raise DataError("value too long for type character varying(250)")

    monkeypatch.setattr(mail_actions, "_thread", broken)
    outcome = deliver(compose())
    assert outcome.status == InboundStatus.QUARANTINED
    assert "value too long" in InboundMessage.objects.get().error


def test_a_mail_of_thousands_of_parts_attaches_a_bounded_number_of_files(
    deliver: Any, settings: Any
) -> None:
    settings.DESTEK_TICKETS_PER_HOUR = 100
    files = tuple((f"f{n}.txt", b"x", "text/plain") for n in range(mail_actions.MAX_FILES + 5))
    outcome = deliver(compose(files=files))
    assert outcome.status == InboundStatus.STORED
    assert Attachment.objects.count() == mail_actions.MAX_FILES
    assert InboundMessage.objects.get().keep  # the raw message keeps them all


def test_a_forged_bounce_cannot_stop_a_strangers_password_resets_and_security_mail(
    deliver: Any, users: dict
) -> None:
    victim = users["customer"].email
    forged = (
        "From: Mail Delivery System <MAILER-DAEMON@mx.example.net>\r\n"
        "To: support@destek.localhost\r\n"
        "Subject: Undelivered Mail Returned to Sender\r\n"
        "MIME-Version: 1.0\r\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="b1"\r\n'
        "\r\n--b1\r\nContent-Type: message/delivery-status\r\n\r\n"
        "Reporting-MTA: dns; mx.example.net\r\n\r\n"
        f"Final-Recipient: rfc822; {victim}\r\nAction: failed\r\nStatus: 5.1.1\r\n"
        "\r\n--b1\r\nContent-Type: text/rfc822-headers\r\n\r\n"
        # A Message-ID of ours, but of a mail we sent to someone else.
        "Message-ID: <destek.0123456789abcdef@destek.localhost>\r\n"
        "\r\n--b1--\r\n"
    ).encode()
    assert deliver(forged).reason == "bounce"
    assert not FailingAddress.objects.filter(email=victim).exists()
