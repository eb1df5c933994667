"""Agents attach files to a reply or a note from the ticket page, without JavaScript too,
through the same upload action and limit as the portal and the API."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from destek.accounts.models import User
from destek.automation.models import Macro, MacroText
from destek.tickets import actions
from destek.tickets.models import Attachment, Message, Ticket

pytestmark = pytest.mark.django_db


@pytest.fixture
def desk(users: dict[str, User]) -> Client:
    client = Client()
    client.force_login(users["agent"])
    client.cookies["django_language"] = "en"
    return client


@pytest.fixture
def ticket(users: dict[str, User]) -> Ticket:
    return actions.create_ticket(
        customer=users["customer"],
        subject="Export fails",
        body="Export fails: it never ends.",
        channel="web",
    )


def a_file(name: str = "steps.png", content: bytes = b"\x89PNG steps") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type="image/png")


def test_the_reply_and_note_boxes_take_files_without_javascript(
    desk: Client, ticket: Ticket
) -> None:
    page = desk.get(f"/desk/tickets/{ticket.number}/").content.decode()
    for form in ("reply-form", "note-form"):
        tag = re.search(rf'<form [^>]*id="{form}"[^>]*>', page)
        assert tag and 'enctype="multipart/form-data"' in tag.group(0), form
    assert 'type="file" name="attachments" id="id_reply_attachments" multiple' in page
    assert 'type="file" name="attachments" id="id_note_attachments" multiple' in page
    # The portal's drop box and its script, not a second one.
    assert page.count("data-dropzone") == 2
    assert '<script src="/static/destek/portal.js" defer></script>' in page
    assert "Files of a note stay internal" in page


def test_an_agent_attaches_files_to_a_reply_and_the_customer_downloads_them(
    desk: Client, ticket: Ticket, users: dict[str, User]
) -> None:
    response = desk.post(
        f"/desk/tickets/{ticket.number}/reply/",
        {
            "body": "Follow these steps.",
            "status": "pending",
            "attachments": [a_file(), a_file("settings.txt", b"export=on")],
        },
    )
    assert response.status_code == 302
    reply = Message.objects.get(ticket=ticket, body="Follow these steps.")
    assert sorted(a.filename for a in reply.attachments.all()) == ["settings.txt", "steps.png"]
    assert all(a.uploaded_by == users["agent"] for a in reply.attachments.all())
    customer = Client()
    customer.force_login(users["customer"])
    page = customer.get(f"/my/tickets/{ticket.number}/").content.decode()
    assert "steps.png" in page
    attachment = reply.attachments.get(filename="settings.txt")
    download = customer.get(f"/attachments/{attachment.public_id}/")
    assert b"".join(download.streaming_content) == b"export=on"  # type: ignore[attr-defined]


def test_files_of_a_note_stay_internal(
    desk: Client, ticket: Ticket, users: dict[str, User]
) -> None:
    desk.post(
        f"/desk/tickets/{ticket.number}/note/",
        {"body": "Server log attached.", "attachments": a_file("server.log", b"secret")},
    )
    note = Message.objects.get(ticket=ticket, body="Server log attached.")
    assert note.internal
    attachment = note.attachments.get()
    assert "server.log" in desk.get(f"/desk/tickets/{ticket.number}/").content.decode()
    customer = Client()
    customer.force_login(users["customer"])
    assert "server.log" not in customer.get(f"/my/tickets/{ticket.number}/").content.decode()
    assert customer.get(f"/attachments/{attachment.public_id}/").status_code == 404


def test_a_file_over_the_limit_is_refused_next_to_the_files_and_keeps_the_text(
    desk: Client, ticket: Ticket, settings: Any
) -> None:
    settings.DESTEK_MAX_ATTACHMENT_MB = 1
    response = desk.post(
        f"/desk/tickets/{ticket.number}/reply/",
        {
            "body": "My careful answer.",
            "status": "pending",
            "attachments": a_file("video.webm", b"x" * (1024 * 1024 + 1)),
        },
    )
    assert response.status_code == 200
    page = response.content.decode()
    assert "The file is larger than 1 MB." in page
    assert "My careful answer." in page
    assert not Message.objects.filter(body="My careful answer.").exists()
    assert Attachment.objects.count() == 0


def test_an_edited_macro_reply_sends_its_files_too(desk: Client, ticket: Ticket) -> None:
    canned = Macro.objects.create(name="Steps", status="resolved")
    MacroText.objects.create(macro=canned, body="Try these steps.")
    desk.post(
        f"/desk/tickets/{ticket.number}/reply/",
        {
            "body": "Try these steps, see the picture.",
            "status": "resolved",
            "macro": canned.pk,
            "attachments": a_file(),
        },
    )
    reply = Message.objects.get(ticket=ticket, body="Try these steps, see the picture.")
    assert [a.filename for a in reply.attachments.all()] == ["steps.png"]
