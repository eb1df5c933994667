"""Attachments: uploaded, attached, fetched only through the ticket's door, always downloads."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

pytestmark = pytest.mark.django_db


def upload(
    client: Any,
    name: str = "screen.png",
    content: bytes = b"\x89PNG fake",
    content_type: str = "image/png",
) -> Any:
    raw = Client()
    return raw.post(
        "/api/v1/attachments",
        {"file": SimpleUploadedFile(name, content, content_type=content_type)},
        headers={"Authorization": f"Bearer {client.token}", "Accept-Language": "en"},
    )


def download(client: Any, url: str) -> Any:
    return Client().get(url, headers={"Authorization": f"Bearer {client.token}"})


def test_a_customer_attaches_a_file_to_a_new_ticket_and_agents_download_it(
    customer: Any, agent: Any
) -> None:
    uploaded = upload(
        customer, content=b"<svg onload=alert(1)>", name="shot.svg", content_type="image/svg+xml"
    )
    assert uploaded.status_code == 201
    number = customer.file_ticket(attachments=[uploaded.json()["id"]])["number"]
    first = agent.get(f"tickets/{number}/messages").json()[0]
    assert first["attachments"][0]["filename"] == "shot.svg"
    response = download(agent, first["attachments"][0]["url"])
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == b"<svg onload=alert(1)>"
    assert response["Content-Type"] == "application/octet-stream"
    assert response["Content-Disposition"].startswith("attachment;")
    assert response["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in response["Content-Security-Policy"]


def test_another_customer_cannot_download_an_attachment(
    customer: Any, customer2: Any, finance: Any
) -> None:
    attachment_id = upload(customer).json()["id"]
    customer.file_ticket(attachments=[attachment_id])
    url = f"/api/v1/attachments/{attachment_id}"
    assert download(customer, url).status_code == 200
    assert download(customer2, url).status_code == 404
    assert download(finance, url).status_code == 404
    assert download(customer2, "/api/v1/attachments/not-a-uuid").status_code == 404


def test_an_upload_not_yet_attached_belongs_to_its_uploader_alone(
    customer: Any, customer2: Any
) -> None:
    attachment_id = upload(customer).json()["id"]
    assert download(customer2, f"/api/v1/attachments/{attachment_id}").status_code == 404
    stolen = customer2.post(
        "tickets",
        {"subject": "Printer offline", "body": "No paper.", "attachments": [attachment_id]},
    )
    assert stolen.status_code == 422
    assert stolen.json()["code"] == "attachment_not_found"


def test_attachments_of_internal_notes_stay_internal(customer: Any, agent: Any) -> None:
    number = customer.file_ticket()["number"]
    attachment_id = upload(agent, name="server.log", content=b"secret").json()["id"]
    agent.post(
        f"tickets/{number}/messages",
        {"body": "Log attached", "internal": True, "attachments": [attachment_id]},
    )
    assert download(agent, f"/api/v1/attachments/{attachment_id}").status_code == 200
    assert download(customer, f"/api/v1/attachments/{attachment_id}").status_code == 404


def test_a_file_over_the_limit_is_refused_with_413(customer: Any, settings: Any) -> None:
    settings.DESTEK_MAX_ATTACHMENT_MB = 1
    response = upload(customer, content=b"x" * (1024 * 1024 + 1))
    assert response.status_code == 413
    assert response.json()["code"] == "attachment_too_large"


def test_file_names_lose_paths_and_invisible_characters(customer: Any) -> None:
    name = "../../etc/\u202egnp.exe"
    response = upload(customer, name=name)
    assert response.status_code == 201
    cleaned = response.json()["filename"]
    assert "/" not in cleaned and "\u202e" not in cleaned and ".." not in cleaned


def test_a_retried_upload_with_the_same_key_is_stored_once(customer: Any) -> None:
    from destek.tickets.models import Attachment

    def send() -> Any:
        return Client().post(
            "/api/v1/attachments",
            {"file": SimpleUploadedFile("a.txt", b"hello", content_type="text/plain")},
            headers={"Authorization": f"Bearer {customer.token}", "Idempotency-Key": "up-1"},
        )

    first, again = send(), send()
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json() == again.json()
    assert Attachment.objects.count() == 1


def test_an_attachment_whose_file_is_gone_is_not_found_not_a_crash(customer: Any) -> None:
    from destek.tickets.models import Attachment

    attachment_id = upload(customer).json()["id"]
    customer.file_ticket(attachments=[attachment_id])
    stored = Attachment.objects.get(public_id=attachment_id)
    stored.file.storage.delete(stored.file.name)
    assert download(customer, f"/api/v1/attachments/{attachment_id}").status_code == 404


def test_uploads_never_attached_are_purged_after_a_day_with_their_files(customer: Any) -> None:
    from datetime import timedelta

    import time_machine
    from django.utils import timezone

    from destek.tickets.jobs import purge_orphan_uploads_now
    from destek.tickets.models import Attachment

    kept = upload(customer, name="kept.png").json()["id"]
    customer.file_ticket(attachments=[kept])
    orphan = Attachment.objects.get(public_id=upload(customer, name="orphan.png").json()["id"])
    with time_machine.travel(timezone.now() + timedelta(days=2), tick=False):
        assert purge_orphan_uploads_now() == 1
    assert not Attachment.objects.filter(pk=orphan.pk).exists()
    assert not orphan.file.storage.exists(orphan.file.name)
    assert Attachment.objects.filter(public_id=kept).exists()


def test_a_full_disk_during_an_upload_leaves_no_file_and_the_customer_is_told_to_try_later(
    customer: Any, settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    import errno
    import os

    from destek.tickets.models import Attachment

    def full(fd: int, data: Any) -> int:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "write", full)
    response = upload(customer, content=b"\x89PNG" + b"0" * 200_000)
    monkeypatch.undo()
    assert response.status_code == 507
    assert response.json()["code"] == "storage_unavailable"
    assert "Please try again later" in response.json()["detail"]
    assert not Attachment.objects.exists()
    media = settings.MEDIA_ROOT
    assert [p for p in media.rglob("*") if p.is_file()] == []


def test_the_sweep_removes_attachment_files_no_row_names_after_a_day_only(
    customer: Any, settings: Any
) -> None:
    import os
    import time

    from destek.tickets.jobs import sweep_attachment_files_now
    from destek.tickets.models import Attachment

    referenced = Attachment.objects.get(public_id=upload(customer).json()["id"])
    folder = settings.MEDIA_ROOT / "attachments" / "2026" / "11"
    folder.mkdir(parents=True, exist_ok=True)
    orphan, young = folder / "cut-by-a-full-disk.bin", folder / "being-saved.bin"
    orphan.write_bytes(b"half")
    young.write_bytes(b"half")
    day_and_more = time.time() - 25 * 3600
    for path in (orphan, settings.MEDIA_ROOT / referenced.file.name):
        os.utime(path, (day_and_more, day_and_more))

    assert sweep_attachment_files_now() == 1

    assert not orphan.exists()
    assert young.exists()
    assert referenced.file.storage.exists(referenced.file.name)
