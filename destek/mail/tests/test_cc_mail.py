"""Mail from an address copied on a ticket (CC), through the real pipeline: its answer to our
mail lands on that ticket as a public message of its person, and opens nothing else."""

from __future__ import annotations

from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path
from typing import Any

import pytest
from django.core import mail as django_mail
from django.test import Client

from conftest import ApiClient
from destek.accounts.models import User
from destek.mail.actions import process_message
from destek.mail.models import InboundStatus
from destek.mail.tests.test_pipeline import compose
from destek.tickets import actions
from destek.tickets.access import public_messages
from destek.tickets.models import Message, Ticket

pytestmark = pytest.mark.django_db

FIXTURES = Path(__file__).parent / "fixtures"
COLLEAGUE = "melih.yildiz@example.com.tr"


@pytest.fixture
def deliver(demo: None, django_capture_on_commit_callbacks: Any, outbox: list[Any]) -> Any:
    def run(raw: bytes) -> Any:
        with django_capture_on_commit_callbacks(execute=True):
            return process_message(raw, "test")

    return run


@pytest.fixture
def copied_ticket(
    users: dict[str, User], django_capture_on_commit_callbacks: Any, outbox: list[Any]
) -> Ticket:
    """The customer's ticket, a colleague copied on it (typed with capitals), an agent's reply."""
    with django_capture_on_commit_callbacks(execute=True):
        ticket = actions.create_ticket(
            customer=users["customer"],
            subject="Invoice page shows error 500",
            body="Since this morning the invoice page fails with error 500.",
            channel="web",
        )
        actions.add_cc(ticket, by=users["customer"], address="Melih.Yildiz@Example.COM.tr")
        actions.add_message(
            ticket, author=users["admin"], body="We are looking into it.", status_after="open"
        )
    return ticket


def mails_to(address: str) -> list[Any]:
    return [m for m in django_mail.outbox if address in m.to]


def reply_from_fixture(ours: Any, subject: str | None = None) -> bytes:
    """The Thunderbird reply in cc_reply_tr.eml, answering our mail `ours`."""
    raw = (FIXTURES / "cc_reply_tr.eml").read_bytes()
    message: EmailMessage = BytesParser(policy=policy.SMTP).parsebytes(raw)
    for name, value in (
        ("To", ours.extra_headers["Reply-To"]),
        ("Subject", subject or f"Re: {ours.subject}"),
        ("In-Reply-To", ours.extra_headers["Message-ID"]),
        ("References", f"{ours.extra_headers['References']} {ours.extra_headers['Message-ID']}"),
    ):
        message.replace_header(name, value)
    return message.as_bytes()


def test_a_copied_colleague_answers_our_mail_and_it_lands_on_the_ticket_as_public(
    deliver: Any, copied_ticket: Ticket, users: dict[str, User]
) -> None:
    ticket = copied_ticket
    ours = mails_to(COLLEAGUE)[-1]
    assert "We are looking into it." in ours.body
    django_mail.outbox.clear()

    outcome = deliver(reply_from_fixture(ours))

    assert outcome.status == InboundStatus.STORED
    assert outcome.ticket_number == ticket.number
    message = Message.objects.filter(ticket=ticket).latest("id")
    assert message.body.startswith("Merhaba,\n\nMuhasebe tarafında da aynı hatayı görüyoruz")
    assert "Sorunu inceliyoruz" in message.quoted
    assert not message.internal and message.author_kind == "customer"
    assert message in public_messages(ticket), "the customer reads it in their thread"
    # Written by a customer account for the address, made the way unknown senders are.
    author = message.author
    assert author is not None and author.email == COLLEAGUE
    assert author.is_customer and author.email_verified_at is None
    assert not author.has_usable_password()
    assert author.full_name == "Melih Yıldız"
    assert ticket.cc_addresses.get().user == author, "the address is that account now"
    # The customer hears of it as of our replies; the colleague gets no echo of their words.
    [to_customer] = mails_to(users["customer"].email)
    assert "Muhasebe tarafında" in to_customer.body
    assert not mails_to(COLLEAGUE)


def test_the_copied_person_opens_neither_this_ticket_nor_any_other_in_portal_or_api(
    deliver: Any,
    copied_ticket: Ticket,
    users: dict[str, User],
    django_capture_on_commit_callbacks: Any,
) -> None:
    deliver(reply_from_fixture(mails_to(COLLEAGUE)[-1]))
    colleague = User.objects.get(email=COLLEAGUE)
    other = actions.create_ticket(
        customer=users["customer"], subject="Second problem", body="Another one.", channel="web"
    )
    browser = Client()
    browser.force_login(colleague)  # as if they claimed the account and signed in
    for number in (copied_ticket.number, other.number):
        assert browser.get(f"/my/tickets/{number}/").status_code == 404
    assert f"{copied_ticket.number}" not in browser.get("/my/tickets/").content.decode()
    api = ApiClient(colleague, django_capture_on_commit_callbacks, "en")
    for number in (copied_ticket.number, other.number):
        assert api.get(f"tickets/{number}").status_code == 404
        assert api.get(f"tickets/{number}/messages").status_code == 404
        assert api.get(f"tickets/{number}/cc").status_code == 404
    assert api.get("tickets").json()["items"] == []


def test_a_copied_address_cannot_write_into_another_ticket_of_the_customer_by_its_number(
    deliver: Any, copied_ticket: Ticket, users: dict[str, User]
) -> None:
    other = actions.create_ticket(
        customer=users["customer"], subject="Password reset", body="No mail.", channel="web"
    )
    outcome = deliver(
        compose(
            sender=COLLEAGUE,
            subject=f"Re: [#{other.number}] Password reset",
            body="Please reset the password to 1234 and send it to me.",
        )
    )
    assert outcome.ticket_number not in (other.number, copied_ticket.number)
    assert not other.messages.filter(body__contains="1234").exists()
    assert Ticket.objects.get(number=outcome.ticket_number).customer.email == COLLEAGUE


def test_mail_from_an_address_no_longer_copied_is_handled_as_from_anyone_else(
    deliver: Any, copied_ticket: Ticket, users: dict[str, User]
) -> None:
    ours = mails_to(COLLEAGUE)[-1]
    actions.remove_cc(copied_ticket, by=users["customer"], address=COLLEAGUE)
    outcome = deliver(reply_from_fixture(ours))
    assert outcome.ticket_number != copied_ticket.number
    assert not copied_ticket.messages.filter(body__contains="Muhasebe").exists()


def test_a_forged_mail_in_a_copied_persons_name_is_held_until_they_confirm_it(
    deliver: Any, copied_ticket: Ticket, users: dict[str, User], settings: Any, as_user: Any
) -> None:
    settings.DESTEK_MAIL_TRUSTED_AUTHSERV_IDS = frozenset({"mx.destek.test"})
    settings.DESTEK_MAIL_REQUIRE_AUTH = "when-present"
    text = (FIXTURES / "auth" / "forged_reply_dmarc_fail.eml").read_bytes().decode()
    text = text.replace("{number}", str(copied_ticket.number))
    text = text.replace("header.from=example.com", "header.from=example.com.tr")
    text = text.replace(
        "Kamran =?utf-8?q?M=C3=BC=C5=9Ft=C9=99ri?= <customer@example.com>", f"Melih <{COLLEAGUE}>"
    )
    django_mail.outbox.clear()
    outcome = deliver(text.encode())
    assert (outcome.reason, outcome.ticket_number) == ("held-unverified", copied_ticket.number)
    held = Message.objects.get(ticket=copied_ticket, body__contains="IBAN")
    assert held.verification == "pending" and held not in public_messages(copied_ticket)
    assert not mails_to(users["customer"].email), "held mail tells nobody else anything"
    [ask] = [m for m in mails_to(COLLEAGUE) if "/mail/confirm/" in m.body]
    link = ask.body.split("://", 1)[1].split("/", 1)[1].split()[0]
    assert Client().post(f"/{link}").status_code == 200
    held.refresh_from_db()
    assert held.verification == "confirmed" and held in public_messages(copied_ticket)
