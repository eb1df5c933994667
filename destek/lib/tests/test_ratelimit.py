"""The fixed-window limits, on the cache the suite runs with (memory, or Redis in `.ci/run`)."""

from __future__ import annotations

import uuid

import pytest
from django.conf import settings
from django.core.cache import cache
from django.core.cache.backends.redis import RedisCache

from destek.lib.ratelimit import Limit, hit, hit_all


@pytest.mark.usefixtures("one_rate_window")
def test_an_attempt_counts_against_every_limit_it_is_checked_with() -> None:
    ident = uuid.uuid4().hex
    chat, address = Limit("t-chat", ident, 3, 60), Limit("t-ip", ident, 5, 60)
    assert [hit_all(chat, address) for _ in range(3)] == [True, True, True]
    assert not hit_all(chat, address), "the fourth message of one chat is over its limit"
    # The address counted those four too: one more from it, in another chat, is the fifth.
    other = Limit("t-chat", uuid.uuid4().hex, 3, 60)
    assert hit_all(other, address)
    assert not hit_all(other, address)


@pytest.mark.usefixtures("one_rate_window")
def test_one_limit_alone_refuses_after_its_count() -> None:
    ident = uuid.uuid4().hex
    assert [hit("t-one", ident, limit=2, window_seconds=60) for _ in range(3)] == [
        True,
        True,
        False,
    ]


def test_a_cache_that_does_not_answer_lets_the_attempt_through(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def down(*args: object, **kwargs: object) -> None:
        raise ConnectionError("the cache is away")

    monkeypatch.setattr(cache, "add", down)
    monkeypatch.setattr("destek.lib.ratelimit._redis_counts", down)
    assert hit_all(Limit("t-down", uuid.uuid4().hex, 0, 60))


@pytest.mark.skipif(not settings.REDIS_URL, reason="needs REDIS_URL (run by .ci/run)")
@pytest.mark.usefixtures("one_rate_window")
def test_on_redis_the_limits_are_counted_together_and_expire_with_their_window(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    redis = RedisCache(settings.REDIS_URL, {"KEY_PREFIX": f"t{uuid.uuid4().hex[:8]}"})
    monkeypatch.setattr("destek.lib.ratelimit.caches", {"default": redis})
    ident = uuid.uuid4().hex
    chat, address = Limit("t-chat", ident, 2, 60), Limit("t-ip", ident, 3, 3600)
    assert [hit_all(chat, address) for _ in range(3)] == [True, True, False]
    client = redis._cache.get_client()  # type: ignore[attr-defined]
    for one in (chat, address):
        key = redis.make_and_validate_key(one.key())
        assert int(client.get(key)) == 3
        assert 0 < client.ttl(key) <= one.window_seconds + 1
