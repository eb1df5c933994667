"""Dates, times, numbers and durations as people read them, in each of our languages.

Everything a person reads goes through here, never through hand-built patterns: Babel (CLDR)
knows that Russian months take the genitive after a day ("4 декабря"), where Turkish puts
the weekday, and how each language joins a date to a time. Persian readers get the Solar
Hijri calendar by default (the profile can switch to Gregorian) and Persian digits.

Some phrases need a grammatical case CLDR has no pattern for. "We will answer by ..." is the
one customers see most: `format_deadline` gives the date in the form that phrase needs in
each language (Russian "до пятницы" takes the genitive weekday; Turkish "18:00'e kadar" the
dative suffix that follows how the time is read aloud; Azerbaijani "-dək").

Values are shown in Django's active time zone (the reader's, set by the locale middleware or
by the mail renderer) and the active language unless one is given.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from contextvars import ContextVar
from datetime import date, datetime
from typing import Literal

import jdatetime
from babel import Locale
from babel.dates import format_skeleton, format_time, get_day_names
from babel.lists import format_list
from babel.numbers import format_decimal
from babel.numbers import format_percent as babel_format_percent
from babel.units import format_unit
from django.utils import timezone, translation
from django.utils.translation import gettext as _

Calendar = Literal["solar_hijri", "gregorian"]
Style = Literal["date", "short", "medium"]

#: The calendar Persian dates are shown in; other languages always use the Gregorian one.
_calendar: ContextVar[Calendar] = ContextVar("destek_calendar", default="solar_hijri")

#: Babel locales for our language codes: English with a 24-hour clock and day-month order,
#: as our customers in Baku, Istanbul and Tehran read English.
_LOCALES = {"en": "en_GB", "az": "az", "fa": "fa", "ru": "ru", "tr": "tr"}

_PERSIAN_DIGITS = str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹")

#: "до пятницы": the genitive weekday, Monday first (CLDR has the nominative only).
_RU_GENITIVE_WEEKDAYS = (
    "понедельника",
    "вторника",
    "среды",
    "четверга",
    "пятницы",
    "субботы",
    "воскресенья",
)

#: The Turkish dative suffix after a number, by the last word it is read with: 18:00 is
#: "on sekiz" ('e), 18:30 "on sekiz otuz" ('a), 09:00 "dokuz" ('a), 06:00 "altı" ('ya).
_TR_DATIVE_ONES = {
    0: "",
    1: "'e",
    2: "'ye",
    3: "'e",
    4: "'e",
    5: "'e",
    6: "'ya",
    7: "'ye",
    8: "'e",
    9: "'a",
}
_TR_DATIVE_TENS = {1: "'a", 2: "'ye", 3: "'a", 4: "'a", 5: "'ye"}


def activate_calendar(calendar: str) -> None:
    """Use `calendar` for Persian dates in this request or job."""
    _calendar.set("gregorian" if calendar == "gregorian" else "solar_hijri")


@contextlib.contextmanager
def override_calendar(calendar: str) -> Iterator[None]:
    token = _calendar.set("gregorian" if calendar == "gregorian" else "solar_hijri")
    try:
        yield
    finally:
        _calendar.reset(token)


def active_calendar() -> Calendar:
    return _calendar.get()


def _language(language: str | None) -> str:
    code = (language or translation.get_language() or "en").split("-")[0].lower()
    return code if code in _LOCALES else "en"


def _locale(language: str) -> Locale:
    return Locale.parse(_LOCALES[language])


def localize_digits(text: str, language: str | None = None) -> str:
    """Persian numerals in Persian text; the others keep the digits they are written with."""
    return text.translate(_PERSIAN_DIGITS) if _language(language) == "fa" else text


def format_number(value: int | float, language: str | None = None) -> str:
    """1 234 in Russian, 1.234 in Turkish, ۱٬۲۳۴ in Persian."""
    lang = _language(language)
    # The locale's own numbering system: Persian digits and separators in Persian.
    text = format_decimal(value, locale=_locale(lang), numbering_system="default")
    return localize_digits(text, lang)


def format_percent(share: float, language: str | None = None) -> str:
    """0.99953 -> 99.95% in English, %99,95 in Turkish, ٪۹۹٫۹۵ in Persian (two decimals:
    uptime lives in the last ones)."""
    lang = _language(language)
    text = babel_format_percent(
        share, "#,##0.00%", locale=_locale(lang), numbering_system="default"
    )
    return localize_digits(text, lang)


def format_names(names: list[str], language: str | None = None) -> str:
    """ "Website, API and Payments" in the reader's language ("وب‌سایت، API و پرداخت‌ها")."""
    lang = _language(language)
    return format_list(names, locale=_locale(lang)) if names else ""


def _local(value: datetime | date) -> datetime | date:
    if isinstance(value, datetime) and timezone.is_aware(value):
        return timezone.localtime(value)
    return value


def _hijri(value: datetime | date) -> bool:
    return _calendar.get() == "solar_hijri"


def _persian_date(value: date, *, weekday: bool, year: bool) -> str:
    solar = jdatetime.date.fromgregorian(date=value)
    text = f"{solar.day} {jdatetime.date.j_months_fa[solar.month - 1]}"
    if year:
        text = f"{text} {solar.year}"
    if weekday:
        text = f"{jdatetime.date.j_weekdays_fa[solar.weekday()]} {text}"
    return text


def format_when(
    value: datetime | date, language: str | None = None, style: Style = "medium"
) -> str:
    """A date, or a date and time, for reading.

    `date`: "4 December 2026"; `medium`: "4 December 2026, 18:05"; `short`: "04/12/2026,
    18:05" (lists and tables)."""
    lang = _language(language)
    locale = _locale(lang)
    local = _local(value)
    day = local.date() if isinstance(local, datetime) else local
    if lang == "fa" and _hijri(local):
        if style == "short":
            solar = jdatetime.date.fromgregorian(date=day)
            date_text = f"{solar.year}/{solar.month}/{solar.day}"
        else:
            date_text = _persian_date(day, weekday=False, year=True)
    else:
        date_text = format_skeleton("yMd" if style == "short" else "yMMMMd", day, locale=locale)
    if style == "date" or not isinstance(local, datetime):
        return localize_digits(date_text, lang)
    time_text = format_time(local, "HH:mm", locale=locale)
    glue = locale.datetime_formats["short" if style == "short" else "medium"]
    return localize_digits(str(glue).format(time_text, date_text), lang)


def format_deadline(value: datetime, language: str | None = None) -> str:
    """The date and time in the form "We will answer by {when}." needs in `language`.

    en "Friday 4 December, 18:00"; ru "пятницы, 4 декабря, 18:00" (до + genitive);
    tr "4 Aralık Cuma, saat 18:00'e" (kadar + dative); az "4 dekabr, cümə, saat 18:00-dək";
    fa "جمعه ۱۳ آذر، ساعت ۱۸:۰۰"."""
    lang = _language(language)
    locale = _locale(lang)
    local = _local(value)
    assert isinstance(local, datetime)
    time_text = format_time(local, "HH:mm", locale=locale)
    weekday = get_day_names("wide", context="format", locale=locale)[local.weekday()]
    day_month = format_skeleton("MMMMd", local.date(), locale=locale)
    if lang == "ru":
        return f"{_RU_GENITIVE_WEEKDAYS[local.weekday()]}, {day_month}, {time_text}"
    if lang == "tr":
        return f"{day_month} {weekday}, saat {time_text}{_tr_dative(local)}"
    if lang == "az":
        return f"{day_month}, {weekday.lower()}, saat {time_text}-dək"
    if lang == "fa":
        if _hijri(local):
            day_month = _persian_date(local.date(), weekday=False, year=False)
        return localize_digits(f"{weekday} {day_month}، ساعت {time_text}", lang)
    return f"{weekday} {day_month}, {time_text}"


def _tr_dative(value: datetime) -> str:
    # A time is read as its hour, then its minutes when there are any; the suffix follows
    # the last word read. Midnight, "sıfır", takes 'a.
    number = value.minute or value.hour
    if number == 0:
        return "'a"
    ones, tens = number % 10, number // 10
    return _TR_DATIVE_ONES[ones] if ones else _TR_DATIVE_TENS[tens]


def format_duration(minutes: float, language: str | None = None) -> str:
    """A span of minutes as people say it: "2 hr, 40 min", "2 ч 40 мин", "۲ ساعت، ۴۰ دقیقه".
    Under an hour, minutes only; from a day up, whole hours only (the clocks run on
    business hours, so a "day" would be ambiguous)."""
    lang = _language(language)
    locale = _locale(lang)
    total = max(0, round(minutes))
    hours, rest = divmod(total, 60)
    parts = []
    if hours:
        parts.append(format_unit(hours, "duration-hour", length="short", locale=locale))
    if (rest and hours < 24) or not hours:
        parts.append(format_unit(rest, "duration-minute", length="short", locale=locale))
    return localize_digits(format_list(parts, style="unit-short", locale=locale), lang)


def format_time_left(minutes: float, language: str | None = None) -> str:
    """A clock as people talk about it: "2 hr, 40 min left", "overdue by 25 min"."""
    lang = _language(language)
    with translation.override(lang):
        if minutes < 0:
            return _("overdue by {duration}").format(duration=format_duration(-minutes, lang))
        return _("{duration} left").format(duration=format_duration(minutes, lang))


def first_weekday(language: str | None = None) -> int:
    """The day a week starts on where the reader's language is spoken (0 = Monday): Saturday
    in Persian (Iran), Monday in the others (CLDR)."""
    code = _language(language)
    return int(Locale.parse("fa_IR" if code == "fa" else _LOCALES[code]).first_week_day)


def weekday_names(
    language: str | None = None,
    width: Literal["abbreviated", "narrow", "short", "wide"] = "abbreviated",
) -> list[str]:
    """The seven weekday names, Monday first, in the reader's language (Babel's CLDR names)."""
    names = get_day_names(width, locale=_locale(_language(language)))
    return [str(names[day]) for day in range(7)]
