"""What the status keeps in the shared cache (Django's cache: Redis in production, the data
folder's file cache on one machine), and when it is forgotten.

Everything cached for the banner and the status page is keyed by one version, kept in the
cache itself: every status event (an action's StatusEvent) and every change of who uses what
(ServiceUser) sets a new version once its transaction commits, so the next reader loads afresh
and a change shows at once. The version is read from the cache, never from the database: a
page can still find its copy while the database is slow or down.

The status page also keeps a *last good* copy per language and time zone, unversioned and
long-lived, which it shows (marked "Shown as of ...") when the database does not answer.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from django.core.cache import cache
from django.db import transaction

log = logging.getLogger(__name__)

VERSION_KEY = "destek:status:version"
#: How long a versioned copy is kept even when nothing changed (uptime moves with time).
FRESH_SECONDS = 60
#: The last good copy of the status page: a week.
LAST_GOOD_SECONDS = 7 * 24 * 3600


def version() -> str:
    """The status's current version (set when first asked)."""
    try:
        current = cache.get(VERSION_KEY)
        if current is None:
            current = str(time.time_ns())
            cache.add(VERSION_KEY, current, None)
            current = cache.get(VERSION_KEY) or current
        return str(current)
    except Exception:  # the cache is down: nothing kept, every read goes to the database
        log.warning("status cache: no version", exc_info=True)
        return "none"


def bump() -> None:
    """A new version: every cached banner and page is loaded afresh."""
    try:
        cache.set(VERSION_KEY, str(time.time_ns()), None)
    except Exception:
        log.warning("status cache: the version was not bumped", exc_info=True)


def bump_on_commit() -> None:
    """After the current transaction commits (at once outside one)."""
    transaction.on_commit(bump)


def key(*parts: object) -> str:
    return ":".join(["destek:status", version(), *(str(p) for p in parts)])


def get(name: str) -> Any:
    try:
        return cache.get(name)
    except Exception:
        log.warning("status cache: %s not read", name, exc_info=True)
        return None


def put(name: str, value: Any, seconds: int = FRESH_SECONDS) -> None:
    if version() == "none":
        return
    try:
        cache.set(name, value, seconds)
    except Exception:
        log.warning("status cache: %s not kept", name, exc_info=True)
