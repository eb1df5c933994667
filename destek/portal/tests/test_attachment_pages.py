"""Attachments opened from the pages: a signed-in browser (customer or agent) downloads them
through the same door as the API, and the read-only status view serves its ticket's files."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import quote

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.mail import EmailMessage
from django.test import Client

from destek.accounts.models import User
from destek.tickets import actions
from destek.tickets.downloads import ascii_filename, content_disposition
from destek.tickets.models import Attachment, Ticket

pytestmark = pytest.mark.django_db


def signed_in(user: Any) -> Client:
    client = Client(headers={"Accept-Language": "en"})
    client.force_login(user)
    client.cookies["django_language"] = "en"
    return client


def stored(user: Any, name: str = "shot.png", content: bytes = b"\x89PNG fake") -> Attachment:
    return actions.store_upload(user, SimpleUploadedFile(name, content, content_type="image/png"))


def filed_with(
    users: dict[str, User], *files: Attachment, subject: str = "Reports page stays blank"
) -> Ticket:
    return actions.create_ticket(
        customer=users["customer"],
        subject=subject,
        body="Screenshot attached.",
        channel="web",
        attachments=files,
    )


def links(page: str) -> list[str]:
    return re.findall(r'<a href="([^"]+)" download', page)


def body(response: Any) -> bytes:
    return b"".join(response.streaming_content)


def test_a_customer_downloads_their_own_attachment_from_the_ticket_page(
    users: dict[str, User],
) -> None:
    ticket = filed_with(users, stored(users["customer"], content=b"<svg onload=alert(1)>"))
    browser = signed_in(users["customer"])
    page = browser.get(f"/my/tickets/{ticket.number}/").content.decode()
    [href] = links(page)
    assert not href.startswith("/api/"), "a browser has no bearer token"
    response = browser.get(href)
    assert response.status_code == 200
    assert body(response) == b"<svg onload=alert(1)>"
    assert response["Content-Type"] == "application/octet-stream"
    assert response["Content-Disposition"] == 'attachment; filename="shot.png"'
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Security-Policy"] == "default-src 'none'; sandbox"
    assert "no-store" in response["Cache-Control"]


def test_an_agent_downloads_it_from_the_desk_and_another_department_does_not(
    users: dict[str, User],
) -> None:
    ticket = filed_with(users, stored(users["customer"], content=b"log line"))
    desk = signed_in(users["agent"])
    page = desk.get(f"/desk/tickets/{ticket.number}/").content.decode()
    [href] = links(page)
    assert body(desk.get(href)) == b"log line"
    assert signed_in(users["finance"]).get(href).status_code == 404
    assert signed_in(users["admin"]).get(href).status_code == 200


def test_another_customer_gets_not_found(users: dict[str, User]) -> None:
    attachment = stored(users["customer"])
    filed_with(users, attachment)
    response = signed_in(users["customer2"]).get(f"/attachments/{attachment.public_id}/")
    assert response.status_code == 404


def test_a_signed_out_browser_is_sent_to_sign_in_and_back(users: dict[str, User]) -> None:
    attachment = stored(users["customer"])
    filed_with(users, attachment)
    url = f"/attachments/{attachment.public_id}/"
    response = Client().get(url)
    assert response.status_code == 302
    assert response["Location"] == f"/sign-in/?next={url}"
    signed = Client()
    signed.post(response["Location"], {"email": "customer@example.com", "password": "demo"})
    assert signed.get(url).status_code == 200


def test_files_of_an_internal_note_never_reach_the_customer(users: dict[str, User]) -> None:
    ticket = filed_with(users)
    note_file = stored(users["agent"], name="server.log", content=b"secret")
    actions.add_message(
        ticket,
        author=users["agent"],
        body="Checked the logs.",
        internal=True,
        attachments=[note_file],
    )
    customer = signed_in(users["customer"])
    page = customer.get(f"/my/tickets/{ticket.number}/").content.decode()
    assert "server.log" not in page
    assert customer.get(f"/attachments/{note_file.public_id}/").status_code == 404
    assert signed_in(users["agent"]).get(f"/attachments/{note_file.public_id}/").status_code == 200


def test_an_upload_not_yet_on_a_message_opens_for_its_uploader_only(users: dict[str, User]) -> None:
    attachment = stored(users["customer"])
    url = f"/attachments/{attachment.public_id}/"
    assert signed_in(users["customer"]).get(url).status_code == 200
    assert signed_in(users["agent"]).get(url).status_code == 404


def test_a_persian_or_russian_file_name_arrives_whole(users: dict[str, User]) -> None:
    for name in ("گزارش خطا.pdf", "Отчёт об ошибке.pdf"):
        attachment = stored(users["customer"], name=name)
        filed_with(users, attachment, subject=f"Report {name} is broken")
        response = signed_in(users["customer"]).get(f"/attachments/{attachment.public_id}/")
        header = response["Content-Disposition"]
        assert header.startswith('attachment; filename="')
        assert f"filename*=UTF-8''{quote(name, safe='')}" in header
        header.encode("ascii")  # a header line stays ASCII


def test_the_plain_file_name_for_old_clients_keeps_what_it_can() -> None:
    assert ascii_filename("Müşteri şikayəti.docx") == "Musteri sikay_ti.docx"
    assert ascii_filename("گزارش.pdf") == "attachment.pdf"
    assert ascii_filename('a"b\\c.txt') == "a_b_c.txt"
    assert content_disposition('x"; filename="evil.html') == (
        'attachment; filename="x__ filename=_evil.html"; '
        "filename*=UTF-8''x%22%3B%20filename%3D%22evil.html"
    )


def test_the_api_still_serves_token_clients(customer: Any, users: dict[str, User]) -> None:
    attachment = stored(users["customer"])
    filed_with(users, attachment)
    response = customer.get(f"/api/v1/attachments/{attachment.public_id}")
    assert response.status_code == 200
    assert body(response) == b"\x89PNG fake"
    # A session is not a token: the API keeps its own authentication.
    assert signed_in(users["customer"]).get(
        f"/api/v1/attachments/{attachment.public_id}"
    ).status_code in (401, 403)


def _open_status_view(
    client: Client, ticket: Ticket, outbox: list[EmailMessage], capture: Any
) -> str:
    with capture(execute=True):
        started = client.post(
            "/status/", {"number": str(ticket.number), "email": "customer@example.com"}
        )
    found = re.search(r"\b(\d{6})\b", str(outbox[-1].body))
    assert found is not None
    code = found.group(1)
    return str(client.post(started["Location"], {"code": code}, follow=True).content.decode())


def test_the_status_view_downloads_the_public_files_of_its_ticket_only(
    users: dict[str, User], outbox: list[EmailMessage], django_capture_on_commit_callbacks: Any
) -> None:
    ticket = filed_with(users, stored(users["customer"], content=b"public bytes"))
    note_file = stored(users["agent"], name="server.log", content=b"secret")
    actions.add_message(
        ticket, author=users["agent"], body="Checked.", internal=True, attachments=[note_file]
    )
    other = filed_with(users, stored(users["customer"], name="other.png"), subject="Wallet empty")
    other_file = other.attachments.get()
    visitor = Client(headers={"Accept-Language": "en"})
    page = _open_status_view(visitor, ticket, outbox, django_capture_on_commit_callbacks)
    [href] = links(page)
    assert "server.log" not in page
    assert body(visitor.get(href)) == b"public bytes"
    base = href.rsplit("/", 2)[0]
    assert visitor.get(f"{base}/{note_file.public_id}/").status_code == 404
    assert visitor.get(f"{base}/{other_file.public_id}/").status_code == 404
    # Another browser, without the code, is sent to the code form and gets no file.
    stranger = Client().get(href)
    assert stranger.status_code == 302
    assert "files" not in stranger["Location"]


def test_the_status_view_of_a_merged_ticket_still_downloads_its_own_files(
    users: dict[str, User], outbox: list[EmailMessage], django_capture_on_commit_callbacks: Any
) -> None:
    duplicate = filed_with(users, stored(users["customer"], content=b"moved bytes"))
    target = filed_with(users, stored(users["customer"], name="other.png"), subject="Wallet")
    actions.merge(duplicate, into=target, actor=actions.Actor.of(users["agent"]))
    visitor = Client(headers={"Accept-Language": "en"})
    page = _open_status_view(visitor, duplicate, outbox, django_capture_on_commit_callbacks)
    [href] = links(page)
    assert body(visitor.get(href)) == b"moved bytes"


def test_the_merge_event_counts_only_what_the_customer_may_see(users: dict[str, User]) -> None:
    duplicate = filed_with(users, stored(users["customer"]))
    actions.add_message(duplicate, author=users["agent"], body="Internal check.", internal=True)
    target = filed_with(users, stored(users["customer"], name="other.png"), subject="Wallet")
    actions.merge(duplicate, into=target, actor=actions.Actor.of(users["agent"]))
    event = target.events.filter(kind="merged").get()
    assert event.data["moved_messages"] == 1
