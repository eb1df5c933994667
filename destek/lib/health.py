"""The worker's heartbeat, written to the shared cache and read by /healthz."""

from __future__ import annotations

import time

from django.core.cache import cache

KEY = "destek:worker:heartbeat"


def beat() -> None:
    cache.set(KEY, time.time(), timeout=24 * 3600)


def worker_heartbeat_age() -> float | None:
    try:
        last = cache.get(KEY)
    except Exception:  # a cache outage must not take /healthz down with it
        return None
    return None if last is None else max(0.0, time.time() - float(last))
