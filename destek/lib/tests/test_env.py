from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from django.core.exceptions import ImproperlyConfigured

from destek.lib.env import env_bool, env_int, env_list, env_str

ROOT = Path(__file__).resolve().parents[3]


def test_every_setting_read_from_the_environment_is_in_env_example() -> None:
    read = set()
    for path in (ROOT / "destek").rglob("*.py"):
        if "tests" in path.parts:
            continue
        pattern = r'env_(?:str|bool|int|list|pairs)\(\s*"([A-Z_]+)"'
        read |= set(re.findall(pattern, path.read_text()))
    listed = set(re.findall(r"^([A-Z_]+)=", (ROOT / ".env.example").read_text(), re.M))
    assert read - listed == set()


def test_a_bad_number_stops_start_up_with_the_variables_name(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DESTEK_X", "ten")
    with pytest.raises(ImproperlyConfigured, match="DESTEK_X"):
        env_int("DESTEK_X", 1)
    monkeypatch.setenv("DESTEK_X", "maybe")
    with pytest.raises(ImproperlyConfigured, match="DESTEK_X"):
        env_bool("DESTEK_X")


def test_values_parse_and_secrets_come_from_files(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("DESTEK_X", "yes")
    assert env_bool("DESTEK_X") is True
    monkeypatch.setenv("DESTEK_L", "a, b,,c")
    assert env_list("DESTEK_L") == ["a", "b", "c"]
    secret = tmp_path / "secret"
    secret.write_text("s3cr3t\n")
    monkeypatch.setenv("DESTEK_S_FILE", str(secret))
    assert env_str("DESTEK_S") == "s3cr3t"
    monkeypatch.setenv("DESTEK_N", "0")
    with pytest.raises(ImproperlyConfigured):
        env_int("DESTEK_N", 5, minimum=1)


def test_rate_limits_key_on_the_client_behind_trusted_proxies(settings: Any) -> None:
    from types import SimpleNamespace

    from destek.lib.ratelimit import client_ip

    request = SimpleNamespace(
        META={"REMOTE_ADDR": "10.0.0.2", "HTTP_X_FORWARDED_FOR": "6.6.6.6, 203.0.113.9"}
    )
    settings.DESTEK_TRUSTED_PROXIES = 0
    assert client_ip(request) == "10.0.0.2"
    settings.DESTEK_TRUSTED_PROXIES = 1
    assert client_ip(request) == "203.0.113.9", "the forged first hop is ignored"


def test_a_cache_outage_lets_requests_through(monkeypatch: pytest.MonkeyPatch) -> None:
    from django.core.cache import cache

    from destek.lib.ratelimit import hit

    def down(*args: Any, **kwargs: Any) -> Any:
        raise ConnectionError("redis is down")

    monkeypatch.setattr(cache, "add", down)
    assert hit("login", "someone", limit=1, window_seconds=60) is True


@pytest.mark.usefixtures("one_rate_window")
def test_the_rate_limit_counts_in_redis_in_one_round_trip_and_expires(
    settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    import socket

    import redis
    from django.core.cache import caches

    from destek.lib.ratelimit import hit

    try:
        socket.create_connection(("127.0.0.1", 6379), timeout=0.5).close()
    except OSError:
        pytest.skip("no Redis on 127.0.0.1:6379 (the PostgreSQL and Redis suite runs this)")
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:6379/14",
            "KEY_PREFIX": "ratelimit-test",
        }
    }
    backend = caches["default"]
    backend.clear()
    trips: list[int] = []
    real_execute = redis.client.Pipeline.execute

    def execute(self: Any, *args: Any, **kwargs: Any) -> Any:
        trips.append(1)
        return real_execute(self, *args, **kwargs)

    monkeypatch.setattr(redis.client.Pipeline, "execute", execute)
    try:
        allowed = [hit("signin", "ip-1", limit=2, window_seconds=60) for _ in range(3)]
        assert allowed == [True, True, False]
        assert hit("signin", "ip-2", limit=2, window_seconds=60) is True, "per identity"
        assert len(trips) == 4, "one round trip per attempt"
        client = redis.Redis.from_url("redis://127.0.0.1:6379/14")
        keys = client.keys("ratelimit-test:*rl:signin:*")
        assert len(keys) == 2 and all(0 < client.ttl(key) <= 61 for key in keys)
    finally:
        backend.clear()


def test_name_value_pairs_parse_and_a_broken_pair_stops_start_up(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from destek.lib.env import env_pairs

    monkeypatch.setenv("DESTEK_P", "shop=s3=cr3t, blog = other")
    assert env_pairs("DESTEK_P") == {"shop": "s3=cr3t", "blog": "other"}
    monkeypatch.setenv("DESTEK_P", "shop=a,shop=b")
    with pytest.raises(ImproperlyConfigured, match="DESTEK_P"):
        env_pairs("DESTEK_P")
    monkeypatch.setenv("DESTEK_P", "shop")
    with pytest.raises(ImproperlyConfigured, match="DESTEK_P"):
        env_pairs("DESTEK_P")
