"""Suggestions while filing: an article opened from them, then a ticket filed or not."""

from __future__ import annotations

import re
from typing import Any

import pytest
import time_machine
from django.test import Client

from destek.accounts.models import User
from destek.kb.choices import ArticleEventKind
from destek.kb.jobs import settle_deflections
from destek.kb.models import ArticleEvent
from destek.kb.tests.pages_helpers import article, page, reset_password
from destek.tickets.models import Ticket

pytestmark = pytest.mark.django_db

FORM = "/my/tickets/new/"
TICKET = {
    "subject": "Password reset mail never arrives",
    "body": "I asked for a reset link twice, nothing came.",
    "urgency": "normal",
    "department": "",
}


@pytest.fixture
def browser(users: dict[str, User], django_capture_on_commit_callbacks: Any) -> Client:
    client = Client(headers={"Accept-Language": "en"})
    client.cookies["django_language"] = "en"
    client.force_login(users["customer"])
    return client


def visit_of(response: Any) -> str:
    text = response.content.decode()
    found = re.search(r'<input type="hidden" name="visit" value="([0-9a-f]{32})">', text)
    assert found, "the form carries a visit id"
    assert f'data-visit="{found.group(1)}"' in text
    return found.group(1)


def kinds(visit: str) -> list[str]:
    return sorted(ArticleEvent.objects.filter(visit=visit).values_list("kind", flat=True))


def test_the_form_offers_suggestions_and_still_works_without_them(browser: Client) -> None:
    response = browser.get(FORM)
    text = response.content.decode()
    assert 'id="suggestions"' in text
    assert 'data-url="/api/v1/kb/suggest"' in text
    assert "These articles may already answer your question" in text
    assert "kb/suggest.js" in text
    visit = visit_of(response)
    assert visit != visit_of(browser.get(FORM))  # each filing attempt its own
    filed = browser.post(FORM, TICKET)
    assert filed.status_code == 302
    assert Ticket.objects.count() == 1


def test_the_suggestions_the_form_asks_for_link_to_the_articles(browser: Client) -> None:
    made = reset_password()
    found = browser.get("/api/v1/kb/suggest", {"subject": "password reset", "lang": "en"}).json()
    assert found[0]["url"] == page(made, "en")


def test_a_suggested_article_opened_then_the_form_filed_counts_as_filed_anyway(
    browser: Client,
) -> None:
    made = reset_password()
    visit = visit_of(browser.get(FORM))
    assert browser.get(page(made, "en"), {"visit": visit}).status_code == 200
    browser.get(page(made, "en"), {"visit": visit})  # opened twice: once
    assert kinds(visit) == ["suggested_open"]
    browser.post(FORM, {**TICKET, "visit": visit})
    ticket = Ticket.objects.get()
    outcome = ArticleEvent.objects.get(visit=visit, kind=ArticleEventKind.FILED_ANYWAY)
    assert (outcome.article, outcome.ticket) == (made, ticket)
    settle_deflections.call_local()
    assert kinds(visit) == ["filed_anyway", "suggested_open"]


def test_a_refused_form_keeps_its_visit(browser: Client) -> None:
    made = reset_password()
    visit = visit_of(browser.get(FORM))
    browser.get(page(made, "en"), {"visit": visit})
    refused = browser.post(FORM, {**TICKET, "subject": "hello", "visit": visit})
    assert visit_of(refused) == visit
    browser.post(FORM, {**TICKET, "visit": visit})
    assert kinds(visit) == ["filed_anyway", "suggested_open"]


def test_opened_and_not_filed_is_a_deflection_once_the_job_runs(
    browser: Client, run_job: Any
) -> None:
    made = reset_password()
    other = article("two-factor", {"en": ("Two-factor sign-in", "Use a code.")})
    with time_machine.travel("2025-03-01 10:00:00+00:00", tick=False) as clock:
        visit = visit_of(browser.get(FORM))
        browser.get(page(made, "en"), {"visit": visit})
        clock.shift(20 * 60)
        browser.get(page(other, "en"), {"visit": visit})
        clock.shift(20 * 60)  # 40 minutes after the first, 20 after the last: not yet
        assert run_job(settle_deflections.call_local) == 0
        clock.shift(11 * 60)
        assert run_job(settle_deflections.call_local) == 2
        assert run_job(settle_deflections.call_local) == 0  # safe twice
    deflected = ArticleEvent.objects.filter(visit=visit, kind=ArticleEventKind.DEFLECTED)
    assert {event.article for event in deflected} == {made, other}
    assert all(event.ticket is None for event in deflected)


def test_a_visit_without_opened_suggestions_counts_nothing(browser: Client) -> None:
    reset_password()
    visit = visit_of(browser.get(FORM))
    browser.post(FORM, {**TICKET, "visit": visit})
    assert kinds(visit) == []


def test_someone_elses_visit_in_a_link_counts_nothing(
    browser: Client, users: dict[str, User]
) -> None:
    made = reset_password()
    visit = visit_of(browser.get(FORM))
    stranger = Client()
    stranger.get(page(made, "en"), {"visit": visit})
    stranger.get(page(made, "en"), {"visit": "not-a-visit"})
    assert kinds(visit) == []
    assert ArticleEvent.objects.filter(kind=ArticleEventKind.SUGGESTED_OPEN).count() == 0


def test_the_sweep_runs_every_ten_minutes() -> None:
    from datetime import datetime

    task = settle_deflections.task_class()
    assert task.validate_datetime(datetime(2025, 3, 1, 10, 20))
    assert not task.validate_datetime(datetime(2025, 3, 1, 10, 25))
