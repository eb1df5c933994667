"""Outages of what a request depends on (the database, the disk), told apart from bugs.

A database that is away or a full disk fails every request the same way. Each of them is
answered 503 with `Retry-After` (destek/lib/error_views.py) and logged as one line per kind
per `DESTEK_ERROR_LOG_INTERVAL` seconds in each process, not a traceback per request: an
outage must not fill the disk it may be waiting for.
"""

from __future__ import annotations

import errno
import logging
import threading
import time

from django.conf import settings
from django.db import InterfaceError, OperationalError

log = logging.getLogger("destek.outage")

DATABASE = "database_unavailable"
STORAGE = "storage_full"

#: Seconds a client is asked to wait before trying again.
RETRY_AFTER = 30

_FULL = {errno.ENOSPC, errno.EDQUOT}
_lock = threading.Lock()
_last_logged: dict[str, float] = {}
_muted: dict[str, int] = {}


def outage_kind(exc: BaseException | None) -> str | None:
    """`storage_full` for a full disk (ours or the database's), `database_unavailable` for a
    database that does not answer, None for anything else (a bug: logged in full)."""
    seen = 0
    while exc is not None and seen < 5:  # the cause of a wrapped error counts too
        if isinstance(exc, OSError) and exc.errno in _FULL:
            return STORAGE
        if isinstance(exc, OperationalError | InterfaceError):
            text = str(exc).lower()
            if "disk is full" in text or "no space left" in text or "disk full" in text:
                return STORAGE
            return DATABASE
        exc = exc.__cause__ or exc.__context__
        seen += 1
    return None


def log_outage(kind: str, where: str, exc: BaseException) -> bool:
    """Log one line for this kind of outage unless one was logged within the interval; the
    line says how many were muted since. Returns whether it logged."""
    now = time.monotonic()
    interval = settings.DESTEK_ERROR_LOG_INTERVAL
    with _lock:
        last = _last_logged.get(kind)
        if last is not None and now - last < interval:
            _muted[kind] = _muted.get(kind, 0) + 1
            return False
        _last_logged[kind] = now
        muted = _muted.pop(kind, 0)
    summary = " ".join(str(exc).split())[:300]
    log.error(
        "%s (%s): %s: %s; %d more muted since the last line, next line in %ss at the earliest",
        kind,
        where,
        type(exc).__name__,
        summary,
        muted,
        interval,
    )
    return True


def forget() -> None:
    """Start counting afresh (tests)."""
    with _lock:
        _last_logged.clear()
        _muted.clear()
