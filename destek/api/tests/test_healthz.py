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
