"""A mailbox's password entered in the admin: stored encrypted, never shown again, used by
the IMAP poller before any environment variable."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from destek.accounts.models import User
from destek.mail import imap
from destek.mail.models import MailAccount

pytestmark = pytest.mark.django_db

SECRET = "Çox-gizli parol 7!"


@pytest.fixture
def admin_client(users: dict[str, User]) -> Client:
    client = Client(headers={"Accept-Language": "en"})
    client.cookies["django_language"] = "en"
    client.force_login(users["admin"])
    return client


def form(**changes: Any) -> dict[str, Any]:
    return {
        "name": "support",
        "host": "imap.example.org",
        "port": "993",
        "use_tls": "on",
        "username": "support@example.org",
        "password": "",
        "password_env": "",
        "folder": "INBOX",
        "processed_folder": "",
        "department": "",
        "enabled": "on",
        **changes,
    }


def test_an_admin_enters_a_mailbox_password_that_is_stored_encrypted_and_never_shown(
    admin_client: Client,
) -> None:
    answer = admin_client.post("/admin/mail/mailaccount/add/", form(password=SECRET))
    assert answer.status_code == 302, answer.content.decode()[:3000]
    account = MailAccount.objects.get(name="support")
    assert account.password_encrypted and SECRET not in account.password_encrypted
    assert SECRET.encode() not in account.password_encrypted.encode()
    assert imap.password_of(account) == SECRET
    page = admin_client.get(f"/admin/mail/mailaccount/{account.pk}/change/").content.decode()
    assert SECRET not in page and account.password_encrypted not in page
    assert 'type="password"' in page

    # Saving again without typing it keeps it; typing a new one replaces it.
    admin_client.post(f"/admin/mail/mailaccount/{account.pk}/change/", form())
    account.refresh_from_db()
    assert imap.password_of(account) == SECRET
    admin_client.post(f"/admin/mail/mailaccount/{account.pk}/change/", form(password="new one"))
    account.refresh_from_db()
    assert imap.password_of(account) == "new one"


def test_the_stored_password_comes_before_the_environment_variable(
    admin_client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DESTEK_IMAP_SUPPORT_PASSWORD", "from the environment")
    admin_client.post(
        "/admin/mail/mailaccount/add/",
        form(password=SECRET, password_env="DESTEK_IMAP_SUPPORT_PASSWORD"),
    )
    account = MailAccount.objects.get(name="support")
    assert imap.password_of(account) == SECRET
    admin_client.post(
        f"/admin/mail/mailaccount/{account.pk}/change/",
        form(forget_password="on", password_env="DESTEK_IMAP_SUPPORT_PASSWORD"),
    )
    account.refresh_from_db()
    assert not account.password_encrypted
    assert imap.password_of(account) == "from the environment"


def test_a_mailbox_needs_a_password_or_its_variable(admin_client: Client) -> None:
    answer = admin_client.post("/admin/mail/mailaccount/add/", form())
    assert answer.status_code == 200
    assert "Enter the password, or name the environment variable" in answer.content.decode()
    assert not MailAccount.objects.exists()


def test_a_password_stored_under_another_secret_key_asks_to_be_entered_again(
    admin_client: Client, settings: Any
) -> None:
    admin_client.post("/admin/mail/mailaccount/add/", form(password=SECRET))
    account = MailAccount.objects.get(name="support")
    settings.SECRET_KEY = "another-secret-key-" + "x" * 40
    with pytest.raises(imap.MailboxError, match="enter it again"):
        imap.password_of(account)
