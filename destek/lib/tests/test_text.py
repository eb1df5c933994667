from __future__ import annotations

import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st

from destek.lib.text import (
    BIDI_CONTROLS,
    ZERO_WIDTH,
    clean_filename,
    normalize_text,
    strip_invisible,
    words,
)

INVISIBLE = BIDI_CONTROLS | ZERO_WIDTH

# Text drawn from all of Unicode, surrogates included: file names and subjects arrive from
# mail headers and browsers that do not promise well-formed text.
any_text = st.text(st.characters(codec=None, categories=None), max_size=200)


# --- strip_invisible ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("invoice\u202efdp.exe", "invoicefdp.exe"),
        ("\u2066a\u2069 \u2067b\u2068c\u2069", "a bc"),
        ("left\u200eright\u200f", "leftright"),
        ("\u202aembedded\u202b\u202c\u202d", "embedded"),
        ("عدد\u061c۱۲", "عدد۱۲"),
        ("zero\u200bwidth\u200djoin\ufeff\u2060", "zerowidthjoin"),
        ("bell\x07 null\x00 escape\x1b del\x7f c1\x85", "bell null escape del c1"),
    ],
)
def test_invisible_characters_are_removed(raw: str, expected: str) -> None:
    assert strip_invisible(raw) == expected


def test_newlines_tabs_and_persian_zwnj_are_kept() -> None:
    assert strip_invisible("line\n\tnext نمی\u200cدهید") == "line\n\tnext نمی\u200cدهید"


@given(any_text)
def test_stripped_text_has_no_controls_bidi_or_zero_width(text: str) -> None:
    stripped = strip_invisible(text)
    assert not INVISIBLE & set(stripped)
    assert all(ch in "\n\t" or unicodedata.category(ch) != "Cc" for ch in stripped), stripped


# --- normalize_text -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("  Hello,   WORLD!! ", "hello world"),
        ("İSTANBUL istanbul Istanbul ıstanbul", "istanbul istanbul istanbul istanbul"),
        ("ÖDƏNİŞ", "ödəniş"),
        ("Ёлка ЕЛКА", "елка елка"),
        ("نمی\u200cدهید", "نمیدهید"),
        ("علي كتاب", "علی کتاب"),
        ("مدرسة", "مدرسه"),
        ("سؤال", "سوال"),
        ("أحمد إسلام آب", "احمد اسلام اب"),
        ("لطفاً", "لطفا"),
        ("مــــشکل", "مشکل"),
        ("۱۲۳۴۵ ٦٧٨", "12345 678"),
        ("ＦＵＬＬ－ｗｉｄｔｈ", "full width"),
        ("Заявка № 12345", "заявка no 12345"),
        ("a\u202eb\u200bc", "abc"),
        ("🔥 fire 🔥", "fire"),
        ("price: $100 + 5%", "price 100 5"),
        ("«Когда?» — «Сейчас!»", "когда сейчас"),
        ("سلام، سوال؟", "سلام سوال"),
        ("line1\r\nline2\tline3", "line1 line2 line3"),
        ("", ""),
    ],
)
def test_matching_key_ignores_case_script_variants_and_punctuation(raw: str, expected: str) -> None:
    assert normalize_text(raw) == expected


def test_keys_of_words_typed_on_different_keyboards_are_equal() -> None:
    assert normalize_text("ÖDƏNİŞ") == normalize_text("ödəniş") == normalize_text("ÖDƏNIŞ")
    assert normalize_text("سوال") == normalize_text("سؤال")
    assert normalize_text("یک") == normalize_text("يك")


def test_azerbaijani_schwa_stays_a_schwa() -> None:
    assert normalize_text("Ə ə") == "ə ə"


@given(any_text)
def test_normalize_text_is_idempotent(text: str) -> None:
    once = normalize_text(text)
    assert normalize_text(once) == once


@given(any_text)
def test_matching_key_is_words_separated_by_single_spaces(text: str) -> None:
    key = normalize_text(text)
    assert key == " ".join(key.split())
    assert all(unicodedata.category(ch)[0] not in "PSCZ" for ch in key.replace(" ", ""))


def test_words_splits_the_matching_key() -> None:
    assert words("Salam, SUALIM var!") == ["salam", "sualim", "var"]
    assert words(" ... ") == []


# --- clean_filename ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("invoice\u202efdp.exe", "invoicefdp.exe"),
        ("re\u200bport\u200d\ufeff\u2060.pdf", "report.pdf"),
        ("فاکتور\u200cها.pdf", "فاکتورها.pdf"),
        ("\u2067photo\u2069.jpg", "photo.jpg"),
    ],
)
def test_filename_loses_bidi_and_zero_width_characters(raw: str, expected: str) -> None:
    assert clean_filename(raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("../../etc/passwd", "passwd"),
        ("C:\\Users\\ali\\Desktop\\hesab.xlsx", "hesab.xlsx"),
        ("folder/", "folder"),
        ("..\\..\\", "file"),
        ("／etc／passwd", "passwd"),
    ],
)
def test_filename_keeps_only_the_last_path_component(raw: str, expected: str) -> None:
    assert clean_filename(raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (".htaccess", "htaccess"),
        ("...hidden.txt", "hidden.txt"),
        ('what<is>this:"file"|really?*.txt', "what_is_this__file__really__.txt"),
        ("  many    spaces\tand\nlines .doc", "many spaces and lines .doc"),
        ("trailing dots...", "trailing dots"),
        ("ＡＢＣ.ｐｄｆ", "ABC.pdf"),
        ("CON.txt", "_CON.txt"),
        ("nul", "_nul"),
        ("Ödəniş qəbzi №5.pdf", "Ödəniş qəbzi No5.pdf"),
    ],
)
def test_filename_is_safe_on_common_file_systems(raw: str, expected: str) -> None:
    assert clean_filename(raw) == expected


@pytest.mark.parametrize("raw", ["", "   ", "...", "\u202e\u200b", "/", "\x00\x01"])
def test_empty_filename_falls_back_to_file(raw: str) -> None:
    assert clean_filename(raw) == "file"


def test_long_filename_is_shortened_keeping_its_extension() -> None:
    cleaned = clean_filename("ş" * 300 + ".pdf")
    assert cleaned == "ş" * 146 + ".pdf"
    assert len(cleaned) == 150


def test_long_filename_without_a_short_extension_is_cut() -> None:
    assert clean_filename("a" * 20 + "." + "b" * 40, max_length=30) == "a" * 20 + "." + "b" * 9
    assert clean_filename("x" * 50, max_length=10) == "x" * 10


def test_filename_max_length_must_be_positive() -> None:
    with pytest.raises(ValueError, match="max_length"):
        clean_filename("a.txt", max_length=0)


@given(any_text, st.integers(min_value=1, max_value=300))
def test_cleaned_filename_is_never_dangerous_empty_or_too_long(name: str, max_length: int) -> None:
    cleaned = clean_filename(name, max_length=max_length)
    assert cleaned
    assert len(cleaned) <= max_length
    assert "/" not in cleaned
    assert "\\" not in cleaned
    assert not INVISIBLE & set(cleaned)
    assert "\u200c" not in cleaned
    assert all(unicodedata.category(ch) not in ("Cc", "Cf", "Cs") for ch in cleaned)
    assert not cleaned.startswith(".")
