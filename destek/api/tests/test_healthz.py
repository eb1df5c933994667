from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from destek.lib.health import beat


@pytest.mark.django_db
def test_healthz_answers_ok_and_reports_the_worker_heartbeat(settings: Any) -> None:
    response = Client().get("/healthz")
    assert response.status_code == 200
    assert response.json()["status"] == "ok"
    assert response.json()["worker_heartbeat_age_seconds"] is None
    beat()
    assert Client().get("/healthz").json()["worker_heartbeat_age_seconds"] < 5


@pytest.mark.django_db
def test_the_openapi_spec_is_served() -> None:
    spec = Client().get("/api/v1/openapi.json").json()
    assert spec["openapi"].startswith("3.")
    for path in (
        "/api/v1/tickets",
        "/api/v1/tickets/{number}",
        "/api/v1/auth/token",
        "/api/v1/tickets/{number}/merge",
        "/api/v1/tickets/{number}/events",
    ):
        assert path in spec["paths"], path


@pytest.mark.django_db
def test_the_api_docs_page_loads_nothing_from_outside() -> None:
    import re

    page = Client().get("/api/v1/docs").content.decode()
    urls = re.findall(r'(?:src|href)="([^"]+)"', page)
    assert urls and all(url.startswith("/") for url in urls), urls


def _delivery(**fields: Any) -> Any:
    from destek.notify.models import Delivery

    return Delivery.objects.create(
        template="ticket_created",
        recipient="customer@example.com",
        language="en",
        subject="s",
        body_text="b",
        message_id=f"<{fields.pop('key', 'x')}@destek.localhost>",
        **fields,
    )


@pytest.mark.django_db
def test_healthz_reports_each_component() -> None:
    body = Client().get("/healthz").json()
    assert set(body["components"]) == {"database", "cache", "queue", "worker", "disk", "outbox"}
    assert body["components"]["worker"]["status"] == "inline", "tests run jobs inline"
    assert body["components"]["outbox"] == {
        "status": "ok",
        "due": 0,
        "oldest_due_age_seconds": None,
        "max_due": 1000,
        "max_delay_seconds": 900,
    }


@pytest.mark.django_db
def test_a_dead_worker_makes_healthz_fail_after_the_start_up_grace(settings: Any) -> None:
    from django.core.cache import cache

    from destek.lib.health import KEY

    cache.delete(KEY)
    settings.HUEY_IMMEDIATE = False
    settings.DESTEK_HEALTH_STARTUP_GRACE = 3600
    starting = Client().get("/healthz")
    assert starting.status_code == 200, "no heartbeat yet, just started: still starting"
    assert starting.json()["components"]["worker"]["status"] == "starting"
    settings.DESTEK_HEALTH_STARTUP_GRACE = 0
    dead = Client().get("/healthz")
    assert dead.status_code == 503
    assert dead.json()["status"] == "failing"
    assert dead.json()["failing"] == ["worker"]
    beat()
    assert Client().get("/healthz").status_code == 200, "a fresh heartbeat: alive again"


@pytest.mark.django_db
def test_a_load_balancer_can_ask_only_about_the_web(settings: Any) -> None:
    settings.HUEY_IMMEDIATE = False
    settings.DESTEK_HEALTH_STARTUP_GRACE = 0
    response = Client().get("/healthz?component=web")
    assert response.status_code == 200
    assert set(response.json()["components"]) == {"database", "disk"}
    assert Client().get("/healthz?component=worker").status_code == 503
    assert Client().get("/healthz?component=nonsense").status_code == 400


@pytest.mark.django_db
def test_a_nearly_full_data_disk_makes_healthz_fail(settings: Any) -> None:
    settings.DESTEK_HEALTH_DISK_MIN_MB = 10**12
    response = Client().get("/healthz")
    assert response.status_code == 503
    assert response.json()["failing"] == ["disk"]


@pytest.mark.django_db
def test_an_outbox_backlog_or_an_old_due_mail_makes_healthz_fail(settings: Any) -> None:
    from datetime import timedelta

    from django.utils import timezone

    _delivery(key="a", next_attempt_at=timezone.now() - timedelta(minutes=20))
    response = Client().get("/healthz")
    assert response.status_code == 503
    assert response.json()["failing"] == ["outbox"]
    assert response.json()["components"]["outbox"]["oldest_due_age_seconds"] >= 1200
    settings.DESTEK_HEALTH_OUTBOX_MAX_DELAY = 3600
    assert Client().get("/healthz").status_code == 200
    settings.DESTEK_HEALTH_OUTBOX_MAX_DUE = 1
    _delivery(key="b")
    assert Client().get("/healthz?component=outbox").status_code == 503


@pytest.mark.django_db
def test_healthz_answers_503_naming_the_database_when_it_does_not_answer() -> None:
    from django.db import OperationalError, connection

    def refuse(*args: Any) -> Any:
        raise OperationalError("Connection refused")

    with connection.execute_wrapper(refuse):
        response = Client().get("/healthz")
    assert response.status_code == 503
    assert response.json()["database"] == "unavailable"
    assert "database" in response.json()["failing"]


@pytest.mark.django_db
def test_livez_answers_while_the_database_is_away_whatever_the_host_and_scheme(
    settings: Any,
) -> None:
    from django.db import OperationalError, connection

    settings.SECURE_SSL_REDIRECT = True  # DESTEK_HTTPS=1: the probe still comes over HTTP

    def refuse(*args: Any) -> Any:
        raise OperationalError("Connection refused")

    with connection.execute_wrapper(refuse):
        response = Client().get("/livez", headers={"Host": "10.0.0.7:8000"})
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert response["Cache-Control"] == "no-store"


@pytest.mark.django_db
def test_readyz_takes_a_web_process_out_when_its_database_does_not_answer_but_not_for_redis(
    settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from django.core.cache import cache
    from django.db import OperationalError, connection

    settings.SECURE_SSL_REDIRECT = True
    settings.HUEY_IMMEDIATE = False
    settings.DESTEK_HEALTH_STARTUP_GRACE = 0  # a dead worker is no reason to leave the pool
    probe = {"Host": "10.0.0.7:8000"}  # a load balancer asks with the backend's address
    ready = Client().get("/readyz", headers=probe)
    assert ready.status_code == 200, ready.content
    assert set(ready.json()["components"]) == {"database", "disk"}

    def refuse(*args: Any) -> Any:
        raise OperationalError("Connection refused")

    with connection.execute_wrapper(refuse):
        away = Client().get("/readyz", headers=probe)
    assert away.status_code == 503
    assert away.json()["failing"] == ["database"]

    def no_redis(*args: Any, **kwargs: Any) -> Any:
        raise ConnectionError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    monkeypatch.setattr(cache, "get", no_redis)
    # Requests are still served without the cache (rate limits let them through): a Redis
    # restart must not empty the pool. Monitoring sees it in /healthz.
    assert Client().get("/readyz", headers=probe).status_code == 200
    assert Client().get("/healthz?component=cache", secure=True).json()["failing"] == ["cache"]
    assert Client().post("/readyz", headers=probe).status_code == 405


@pytest.mark.django_db
def test_with_attachments_in_a_bucket_the_disk_check_watches_only_the_data_directory(
    settings: Any,
) -> None:
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {"BACKEND": "destek.lib.storage_s3.PrivateS3Storage", "OPTIONS": {}},
    }
    disk = Client().get("/healthz?component=disk").json()["components"]["disk"]
    assert set(disk["free_mb"]) == {"data"}
