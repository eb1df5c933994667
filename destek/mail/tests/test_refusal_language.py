"""A refused mail is answered in the language of its text when that is clear, else in the
account's: "Salam" alone says nothing about the language."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.mail import EmailMessage
from django.utils import translation

from destek.accounts.models import User
from destek.mail.actions import process_message
from destek.mail.models import InboundStatus
from destek.mail.tests.test_pipeline import compose, mails_to

pytestmark = pytest.mark.django_db

GENERIC = (
    "The subject says nothing about the problem. Please describe it in a few words, for "
    "example “Payment failed for order 12345”."
)


@pytest.fixture
def deliver(demo: None, django_capture_on_commit_callbacks: Any, outbox: list[EmailMessage]) -> Any:
    def run(raw: bytes) -> Any:
        with django_capture_on_commit_callbacks(execute=True):
            return process_message(raw, "test")

    return run


def refusal_in(language: str) -> str:
    with translation.override(language):
        return translation.gettext(GENERIC)


def test_a_mailed_salam_from_an_azerbaijani_account_gets_an_azerbaijani_refusal(
    deliver: Any,
) -> None:
    User.objects.filter(email="customer@example.com").update(language="az")
    outcome = deliver(
        compose(sender="Kamran <customer@example.com>", subject="Salam", body="Salam")
    )
    assert (outcome.status, outcome.reason) == (InboundStatus.IGNORED, "generic_subject")
    [answer] = mails_to("customer@example.com")
    assert refusal_in("az") in answer.body
    assert refusal_in("az") != GENERIC


def test_a_mailed_salam_from_a_stranger_gets_an_azerbaijani_refusal(deliver: Any) -> None:
    outcome = deliver(compose(sender="Leyla <leyla@example.org>", subject="Salam", body="Salam"))
    assert outcome.reason == "generic_subject"
    assert User.objects.get(email="leyla@example.org").language == "az"
    [answer] = mails_to("leyla@example.org")
    assert refusal_in("az") in answer.body


def test_clear_text_wins_over_the_accounts_language(deliver: Any) -> None:
    User.objects.filter(email="customer2@example.com").update(language="ru")
    deliver(
        compose(
            sender="Olga <customer2@example.com>",
            subject="Merhaba",
            body="Merhaba, sitenize giriş yapamıyorum, yardım eder misiniz?",
        )
    )
    [answer] = mails_to("customer2@example.com")
    assert refusal_in("tr") in answer.body
