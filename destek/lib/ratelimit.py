"""A fixed-window rate limit on the shared cache (Redis in production)."""

from __future__ import annotations

import hashlib
import logging
import math
import time
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache, caches
from django.core.cache.backends.redis import RedisCache

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Limit:
    """At most `limit` attempts of `ident` in `scope` per window of `window_seconds`."""

    scope: str
    ident: str
    limit: int
    window_seconds: int

    def key(self) -> str:
        digest = hashlib.sha256(self.ident.encode()).hexdigest()[:32]
        bucket = int(time.time() // self.window_seconds)
        return f"rl:{self.scope}:{digest}:{bucket}"


def hit(scope: str, ident: str, *, limit: int, window_seconds: int) -> bool:
    """Count one attempt; False once `limit` attempts were made in the current window."""
    return hit_all(Limit(scope, ident, limit, window_seconds))


def hit_all(*limits: Limit) -> bool:
    """Count one attempt against each limit (in one round trip on Redis); False when any is
    over. A cache outage lets requests through (and logs it): locking every user out of
    sign-in while Redis restarts would be worse than a few minutes without a limit."""
    try:
        backend = caches["default"]
        if isinstance(backend, RedisCache):
            counts = _redis_counts(backend, limits)
        else:
            counts = [_local_count(one) for one in limits]
    except Exception:
        scopes = ", ".join(one.scope for one in limits)
        log.warning("rate limit %s: the cache does not answer; allowing", scopes, exc_info=True)
        return True
    return all(count <= one.limit for count, one in zip(counts, limits, strict=True))


def _local_count(one: Limit) -> int:
    key, timeout = one.key(), one.window_seconds + 1
    if cache.add(key, 1, timeout=timeout):
        return 1
    try:
        return int(cache.incr(key))
    except ValueError:  # expired between add and incr
        cache.add(key, 1, timeout=timeout)
        return 1


def _redis_counts(backend: RedisCache, limits: tuple[Limit, ...]) -> list[int]:
    """Count one per limit in Redis in one round trip: each window's counter made with its
    expiry if it is new (SET NX EX, any Redis version), then INCR."""
    keys = [backend.make_and_validate_key(one.key()) for one in limits]
    client = backend._cache.get_client(keys[0], write=True)  # type: ignore[attr-defined]
    pipe = client.pipeline(transaction=False)
    for key, one in zip(keys, limits, strict=True):
        pipe.set(key, 0, ex=one.window_seconds + 1, nx=True)
        pipe.incr(key)
    answers = pipe.execute()
    return [int(count) for count in answers[1::2]]


def _failure_key(scope: str, ident: str, window_seconds: int) -> tuple[str, float]:
    """The counter's key and the moment its window ends."""
    digest = hashlib.sha256(ident.encode()).hexdigest()[:32]
    now = time.time()
    bucket = int(now // window_seconds)
    return f"rl:{scope}:{digest}:{bucket}", (bucket + 1) * window_seconds


def wait_seconds(scope: str, ident: str, *, limit: int, window_seconds: int) -> int:
    """Seconds until `ident` may try again: 0 while fewer than `limit` failures were counted
    (by `count_failure`) in the current window. Reading counts nothing, so a limit that counts
    only failures lets the right answer through until the limit is reached."""
    key, ends = _failure_key(scope, ident, window_seconds)
    try:
        count = cache.get(key) or 0
    except Exception:
        log.warning("rate limit %s: the cache does not answer; allowing", scope, exc_info=True)
        return 0
    if count < limit:
        return 0
    return max(1, math.ceil(ends - time.time()))


def count_failure(scope: str, ident: str, *, window_seconds: int) -> None:
    """Count one failed attempt of `ident` in the current window (see `wait_seconds`)."""
    key, _ends = _failure_key(scope, ident, window_seconds)
    try:
        if cache.add(key, 1, timeout=window_seconds + 1):
            return
        try:
            cache.incr(key)
        except ValueError:  # expired between add and incr
            cache.add(key, 1, timeout=window_seconds + 1)
    except Exception:
        log.warning("rate limit %s: the cache does not answer", scope, exc_info=True)


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
