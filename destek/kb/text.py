"""The words search compares: normalised (letter variants, ZWNJ, dotted and dotless i, ё/е...;
see `destek.lib.text.normalize_text`) and reduced to their stems, the same way for articles and
for queries, on SQLite and on PostgreSQL alike."""

from __future__ import annotations

from functools import lru_cache

import snowballstemmer

from destek.lib.text import words

#: Snowball stemmers (the same algorithms PostgreSQL's russian/turkish/english configurations
#: use); Azerbaijani has none, so a small suffix stripper of our own below.
_SNOWBALL = {"ru": "russian", "tr": "turkish", "en": "english", "fa": "persian"}

# Azerbaijani suffixes after normalisation (ı is folded to i), longest first: plural, case,
# possessive and verbal-noun endings that customers' queries and articles put on the same
# stems (şifrə, şifrəni, şifrənin, şifrəmi; ödəniş, ödənişlər, ödənişi).
_AZ_SUFFIXES = sorted(
    {
        "larin", "lərin", "lari", "ləri", "lar", "lər",
        "nin", "nun", "nün", "dan", "dən", "tan", "tən",
        "da", "də", "ta", "tə", "ya", "yə", "na", "nə",
        "in", "un", "ün", "im", "um", "üm", "mi", "mu", "mü",
        "si", "su", "sü", "ni", "nu", "nü", "yi", "yu", "yü",
        "la", "lə", "dir", "dur", "dür", "maq", "mək",
        "i", "u", "ü", "a", "ə", "m", "n",
    },
    key=len,
    reverse=True,
)  # fmt: skip
_MIN_STEM = 3


def _strip_az(word: str) -> str:
    for _round in range(3):
        for suffix in _AZ_SUFFIXES:
            if word.endswith(suffix) and len(word) - len(suffix) >= _MIN_STEM:
                word = word[: -len(suffix)]
                break
        else:
            return word
    return word


@lru_cache(maxsize=8)
def _stemmer(language: str) -> snowballstemmer.stemmer | None:
    name = _SNOWBALL.get(language)
    return snowballstemmer.stemmer(name) if name else None


@lru_cache(maxsize=50_000)
def stem(word: str, language: str) -> str:
    if language == "az":
        return _strip_az(word)
    stemmer = _stemmer(language)
    if stemmer is None or word.isdigit():
        return word
    stemmed = str(stemmer.stemWord(word))
    return stemmed if len(stemmed) >= 2 else word


def terms(text: str, language: str) -> list[str]:
    """The stems of `text`'s words, in order (repeats kept: they count in ranking)."""
    return [stem(word, language) for word in words(text)]


def search_text(text: str, language: str) -> str:
    return " ".join(terms(text, language))


def trigrams(word: str) -> set[str]:
    padded = f"  {word} "
    return {padded[i : i + 3] for i in range(len(padded) - 2)}


def similarity(a: str, b: str) -> float:
    """Trigram similarity of two words (as pg_trgm computes it): shared / all trigrams."""
    left, right = trigrams(a), trigrams(b)
    if not left or not right:
        return 0.0
    return len(left & right) / len(left | right)
