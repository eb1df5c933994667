"""A fixed-window rate limit on the shared cache (Redis in production)."""

from __future__ import annotations

import hashlib
import logging
import time

from django.conf import settings
from django.core.cache import cache

log = logging.getLogger(__name__)


def hit(scope: str, ident: str, *, limit: int, window_seconds: int) -> bool:
    """Count one attempt; False once `limit` attempts were made in the current window.

    A cache outage lets requests through (and logs it): locking every user out of sign-in
    while Redis restarts would be worse than a few minutes without a limit.
    """
    digest = hashlib.sha256(ident.encode()).hexdigest()[:32]
    bucket = int(time.time() // window_seconds)
    key = f"rl:{scope}:{digest}:{bucket}"
    try:
        if cache.add(key, 1, timeout=window_seconds + 1):
            return True
        try:
            count = cache.incr(key)
        except ValueError:  # expired between add and incr
            cache.add(key, 1, timeout=window_seconds + 1)
            return True
    except Exception:
        log.warning("rate limit %s: the cache does not answer; allowing", scope, exc_info=True)
        return True
    return count <= limit


def client_ip(request: object) -> str:
    """The client's address. Behind DESTEK_TRUSTED_PROXIES reverse proxies, the address the
    nearest untrusted hop reported in X-Forwarded-For (the rest of the header is forgeable)."""
    meta = getattr(request, "META", {})
    proxies = settings.DESTEK_TRUSTED_PROXIES
    if proxies:
        hops = [h.strip() for h in str(meta.get("HTTP_X_FORWARDED_FOR", "")).split(",")]
        hops = [h for h in hops if h]
        if len(hops) >= proxies:
            return hops[-proxies]
    return str(meta.get("REMOTE_ADDR", ""))
