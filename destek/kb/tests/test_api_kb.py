"""`/api/v1/kb/search` and `/api/v1/kb/suggest`, as other front ends call them."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from destek.accounts.models import User
from destek.api import kb as kb_api
from destek.kb.choices import ArticleStatus, Visibility
from destek.kb.models import SearchLog
from destek.kb.tests.pages_helpers import article, page, reset_password

pytestmark = pytest.mark.django_db


def ask(path: str, language: str | None = "en", **params: Any) -> Any:
    headers = {"Accept-Language": language} if language else {}
    return Client(headers=headers).get(f"/api/v1/kb/{path}", params)


def test_search_answers_anyone_with_title_url_and_snippet(db: Any) -> None:
    made = reset_password()
    response = ask("search", q="forgot password")
    assert response.status_code == 200
    [found] = response.json()
    assert found["title"] == "Reset your password"
    assert found["url"] == page(made, "en")
    assert found["key"] == "reset-password"
    assert found["section"] == "Account"
    assert found["language"] == "en"
    assert found["internal"] is False
    assert "<" not in found["snippet"] and "password" in found["snippet"].lower()
    assert "<mark>" in found["snippet_html"]
    assert found["score"] > 0
    assert Client().get(found["url"]).status_code == 200
    log = SearchLog.objects.get()
    assert (log.query, log.results, log.source) == ("forgot password", 1, "api")


def test_the_language_comes_from_lang_else_accept_language(db: Any) -> None:
    made = reset_password()
    russian = ask("search", language="en", q="пароль", lang="ru").json()
    assert [hit["url"] for hit in russian] == [page(made, "ru")]
    by_header = ask("search", language="fa", q="رمز عبور").json()
    assert by_header[0]["language"] == "fa"
    assert by_header[0]["section"] == "حساب کاربری"
    assert ask("search", language="en", q="пароль", lang="ru-RU").json()[0]["language"] == "ru"


def test_a_signed_in_callers_own_language_is_the_default(
    users: dict[str, User], as_user: Any
) -> None:
    reset_password()
    users["customer"].language = "ru"
    users["customer"].save(update_fields=["language"])
    caller = as_user("customer", language=None)
    found = caller.get("/api/v1/kb/search?q=пароль").json()
    assert found[0]["language"] == "ru"


def test_an_unknown_language_is_refused(db: Any) -> None:
    response = ask("search", q="password", lang="xx")
    assert response.status_code == 422
    assert response.json()["code"] == "unknown_language"
    assert ask("suggest", subject="password", lang="klingon").status_code == 422


def test_an_empty_query_finds_nothing(db: Any) -> None:
    reset_password()
    assert ask("search", q="").json() == []
    assert ask("search", q="   ").json() == []
    assert ask("search").json() == []
    assert ask("suggest", subject="pa").json() == []
    assert SearchLog.objects.count() == 0


def test_a_very_long_query_is_refused_not_a_crash(db: Any) -> None:
    reset_password()
    response = ask("search", q="password " * 1200)
    assert response.status_code == 422
    assert response.json()["code"] == "invalid"
    assert ask("suggest", subject="x" * 10_000).status_code == 422
    cut = ask("search", q=("password " * 55).strip())
    assert cut.status_code == 200


@pytest.mark.parametrize(
    "query",
    ["\x00", "password\x00", "'; DROP TABLE kb_translation; --", '"*" OR NEAR(', "🙂🙂🙂", "ـ‌ـ"],
)
def test_odd_queries_get_an_answer(db: Any, query: str) -> None:
    reset_password()
    assert ask("search", q=query).status_code == 200
    assert ask("suggest", subject=query).status_code == 200


def test_suggest_returns_at_most_five_best_first(db: Any) -> None:
    for n in range(8):
        article(
            f"payment-{n}",
            {"en": (f"Payment failed case {n}", "A payment failed at the bank." * (n + 1))},
        )
    found = ask("suggest", subject="payment failed").json()
    assert len(found) == 5
    scores = [hit["score"] for hit in found]
    assert scores == sorted(scores, reverse=True)
    assert SearchLog.objects.get().source == "suggest"
    assert len(ask("search", q="payment failed", limit=3).json()) == 3
    assert len(ask("search", q="payment failed").json()) == 8


def test_drafts_and_internal_articles_stay_out_for_customers_and_visitors(
    as_user: Any, agent: Any
) -> None:
    article("draft", {"en": ("Refund rules draft", "Refund soon.")}, status=ArticleStatus.DRAFT)
    article(
        "internal",
        {"en": ("Refund override procedure", "Refund override.")},
        visibility=Visibility.INTERNAL,
    )
    article("public", {"en": ("Ask for a refund", "How to ask for a refund.")})
    for caller in (as_user(None), as_user("customer")):
        titles = [hit["title"] for hit in caller.get("/api/v1/kb/search?q=refund").json()]
        assert titles == ["Ask for a refund"]
        refused = caller.get("/api/v1/kb/search?q=refund&internal=true")
        assert refused.status_code == 403
    titles = [hit["title"] for hit in agent.get("/api/v1/kb/search?q=refund").json()]
    assert titles == ["Ask for a refund"]
    both = agent.get("/api/v1/kb/search?q=refund&internal=true").json()
    assert {hit["title"]: hit["internal"] for hit in both} == {
        "Ask for a refund": False,
        "Refund override procedure": True,
    }


def test_titles_come_back_as_plain_strings(db: Any) -> None:
    article("xss", {"en": ("<script>alert(1)</script> password", "The password form.")})
    [found] = ask("search", q="password").json()
    assert found["title"] == "<script>alert(1)</script> password"
    assert "<script>" not in found["snippet_html"]


@pytest.mark.usefixtures("one_rate_window")
def test_too_many_searches_from_one_client_are_refused(db: Any, monkeypatch: Any) -> None:
    monkeypatch.setattr(kb_api, "PER_MINUTE", 3)
    reset_password()
    client = Client(REMOTE_ADDR="203.0.113.9")
    answers = [client.get("/api/v1/kb/suggest", {"subject": "password"}) for _ in range(3)]
    assert [a.status_code for a in answers] == [200, 200, 200]
    limited = client.get("/api/v1/kb/search", {"q": "password"})
    assert limited.status_code == 429
    assert limited.json()["code"] == "rate_limited"
    assert limited.json()["detail"]
    assert Client(REMOTE_ADDR="203.0.113.10").get("/api/v1/kb/search?q=x").status_code == 200


def test_the_openapi_spec_describes_both_endpoints(db: Any) -> None:
    spec = Client().get("/api/v1/openapi.json").json()
    for path in ("/api/v1/kb/search", "/api/v1/kb/suggest"):
        operation = spec["paths"][path]["get"]
        assert not operation.get("security")
        assert {"200", "422", "429"} <= set(operation["responses"])
