"""Uploaded files: the size limit and the one door every channel stores a file through."""

from __future__ import annotations

import hashlib
import logging
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils.translation import gettext_lazy as _

from destek.accounts.models import User
from destek.lib.errors import ActionRefused
from destek.lib.text import clean_filename
from destek.tickets.models import Attachment

log = logging.getLogger(__name__)


def check_upload_size(size: int | None) -> None:
    limit = settings.DESTEK_MAX_ATTACHMENT_MB * 1024 * 1024
    if size is None or size > limit:
        raise ActionRefused(
            "attachment_too_large",
            _("The file is larger than {mb} MB.").format(mb=settings.DESTEK_MAX_ATTACHMENT_MB),
            status=413,
        )


def upload_digest(upload: Any) -> str:
    """SHA-256 of an uploaded file, read in chunks; the file is rewound for whoever is next."""
    check_upload_size(upload.size)  # before reading a byte of an oversized file
    digest = hashlib.sha256()
    for chunk in upload.chunks():
        digest.update(chunk)
    upload.seek(0)
    return digest.hexdigest()


@transaction.atomic
def store_upload(user: User, upload: Any, *, sha256: str | None = None) -> Attachment:
    """Keep an uploaded file under a generated name until a ticket or message claims it.

    The size limit holds here, at the one door every channel passes through.
    """
    check_upload_size(upload.size)
    sha256 = sha256 or upload_digest(upload)
    attachment = Attachment(
        uploaded_by=user,
        filename=clean_filename(upload.name or "file"),
        content_type=(upload.content_type or "application/octet-stream")[:100],
        size=upload.size,
        sha256=sha256,
    )
    try:
        attachment.file.save(attachment.filename, upload, save=False)
    except OSError as exc:
        # A full disk or a storage fault: the storage left nothing behind (lib/storage.py).
        log.error("an upload could not be stored: %s", exc)
        raise ActionRefused(
            "storage_unavailable",
            _(
                "The file could not be saved: the server has no room for it right now. "
                "Please try again later."
            ),
            status=507,
            field="attachments",
        ) from exc
    stored = attachment.file.name
    try:
        attachment.save()
    except Exception:
        attachment.file.storage.delete(stored)
        raise
    return attachment
