"""Dates, clocks and numbers read as people say them, in every language."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
from django.template import Context, Template
from django.utils import timezone, translation
from hypothesis import given
from hypothesis import strategies as st

from destek.lib import dates

BAKU = ZoneInfo("Asia/Baku")
#: Friday 4 December 2026, 18:00 in Baku.
FRIDAY_EVENING = datetime(2026, 12, 4, 14, 0, tzinfo=ZoneInfo("UTC"))

ANSWER_BY = {
    "en": "We will answer by Friday 4 December, 18:00.",
    "ru": "Мы ответим до пятницы, 4 декабря, 18:00.",
    "tr": "4 Aralık Cuma, saat 18:00'e kadar yanıt vereceğiz.",
    "az": "4 dekabr, cümə, saat 18:00-dək cavab verəcəyik.",
    "fa": "تا جمعه ۱۳ آذر، ساعت ۱۸:۰۰ پاسخ می‌دهیم.",
}


@pytest.mark.parametrize("language", sorted(ANSWER_BY))
def test_we_will_answer_by_reads_right_in_every_language(language: str) -> None:
    with timezone.override(BAKU), translation.override(language):
        sentence = translation.gettext("We will answer by {when}.").format(
            when=dates.format_deadline(FRIDAY_EVENING)
        )
    assert sentence == ANSWER_BY[language]


def test_russian_deadline_takes_the_genitive_not_hand_built_nominatives() -> None:
    with timezone.override(BAKU):
        text = dates.format_deadline(FRIDAY_EVENING, "ru")
    assert "Пятница" not in text and "Декабрь" not in text
    assert text.startswith("пятницы, 4 декабря")


@pytest.mark.parametrize(
    ("hour", "minute", "suffix"),
    [
        (18, 0, "'e"),
        (18, 30, "'a"),
        (9, 0, "'a"),
        (6, 0, "'ya"),
        (12, 0, "'ye"),
        (10, 0, "'a"),
        (0, 0, "'a"),
        (13, 45, "'e"),
        (17, 20, "'ye"),
        (11, 50, "'ye"),
        (16, 40, "'a"),
    ],
)
def test_turkish_deadline_suffix_follows_how_the_time_is_read(
    hour: int, minute: int, suffix: str
) -> None:
    when = datetime(2026, 12, 4, hour, minute, tzinfo=BAKU)
    with timezone.override(BAKU):
        assert dates.format_deadline(when, "tr").endswith(f"{hour:02d}:{minute:02d}{suffix}")


def test_persian_dates_are_solar_hijri_with_persian_digits_by_default() -> None:
    with timezone.override(BAKU):
        assert dates.format_when(FRIDAY_EVENING, "fa", "date") == "۱۳ آذر ۱۴۰۵"
        assert dates.format_when(FRIDAY_EVENING, "fa", "short").startswith("۱۴۰۵/۹/۱۳")
        assert not any(
            ch.isascii() and ch.isdigit() for ch in dates.format_when(FRIDAY_EVENING, "fa")
        )


def test_a_persian_reader_may_choose_the_gregorian_calendar() -> None:
    with timezone.override(BAKU), dates.override_calendar("gregorian"):
        assert dates.format_when(FRIDAY_EVENING, "fa", "date") == "۴ دسامبر ۲۰۲۶"
        assert dates.format_deadline(FRIDAY_EVENING, "fa") == "جمعه ۴ دسامبر، ساعت ۱۸:۰۰"


def test_other_languages_ignore_the_persian_calendar_choice() -> None:
    with timezone.override(BAKU):
        assert dates.format_when(FRIDAY_EVENING, "ru", "date") == "4 декабря 2026\u202fг."
        assert dates.format_when(date(2026, 12, 4), "az", "date") == "4 dekabr 2026"


@pytest.mark.parametrize(
    ("language", "minutes", "expected"),
    [
        ("en", 160, "2 hrs, 40 mins left"),
        ("en", -25, "overdue by 25 mins"),
        ("ru", 160, "осталось 2 ч 40 мин"),
        ("ru", -25, "просрочено на 25 мин"),
        ("tr", 160, "2 sa. 40 dk. kaldı"),
        ("az", 45, "45 dəq qalıb"),
        ("fa", 160, "۲ ساعت،\u200f ۴۰ دقیقه مانده"),
    ],
)
def test_clocks_read_like_people_talk(language: str, minutes: float, expected: str) -> None:
    assert dates.format_time_left(minutes, language) == expected


def test_a_clock_never_shows_business_minutes_with_decimals() -> None:
    assert dates.format_time_left(240.0, "ru") == "осталось 4 ч"
    assert "," not in dates.format_duration(59.6, "en")


def test_numbers_follow_the_language() -> None:
    assert dates.format_number(1234567, "ru") == "1\xa0234\xa0567"
    assert dates.format_number(1234567, "tr") == "1.234.567"
    assert dates.format_number(1234567, "fa") == "۱٬۲۳۴٬۵۶۷"


def test_template_filters_use_the_active_language_and_zone() -> None:
    template = Template(
        "{% load destek_dates %}{{ due|deadline }} | {{ due|when:'date' }} | {{ n|num }} | "
        "{{ number|digits }} | {{ left|time_left }}"
    )
    with timezone.override(BAKU), translation.override("fa"):
        text = template.render(
            Context({"due": FRIDAY_EVENING, "n": 12, "number": 123456, "left": -5})
        )
    assert text == "جمعه ۱۳ آذر، ساعت ۱۸:۰۰ | ۱۳ آذر ۱۴۰۵ | ۱۲ | ۱۲۳۴۵۶ | ۵ دقیقه تأخیر"


@given(
    st.datetimes(
        min_value=datetime(1971, 1, 1), max_value=datetime(2200, 1, 1), timezones=st.just(BAKU)
    ),
    st.sampled_from(["en", "ru", "tr", "az", "fa"]),
)
def test_any_instant_formats_in_every_language_and_calendar(value: datetime, language: str) -> None:
    with timezone.override(BAKU):
        for style in ("date", "short", "medium"):
            assert dates.format_when(value, language, style)
        assert dates.format_deadline(value, language)


def test_an_uptime_share_reads_as_a_percentage_in_each_language() -> None:
    from destek.lib.dates import format_percent

    assert format_percent(0.99953, "en") == "99.95%"
    assert format_percent(1.0, "fa").startswith("۱۰۰")
    assert "99,95" in format_percent(0.99953, "tr")


def test_names_read_as_a_list_in_each_language() -> None:
    from destek.lib.dates import format_names

    assert format_names(["Website", "API", "Payments"], "en") == "Website, API and Payments"
    assert format_names(["وب‌سایت", "API"], "fa") == "وب‌سایت و API"
    assert format_names([], "ru") == ""
