"""A fixed-window rate limit on the shared cache (Redis in production)."""

from __future__ import annotations

import hashlib
import time

from django.core.cache import cache


def hit(scope: str, ident: str, *, limit: int, window_seconds: int) -> bool:
    """Count one attempt; False once `limit` attempts were made in the current window."""
    digest = hashlib.sha256(ident.encode()).hexdigest()[:32]
    bucket = int(time.time() // window_seconds)
    key = f"rl:{scope}:{digest}:{bucket}"
    if cache.add(key, 1, timeout=window_seconds + 1):
        return True
    try:
        count = cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.add(key, 1, timeout=window_seconds + 1)
        return True
    return count <= limit


def client_ip(request: object) -> str:
    meta = getattr(request, "META", {})
    return str(meta.get("REMOTE_ADDR", ""))
