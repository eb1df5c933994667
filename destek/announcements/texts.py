"""Texts written in several languages: stored as a map {language: text}; read in the
reader's language, or in the company's default language (marked as a fallback)."""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings

from destek.kb.markdown import render


@dataclass(frozen=True)
class Picked:
    text: str
    language: str
    #: True when the reader's language was missing and another language was used.
    fallback: bool


def default_language() -> str:
    return str(settings.LANGUAGE_CODE).split("-")[0]


def pick(texts: dict[str, str] | None, language: str | None) -> Picked:
    """The text in `language`; missing, the company's default language; missing too, the
    first language written (some text beats none)."""
    texts = texts or {}
    wanted = (language or default_language()).split("-")[0]
    if texts.get(wanted):
        return Picked(texts[wanted], wanted, False)
    default = default_language()
    if texts.get(default):
        return Picked(texts[default], default, True)
    for code, _name in settings.LANGUAGES:
        if texts.get(code):
            return Picked(texts[code], code, True)
    return Picked("", wanted, bool(texts))


def html(texts: dict[str, str] | None, language: str | None) -> str:
    """The body in `language` as sanitised HTML (Markdown rendered like KB articles)."""
    return render(pick(texts, language).text).strip()
