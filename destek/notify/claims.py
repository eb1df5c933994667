"""Who holds a delivery's claim, and when a claim is stale.

Every process that sends (a `destek worker`, or a web process running jobs inline) has a name,
`host:pid:random`, and a row in `OutboxWorker` whose `seen_at` a background thread refreshes
every `BEAT_SECONDS`. A claim names its worker; it is stale once that worker's heartbeat is
older than `DESTEK_OUTBOX_CLAIM_STALE_SECONDS` (60): a killed worker's mail is taken over about
a minute later, never while the worker still lives, however long its send takes.
"""

from __future__ import annotations

import os
import secrets
import socket
import threading
import time
from datetime import datetime, timedelta

from django.conf import settings
from django.db import DatabaseError, connection
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from destek.lib import outage
from destek.notify.choices import DeliveryStatus
from destek.notify.models import OutboxWorker

BEAT_SECONDS = 15
#: Claims made before claims named their worker: stale after this long, as they always were.
LEGACY_STALE = timedelta(minutes=10)

_lock = threading.Lock()
_name: tuple[int, str] | None = None
_thread_pid: int | None = None
_last_touch = 0.0


def host() -> str:
    return socket.gethostname()[:100] or "localhost"


def worker_name() -> str:
    """This process's name; a forked child gets its own."""
    global _name
    pid = os.getpid()
    if _name is None or _name[0] != pid:
        _name = (pid, f"{host()}:{pid}:{secrets.token_hex(3)}"[:120])
    return _name[1]


def host_of(name: str) -> str:
    return name.split(":", 1)[0]


def stale_after() -> timedelta:
    return timedelta(seconds=settings.DESTEK_OUTBOX_CLAIM_STALE_SECONDS)


def touch(now: datetime | None = None, *, restart: bool = False) -> None:
    """Record this process's heartbeat. `restart` (the heartbeat thread's first beat after the
    database was away) starts a new unbroken run: this worker then waits a full stale period
    before it takes over other workers' claims, since theirs could not be written either."""
    global _last_touch
    now = now or timezone.now()
    name = worker_name()
    changes: dict[str, object] = {"seen_at": now}
    if restart:
        changes["up_since"] = now
    if not OutboxWorker.objects.filter(name=name).update(**changes):
        OutboxWorker.objects.update_or_create(
            name=name,
            defaults={"seen_at": now, "up_since": now, "host": host(), "pid": os.getpid()},
        )
    _last_touch = time.monotonic()


def touch_if_due() -> None:
    """Before a claim: make sure this process's heartbeat is fresh (cheap when it is). Tests
    always write it: each test's database starts empty."""
    if settings.TESTING or _last_touch == 0.0 or time.monotonic() - _last_touch > BEAT_SECONDS:
        touch()


def may_take_over(now: datetime) -> bool:
    """Whether this worker has been beating for a whole stale period since it last lost the
    database (see `touch`)."""
    return OutboxWorker.objects.filter(
        name=worker_name(), up_since__lte=now - stale_after()
    ).exists()


def stale_claim(now: datetime) -> Q:
    """Deliveries being sent by a worker that stopped beating (or by nobody known)."""
    alive = OutboxWorker.objects.filter(
        name=OuterRef("claimed_by"), seen_at__gte=now - stale_after()
    )
    legacy = Q(claimed_by="", claimed_at__lt=now - LEGACY_STALE)
    dead = ~Q(claimed_by="") & Q(~Exists(alive))
    return Q(status=DeliveryStatus.SENDING) & (legacy | dead)


def forget_dead_workers(now: datetime) -> int:
    """Rows of workers silent for a day are only clutter."""
    deleted, _ = OutboxWorker.objects.filter(seen_at__lt=now - timedelta(days=1)).delete()
    return deleted


def _beat_forever() -> None:
    # Only the claims' heartbeat: the one /healthz reads stays the periodic task's
    # (destek.lib.jobs.heartbeat), which proves the worker still runs tasks, not just a thread.
    failed = False
    while True:
        try:
            touch(restart=failed)
            failed = False
        except Exception as exc:  # the heartbeat must outlive any one failure
            failed = True
            outage.log_outage(outage.outage_kind(exc) or "heartbeat_failed", "heartbeat", exc)
            if isinstance(exc, DatabaseError):
                connection.close()
        time.sleep(BEAT_SECONDS)


def start_heartbeat() -> None:
    """Start this process's heartbeat thread once (idempotent; a forked child starts its
    own). Tests do not start it: their database is one transaction per test."""
    global _thread_pid
    if settings.TESTING:
        return
    with _lock:
        if _thread_pid == os.getpid():
            return
        _thread_pid = os.getpid()
    threading.Thread(target=_beat_forever, name="destek-heartbeat", daemon=True).start()
