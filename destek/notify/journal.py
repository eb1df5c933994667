"""The sent-mail journal: a local, append-only record of every delivery the transport took.

Marking a delivery sent needs the database. If the database is away at that moment, the
outcome of the send would be lost and the mail sent again once its claim went stale. So right
after the SMTP server (or the SMS gateway) accepts a message, one line
`{"message_id", "delivery", "attempt", "sent_at"}` is appended to
`DESTEK_OUTBOX_JOURNAL_DIR/sent.jsonl` and fsynced, before the database is asked. Then:

- before a stale claim is sent again, the journal is read: a Message-ID in it is marked sent,
  not re-sent;
- `replay()` (each outbox sweep, and when a worker starts) marks every journalled delivery
  sent in the database and drops the lines the database has confirmed.

The journal is per machine (the data directory's disk). See the README for what that means
with workers on several machines.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db.models import F
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from destek.notify.choices import DeliveryStatus
from destek.notify.models import Delivery

log = logging.getLogger(__name__)

CURRENT = "sent.jsonl"
REPLAYING = ".replaying"


def directory() -> Path:
    path = Path(settings.DESTEK_OUTBOX_JOURNAL_DIR)
    path.mkdir(parents=True, exist_ok=True)
    return path


@contextmanager
def _locked() -> Iterator[Path]:
    """One writer at a time across the processes of this machine (the lock file never moves,
    the journal files do)."""
    folder = directory()
    with open(folder / "journal.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield folder
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def record(delivery: Delivery, attempt: str, sent_at: datetime) -> None:
    """Append the send's outcome and make it durable (fsync) before anything else happens."""
    line = json.dumps(
        {
            "message_id": delivery.message_id,
            "delivery": delivery.pk,
            "attempt": attempt,
            "sent_at": sent_at.isoformat(),
        }
    )
    with _locked() as folder:
        fd = os.open(folder / CURRENT, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.write(fd, (line + "\n").encode())
            if settings.DESTEK_OUTBOX_JOURNAL_FSYNC:
                os.fsync(fd)
        finally:
            os.close(fd)


def _entries(path: Path) -> list[dict[str, Any]]:
    entries: list[dict[str, Any]] = []
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return entries
    for line in text.splitlines():
        try:
            entry = json.loads(line)
        except ValueError:  # a line cut short by a crash: that send was never confirmed
            continue
        if isinstance(entry, dict) and entry.get("message_id"):
            entries.append(entry)
    return entries


def _files() -> list[Path]:
    folder = directory()
    return [*sorted(folder.glob(f"*{REPLAYING}")), folder / CURRENT]


def lookup(message_id: str) -> dict[str, Any] | None:
    """The journal's line for this Message-ID, if this machine ever sent it."""
    for path in _files():
        for entry in _entries(path):
            if entry["message_id"] == message_id:
                return entry
    return None


def mark_sent(message_id: str, sent_at: str | None) -> int:
    """Record a journalled send in the database (idempotent: a sent row stays as it is)."""
    when = parse_datetime(sent_at or "") or timezone.now()
    return (
        Delivery.objects.filter(message_id=message_id)
        .exclude(status=DeliveryStatus.SENT)
        .update(
            status=DeliveryStatus.SENT,
            sent_at=when,
            attempts=F("attempts") + 1,
            last_error="",
            next_attempt_at=when,
            claimed_at=None,
        )
    )


def replay() -> int:
    """Mark every journalled send in the database; forget lines once the database has them.
    The current file is first moved aside (under the lock), so sends keep appending to a fresh
    one while this reads. Raises the database's error if it is still away (the files stay)."""
    with _locked() as folder:
        current = folder / CURRENT
        if current.exists() and current.stat().st_size:
            current.rename(folder / f"{time.time_ns()}{REPLAYING}")
    marked = 0
    for path in sorted(directory().glob(f"*{REPLAYING}")):
        entries = _entries(path)
        for entry in entries:
            marked += mark_sent(entry["message_id"], entry.get("sent_at"))
        path.unlink(missing_ok=True)
    if marked:
        log.warning("outbox journal: %d sends recorded after the database came back", marked)
    return marked
