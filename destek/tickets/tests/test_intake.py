from __future__ import annotations

from collections.abc import Callable

import pytest
from hypothesis import given
from hypothesis import strategies as st

from destek.tickets.intake import (
    is_generic_subject,
    is_near_duplicate,
    is_nudge,
    is_shouting,
    matches_keywords,
    similarity,
)

# --- generic subjects ---------------------------------------------------------------------------

GENERIC_SUBJECTS = [
    # English
    "hello",
    "Hello!",
    "Hi, question",
    "Question about",
    "help please",
    "Problem!!",
    "I have a problem",
    "Re: question",
    "Urgent support request",
    "hello 👋",
    "   ",
    "",
    # Azerbaijani
    "Salam, sualım var",
    "SALAM",
    "Sorğu",
    "Müraciət",
    "Zəhmət olmasa kömək edin",
    "Təcili yardım!",
    "dəstək",
    # Persian
    "سلام، سوال",
    "سؤال",
    "درخواست",
    "مشکل",
    "لطفا کمک",
    "یک سوال دارم",
    "فوری!",
    "با سلام، درخواست",
    # Russian
    "ЗДРАВСТВУЙТЕ, ВОПРОС",
    "Добрый день! Вопрос по",
    "у меня вопросик",
    "Помогите пожалуйста",
    "Срочно!!!",
    "Заявка",
    "Проблема",
    # Turkish
    "Merhaba, bir sorum var",
    "Selam",
    "SORUN",
    "Talebim var",
    "Acil yardım lütfen",
    "İyi çalışmalar, destek",
    "Yardımcı olur musunuz?",
]


@pytest.mark.parametrize("subject", GENERIC_SUBJECTS)
def test_generic_subjects_in_every_language_are_refused(subject: str) -> None:
    assert is_generic_subject(subject)


REAL_SUBJECTS = [
    "Payment failed for order 12345",
    "Problem with invoice #123456",
    "Question about VAT on invoice 2024-11",
    "Ödəniş keçmir",
    "Не работает сайт",
    "Sunucu erişilemiyor",
    "مشکل در ارسال پیامک",
    "Hello, I have a question about my account",
    "Вопрос по оплате",
    "Ticket 42",
]


@pytest.mark.parametrize("subject", REAL_SUBJECTS)
def test_real_subjects_are_not_refused(subject: str) -> None:
    assert not is_generic_subject(subject)


def test_generic_subject_check_ignores_the_keyboard_used() -> None:
    # Dotless/dotted i and missing Turkish or Azerbaijani marks.
    assert is_generic_subject("SUALIM VAR")
    assert is_generic_subject("kömek")
    assert is_generic_subject("Yardim")
    # Arabic letter forms of Persian words.
    assert is_generic_subject("مشكل")


# --- shouting ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "subject",
    [
        "Why???",
        "HELP!!!",
        "Why?!?",
        "what ? ? ?",
        "چرا؟؟؟",
        "Что？！？",
        "¿¿¿Qué",
        "¡¡¡Ya",
        "!!!",
        "Ödəniş?\u200b?\u200b?",
        "Why‼!",
    ],
)
def test_runs_of_three_question_or_exclamation_marks_are_shouting(subject: str) -> None:
    assert is_shouting(subject)


@pytest.mark.parametrize(
    "subject", ["Why?", "Really?!", "Help!! Site down", "? !", "a?b?c?", "", "چرا؟"]
)
def test_one_or_two_marks_are_not_shouting(subject: str) -> None:
    assert not is_shouting(subject)


@given(st.text(max_size=50), st.text(max_size=50))
def test_any_subject_containing_three_question_marks_is_shouting(before: str, after: str) -> None:
    assert is_shouting(before + "???" + after)


# --- nudges --------------------------------------------------------------------------------------

NUDGES = [
    # English
    "when will you answer?",
    "any update?",
    "any news?",
    "still waiting",
    "how much longer?",
    "hello?? any update on this",
    "please look at my ticket #123456",
    "Hello? Anyone there?",
    "Is there any progress on ticket 4521?",
    "How long do I have to wait?",
    # Russian
    "сколько ещё ждать?",
    "Сколько еще ждать",
    "А когда вы ответите?",
    "Когда ответите?",
    "Посмотрите заявку № 12345",
    "есть новости?",
    "Здравствуйте, есть ли новости по заявке?",
    "Почему вы не отвечаете?",
    # Turkish
    "ne zaman cevap vereceksiniz",
    "Ne zaman dönüş yapacaksınız?",
    "ne zaman donus yapacaksiniz",
    "bir gelişme var mı?",
    "Merhaba, hala bekliyorum",
    # Azerbaijani
    "nə vaxt cavab verəcəksiniz",
    "Nə vaxt cavab verəcəksiniz?",
    "ne vaxt cavab vereceksiniz",
    "xəbər var?",
    "Salam, müraciətimə baxın zəhmət olmasa",
    # Persian
    "چرا جواب نمی‌دهید",
    "چرا جواب نمیدهید؟",
    "چرا جواب نمی دهید",
    "کی جواب می‌دهید؟",
    "خبری نشد؟",
    "سلام، هنوز منتظر پاسخ هستم",
]


@pytest.mark.parametrize("message", NUDGES)
def test_nudges_in_every_language_are_recognised(message: str) -> None:
    assert is_nudge(message)


CONTENT_MESSAGES = [
    (
        "When will you answer? The server 10.0.0.1 is still down since 09:00 and the logs "
        "show error 502 on every request"
    ),
    "I tried clearing the cache, still getting error 500",
    "Спасибо, всё работает",
    "Ödəniş keçmədi, kartdan pul çıxıb",
    "Hesabıma giriş edə bilmirəm",
    "How long is the retention period for backups?",
    "Any update on the DNS change? I also need an MX record for mail.example.com",
    "Please look at the attached log: the database crashes at startup after the upgrade",
    "لطفا بررسی کنید چرا پیامک‌های ارسالی به شماره‌های ایرانسل نمی‌رسند",
    "",
    (
        "Hello, since yesterday evening our online shop cannot take card payments. Customers "
        "see a blank page after entering their card number, and the payment provider says the "
        "callback to our site returns 403. We did not change anything on our side. Could you "
        "check the firewall rules on the server? This is costing us orders. When will you "
        "answer?"
    ),
]


@pytest.mark.parametrize("message", CONTENT_MESSAGES)
def test_messages_with_content_are_not_nudges(message: str) -> None:
    assert not is_nudge(message)


def test_very_long_messages_are_never_nudges() -> None:
    assert not is_nudge("any update? " + "😀" * 2000)


# --- similarity and duplicates -------------------------------------------------------------------


def test_texts_differing_only_in_case_punctuation_and_spacing_are_identical() -> None:
    assert similarity("Ödəniş  keçmir!!", "ÖDƏNİŞ KEÇMİR") == 1.0
    assert similarity("", "") == 1.0


def test_unrelated_texts_are_not_similar() -> None:
    assert similarity("Не работает сайт", "Invoice for March") < 0.3
    assert similarity("something", "") == 0.0


def test_a_few_typos_keep_a_ticket_a_near_duplicate() -> None:
    body = (
        "Since this morning our website shows error 502 on every page. We restarted the "
        "application but nothing changed. Please check the load balancer."
    )
    typo_body = body.replace("morning", "mornign").replace("restarted", "restrated")
    assert is_near_duplicate("Site down", body, "site down!", typo_body)


def test_same_subject_with_a_different_body_is_not_a_duplicate() -> None:
    assert not is_near_duplicate(
        "Payment failed", "Card declined for order 123", "Payment failed", "Bank transfer lost"
    )


def test_same_body_with_a_different_subject_is_not_a_duplicate() -> None:
    assert not is_near_duplicate("Payment failed", "Please help", "Site is down", "Please help")


def test_duplicate_threshold_can_be_tightened() -> None:
    assert is_near_duplicate("abcdefghij", "body", "abcdefghix", "body", threshold=0.9)
    assert not is_near_duplicate("abcdefghij", "body", "abcdefghix", "body", threshold=0.95)


@given(st.text(max_size=300))
def test_a_text_is_fully_similar_to_itself(text: str) -> None:
    assert similarity(text, text) == 1.0


@given(st.text(max_size=200), st.text(max_size=200))
def test_similarity_is_a_symmetric_ratio(a: str, b: str) -> None:
    ratio = similarity(a, b)
    assert 0.0 <= ratio <= 1.0
    assert abs(ratio - similarity(b, a)) <= 1e-9


LETTERS = "abcçdefgğhıijklmnoöpqrsştuüvxyzəАБВГДЕЁЖЗИЙКЛМНОПРСТУФХЦЧШЩЫЭЮЯабвгдежзийклмнопрстуя"
PERSIAN = "ابپتثجچحخدذرزژسشصضطظعغفقکگلمنوهی"
word = st.text(st.sampled_from(LETTERS + PERSIAN + "0123456789"), min_size=1, max_size=12)


@given(
    st.lists(word, min_size=1, max_size=12),
    st.lists(word, max_size=40),
    st.lists(st.sampled_from(["", "!", "?", ",", ".", "!!", " - ", "؟", "«»", "…"]), max_size=60),
    st.sampled_from([str.upper, str.lower, str.title, str.swapcase]),
)
def test_punctuation_and_case_changes_keep_a_near_duplicate(
    subject_words: list[str], body_words: list[str], marks: list[str], recase: Callable[[str], str]
) -> None:
    def decorate(items: list[str]) -> str:
        return "  ".join(
            item + (marks[i] if i < len(marks) else "") for i, item in enumerate(items)
        )

    subject, body = " ".join(subject_words), " ".join(body_words)
    assert is_near_duplicate(subject, body, recase(decorate(subject_words)), decorate(body_words))


# --- keywords ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "keyword"),
    [
        ("Ödənişlə bağlı sual", "ödəniş"),
        ("ÖDƏNİŞ KEÇMİR", "ödəniş"),
        ("Проблема с оплатой", "оплата"),
        ("Нет оплаты", "оплата"),
        ("Оплату не видно", "оплата"),
        ("Failed payments", "payment"),
        ("مشکل پرداختی", "پرداخت"),
        ("پرداخت\u200cها انجام نشد", "پرداخت"),
        ("Service is DOWN since 9", "service is down"),
        ("Ödeme yapamıyorum", "ödeme"),
        ("ÖDEMELER", "Ödeme"),
        ("Payment: failed", "payment failed"),
    ],
)
def test_keywords_match_every_inflection_and_case(text: str, keyword: str) -> None:
    assert matches_keywords(text, [keyword])


@pytest.mark.parametrize(
    ("text", "keyword"),
    [
        ("Repayment plan", "payment"),
        ("Service is not down", "service is down"),
        ("Down is the service", "service is down"),
        ("Problem with login", "оплата"),
        ("anything", ""),
        ("anything", "!!!"),
    ],
)
def test_keywords_do_not_match_inside_words_or_out_of_order(text: str, keyword: str) -> None:
    assert not matches_keywords(text, [keyword])


def test_any_keyword_of_the_list_is_enough() -> None:
    keywords = ["Payment", "Ödəniş", "Оплата", "Ödeme", "پرداخت"]
    assert matches_keywords("Вопрос об оплате", keywords)
    assert matches_keywords("پرداخت ناموفق", keywords)
    assert not matches_keywords("Не работает сайт", keywords)
    assert not matches_keywords("", keywords)
    assert not matches_keywords("payment", [])


def test_tickets_about_different_order_numbers_are_not_duplicates() -> None:
    assert not is_near_duplicate(
        "Payment failed for order 12345",
        "Card was charged, order 12345 unpaid.",
        "Payment failed for order 12346",
        "Card was charged, order 12346 unpaid.",
    )


@given(st.text(max_size=80), st.text(max_size=80))
def test_alike_agrees_with_similarity_and_numbers(a: str, b: str) -> None:
    from destek.tickets.intake import alike

    if alike(a, b, threshold=0.9):
        assert similarity(a, b) >= 0.9
