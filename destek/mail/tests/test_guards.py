"""Loops stop and bounces are recognised: what the pipeline relies on before answering mail."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from destek.mail.guards import Bounce, automatic_reasons, bounce_info
from destek.mail.parse import parse_message

FIXTURES = Path(__file__).parent / "fixtures"
OWN = {"support@destek.example", "destek@destek.example"}
PEOPLE = [
    "plain_utf8.eml",
    "az_utf8.eml",
    "fa_qp_zwnj.eml",
    "ru_cp1251_8bit.eml",
    "tr_iso8859_9.eml",
    "alternative.eml",
    "html_dangerous_cid.eml",
    "rfc2231_filename.eml",
    "forwarded_rfc822.eml",
    "winmail.eml",
    "reply_en.eml",
    "reply_az.eml",
    "reply_ru.eml",
    "reply_tr.eml",
    "reply_fa.eml",
    "reply_outlook.eml",
    "no_message_id.eml",
]


def reasons_for(raw: bytes) -> list[str]:
    return automatic_reasons(
        parse_message(raw), own_addresses=OWN, own_message_id_domain="destek.example"
    )


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def encoded(subject: str) -> str:
    return f"=?utf-8?B?{base64.b64encode(subject.encode()).decode()}?="


def mail(headers: str, body: str = "Hello") -> bytes:
    return f"{headers.strip()}\nTo: support@destek.example\n\n{body}\n".encode()


@pytest.mark.parametrize("name", PEOPLE)
def test_mail_written_by_people_is_not_automatic_and_not_a_bounce(name):
    raw = fixture(name)
    assert reasons_for(raw) == []
    assert bounce_info(parse_message(raw), raw) is None


def test_exchange_out_of_office_is_automatic_but_not_a_bounce():
    raw = fixture("ooo_exchange.eml")
    reasons = reasons_for(raw)
    assert {"auto-submitted", "auto-response-suppress", "out-of-office"} <= set(reasons)
    assert bounce_info(parse_message(raw), raw) is None


def test_mailing_list_mail_is_automatic():
    assert set(reasons_for(fixture("mailing_list.eml"))) == {"precedence", "list"}


@pytest.mark.parametrize(
    ("header", "automatic"),
    [
        ("Auto-Submitted: auto-replied", True),
        ("Auto-Submitted: auto-generated; owner-email=a@b.example", True),
        ("Auto-Submitted: no", False),
        ("Auto-Submitted: No (comment)", False),
    ],
)
def test_auto_submitted_other_than_no_is_automatic(header, automatic):
    reasons = reasons_for(mail("From: a@example.com\nSubject: hi\n" + header))
    assert ("auto-submitted" in reasons) is automatic


@pytest.mark.parametrize(
    ("header", "code"),
    [
        ("Precedence: bulk", "precedence"),
        ("Precedence: junk", "precedence"),
        ("Precedence: list", "precedence"),
        ("Precedence: auto_reply", "precedence"),
        ("X-Auto-Response-Suppress: All", "auto-response-suppress"),
        ("X-Auto-Response-Suppress: DR, OOF, AutoReply", "auto-response-suppress"),
        ("List-Id: <news.example.com>", "list"),
        ("List-Unsubscribe: <mailto:leave@example.com>", "list"),
        ("X-Autoreply: yes", "autoreply"),
        ("X-Autorespond: Vacation", "autoreply"),
    ],
)
def test_automatic_headers_are_recognised(header, code):
    assert code in reasons_for(mail("From: a@example.com\nSubject: hi\n" + header))


@pytest.mark.parametrize(
    "header",
    ["Precedence: normal", "X-Auto-Response-Suppress: DR, RN, NRN", "Importance: high"],
)
def test_ordinary_headers_are_not_automatic(header):
    assert reasons_for(mail("From: a@example.com\nSubject: hi\n" + header)) == []


@pytest.mark.parametrize(
    "subject",
    [
        "Out of Office: [#104233] Cannot download",
        "Automatic reply: Your ticket",
        encoded("Автоответ: Заявка №104233"),
        "Нет на месте: Re: счёт",
        "Otomatik yanıt: Sipariş",
        "OTOMATİK YANIT: Sipariş",
        "İşyeri Dışında: Toplantı",
        "Avtomatik cavab: Sifariş",
        encoded("پاسخ\u200cخودکار: سلام"),
        "پاسخ خودکار: درخواست شما",
    ],
)
def test_out_of_office_subjects_in_five_languages_are_automatic(subject):
    assert "out-of-office" in reasons_for(mail(f"From: a@example.com\nSubject: {subject}"))


@pytest.mark.parametrize(
    "subject", ["Office hours question", "Re: reply to my invoice", "Avtomatik ödəniş işləmir"]
)
def test_ordinary_subjects_are_not_out_of_office(subject):
    assert reasons_for(mail(f"From: a@example.com\nSubject: {subject}")) == []


def test_our_own_address_and_our_own_message_coming_back_are_automatic():
    own_sender = mail("From: Destek <Support@Destek.example>\nSubject: Re: [#104233] x")
    assert "own-address" in reasons_for(own_sender)
    own_id = mail(
        "From: someone@example.com\nSubject: x\nMessage-ID: <ticket-1.r2.sig@destek.example>"
    )
    assert "own-message" in reasons_for(own_id)
    # a reply that merely references our message is a person answering
    reply = mail(
        "From: someone@example.com\nSubject: x\nMessage-ID: <abc@example.com>\n"
        "In-Reply-To: <ticket-1.r2.sig@destek.example>"
    )
    assert reasons_for(reply) == []


@pytest.mark.parametrize(
    "sender",
    [
        "MAILER-DAEMON@mx.example.com",
        "postmaster@example.org",
        "noreply@shop.example",
        "no-reply@accounts.example",
        "noreply-billing@bank.example",
    ],
)
def test_daemon_and_noreply_senders_are_automatic(sender):
    assert "daemon" in reasons_for(mail(f"From: {sender}\nSubject: Notice"))


def test_permanent_dsn_bounce_names_the_failed_address():
    raw = fixture("dsn_permanent.eml")
    msg = parse_message(raw)
    assert bounce_info(msg, raw) == Bounce(
        recipients=("nobody-here@example.org",),
        permanent=True,
        status="5.1.1",
        diagnostic="550 5.1.1 <nobody-here@example.org>: Recipient address rejected: "
        "User unknown in virtual mailbox table",
    )
    assert {"auto-submitted", "daemon", "null-sender", "report"} <= set(reasons_for(raw))


def test_delayed_dsn_is_a_transient_bounce():
    raw = fixture("dsn_delayed.eml")
    bounce = bounce_info(parse_message(raw), raw)
    assert bounce is not None
    assert bounce.recipients == ("slow-box@example.net",)
    assert bounce.permanent is False
    assert bounce.status == "4.4.1"


def test_exim_bounce_with_x_failed_recipients_is_permanent():
    raw = fixture("bounce_exim.eml")
    bounce = bounce_info(parse_message(raw), raw)
    assert bounce is not None
    assert bounce.recipients == ("old.address@example.az",)
    assert bounce.permanent is True
    assert bounce.status == "5.1.1"
    assert bounce.diagnostic == "550 5.1.1 User doesn't exist: old.address@example.az"


@pytest.mark.parametrize(
    ("subject", "body", "permanent"),
    [
        (
            "Delivery Status Notification (Failure)",
            "Your message wasn't delivered to lost@example.com because the address couldn't "
            "be found.\n\nThe response was:\n550 5.1.1 The email account does not exist.",
            True,
        ),
        (
            "Undelivered Mail Returned to Sender",
            "<gone@example.net>: host mx.example.net said: 550 5.2.1 mailbox disabled",
            True,
        ),
        (
            "Mail delivery failed: returning message to sender",
            "  full@example.org\n    452 4.2.2 Mailbox full",
            False,
        ),
    ],
)
def test_mailer_daemon_bounces_without_a_report_are_recognised(subject, body, permanent):
    raw = mail(
        f"From: Mail Delivery Subsystem <mailer-daemon@mx.example>\nSubject: {subject}", body
    )
    bounce = bounce_info(parse_message(raw), raw)
    assert bounce is not None
    assert len(bounce.recipients) == 1
    assert bounce.recipients[0].endswith(("example.com", "example.net", "example.org"))
    assert bounce.permanent is permanent


def test_a_person_writing_about_an_undelivered_mail_is_not_a_bounce():
    raw = mail("From: sam@example.com\nSubject: Undelivered Mail Returned to Sender", "Why?")
    assert bounce_info(parse_message(raw), raw) is None


def test_a_successful_delivery_report_is_not_a_bounce():
    raw = (
        b"From: MAILER-DAEMON@mx.example\nSubject: Successful Mail Delivery Report\n"
        b'Content-Type: multipart/report; report-type=delivery-status; boundary="r"\n\n'
        b"--r\nContent-Type: text/plain\n\nDelivered.\n"
        b"--r\nContent-Type: message/delivery-status\n\nReporting-MTA: dns; mx.example\n\n"
        b"Final-Recipient: rfc822; ok@example.com\nAction: delivered\nStatus: 2.0.0\n--r--\n"
    )
    assert bounce_info(parse_message(raw), raw) is None


def test_bounce_info_on_unreadable_bytes_answers_none():
    msg = parse_message(fixture("plain_utf8.eml"))
    assert bounce_info(msg, b"\xff\xfe\x00garbage") is None
