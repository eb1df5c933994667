"""Which language a customer's message is in, and which language we answer it in."""

from __future__ import annotations

import pytest

from destek.lib.language import choose_language, detect_language, guess_language


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("Merhaba, ne zaman cevap vereceksiniz? Hâlâ bekliyorum.", "tr"),
        ("Site açılmıyor, yardım eder misiniz?", "tr"),
        ("Salam, kartla ödəniş edəndə xəta verir.", "az"),
        ("Nə vaxt cavab verəcəksiniz?", "az"),
        ("Сколько ещё ждать?", "ru"),
        ("چرا جواب نمی‌دهید؟", "fa"),
        ("When will you answer my ticket?", "en"),
    ],
)
def test_clear_text_is_recognised(text: str, language: str) -> None:
    assert detect_language(text) == language


@pytest.mark.parametrize("text", ["Salam", "Salam!", "Merhaba", "Hello", "ok", "", "12345 ???"])
def test_a_greeting_or_a_word_alone_is_not_clear(text: str) -> None:
    assert detect_language(text) is None


def test_salam_alone_guesses_azerbaijani_for_a_first_time_writer() -> None:
    assert guess_language("Salam\nSalam") == "az"
    assert guess_language("12345") is None


def test_the_answer_follows_clear_text_then_the_account_then_the_page() -> None:
    turkish = "Merhaba, ne zaman cevap vereceksiniz? Hâlâ bekliyorum."
    assert choose_language(turkish, account="ru", page="az") == "tr"
    assert choose_language("Salam", account="az", page="en") == "az"
    assert choose_language("Salam", account=None, page="fa") == "fa"
    assert choose_language("Salam", account="xx", page=None) == "en"  # the site's
