"""The inbound pipeline under attack and under faults: what a review found, each a test."""

from __future__ import annotations

import time
from dataclasses import replace
from typing import Any

import pytest
from django.core import mail as django_mail
from django.core.mail import EmailMessage
from django.db import DataError

from destek.accounts.models import User
from destek.mail import actions as mail_actions
from destek.mail.actions import process_message, run
from destek.mail.models import InboundMessage, InboundStatus
from destek.mail.parse import parse_message
from destek.mail.tests.test_pipeline import compose, mails_to
from destek.notify.models import Delivery, FailingAddress
from destek.tickets import actions
from destek.tickets.models import Attachment, Message, Ticket

pytestmark = pytest.mark.django_db


@pytest.fixture
def deliver(demo: None, django_capture_on_commit_callbacks: Any, outbox: list[EmailMessage]) -> Any:
    def run_one(raw: bytes, source: str = "test") -> Any:
        with django_capture_on_commit_callbacks(execute=True):
            return process_message(raw, source)

    return run_one


def _agent_ticket(deliver: Any, users: dict[str, User], settings: Any) -> tuple[Ticket, Any]:
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
    deliver: Any, users: dict[str, User], settings: Any
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
    deliver: Any, users: dict[str, User], settings: Any
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
    settings.DESTEK_MAIL_MAX_PARTS = 1000  # the parser reads them all; the files are capped
    files = tuple((f"f{n}.txt", b"x", "text/plain") for n in range(mail_actions.MAX_FILES + 5))
    outcome = deliver(compose(files=files))
    assert outcome.status == InboundStatus.STORED
    assert Attachment.objects.count() == mail_actions.MAX_FILES
    assert InboundMessage.objects.get().keep  # the raw message keeps them all


def many_parts(count: int) -> bytes:
    """A real 1 MB mail of `count` parts: a text, then tiny files."""
    boundary = "cut-here-7f3a"
    head = (
        "From: Leyla Həsənova <leyla@example.org>\r\nTo: support@destek.localhost\r\n"
        "Subject: Çoxlu fayl\r\nMessage-ID: <many-parts@example.org>\r\nMIME-Version: 1.0\r\n"
        f'Content-Type: multipart/mixed; boundary="{boundary}"\r\n\r\n'
        f"--{boundary}\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
        "Salam, hesabatların hamısını göndərirəm.\r\n"
    )
    files = "".join(
        f"--{boundary}\r\nContent-Type: text/plain\r\n"
        f'Content-Disposition: attachment; filename="f{n}.txt"\r\n\r\nx{n}\r\n'
        for n in range(count - 1)
    )
    return (head + files + f"--{boundary}--\r\n").encode()


def test_a_1_mb_mail_of_10000_parts_is_read_in_under_a_second_up_to_the_cap() -> None:
    raw = many_parts(10_000)
    assert len(raw) > 1_000_000
    started = time.process_time()
    parsed = parse_message(raw, max_parts=100, max_depth=10)
    spent = time.process_time() - started
    assert spent < 1.0  # about 50 ms; all 10,000 parts took 4.5 s here, 44 s on the server
    assert parsed.capped and "too-many-parts" in parsed.defects
    assert parsed.text == "Salam, hesabatların hamısını göndərirəm."
    assert [p.filename for p in parsed.parts] == [f"f{n}.txt" for n in range(99)]


def test_a_mail_over_the_part_cap_files_what_came_first_keeps_the_raw_and_tells_the_sender(
    deliver: Any, settings: Any
) -> None:
    settings.DESTEK_MAIL_MAX_PARTS = 20
    raw = many_parts(10_000)
    started = time.process_time()
    outcome = deliver(raw)
    assert time.process_time() - started < 1.0  # about 0.15 s; the bounce check took 30 s
    ticket = Ticket.objects.get(number=outcome.ticket_number)
    first = ticket.messages.earliest("id")
    assert first.body == "Salam, hesabatların hamısını göndərirəm."
    assert ticket.attachments.count() == 19
    inbound = InboundMessage.objects.get()
    assert inbound.keep and inbound.raw.size == len(raw)  # all of it kept
    [told] = Delivery.objects.filter(template="mail_parts_skipped")
    assert (told.recipient, told.language) == ("leyla@example.org", "az")
    [mail] = [m for m in mails_to("leyla@example.org") if m.subject == told.subject]
    assert f"#{ticket.number}" in mail.subject and "20" in mail.body
    assert f"/my/tickets/{ticket.number}/" in mail.body  # like every mail to a customer
    assert mail.extra_headers["Auto-Submitted"] == "auto-replied"


def test_multiparts_nested_deeper_than_the_cap_are_kept_as_one_file() -> None:
    inner = "Content-Type: text/plain\r\n\r\ndeep text\r\n"
    for level in range(15):
        inner = (
            f'Content-Type: multipart/mixed; boundary="b{level}"\r\n\r\n'
            f"--b{level}\r\n{inner}--b{level}--\r\n"
        )
    raw = f"From: a@example.org\r\nSubject: deep\r\nMIME-Version: 1.0\r\n{inner}".encode()
    parsed = parse_message(raw, max_parts=100, max_depth=10)
    assert parsed.capped and "too-deep" in parsed.defects
    [kept] = parsed.parts
    assert kept.filename == "nested.eml" and b"deep text" in kept.payload


def test_a_forged_bounce_cannot_stop_a_strangers_password_resets_and_security_mail(
    deliver: Any, users: dict[str, User]
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


def test_the_sweep_removes_raw_mail_files_no_row_names_after_a_day_only(
    deliver: Any, settings: Any
) -> None:
    import os

    from destek.mail.jobs import sweep_raw_mail_files_now

    deliver(compose())
    kept = InboundMessage.objects.get().raw
    folder = settings.MEDIA_ROOT / "mail" / "raw" / "2026" / "11" / "30"
    folder.mkdir(parents=True)
    orphan, young = folder / "cut-by-a-full-disk.eml", folder / "row-not-saved-yet.eml"
    orphan.write_bytes(b"From: half")
    young.write_bytes(b"From: half")
    day_and_more = time.time() - 25 * 3600
    for path in (orphan, settings.MEDIA_ROOT / kept.name):
        os.utime(path, (day_and_more, day_and_more))

    assert sweep_raw_mail_files_now() == 1

    assert not orphan.exists() and young.exists()
    assert kept.storage.exists(kept.name)


def test_a_full_disk_while_storing_the_files_files_nothing_and_the_mail_is_tried_again(
    deliver: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    import errno
    import os

    from destek.mail.actions import TemporaryFailure

    real_write, writes = os.write, []

    def fills_up(fd: int, data: Any) -> int:
        writes.append(fd)
        if len(writes) > 1:  # the raw message fits; its attachment finds the disk full
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real_write(fd, data)

    raw = compose(files=(("invoice.pdf", b"%PDF-1.4 " + b"0" * 5000, "application/pdf"),))
    monkeypatch.setattr(os, "write", fills_up)
    with pytest.raises(TemporaryFailure):
        deliver(raw)
    monkeypatch.undo()
    assert InboundMessage.objects.get().status == InboundStatus.RECEIVED
    assert not Ticket.objects.exists() and not Attachment.objects.exists()
    assert mails_to("leyla@example.org") == []  # nobody is told their file was too large

    outcome = deliver(raw)  # the spool, IMAP or the SMTP client tries again

    ticket = Ticket.objects.get(number=outcome.ticket_number)
    assert [a.filename for a in ticket.attachments.all()] == ["invoice.pdf"]


def test_mail_from_a_deactivated_account_opens_nothing(
    deliver: Any, users: dict[str, User]
) -> None:
    customer = users["customer"]
    User.objects.filter(pk=customer.pk).update(is_active=False)
    outcome = deliver(compose(sender=customer.email))
    assert (outcome.status, outcome.reason) == (InboundStatus.IGNORED, "inactive-sender")
    assert not Ticket.objects.exists()


def test_two_mails_from_a_new_address_at_once_register_one_customer(
    deliver: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The other delivery registered the address and committed while this one was looking.
    User.objects.create_user("leyla@example.org", full_name="Leyla Həsənova")
    real, looks = mail_actions._known, []

    def not_yet_the_first_time(key: str | None, sender: str) -> Any:
        looks.append(sender)
        return mail_actions._Known() if len(looks) == 1 else real(key, sender)

    monkeypatch.setattr(mail_actions, "_known", not_yet_the_first_time)
    outcome = deliver(compose())
    assert outcome.status == InboundStatus.STORED and len(looks) == 2, "started again"
    assert User.objects.filter(email="leyla@example.org").count() == 1
    assert Ticket.objects.get().customer.email == "leyla@example.org"


def test_a_message_another_delivery_filed_meanwhile_is_a_duplicate_with_no_answer(
    deliver: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    raw = compose(message_id="<meanwhile@example.org>")
    first = deliver(raw)
    answered = len(mails_to("leyla@example.org"))
    real, looks = mail_actions._known, []

    def not_seen_the_first_time(key: str | None, sender: str) -> Any:
        looks.append(key)
        found = real(key, sender)
        return replace(found, seen=None) if len(looks) == 1 else found

    monkeypatch.setattr(mail_actions, "_known", not_seen_the_first_time)
    again = deliver(raw)  # filed once more, until its record meets the first one's
    assert again.duplicate and again.ticket_number == first.ticket_number
    assert Ticket.objects.count() == 1 and Message.objects.count() == 1
    assert InboundMessage.objects.count() == 1
    assert len(mails_to("leyla@example.org")) == answered, "the rolled-back answer is not sent"
