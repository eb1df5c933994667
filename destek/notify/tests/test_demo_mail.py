"""The demo without a mail server: every mail is kept in the demo mailbox and printed."""

from __future__ import annotations

import logging
import re
from typing import Any

import pytest
from django.test import Client

from destek import settings_base as destek_settings
from destek.notify.demo_mail import BACKEND
from destek.notify.models import DemoMail

pytestmark = pytest.mark.django_db

SIGN_UP = {
    "full_name": "Leyla Aliyeva",
    "email": "leyla@example.org",
    "password": "plum-Orbit-7421",
    "language": "en",
    "time_zone": "Asia/Baku",
}


@pytest.fixture
def demo_mail(settings: Any) -> None:
    settings.EMAIL_BACKEND = BACKEND
    settings.DESTEK_DEMO = True


def signed_in(email: str) -> Client:
    from destek.accounts.models import User

    client = Client(headers={"Accept-Language": "en"})
    client.force_login(User.objects.get(email=email))
    return client


def test_a_sign_up_in_the_demo_lands_in_the_demo_mailbox_and_the_terminal(
    demo: None,
    demo_mail: None,
    django_capture_on_commit_callbacks: Any,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="destek.notify.demo_mail")
    with django_capture_on_commit_callbacks(execute=True):
        answer = Client(headers={"Accept-Language": "en"}).post("/sign-up/", SIGN_UP)
    assert answer.status_code == 302
    mail = DemoMail.objects.get(to="leyla@example.org")
    link = re.search(r"http://\S+/sign-up/\S+", mail.text)
    assert link, mail.text
    assert "Subject:" in mail.raw and mail.html
    lines = [r.getMessage() for r in caplog.records]
    assert f"mail to leyla@example.org: {mail.subject} {link.group(0)}" in lines


def test_the_admin_reads_the_demo_mailbox_with_the_link_to_follow(
    demo: None, demo_mail: None, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        Client(headers={"Accept-Language": "en"}).post("/sign-up/", SIGN_UP)
    mail = DemoMail.objects.get(to="leyla@example.org")
    link = re.search(r"http://\S+/sign-up/\S+", mail.text)
    assert link
    admin = signed_in("admin@example.com")
    queue = admin.get("/desk/").content.decode()
    assert 'href="/desk/demo-mail/"' in queue
    page = admin.get("/desk/demo-mail/").content.decode()
    assert "leyla@example.org" in page
    assert f'href="/desk/demo-mail/{mail.pk}/"' in page
    assert f'href="{link.group(0)}"' in page
    one = admin.get(f"/desk/demo-mail/{mail.pk}/").content.decode()
    assert f'<a href="{link.group(0)}"' in one
    assert mail.subject in one


def test_the_demo_mailbox_is_for_admins_only(demo: None, demo_mail: None) -> None:
    DemoMail.objects.create(to="someone@example.org", subject="Your code", text="123456")
    assert signed_in("agent@example.com").get("/desk/demo-mail/").status_code == 403
    assert signed_in("customer@example.com").get("/desk/demo-mail/").status_code == 403
    anonymous = Client().get("/desk/demo-mail/")
    assert anonymous.status_code == 302 and "/sign-in/" in anonymous["Location"]
    assert 'id="demo-mailbox"' not in signed_in("agent@example.com").get("/desk/").content.decode()


@pytest.mark.parametrize(
    ("environment", "backend"),
    [
        ({"DESTEK_DEMO": "1"}, BACKEND),
        ({"DESTEK_DEMO": "1", "DESTEK_SMTP_HOST": "mail.example.org"}, "smtp.EmailBackend"),
        ({"DESTEK_DEMO": "0"}, "smtp.EmailBackend"),
        ({}, "smtp.EmailBackend"),
    ],
)
def test_the_demo_keeps_its_mail_unless_a_mail_server_is_named(
    monkeypatch: pytest.MonkeyPatch, environment: dict[str, str], backend: str
) -> None:
    for name in ("DESTEK_DEMO", "DESTEK_SMTP_HOST", "DESTEK_EMAIL_BACKEND"):
        monkeypatch.delenv(name, raising=False)
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    assert destek_settings.choose_email_backend().endswith(backend)


def test_outside_the_demo_there_is_no_demo_mailbox_even_for_an_admin(
    demo: None, settings: Any
) -> None:
    settings.DESTEK_DEMO = False
    mail = DemoMail.objects.create(to="someone@example.org", subject="Your code", text="123456")
    admin = signed_in("admin@example.com")
    assert admin.get("/desk/demo-mail/").status_code == 404
    assert admin.get(f"/desk/demo-mail/{mail.pk}/").status_code == 404


def test_the_demo_mailbox_backend_cannot_be_chosen_outside_the_demo(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from django.core.exceptions import ImproperlyConfigured

    monkeypatch.delenv("DESTEK_DEMO", raising=False)
    monkeypatch.setenv("DESTEK_EMAIL_BACKEND", BACKEND)
    with pytest.raises(ImproperlyConfigured):
        destek_settings.choose_email_backend()


def test_the_admin_answers_a_kept_mail_as_its_copied_recipient_and_it_lands_on_the_ticket(
    demo: None, demo_mail: None, django_capture_on_commit_callbacks: Any
) -> None:
    from destek.accounts.models import User
    from destek.tickets import actions

    customer = User.objects.get(email="customer@example.com")
    with django_capture_on_commit_callbacks(execute=True):
        ticket = actions.create_ticket(
            customer=customer, subject="Invoice page is blank", body="Nothing shows.", channel="web"
        )
        actions.add_cc(ticket, by=customer, address="aysel@example.az")
    kept = DemoMail.objects.get(to="aysel@example.az")
    admin = signed_in("admin@example.com")
    page = admin.get(f"/desk/demo-mail/{kept.pk}/").content.decode()
    assert 'id="demo-answer"' in page and "aysel@example.az" in page
    with django_capture_on_commit_callbacks(execute=True):
        done = admin.post(
            f"/desk/demo-mail/{kept.pk}/answer/", {"body": "Mühasibatlıqda da eyni xəta var."}
        )
    assert done.status_code == 302
    message = ticket.messages.latest("id")
    assert message.body == "Mühasibatlıqda da eyni xəta var."
    assert message.author is not None and message.author.email == "aysel@example.az"
    assert f"#{ticket.number}" in admin.get(done["Location"]).content.decode()
    agent = signed_in("agent@example.com")
    assert agent.post(f"/desk/demo-mail/{kept.pk}/answer/", {"body": "x"}).status_code == 403
