"""The status page kept in the cache: a change shows at once, and when the database fails or
is too slow the last good copy is shown, with its time, instead of an error."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import OperationalError, connection
from django.test import Client

from conftest import signed_in_client
from destek.accounts.models import User
from destek.announcements import actions, selectors
from destek.demo.status import load_status

pytestmark = pytest.mark.django_db
AS_OF = "Shown as of"


@pytest.fixture
def commit(demo: None, django_capture_on_commit_callbacks: Any) -> Any:
    load_status()

    def run(action: Any, *args: Any, **kwargs: Any) -> Any:
        with django_capture_on_commit_callbacks(execute=True):
            return action(*args, **kwargs)

    return run


def page(language: str = "en") -> str:
    client = Client(raise_request_exception=False)
    client.cookies["django_language"] = language
    response = client.get("/status/")
    assert response.status_code == 200
    return str(response.content.decode())


def _database_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    def fail() -> Any:
        raise OperationalError("could not connect to server")

    monkeypatch.setattr(selectors, "services", fail)


def test_a_status_change_shows_on_the_page_at_once(commit: Any) -> None:
    assert "API is slow" not in page()
    commit(actions.create_incident, None, title="API is slow", body="Slow.", services=["api"])
    assert "API is slow" in page()


def test_the_page_survives_a_database_error_with_its_last_good_copy(
    commit: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    good = page()
    assert "Database upgrade in Istanbul" in good and AS_OF not in good
    # A change forgets the fresh copy; then the database fails.
    commit(actions.create_incident, None, title="API is slow", body="Slow.", services=["api"])
    _database_fails(monkeypatch)
    shown = page()
    assert AS_OF in shown
    assert "Database upgrade in Istanbul" in shown
    assert "API is slow" not in shown  # as of the last good copy
    monkeypatch.undo()
    back = page()
    assert AS_OF not in back and "API is slow" in back


def test_the_last_good_copy_is_kept_per_language(
    commit: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    page("en")
    page("ru")
    commit(actions.create_incident, None, title="API is slow", body="Slow.", services=["api"])
    _database_fails(monkeypatch)
    assert "Обновление базы данных в Стамбуле" in page("ru")
    assert "Database upgrade in Istanbul" in page("en")


def test_without_a_good_copy_the_database_error_is_not_hidden(
    commit: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    _database_fails(monkeypatch)
    response = Client(raise_request_exception=False).get("/status/")
    assert response.status_code >= 500


def test_the_cached_page_keeps_no_one_s_menu_or_token(commit: Any, users: dict[str, User]) -> None:
    customer = users["customer"]
    mine = signed_in_client(customer, "en").get("/status/").content.decode()
    assert customer.display_name in mine
    theirs = page("en")
    assert customer.display_name not in theirs
    assert "Sign in" in theirs


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's statement_timeout")
def test_a_slow_database_is_cut_short_and_the_last_good_copy_shown(
    commit: Any, monkeypatch: pytest.MonkeyPatch, settings: Any
) -> None:
    page()
    commit(actions.create_incident, None, title="API is slow", body="Slow.", services=["api"])
    settings.DESTEK_STATUS_DB_TIMEOUT_MS = 50
    real = selectors.services

    def slow() -> Any:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_sleep(2)")
        return real()

    monkeypatch.setattr(selectors, "services", slow)
    shown = page()
    assert AS_OF in shown
    assert "API is slow" not in shown


def test_a_second_visitor_s_page_comes_from_the_cache(
    commit: Any, django_assert_max_num_queries: Any
) -> None:
    page()
    with django_assert_max_num_queries(0):
        assert "Database upgrade in Istanbul" in page()


def test_a_persian_reader_gets_the_calendar_they_chose_not_the_previous_readers(
    commit: Any,
) -> None:
    hijri = User.objects.create_user(
        email="hijri@example.com", password="x", language="fa", calendar="solar_hijri"
    )
    gregorian = User.objects.create_user(
        email="gregorian@example.com", password="x", language="fa", calendar="gregorian"
    )
    first = signed_in_client(hijri, "fa").get("/status/").content.decode()
    second = signed_in_client(gregorian, "fa").get("/status/").content.decode()
    assert "آذر" in first or "دی" in first  # solar Hijri months
    assert "دسامبر" in second or "ژانویه" in second  # Gregorian months, in Persian
