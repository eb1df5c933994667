"""`destek smtpd`: the built-in listener, started in-process on a free loopback port and spoken
to with the standard library's smtplib, as a sending mail server would."""

from __future__ import annotations

import smtplib
import socket
from collections.abc import Callable, Iterator
from email import policy
from email.message import EmailMessage
from email.utils import make_msgid
from typing import Any

import pytest

from destek.mail import smtpd
from destek.mail.actions import TemporaryFailure
from destek.mail.models import InboundMessage, InboundStatus
from destek.tickets.models import Department, Ticket

# The listener runs the pipeline in its own threads, on their own database connections: the
# test's data must be committed for them to see it.
pytestmark = pytest.mark.django_db(transaction=True)

SUPPORT = "support@destek.localhost"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def compose(to: str = SUPPORT, body: str = "Salam, kabinetə daxil ola bilmirəm.") -> bytes:
    msg = EmailMessage()
    msg["From"] = "Leyla Həsənova <leyla@example.org>"
    msg["To"] = to
    msg["Subject"] = "Kabinetə giriş"
    msg["Message-ID"] = make_msgid(domain="example.org")
    msg.set_content(body)
    return msg.as_bytes(policy=policy.SMTP)  # CRLF, as on the wire


@pytest.fixture
def listen(demo: None) -> Iterator[Callable[..., int]]:
    """Start a listener (SMTP, or LMTP) and give its port; stopped after the test."""
    started: list[smtpd.InboundController] = []

    def start(*, lmtp: bool = False) -> int:
        port = free_port()
        controller = smtpd.InboundController("127.0.0.1", port, lmtp=lmtp)
        controller.start()
        started.append(controller)
        return port

    yield start
    for controller in started:
        controller.stop()


def test_a_message_to_support_is_accepted_with_250_and_becomes_a_ticket(
    listen: Callable[..., int],
) -> None:
    port = listen()
    with smtplib.SMTP("127.0.0.1", port, timeout=10) as client:
        client.ehlo("mx.example.org")
        client.mail("leyla@example.org")
        assert client.rcpt(SUPPORT)[0] == 250
        code, reply = client.data(compose())
    assert code == 250
    inbound = InboundMessage.objects.get()
    assert inbound.source == "smtp"
    assert inbound.status == InboundStatus.STORED
    assert inbound.ticket_id is not None
    ticket = Ticket.objects.get(pk=inbound.ticket_id)
    assert f"stored #{ticket.number}" in reply.decode()
    assert ticket.subject == "Kabinetə giriş"


def test_plus_addresses_and_department_addresses_are_ours_and_route_to_the_department(
    listen: Callable[..., int],
) -> None:
    Department.objects.filter(slug="finance").update(email="billing@pay.example")
    port = listen()
    with smtplib.SMTP("127.0.0.1", port, timeout=10) as client:
        refused = client.sendmail(
            "leyla@example.org", ["Billing+invoice@PAY.example"], compose(to="billing@pay.example")
        )
        assert refused == {}
        other = compose(body="Və bir sual da: hesab-faktura haradadır?")
        assert client.sendmail("leyla@example.org", ["support+x@destek.localhost"], other) == {}
    first, second = InboundMessage.objects.order_by("pk")
    assert first.ticket_id is not None
    assert Ticket.objects.get(pk=first.ticket_id).department.slug == "finance"
    assert second.status == InboundStatus.STORED, second.reason


def test_a_recipient_at_another_domain_gets_550_and_nothing_is_kept(
    listen: Callable[..., int],
) -> None:
    port = listen()
    with smtplib.SMTP("127.0.0.1", port, timeout=10) as client:
        client.ehlo("mx.example.org")
        client.mail("spammer@example.net")
        code, _ = client.rcpt("victim@example.com")
        assert code == 550
        client.rset()
        with pytest.raises(smtplib.SMTPRecipientsRefused):
            client.sendmail("spammer@example.net", ["support@destek.localhost.evil"], compose())
    assert not InboundMessage.objects.exists()


def test_an_oversized_message_gets_552(listen: Callable[..., int], settings: Any) -> None:
    settings.DESTEK_MAIL_MAX_MB = 1
    port = listen()
    big = compose(body=("y" * 76 + "\n") * 15000)  # ~1.2 MB
    with smtplib.SMTP("127.0.0.1", port, timeout=10) as client:
        # A client that announces the size is stopped at MAIL FROM ...
        with pytest.raises(smtplib.SMTPSenderRefused) as announced:
            client.sendmail("leyla@example.org", [SUPPORT], big)
        assert announced.value.smtp_code == 552
        client.rset()
        # ... and one that does not, after DATA.
        client.mail("leyla@example.org")
        client.rcpt(SUPPORT)
        code, _ = client.data(big)
        assert code == 552
    assert not InboundMessage.objects.exists()


def test_an_empty_message_gets_554_so_the_sender_gets_a_bounce(
    listen: Callable[..., int],
) -> None:
    port = listen()
    with smtplib.SMTP("127.0.0.1", port, timeout=10) as client:
        client.ehlo("mx.example.org")
        client.mail("leyla@example.org")
        client.rcpt(SUPPORT)
        code, _ = client.data(b"")
    assert code == 554


def test_a_temporary_failure_gets_451_so_the_sending_server_retries(
    listen: Callable[..., int], monkeypatch: pytest.MonkeyPatch
) -> None:
    def away(*args: Any, **kwargs: Any) -> Any:
        raise TemporaryFailure("database is away")

    monkeypatch.setattr(smtpd, "process_message", away)
    port = listen()
    with smtplib.SMTP("127.0.0.1", port, timeout=10) as client:
        client.ehlo("mx.example.org")
        client.mail("leyla@example.org")
        client.rcpt(SUPPORT)
        code, _ = client.data(compose())
    assert code == 451


def test_lmtp_mode_answers_lhlo_and_stores_the_message(listen: Callable[..., int]) -> None:
    port = listen(lmtp=True)
    with smtplib.LMTP("127.0.0.1", port, timeout=10) as client:
        code, _ = client.ehlo("mx.example.org")  # LHLO
        assert code == 250
        assert client.sendmail("leyla@example.org", [SUPPORT], compose()) == {}
        assert client.helo("mx.example.org")[0] == 500, "HELO is not LMTP"
    inbound = InboundMessage.objects.get()
    assert inbound.source == "lmtp"
    assert inbound.status == InboundStatus.STORED
