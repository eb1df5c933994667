"""The inbound pipeline from raw bytes to a ticket: threading, loops, bounces, forged replies,
refusals, attachments and quarantine, on the real database."""

from __future__ import annotations

import re
from email import policy
from email.message import EmailMessage
from email.utils import make_msgid
from typing import Any

import pytest
from django.core import mail as django_mail

from destek.accounts.models import ContactAddress, User
from destek.mail import tokens
from destek.mail.actions import Unacceptable, process_message, retry
from destek.mail.models import InboundMessage, InboundStatus
from destek.notify import tokens as marks
from destek.notify.models import Delivery, FailingAddress
from destek.tickets import actions
from destek.tickets.models import Message, Ticket

pytestmark = pytest.mark.django_db

SUPPORT = "support@destek.localhost"


def compose(
    *,
    sender: str = "Leyla Həsənova <leyla@example.org>",
    to: str = SUPPORT,
    subject: str = "Ödəniş keçmir, sifariş 5512",
    body: str = "Salam, kartla ödəniş edəndə xəta verir. Sifariş 5512.",
    headers: dict[str, str] | None = None,
    message_id: str | None = "",
    files: tuple[tuple[str, bytes, str], ...] = (),
) -> bytes:
    msg = EmailMessage(policy=policy.SMTP)
    msg["From"] = sender
    msg["To"] = to
    msg["Subject"] = subject
    if message_id is not None:
        msg["Message-ID"] = message_id or make_msgid(domain="example.org")
    for name, value in (headers or {}).items():
        msg[name] = value
    msg.set_content(body)
    for filename, data, content_type in files:
        maintype, subtype = content_type.split("/")
        msg.add_attachment(data, maintype=maintype, subtype=subtype, filename=filename)
    return msg.as_bytes()


@pytest.fixture
def deliver(demo: None, django_capture_on_commit_callbacks: Any, outbox: list[EmailMessage]) -> Any:
    """Hand raw bytes to the pipeline as an adapter would; mail it queues is sent."""

    def run(raw: bytes, source: str = "test") -> Any:
        with django_capture_on_commit_callbacks(execute=True):
            return process_message(raw, source)

    return run


def mails_to(address: str) -> list[Any]:
    return [m for m in django_mail.outbox if address in m.to]


def test_a_mail_from_a_stranger_files_a_ticket_for_a_new_unverified_customer(
    deliver: Any,
) -> None:
    outcome = deliver(compose())
    assert outcome.status == InboundStatus.STORED
    ticket = Ticket.objects.get(number=outcome.ticket_number)
    assert ticket.channel == "email"
    customer = ticket.customer
    assert (customer.email, customer.full_name) == ("leyla@example.org", "Leyla Həsənova")
    assert customer.email_verified_at is None and not customer.has_usable_password()
    assert customer.language == "az"  # guessed from the letters (ə)
    [confirmation] = mails_to("leyla@example.org")
    assert f"[#{ticket.number}]" in confirmation.subject
    assert confirmation.extra_headers["Reply-To"] == marks.reply_address(ticket.number)
    assert marks.thread_root(ticket.number) in confirmation.extra_headers["References"]
    # It answers the customer's own mail, so their client threads it.
    inbound = InboundMessage.objects.get()
    assert confirmation.extra_headers["In-Reply-To"] == f"<{inbound.rfc_message_id}>"


def test_a_reply_to_our_mail_lands_in_the_same_ticket_with_its_quote_folded(
    deliver: Any,
) -> None:
    first = deliver(compose())
    ticket = Ticket.objects.get(number=first.ticket_number)
    ours = mails_to("leyla@example.org")[-1]
    reply = compose(
        subject=f"Re: {ours.subject}",
        body="Kartı dəyişdim, yenə alınmadı.\n\nOn Mon, Support wrote:\n> We have your request",
        headers={"In-Reply-To": ours.extra_headers["Message-ID"]},
    )
    second = deliver(reply)
    assert second.ticket_number == ticket.number
    message = Message.objects.filter(ticket=ticket).latest("id")
    assert message.body.startswith("Kartı dəyişdim, yenə alınmadı.")
    assert "We have your request" not in message.body
    assert "We have your request" in message.quoted


def test_the_same_message_twice_is_stored_once(deliver: Any) -> None:
    raw = compose(message_id="<same-1@example.org>")
    first, again = deliver(raw), deliver(raw)
    assert again.duplicate and again.ticket_number == first.ticket_number
    assert Ticket.objects.count() == 1 and InboundMessage.objects.count() == 1
    no_id = compose(message_id=None, subject="Wallet top-up failed twice")
    deliver(no_id)
    assert deliver(no_id).duplicate
    assert Ticket.objects.count() == 2


def test_a_forged_reply_from_someone_else_never_enters_the_customers_ticket(
    deliver: Any, users: dict[str, User]
) -> None:
    own = actions.create_ticket(
        customer=users["customer"], subject="Refund for order 77", body="Please.", channel="web"
    )
    ours = Delivery.objects.filter(ticket=own, recipient=users["customer"].email).latest("pk")
    forged = compose(
        sender="mallory@example.net",
        subject=f"Re: [#{own.number}] Refund for order 77",
        body="Please send the refund to my card instead.",
        headers={"In-Reply-To": ours.message_id},
    )
    outcome = deliver(forged)
    assert outcome.ticket_number != own.number
    assert not Message.objects.filter(ticket=own, body__contains="my card").exists()
    assert Ticket.objects.get(number=outcome.ticket_number).customer.email == "mallory@example.net"


def test_the_ticket_number_in_the_subject_threads_only_the_customers_own_mail(
    deliver: Any, users: dict[str, User]
) -> None:
    own = actions.create_ticket(
        customer=users["customer"], subject="Refund for order 77", body="Please.", channel="web"
    )
    deliver(
        compose(
            sender=users["customer"].email,
            subject=f"[#{own.number}] the refund",
            body="The refund of order 77 has not arrived on my card.",
        )
    )
    assert own.messages.filter(body__contains="has not arrived").exists()


def test_an_agent_answers_by_mail_and_a_marked_answer_is_an_internal_note(
    deliver: Any, users: dict[str, User], settings: Any
) -> None:
    settings.DESTEK_NOTIFY_AGENTS_ON_NEW = True
    filed = deliver(compose(subject="Reports page stays blank", body="Since 09:10."))
    ticket = Ticket.objects.get(number=filed.ticket_number)
    agent = users["agent"]
    if ticket.department.slug != "technical":
        actions.change_department(
            ticket, actor=actions.Actor.of(users["admin"]), department=agent.departments.get()
        )
    to_agent = [m for m in django_mail.outbox if m.to == [agent.email]][-1]
    answer = compose(
        sender=agent.email,
        subject=f"Re: {to_agent.subject}",
        body="Yoxladıq: keşi təmizləyin, sonra yenidən cəhd edin.",
        headers={"In-Reply-To": to_agent.extra_headers["Message-ID"]},
    )
    assert deliver(answer).status == InboundStatus.STORED
    reply = ticket.messages.latest("id")
    assert (reply.author, reply.internal) == (agent, False)
    ticket.refresh_from_db()
    assert ticket.status == "pending" and ticket.first_response_at is not None

    note = compose(
        sender=agent.email,
        subject=f"Re: {to_agent.subject}",
        body="#note the customer uses an old Safari",
        headers={"In-Reply-To": to_agent.extra_headers["Message-ID"]},
    )
    deliver(note)
    last = ticket.messages.latest("id")
    assert last.internal and last.body == "the customer uses an old Safari"


def test_a_forged_from_an_agent_never_acts_as_the_agent(
    deliver: Any, users: dict[str, User]
) -> None:
    filed = deliver(compose(subject="Reports page stays blank", body="Since 09:10."))
    ticket = Ticket.objects.get(number=filed.ticket_number)
    to_customer = mails_to("leyla@example.org")[-1]
    forged = compose(
        sender=users["agent"].email,  # the customer forges the agent's address
        subject=f"Re: {to_customer.subject}",
        body="Refund approved, 500 AZN.",
        headers={"In-Reply-To": to_customer.extra_headers["Message-ID"]},
    )
    outcome = deliver(forged)
    assert outcome.status == InboundStatus.IGNORED
    assert outcome.reason == "agent-without-token"
    assert not ticket.messages.filter(body__contains="Refund approved").exists()


def test_auto_replies_and_our_own_mail_coming_back_open_nothing_and_get_no_answer(
    deliver: Any,
) -> None:
    out_of_office = compose(
        subject="Automatic reply: Ödəniş keçmir",
        headers={"Auto-Submitted": "auto-replied", "X-Auto-Response-Suppress": "All"},
    )
    assert deliver(out_of_office).status == InboundStatus.IGNORED
    looped = compose(sender=SUPPORT, subject="Re: [#12345678] We have your request", body="Loop.")
    assert deliver(looped).status == InboundStatus.IGNORED
    assert Ticket.objects.count() == 0
    assert django_mail.outbox == []


def test_a_bounce_marks_the_address_failing_and_opens_no_ticket(deliver: Any) -> None:
    sent = Delivery.objects.create(
        template="ticket_created",
        recipient="gone@example.org",
        language="en",
        subject="[#12345678] We have your request",
        body_text="x",
        message_id=marks.message_id(12345678, "gone@example.org"),
        automatic=True,
    )
    report = (
        "From: Mail Delivery System <MAILER-DAEMON@mx.example.org>\r\n"
        f"To: {SUPPORT}\r\n"
        "Subject: Undelivered Mail Returned to Sender\r\n"
        "Message-ID: <bounce-1@mx.example.org>\r\n"
        "Auto-Submitted: auto-replied\r\n"
        "MIME-Version: 1.0\r\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="b1"\r\n'
        "\r\n--b1\r\nContent-Type: text/plain\r\n\r\n"
        "This is the mail system. Your message could not be delivered.\r\n"
        "\r\n--b1\r\nContent-Type: message/delivery-status\r\n\r\n"
        "Reporting-MTA: dns; mx.example.org\r\n\r\n"
        "Final-Recipient: rfc822; gone@example.org\r\nAction: failed\r\n"
        "Status: 5.1.1\r\nDiagnostic-Code: smtp; 550 5.1.1 User unknown\r\n"
        "\r\n--b1\r\nContent-Type: text/rfc822-headers\r\n\r\n"
        f"From: {SUPPORT}\r\nTo: gone@example.org\r\nMessage-ID: {sent.message_id}\r\n"
        "\r\n--b1--\r\n"
    ).encode()
    outcome = deliver(report)
    assert (outcome.status, outcome.reason) == (InboundStatus.IGNORED, "bounce")
    failing = FailingAddress.objects.get(email="gone@example.org")
    assert failing.permanent and failing.status == "5.1.1"
    assert Ticket.objects.count() == 0


def test_a_refused_mail_gets_a_polite_answer_in_the_senders_language(deliver: Any) -> None:
    outcome = deliver(compose(subject="Salam", body="Salam, kömək lazımdır."))
    assert (outcome.status, outcome.reason) == (InboundStatus.IGNORED, "generic_subject")
    [answer] = mails_to("leyla@example.org")
    assert answer.extra_headers["Auto-Submitted"] == "auto-replied"
    assert "Mövzu" in answer.body or "mövzu" in answer.body  # the reason, in Azerbaijani


def test_an_automatic_mail_that_is_refused_gets_no_answer(deliver: Any) -> None:
    bulk = compose(subject="Hello", body="Hello", headers={"Precedence": "bulk"})
    assert deliver(bulk).status == InboundStatus.IGNORED
    assert django_mail.outbox == []


def test_an_oversized_file_is_refused_the_ticket_filed_and_the_sender_told(
    deliver: Any, settings: Any
) -> None:
    settings.DESTEK_MAX_ATTACHMENT_MB = 1
    raw = compose(
        files=(
            ("screenshot.png", b"\x89PNG\r\n\x1a\n" + b"0" * 1000, "image/png"),
            ("recording.webm", b"0" * (1024 * 1024 + 10), "video/webm"),
        )
    )
    outcome = deliver(raw)
    ticket = Ticket.objects.get(number=outcome.ticket_number)
    assert [a.filename for a in ticket.attachments.all()] == ["screenshot.png"]
    told = [m for m in mails_to("leyla@example.org") if "recording.webm" in m.body]
    assert len(told) == 1
    assert InboundMessage.objects.get().keep  # the raw message, with the file, is kept


def test_mail_from_a_verified_contact_address_is_the_customers_and_answered_there(
    deliver: Any, users: dict[str, User]
) -> None:
    customer = users["customer"]
    ContactAddress.objects.create(
        user=customer, email="office@example.org", verified_at=customer.date_joined
    )
    outcome = deliver(compose(sender="office@example.org", subject="Invoice 2211 is wrong"))
    ticket = Ticket.objects.get(number=outcome.ticket_number)
    assert ticket.customer == customer and ticket.notify_address == "office@example.org"
    # Not the registered address: agents see where it came from.
    assert ticket.messages.get().email_from == "office@example.org"


def test_after_the_reopen_window_a_reply_files_a_linked_follow_up(
    deliver: Any, users: dict[str, User]
) -> None:
    from datetime import timedelta

    from django.utils import timezone

    old = actions.create_ticket(
        customer=users["customer"], subject="Refund for order 77", body="Please.", channel="web"
    )
    actions.close_by_customer(old, customer=users["customer"])
    Ticket.objects.filter(pk=old.pk).update(closed_at=timezone.now() - timedelta(days=40))
    outcome = deliver(
        compose(sender=users["customer"].email, subject=f"Re: [#{old.number}] Refund", body="Again")
    )
    follow_up = Ticket.objects.get(number=outcome.ticket_number)
    assert follow_up.pk != old.pk and follow_up.related_to_id == old.pk


def test_a_message_that_cannot_be_read_is_quarantined_and_the_rest_keeps_flowing(
    deliver: Any, users: dict[str, User]
) -> None:
    outcome = deliver(b"\x00\x01\x02 not a mail at all \xff\xfe")
    assert outcome.status == InboundStatus.QUARANTINED
    kept = InboundMessage.objects.get(pk=outcome.inbound_id)
    assert kept.keep and kept.error
    with kept.raw.open("rb") as handle:
        assert handle.read().startswith(b"\x00\x01\x02")
    assert mails_to(users["admin"].email), "the admins are alerted"
    assert deliver(compose()).status == InboundStatus.STORED


def test_a_failure_inside_the_pipeline_is_quarantined_and_an_admin_can_retry_it(
    deliver: Any, monkeypatch: pytest.MonkeyPatch, django_capture_on_commit_callbacks: Any
) -> None:
    from destek.mail import guards

    real = guards.bounce_info

    def broken(*args: Any) -> Any:
        raise RuntimeError("injected fault")

    monkeypatch.setattr(guards, "bounce_info", broken)
    outcome = deliver(compose())
    assert outcome.status == InboundStatus.QUARANTINED
    assert Ticket.objects.count() == 0
    kept = InboundMessage.objects.get()
    assert "injected fault" in kept.error
    monkeypatch.setattr(guards, "bounce_info", real)
    with django_capture_on_commit_callbacks(execute=True):
        again = retry(kept)
    assert again.status == InboundStatus.STORED and Ticket.objects.count() == 1


def test_empty_and_oversized_input_cannot_be_accepted(deliver: Any, settings: Any) -> None:
    with pytest.raises(Unacceptable):
        deliver(b"  \r\n")
    settings.DESTEK_MAIL_MAX_MB = 1
    with pytest.raises(Unacceptable):
        deliver(compose(body="x" * (1024 * 1024 + 100)))
    assert InboundMessage.objects.count() == 0


def test_one_sender_cannot_flood_the_queue(deliver: Any, settings: Any) -> None:
    settings.DESTEK_MAIL_PER_SENDER_PER_HOUR = 2
    settings.DESTEK_TICKETS_PER_HOUR = 100
    reasons = [
        deliver(compose(subject=f"Order {n} failed", body=f"Order {n} failed at checkout.")).reason
        for n in range(3)
    ]
    assert reasons == ["", "", "sender-cap"]


def test_our_message_ids_carry_a_token_signed_for_their_recipient() -> None:
    value = marks.message_id(12345678, "Leyla@Example.org")
    assert re.match(r"^<destek\.[0-9a-f]{16}\.t12345678\.[0-9a-f]{20}@destek\.localhost>$", value)
    assert tokens.from_ids([value.strip("<>")], "leyla@example.org").for_sender  # type: ignore[union-attr]
    assert not tokens.from_ids([value.strip("<>")], "mallory@example.net").for_sender  # type: ignore[union-attr]
    plus = marks.reply_address(12345678)
    assert tokens.from_plus_address([plus]) == 12345678
    assert tokens.from_plus_address([plus.replace("t12345678", "t12345679")]) is None


def test_unknown_senders_languages_are_guessed_from_their_letters(deliver: Any) -> None:
    deliver(compose(sender="ivan@example.ru", subject="Не проходит оплата", body="Ошибка."))
    deliver(compose(sender="reza@example.ir", subject="پرداخت انجام نمی‌شود", body="خطا"))
    deliver(compose(sender="ayse@example.com.tr", subject="Ödeme başarısız", body="Kartım ığ."))
    languages = dict(User.objects.filter(role="customer").values_list("email", "language"))
    assert languages["ivan@example.ru"] == "ru"
    assert languages["reza@example.ir"] == "fa"
    assert languages["ayse@example.com.tr"] == "tr"


def test_the_thread_folds_the_quote_and_tells_agents_where_a_mail_came_from(
    deliver: Any, users: dict[str, User]
) -> None:
    from django.test import Client

    customer = users["customer"]
    ContactAddress.objects.create(
        user=customer, email="office@example.org", verified_at=customer.date_joined
    )
    outcome = deliver(
        compose(
            sender="office@example.org",
            subject="Invoice 2211 is wrong",
            body="Please change the company name on the account.\n\n> earlier text we quoted",
        )
    )
    desk = Client()
    desk.force_login(
        users["finance"] if Ticket.objects.get().department.slug == "finance" else users["agent"]
    )
    desk.cookies["django_language"] = "en"
    page = desk.get(f"/desk/tickets/{outcome.ticket_number}/").content.decode()
    assert "Sent from office@example.org, not the account" in page
    assert "<summary>Show the quoted text</summary>" in page
    portal = Client()
    portal.force_login(customer)
    portal.cookies["django_language"] = "en"
    mine = portal.get(f"/my/tickets/{outcome.ticket_number}/").content.decode()
    assert "<summary>Show the quoted text</summary>" in mine
    assert "not the account" not in mine  # the warning is for agents


def test_a_bounced_address_gets_no_more_automatic_mail_until_it_writes_again(
    deliver: Any, users: dict[str, User], django_capture_on_commit_callbacks: Any
) -> None:
    FailingAddress.objects.create(email="leyla@example.org", permanent=True, status="5.1.1")
    # A mail from it proves it works again: the mark goes and the confirmation is sent.
    deliver(compose())
    assert not FailingAddress.objects.exists()
    assert mails_to("leyla@example.org")
    FailingAddress.objects.create(email="leyla@example.org", permanent=True, status="5.1.1")
    django_mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        actions.create_ticket(
            customer=User.objects.get(email="leyla@example.org"),
            subject="Card payment declined",
            body="Declined twice.",
            channel="web",
        )
    # Only the first ticket's confirmation: the worker holds the second, it would bounce again.
    confirmations = Delivery.objects.filter(
        recipient="leyla@example.org", template="ticket_created"
    )
    assert [d.status for d in confirmations.order_by("pk")] == ["sent", "held"]
    assert confirmations.get(status="held").last_error == "the address bounces for good"
    assert not mails_to("leyla@example.org")


def test_finance_tickets_mail_the_billing_address_the_customer_chose(
    deliver: Any, users: dict[str, User], django_capture_on_commit_callbacks: Any
) -> None:
    from destek.tickets.models import Department

    customer = users["customer"]
    ContactAddress.objects.create(
        user=customer,
        email="accounts@example.org",
        verified_at=customer.date_joined,
        for_billing=True,
    )
    with django_capture_on_commit_callbacks(execute=True):
        finance = actions.create_ticket(
            customer=customer,
            subject="Invoice 2211 is wrong",
            body="Wrong VAT.",
            channel="web",
            department=Department.objects.get(slug="finance"),
        )
        technical = actions.create_ticket(
            customer=customer,
            subject="Reports page stays blank",
            body="Since 09:10.",
            channel="web",
            department=Department.objects.get(slug="technical"),
        )
    assert Delivery.objects.get(ticket=finance, template="ticket_created").recipient == (
        "accounts@example.org"
    )
    assert Delivery.objects.get(ticket=technical, template="ticket_created").recipient == (
        customer.email
    )


def test_a_mailbox_may_name_only_an_imap_password_variable(db: None) -> None:
    from django.core.exceptions import ValidationError

    from destek.mail.models import MailAccount

    account = MailAccount(
        name="support",
        host="imap.example.org",
        username="support",
        password_env="DESTEK_SECRET_KEY",
    )
    with pytest.raises(ValidationError) as refused:
        account.full_clean()
    assert "password_env" in refused.value.message_dict
    account.password_env = "DESTEK_IMAP_SUPPORT_PASSWORD"
    account.full_clean()
