"""Personas and helpers shared by every test: two customers, a VIP, an agent of each
department, an admin, built once per test on a real database."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
import time_machine
from django.conf import settings
from django.core import mail
from django.test import Client
from django.utils import translation
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings

from destek.accounts.actions import issue_api_token
from destek.accounts.models import User
from destek.demo.data import load_demo

# pytest-django lets a DJANGO_SETTINGS_MODULE in the shell win over pyproject.toml: the suite
# on production settings would write under DESTEK_DATA_DIR and send real mail.
if not settings.TESTING:
    raise pytest.UsageError(
        "The tests need DJANGO_SETTINGS_MODULE=destek.settings_test, "
        f"not {settings.SETTINGS_MODULE}."
    )

# The machines that run the suite are shared and noisy: a slow moment (another job, the first
# import of a module inside a test) is not a property of the code. No per-example deadline,
# and slow input generation is not a failure.
hypothesis_settings.register_profile(
    "destek", deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
hypothesis_settings.load_profile("destek")


def signed_in_client(user: User, language: str = "en") -> Client:
    """A browser-like client signed in as `user`, its pages in `language`."""
    client = Client()
    client.force_login(user)
    client.cookies["django_language"] = language
    return client


class ApiClient:
    """Talks to /api/v1/ as one user, committing like production: jobs queued with
    `transaction.on_commit` run inline after each request (Huey is immediate in tests)."""

    def __init__(self, user: User | None, capture: Any, language: str | None = None) -> None:
        self.user = user
        self.client = Client()
        self.capture = capture
        self.language = language
        self.token = issue_api_token(user) if user is not None else None

    def _headers(self, extra: dict[str, str] | None) -> dict[str, str]:
        headers: dict[str, str] = {}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        if self.language:
            headers["Accept-Language"] = self.language
        headers.update(extra or {})
        return headers

    def request(
        self, method: str, path: str, data: Any = None, headers: dict[str, str] | None = None
    ) -> Any:
        url = path if path.startswith("/") else f"/api/v1/{path}"
        kwargs: dict[str, Any] = {"headers": self._headers(headers)}
        if data is not None:
            kwargs["data"] = json.dumps(data)
            kwargs["content_type"] = "application/json"
        with self.capture(execute=True):
            return getattr(self.client, method)(url, **kwargs)

    def get(self, path: str, **kw: Any) -> Any:
        return self.request("get", path, **kw)

    def post(self, path: str, data: Any = None, **kw: Any) -> Any:
        return self.request("post", path, data if data is not None else {}, **kw)

    def patch(self, path: str, data: Any, **kw: Any) -> Any:
        return self.request("patch", path, data, **kw)

    def delete(self, path: str, **kw: Any) -> Any:
        return self.request("delete", path, **kw)

    def file_ticket(
        self,
        subject: str = "Invoice page shows error 500",
        body: str = "Since this morning the invoice page fails with error 500.",
        **extra: Any,
    ) -> dict[str, Any]:
        response = self.post("tickets", {"subject": subject, "body": body, **extra})
        assert response.status_code == 201, response.content
        return dict(response.json())


@pytest.fixture
def demo(db: Any) -> None:
    load_demo(knowledge_base=False)  # the articles cost a second; tests that need them load them


@pytest.fixture
def users(demo: None) -> dict[str, User]:
    return {u.email.split("@")[0]: u for u in User.objects.all()}


@pytest.fixture
def as_user(django_capture_on_commit_callbacks: Any, users: dict[str, User]) -> Any:
    def make(name: str | None, language: str | None = "en") -> ApiClient:
        return ApiClient(
            users[name] if name else None, django_capture_on_commit_callbacks, language
        )

    return make


@pytest.fixture
def customer(as_user: Any) -> ApiClient:
    return as_user("customer")  # type: ignore[no-any-return]


@pytest.fixture
def customer2(as_user: Any) -> ApiClient:
    return as_user("customer2")  # type: ignore[no-any-return]


@pytest.fixture
def vip(as_user: Any) -> ApiClient:
    return as_user("vip")  # type: ignore[no-any-return]


@pytest.fixture
def agent(as_user: Any) -> ApiClient:
    """Agent of the Technical department."""
    return as_user("agent")  # type: ignore[no-any-return]


@pytest.fixture
def finance(as_user: Any) -> ApiClient:
    """Agent of the Finance department."""
    return as_user("finance")  # type: ignore[no-any-return]


@pytest.fixture
def admin(as_user: Any) -> ApiClient:
    return as_user("admin")  # type: ignore[no-any-return]


@pytest.fixture
def anonymous(as_user: Any) -> ApiClient:
    return as_user(None)  # type: ignore[no-any-return]


@pytest.fixture
def outbox() -> Iterator[list[Any]]:
    mail.outbox = []
    yield mail.outbox


@pytest.fixture(autouse=True)
def _default_language() -> Iterator[None]:
    """A request activates its user's language for the thread; the next test must not start
    in it (tickets take the active language, and the desk offers canned replies by it)."""
    translation.deactivate()
    yield
    translation.deactivate()


@pytest.fixture(autouse=True)
def _media_in_tmp(settings: Any, tmp_path: Any) -> None:
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture(autouse=True)
def _tokens_outlive_time_travel(settings: Any) -> None:
    """Tests travel weeks ahead with the API clients made at the start; the idle end of API
    tokens is tested on its own, with DESTEK_API_TOKEN_IDLE_DAYS set there."""
    settings.DESTEK_API_TOKEN_IDLE_DAYS = 36500


@pytest.fixture
def run_job(django_capture_on_commit_callbacks: Any) -> Any:
    """Run a job as the worker would: what it queues after commit runs too."""

    def run(job: Any, *args: Any, **kwargs: Any) -> Any:
        with django_capture_on_commit_callbacks(execute=True):
            return job(*args, **kwargs)

    return run


@pytest.fixture
def one_rate_window() -> Iterator[time_machine.Traveller]:
    """The clock stands still for the test. Rate limits count in fixed windows of the clock
    (destek.lib.ratelimit): a test that counts up to a limit and runs across a window's edge
    sees its attempts split in two, under the limit. A test may still travel on from it."""
    with time_machine.travel(time.time(), tick=False) as traveller:
        yield traveller


@pytest.fixture(autouse=True)
def _fresh_cache() -> Iterator[None]:
    """Rate-limit counters and heartbeats must not leak from one test into the next."""
    from django.core.cache import cache

    from destek.lib import config_cache
    from destek.tickets import search

    cache.clear()
    config_cache.start_afresh()  # the configuration the last test rolled back is not kept
    search._known_terms.clear()  # nor the search words it indexed
    yield


@pytest.fixture
def search_later(settings: Any, monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """As in production, a ticket's search words are rebuilt by the worker seconds later: the
    request only schedules it (the statements are the worker's). The scheduled calls are kept."""
    from destek.tickets import search_jobs

    scheduled: list[Any] = []
    settings.DESTEK_SEARCH_DELAY_SECONDS = 5
    monkeypatch.setattr(
        search_jobs.index_ticket, "schedule", lambda args, delay: scheduled.append(args)
    )
    return scheduled
