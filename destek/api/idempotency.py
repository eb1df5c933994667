"""`Idempotency-Key` on POST: a retried request creates one object and gets the same answer."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _
from huey import crontab
from huey.contrib.djhuey import db_periodic_task

from destek.accounts.http import ApiRequest
from destek.api.models import IdempotencyRecord
from destek.lib.errors import ActionRefused

KEY_MAX = 255
KEEP = timedelta(hours=24)


def _fingerprint(request: HttpRequest, payload: Any) -> str:
    raw = json.dumps([request.method, request.path, payload], sort_keys=True, default=str)
    return hashlib.sha256(raw.encode()).hexdigest()


def idempotent(
    request: ApiRequest, payload: Any, run: Callable[[], tuple[int, Any]]
) -> tuple[int, Any]:
    """Run `run` once per (user, key); a repeat gets the stored body (201 becomes 200)."""
    key = request.headers.get("Idempotency-Key", "").strip()
    if not key:
        # Still one transaction: the answer is built from what the action wrote, and a
        # failure while building it must not leave half a request committed.
        with transaction.atomic():
            return run()
    if not key.isprintable():
        raise ActionRefused(
            "invalid_idempotency_key", _("The Idempotency-Key header has invalid characters.")
        )
    if len(key) > KEY_MAX:
        raise ActionRefused(
            "invalid_idempotency_key",
            _("The Idempotency-Key header is longer than {n} characters.").format(n=KEY_MAX),
        )
    user = request.auth
    fingerprint = _fingerprint(request, payload)
    with transaction.atomic():
        try:
            with transaction.atomic():
                record = IdempotencyRecord.objects.create(
                    user=user, key=key, fingerprint=fingerprint
                )
        except IntegrityError:
            record = IdempotencyRecord.objects.get(user=user, key=key)
            if record.fingerprint != fingerprint:
                raise ActionRefused(
                    "idempotency_key_reused",
                    _("This Idempotency-Key was already used for a different request."),
                    status=422,
                ) from None
            status = 200 if record.status_code == 201 else record.status_code
            return status, record.body
        status, body = run()
        record.status_code = status
        record.body = body
        record.save(update_fields=["status_code", "body"])
        return status, body


def purge_now() -> int:
    deleted, _counts = IdempotencyRecord.objects.filter(
        created_at__lt=timezone.now() - KEEP
    ).delete()
    return deleted


@db_periodic_task(crontab(minute="41"))
def purge_idempotency_records() -> int:
    return purge_now()
