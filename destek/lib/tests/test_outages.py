"""A database that does not answer or a full disk: 503 with Retry-After, JSON under /api/, a
short page in the visitor's language elsewhere, one log line per kind, not a traceback per
request. And every other error under /api/ is JSON too."""

from __future__ import annotations

import errno
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from django.core.files.storage import Storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import OperationalError, connection
from django.test import Client
from django.utils import translation
from django.utils.translation import gettext

from destek.lib import outage

pytestmark = pytest.mark.django_db

UNAVAILABLE = "The service is briefly unavailable. Please try again soon."


@pytest.fixture(autouse=True)
def _fresh_log_interval() -> Iterator[None]:
    outage.forget()
    yield
    outage.forget()


@contextmanager
def database_unreachable() -> Iterator[None]:
    """Every query fails as it does when PostgreSQL is stopped."""

    def refuse(execute: Callable[..., Any], sql: str, params: Any, many: bool, context: Any) -> Any:
        raise OperationalError(
            'connection to server at "127.0.0.1", port 5432 failed: Connection refused'
        )

    with connection.execute_wrapper(refuse):
        yield


def client() -> Client:
    return Client(raise_request_exception=False)


def in_language(language: str, text: str) -> str:
    with translation.override(language):
        return gettext(text)


def test_an_api_client_gets_json_503_with_retry_after_while_the_database_is_down(
    customer: Any,
) -> None:
    with database_unreachable():
        response = client().get(
            "/api/v1/tickets",
            headers={"Authorization": f"Bearer {customer.token}", "Accept-Language": "ru"},
        )
    assert response.status_code == 503
    assert response["Content-Type"].startswith("application/json")
    assert response["Retry-After"] == "30"
    assert response.json() == {
        "detail": in_language("ru", UNAVAILABLE),
        "code": "database_unavailable",
    }


def test_a_visitor_gets_a_short_page_in_their_language_while_the_database_is_down(
    customer: Any,
) -> None:
    browser = client()
    browser.force_login(customer.user)
    with database_unreachable():
        response = browser.get("/my/tickets/", headers={"Accept-Language": "fa"})
    assert response.status_code == 503
    assert response["Retry-After"] == "30"
    page = response.content.decode()
    assert 'lang="fa" dir="rtl"' in page
    assert in_language("fa", UNAVAILABLE) in page
    assert "Traceback" not in page


def test_an_outage_is_logged_once_per_interval_not_a_traceback_per_request(
    customer: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    browser = client()
    browser.force_login(customer.user)
    api = {"Authorization": f"Bearer {customer.token}"}
    with database_unreachable():
        for _ in range(25):
            assert client().get("/api/v1/tickets", headers=api).status_code == 503
            assert browser.get("/my/tickets/").status_code == 503
    errors = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(errors) == 1, [r.getMessage() for r in errors]
    assert errors[0].exc_info is None
    assert "database_unavailable" in errors[0].getMessage()
    assert "Connection refused" in errors[0].getMessage()


def test_a_full_disk_answers_503_storage_full_and_keeps_nothing_half_written(
    customer: Any,
) -> None:
    def disk_full(execute: Callable[..., Any], sql: str, *args: Any) -> Any:
        if sql.lstrip().upper().startswith("INSERT"):
            raise OperationalError("database or disk is full")
        return execute(sql, *args)

    from destek.tickets.models import Ticket

    with connection.execute_wrapper(disk_full):
        response = client().post(
            "/api/v1/tickets",
            {"subject": "Ödeme sayfası açılmıyor", "body": "Kartla ödeme yaparken hata alıyorum."},
            content_type="application/json",
            headers={"Authorization": f"Bearer {customer.token}", "Accept-Language": "tr"},
        )
    assert response.status_code == 503
    assert response["Retry-After"] == "30"
    assert response.json()["code"] == "storage_full"
    assert not Ticket.objects.exists()


def test_a_full_disk_during_an_upload_is_refused_and_stores_nothing(
    customer: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    def disk_full(self: Any, name: str, content: Any, max_length: int | None = None) -> str:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(Storage, "save", disk_full)
    response = client().post(
        "/api/v1/attachments",
        {"file": SimpleUploadedFile("log.txt", b"hello", content_type="text/plain")},
        headers={"Authorization": f"Bearer {customer.token}", "Accept-Language": "tr"},
    )
    assert response.status_code == 507
    assert response.json()["code"] == "storage_unavailable"
    from destek.tickets.models import Attachment

    assert not Attachment.objects.exists()


def test_a_thousand_character_file_name_gets_a_json_400_not_an_html_page(
    customer: Any,
) -> None:
    name = ("ş" * 1000 + ".txt").encode()
    body = (
        b'--XyZ\r\nContent-Disposition: form-data; name="file"; filename="' + name + b'"\r\n'
        b"Content-Type: text/plain\r\n\r\nhello\r\n--XyZ--\r\n"
    )
    response = client().post(
        "/api/v1/attachments",
        data=body,
        content_type="multipart/form-data; boundary=XyZ",
        headers={"Authorization": f"Bearer {customer.token}", "Accept-Language": "az"},
    )
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_multipart"
    assert response.json()["detail"] == in_language(
        "az",
        "The uploaded form could not be read: a file name or a part's headers may be too long.",
    )


def test_an_unknown_api_path_is_a_json_404_in_the_callers_language() -> None:
    response = client().get("/api/v1/no-such-thing", headers={"Accept-Language": "tr"})
    assert response.status_code == 404
    assert response.json() == {"detail": in_language("tr", "Not found."), "code": "not_found"}


def test_a_wrong_method_on_the_api_is_a_json_405_that_says_what_is_allowed(
    customer: Any,
) -> None:
    response = client().put(
        "/api/v1/attachments", headers={"Authorization": f"Bearer {customer.token}"}
    )
    assert response.status_code == 405
    assert response.json()["code"] == "method_not_allowed"
    assert "POST" in response["Allow"]


def test_a_too_large_api_body_is_a_json_413(customer: Any) -> None:
    response = client().post(
        "/api/v1/tickets",
        data=b"x" * (6 * 1024 * 1024),
        content_type="application/json",
        headers={"Authorization": f"Bearer {customer.token}"},
    )
    assert response.status_code == 413
    assert response.json()["code"] == "request_too_large"


def test_an_unexpected_error_under_the_api_is_json_500_with_its_traceback_logged(
    customer: Any, caplog: pytest.LogCaptureFixture
) -> None:
    def bug(execute: Callable[..., Any], sql: str, params: Any, many: bool, context: Any) -> Any:
        raise RuntimeError("a bug, not an outage")

    with connection.execute_wrapper(bug):
        response = client().get(
            "/api/v1/tickets", headers={"Authorization": f"Bearer {customer.token}"}
        )
    assert response.status_code == 500
    assert response.json()["code"] == "server_error"
    assert any(r.exc_info for r in caplog.records), "a bug keeps its traceback in the log"


def test_pages_outside_the_api_keep_their_html_404() -> None:
    response = client().get("/no-such-page/")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")


def test_a_missing_page_is_explained_in_the_readers_language_with_a_way_back() -> None:
    reader = client()
    reader.cookies["django_language"] = "fa"
    page = reader.get("/no-such-page/").content.decode()
    assert 'dir="rtl"' in page
    assert "Page not found" not in page  # in Persian
    assert 'href="/"' in page
