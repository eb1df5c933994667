"""A ticket filed after the sweep already counted the visit as a deflection turns it into
"filed anyway": the customer read the article and still needed help."""

from __future__ import annotations

import pytest

from destek.accounts.models import User
from destek.kb.actions import record_event, save_translation, settle_visit
from destek.kb.choices import ArticleEventKind
from destek.kb.models import Article, ArticleEvent, Section
from destek.tickets import actions


@pytest.mark.django_db
def test_filing_late_turns_a_deflection_into_filed_anyway(users: dict[str, User]) -> None:
    section = Section.objects.create(slug="wallet", titles={"en": "Wallet"})
    article = Article.objects.create(key="top-up", section=section, status="published")
    save_translation(article, language="en", title="Top up your wallet", body="With a card.")
    record_event(article, ArticleEventKind.SUGGESTED_OPEN, language="en", visit="v1")
    assert settle_visit("v1") == 1  # the sweep, 30 minutes later
    ticket = actions.create_ticket(
        customer=users["customer"], subject="Wallet top-up failed", body="Twice.", channel="web"
    )
    settle_visit("v1", ticket=ticket)
    kinds = list(
        ArticleEvent.objects.exclude(kind=ArticleEventKind.SUGGESTED_OPEN).values_list(
            "kind", flat=True
        )
    )
    assert kinds == [ArticleEventKind.FILED_ANYWAY]
