"""The words searches compare, for the knowledge base and for tickets alike: normalised
(letter variants, ZWNJ, dotted and dotless i, ё/е...; see `destek.lib.text.normalize_text`)
and reduced to their stems, the same way for what is stored and for queries, on SQLite and on
PostgreSQL. Azerbaijani and Turkish stems are also folded (ş→s, ç→c, ğ→g, ö→o, ü→u, ə→e), so
words typed without those letters match."""

from __future__ import annotations

from functools import lru_cache

import snowballstemmer

from destek.lib.text import words

#: Snowball stemmers (the same algorithms PostgreSQL's russian/turkish/english configurations
#: use); Azerbaijani has none, so a small suffix stripper of our own below.
_SNOWBALL = {"ru": "russian", "tr": "turkish", "en": "english", "fa": "persian"}

# Azerbaijani suffixes after normalisation (ı is i; marks are folded below), longest first:
# plural, case, possessive and verbal-noun endings that customers' queries and articles put
# on the same stems (şifrə, şifrəni, şifrənin, şifrəmi; ödəniş, ödənişlər, ödənişi).
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


@lru_cache(maxsize=8)
def _stemmer(language: str) -> snowballstemmer.stemmer | None:
    name = _SNOWBALL.get(language)
    return snowballstemmer.stemmer(name) if name else None


#: Azerbaijani and Turkish letters people type without their marks on a keyboard that lacks
#: them ("sifre" for "şifrə", "odeme" for "ödeme"); both sides of a search are folded, so a
#: word matches whether or not it was typed with them. (ı and İ are already i.)
#: ı too: words arrive with ı as i, but Snowball's Turkish stemmer may end a stem with ı ("aad"
#: to "aadı"), and a stem must read the same when analysed again.
_FOLD = str.maketrans({"ş": "s", "ç": "c", "ğ": "g", "ö": "o", "ü": "u", "ə": "e", "â": "a",
                       "î": "i", "û": "u", "ä": "e", "ı": "i"})  # fmt: skip


def fold(word: str) -> str:
    """`word` without the Azerbaijani and Turkish letter marks."""
    return word.translate(_FOLD)


_AZ_FOLDED_SUFFIXES = sorted({fold(suffix) for suffix in _AZ_SUFFIXES}, key=len, reverse=True)


def _strip_az_folded(word: str) -> str:
    for _round in range(3):
        for suffix in _AZ_FOLDED_SUFFIXES:
            if word.endswith(suffix) and len(word) - len(suffix) >= _MIN_STEM:
                word = word[: -len(suffix)]
                break
        else:
            return word
    return word


@lru_cache(maxsize=50_000)
def stem(word: str, language: str) -> str:
    """The stem search compares; for Azerbaijani and Turkish without letter marks."""
    if language == "az":
        # Folded first: the endings of a word typed without marks are stripped alike.
        return _strip_az_folded(fold(word))
    if language == "tr":
        # Snowball's Turkish stemmer takes words typed without marks to the same stem
        # ("sifremi" and "şifremi" both to şifre/sifre), so it stems first and folds after.
        return fold(_snowball(word, language))
    return _snowball(word, language)


def _snowball(word: str, language: str) -> str:
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


def edits(a: str, b: str, *, limit: int = 3) -> int:
    """Letters to change, add, drop or swap with a neighbour to turn `a` into `b` (optimal
    string alignment distance), counted up to `limit`: a typo is a few of them."""
    if abs(len(a) - len(b)) >= limit:
        return limit
    previous2: list[int] = []
    previous = list(range(len(b) + 1))
    for i, left in enumerate(a, 1):
        current = [i] + [0] * len(b)
        for j, right in enumerate(b, 1):
            cost = 0 if left == right else 1
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            if i > 1 and j > 1 and left == b[j - 2] and a[i - 2] == right:
                current[j] = min(current[j], previous2[j - 2] + 1)
        if min(current) >= limit:
            return limit
        previous2, previous = previous, current
    return min(previous[-1], limit)


# --- mixed-language text (tickets) ------------------------------------------------------------

#: The languages a Latin-script word may be in, here.
LATIN = ("az", "tr", "en")


def script_language(word: str, latin: str) -> str:
    """The language a word is stemmed in when a text mixes them (a Russian customer quoting an
    English error): its script says Russian or Persian; a Latin word is in `latin`."""
    for char in word:
        if "\u0400" <= char <= "\u04ff":
            return "ru"
        if "\u0600" <= char <= "\u06ff" or "\ufb50" <= char <= "\ufeff":
            return "fa"
        if char.isalpha():
            break
    return latin


def mixed_terms(text: str, language: str) -> list[str]:
    """The stems of a text written in `language` that may hold words of the others: each word
    stemmed in the language of its script (Latin words in `language` when it is one of the
    Latin-script ones, else in English)."""
    latin = language if language in LATIN else "en"
    return [stem(word, script_language(word, latin)) for word in words(text)]


def query_variants(word: str) -> list[str]:
    """What a query word may be stored as when the searcher's language is not known to be the
    text's: its stem in each language its script allows, and its folded self."""
    found = {stem(word, script_language(word, latin)) for latin in LATIN}
    found.add(fold(word))
    return sorted(found, key=len)
