"""Knowledge-base search: one interface over PostgreSQL full text (with pg_trgm for typos) and
SQLite FTS5 (with an in-memory trigram index for typos).

Both databases only find candidates; the ranking is ours and the same on both: how many of the
query's words an article has (a title match counts most), how rare each word is among the
candidates, then the database's own score. Queries and articles pass the same analysis
(`lib.stems`): normalised letters, stems, and each query word of three letters or more also
matches as a prefix.
"""

from __future__ import annotations

import html
import math
import re
import uuid
from bisect import bisect_left
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

from django.core.cache import cache
from django.db import connection
from django.db.models import QuerySet

from destek.kb.choices import ArticleStatus, Visibility
from destek.kb.markdown import plain_text
from destek.kb.models import Term, Translation
from destek.lib import stems as text

CANDIDATES = 100
#: A misspelt word matches real words at least this similar (pg_trgm's default is 0.3).
TYPO_SIMILARITY = 0.4
TYPO_VARIANTS = 3
#: Misspelt words looked up per query, at most.
TYPO_LOOKUPS = 4
_VOCABULARY_VERSION = "kb:vocabulary-version"
#: Shorter words match only as themselves: "a"* would make every article a candidate.
PREFIX_MIN = 3


@dataclass(frozen=True)
class Hit:
    translation: Translation
    score: float
    snippet: str  # HTML: escaped text with <mark> around the matching words


def visible(
    *, include_internal: bool = False, include_drafts: bool = False
) -> QuerySet[Translation]:
    qs = Translation.objects.select_related("article", "article__section")
    if not include_drafts:
        qs = qs.filter(article__status=ArticleStatus.PUBLISHED)
    if not include_internal:
        qs = qs.filter(article__visibility=Visibility.PUBLIC)
    return qs


def search(
    query: str,
    language: str,
    *,
    limit: int = 10,
    include_internal: bool = False,
    include_drafts: bool = False,
) -> list[Hit]:
    """Published articles of `language` best first (agents may include internal ones)."""
    wanted = _unique(text.terms(query[:200], language))[:12]
    if not wanted:
        return []
    variants: dict[str, list[tuple[str, float]]] = {}
    lookups = 0
    for term in wanted:
        # At most a few misspelt words are looked up per query: each costs a trigram search.
        variants[term], looked_up = _variants(term, language, typos=lookups < TYPO_LOOKUPS)
        lookups += looked_up
    ids = _candidates([v for options in variants.values() for v, _w in options], language)
    if not ids:
        return []
    translations = list(
        visible(include_internal=include_internal, include_drafts=include_drafts)
        .filter(pk__in=ids, language=language)
        .defer("body_html")
    )
    in_language = (
        visible(include_internal=include_internal, include_drafts=include_drafts)
        .filter(language=language)
        .count()
    )
    ranked = _rank(translations, variants, ids, in_language=in_language)
    return [
        Hit(translation, score, snippet(translation, variants))
        for translation, score in ranked[:limit]
    ]


def _unique(items: Iterable[str]) -> list[str]:
    seen: dict[str, None] = {}
    for item in items:
        seen.setdefault(item, None)
    return list(seen)


# --- variants: the word itself, and its nearest real words when it is misspelt ---------------


#: Words customers type for what the articles call otherwise (both sides as written; they are
#: analysed like any text). A small list of our own; a team extends it as searches show.
SYNONYMS: dict[str, dict[str, list[str]]] = {
    "az": {"parol": ["şifrə"], "kod": ["şifrə"], "bilet": ["bilet"], "kart": ["kart"]},
    "tr": {"parola": ["şifre"], "parolamı": ["şifre"]},
    "ru": {"логин": ["вход"], "кошелек": ["кошелёк"], "тикет": ["заявка"]},
    "fa": {"پسورد": ["رمز"], "تیکت": ["تیکت"]},
    "en": {"passcode": ["password"], "login": ["sign in"], "e-wallet": ["wallet"]},
}


@lru_cache(maxsize=8)
def _synonyms(language: str) -> dict[str, list[str]]:
    table: dict[str, list[str]] = {}
    for word, others in SYNONYMS.get(language, {}).items():
        for key in text.terms(word, language):
            for other in others:
                table.setdefault(key, []).extend(text.terms(other, language))
    return table


def _variants(
    term: str, language: str, *, typos: bool = True
) -> tuple[list[tuple[str, float]], bool]:
    """(variant, weight) pairs: the term (matched as a prefix too), its synonyms, plus up to
    three real words of the articles that look like it when the term itself matches nothing;
    and whether that look-up for near words was made."""
    synonyms = [(other, 0.9) for other in _synonyms(language).get(term, []) if other != term]
    if Term.objects.filter(language=language, term__startswith=term).exists():
        return [(term, 1.0), *synonyms], False
    if synonyms:
        return [(term, 1.0), *synonyms], False
    if len(term) < 4 or not typos:
        return [(term, 1.0)], False
    return [(term, 1.0), *((near, 0.8) for near in _near_terms(term, language))], True


def _near_terms(term: str, language: str) -> list[str]:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT term FROM kb_term WHERE language = %s AND term %% %s "
                "ORDER BY similarity(term, %s) DESC, term LIMIT %s",
                [language, term, term, TYPO_VARIANTS * 3],
            )
            found = [row[0] for row in cursor.fetchall()]
    else:
        index = _trigram_index(language, str(cache.get(_VOCABULARY_VERSION, "")))
        found = list({word for gram in text.trigrams(term) for word in index.get(gram, ())})
    scored = sorted(
        ((text.similarity(term, word), word) for word in found), key=lambda x: (-x[0], x[1])
    )
    return [word for score, word in scored if score >= TYPO_SIMILARITY and _near(term, word)][
        :TYPO_VARIANTS
    ]


def _near(term: str, word: str) -> bool:
    """A few keystrokes away ("pasword"), or the word with an ending the stemmer left on
    ("kodlu" for "kod"); "quantum" is not a typo of "quantity"."""
    if len(word) >= PREFIX_MIN and term.startswith(word):
        return True
    return text.edits(term, word) <= (1 if len(term) <= 5 else 2)


@lru_cache(maxsize=16)
def _trigram_index(language: str, version: str) -> dict[str, frozenset[str]]:
    """Trigram → words of `language`, built once per vocabulary version and process."""
    index: dict[str, set[str]] = {}
    for word in Term.objects.filter(language=language).values_list("term", flat=True):
        for gram in text.trigrams(word):
            index.setdefault(gram, set()).add(word)
    return {gram: frozenset(words) for gram, words in index.items()}


def vocabulary_changed() -> None:
    """New words: every process builds its trigram index again. A fresh random version, not a
    counter, so a cleared cache can never bring back the version of an older index."""
    cache.set(_VOCABULARY_VERSION, uuid.uuid4().hex, None)


# --- candidates from the database ------------------------------------------------------------


def _candidates(words: list[str], language: str) -> list[int]:
    """Translation ids of `language` that have any of `words` (as prefixes), best first."""
    words = [word for word in _unique(words) if re.fullmatch(r"\w+", word)]
    if not words:
        return []
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            tsquery = " | ".join(f"{word}:*" if len(word) >= PREFIX_MIN else word for word in words)
            cursor.execute(
                "SELECT id FROM kb_translation WHERE language = %s AND "
                "search_vector @@ to_tsquery('simple', %s) "
                "ORDER BY ts_rank(search_vector, to_tsquery('simple', %s)) DESC, id LIMIT %s",
                [language, tsquery, tsquery, CANDIDATES],
            )
        else:
            match = " OR ".join(
                f'"{word}"*' if len(word) >= PREFIX_MIN else f'"{word}"' for word in words
            )
            cursor.execute(
                "SELECT rowid FROM kb_fts WHERE kb_fts MATCH %s AND language = %s "
                "ORDER BY bm25(kb_fts, 4.0, 1.0), rowid LIMIT %s",
                [match, language, CANDIDATES],
            )
        return [row[0] for row in cursor.fetchall()]


# --- ranking ---------------------------------------------------------------------------------


def _matches(tokens: list[str], options: list[tuple[str, float]]) -> float:
    """The best weight with which any token is (or starts with) one of the variants.
    `tokens` is sorted and unique: a prefix is found by bisection."""
    best = 0.0
    for variant, weight in options:
        if weight <= best:
            continue
        at = bisect_left(tokens, variant)
        if at < len(tokens) and (
            tokens[at] == variant or (len(variant) >= PREFIX_MIN and tokens[at].startswith(variant))
        ):
            best = weight
    return best


#: A found article has at least this share of the query's meaningful words (a misspelt
#: word found through a near word counts 0.8): "xyzzy quantum" finds nothing rather than
#: whatever shares one letter pattern with it.
MIN_COVERAGE = 0.5
#: A word in more than this share of a language's articles (once it has COMMON_MIN of them)
#: says nothing about which one is meant ("the", "how", "i"): it does not count as covered,
#: unless the query has nothing else.
COMMON_SHARE = 0.7
COMMON_MIN = 10


def _rank(
    translations: list[Translation],
    variants: dict[str, list[tuple[str, float]]],
    order: list[int],
    *,
    in_language: int = 0,
) -> list[tuple[Translation, float]]:
    position = {pk: index for index, pk in enumerate(order)}
    documents = []
    for translation in translations:
        body = translation.search_body.split()
        title = sorted(set(translation.search_title.split()))
        documents.append((translation, title, sorted(set(body)), Counter(body)))
    count = max(len(documents), 1)
    rarity = {}
    common = set()
    for term, options in variants.items():
        having = sum(
            1
            for _t, title, body, _n in documents
            if _matches(title, options) or _matches(body, options)
        )
        rarity[term] = math.log(1 + count / (1 + having))
        if in_language >= COMMON_MIN and having > COMMON_SHARE * in_language:
            common.add(term)
    meaningful = [term for term in variants if term not in common] or list(variants)
    scored = []
    for translation, title, body, counts in documents:
        covered = 0.0
        score = 0.0
        telling = 0.0
        for term, options in variants.items():
            in_title = _matches(title, options)
            in_body = _matches(body, options)
            weight = max(in_title, in_body)
            if not weight:
                continue
            covered += weight
            if term in meaningful:
                telling += weight
            exact_body = counts.get(term, 0)
            score += rarity[term] * (2.5 * in_title + in_body + 0.2 * math.log1p(exact_body))
        if not covered or telling / len(meaningful) < MIN_COVERAGE:
            continue
        coverage = covered / len(variants)
        # Words covered first, then their weight; the database's order breaks ties.
        total = 10 * coverage * coverage + score - 0.001 * position.get(translation.pk, 0)
        scored.append((translation, round(total, 4)))
    scored.sort(key=lambda pair: -pair[1])
    return scored


# --- snippets --------------------------------------------------------------------------------

_SENTENCES = re.compile(r"(?<=[.!?؟।])\s+|\n+")
_WORD = re.compile(r"\w+", re.UNICODE)


def snippet(
    translation: Translation, variants: dict[str, list[tuple[str, float]]], *, words: int = 30
) -> str:
    """The passage of the body that matches best, escaped, with the matching words marked."""
    language = translation.language
    options = [option for values in variants.values() for option in values]

    def matching(word: str) -> bool:
        stems = sorted(set(text.terms(word, language)))
        return bool(stems) and _matches(stems, options) > 0

    sentences = [s.strip() for s in _SENTENCES.split(plain_text(translation.body)) if s.strip()]
    if not sentences:
        return ""
    best = max(sentences, key=lambda s: sum(1 for word in _WORD.findall(s) if matching(word)))
    cut = best.split()
    shown = " ".join(cut[:words]) + (" …" if len(cut) > words else "")
    pieces: list[str] = []
    last = 0
    for found in _WORD.finditer(shown):
        pieces.append(html.escape(shown[last : found.start()]))
        word = html.escape(found.group(0))
        pieces.append(f"<mark>{word}</mark>" if matching(found.group(0)) else word)
        last = found.end()
    pieces.append(html.escape(shown[last:]))
    return "".join(pieces)
