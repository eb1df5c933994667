"""Ticket search: one box over numbers, subjects, every message (internal notes for agents
only), customers' names and addresses, organisations and tags.

What is stored (`TicketSearch`, rebuilt whole per ticket by `index_tickets`, so running it
twice changes nothing) are stems (`lib.stems`): normalised letters, each word stemmed in the
language of its script, Azerbaijani and Turkish folded (a word typed without ş, ə, ö... matches).
A query word matches any of its stems in the languages its script allows, and, from three
letters, as a prefix. Every word of the query must match.

The database finds candidates inside the access rule (`Ticket.objects.visible_to`, the same
queryset the queue lists: an agent finds only their departments' tickets, a customer only
their own), newest first: PostgreSQL full text (GIN) or SQLite FTS5. They are ranked here: a
word in the subject counts most, then in the public text, then in a note; then the newer.

At a million tickets a common word is in tens of thousands of them, and PostgreSQL would
visit every one to keep the newest few hundred. So each ticket's words are indexed twice
there: as they are, and marked with the ticket's bucket (`BUCKET` consecutive ids, migration
0021). An agent's search reads the newest buckets first, one statement each, and stops once
it has its candidates; only a rarer combination goes on to one search of the older tickets,
where few match.
"""

from __future__ import annotations

import html
import re
import unicodedata
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

from django.core.cache import cache
from django.db import connection, transaction
from django.db.models import Q, QuerySet
from django.db.models.expressions import RawSQL
from django.utils import timezone

from destek.accounts.models import User
from destek.lib.stems import edits, mixed_terms, query_variants, similarity, trigrams
from destek.lib.text import words as split_words
from destek.tickets.access import customer_may_see_message
from destek.tickets.models import Message, Ticket, TicketSearch, TicketTerm

#: Tickets ranked per search, newest first among those that match.
CANDIDATES = 500
#: Shorter words match only as themselves.
PREFIX_MIN = 3
#: Query words used, at most (a pasted paragraph is cut).
MAX_WORDS = 8
QUERY_MAX = 200
_NUMBER = re.compile(r"#?\s*(\d{6,12})")
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
_TOKEN = re.compile(r"\w+", re.UNICODE)
#: Ticket ids per bucket (PostgreSQL; migration 0021 marks words with the same number).
BUCKET = 50_000
#: Buckets read one by one, newest first, before the rest of the tickets in one statement.
BUCKETS_FIRST = 4
#: OFFSET 0 keeps PostgreSQL from folding this into the outer "newest first, LIMIT n": with
#: no statistics for a bucket's words it would guess many match and read the table backwards
#: by id, row by row, through every bucket (1.7 s at a million tickets for a word of seven).
#: Planned alone, it reads the bucket's matches from the GIN index.
BUCKET_MATCH = (
    "SELECT ticket_id FROM tickets_ticketsearch "
    "WHERE bucket_vector @@ to_tsquery('simple', %s) OFFSET 0"
)
OLDER_MATCH = (
    "SELECT ticket_id FROM tickets_ticketsearch "
    "WHERE all_vector @@ to_tsquery('simple', %s) AND ticket_id < %s"
)
AGENTS_MATCH = (
    "SELECT ticket_id FROM tickets_ticketsearch WHERE all_vector @@ to_tsquery('simple', %s)"
)
CUSTOMERS_MATCH = (
    "SELECT ticket_id FROM tickets_ticketsearch WHERE public_vector @@ to_tsquery('simple', %s)"
)


@dataclass(frozen=True)
class Found:
    ticket: Ticket
    score: float
    snippet: str  # HTML: escaped text with <mark> around the matching words


@dataclass(frozen=True)
class Query:
    """A query as search reads it: the number or address it names, or its words' variants."""

    number: int | None
    email: str
    variants: list[list[str]]

    @property
    def empty(self) -> bool:
        return self.number is None and not self.email and not self.variants


def clean_query(text: str) -> str:
    """What was typed, without control characters (a NUL reaches PostgreSQL as an error), at
    most QUERY_MAX characters. Joiners stay: Persian words need the zero-width non-joiner."""
    kept = "".join(c for c in (text or "")[: QUERY_MAX * 2] if unicodedata.category(c) != "Cc")
    return " ".join(kept.split())[:QUERY_MAX]


def parse(text: str) -> Query:
    text = clean_query(text)
    number = _NUMBER.fullmatch(text)
    if number:
        return Query(int(number.group(1)), "", [])
    if _EMAIL.fullmatch(text):
        return Query(None, text.lower(), [])
    variants: list[list[str]] = []
    for word in split_words(text):
        options = [v for v in query_variants(word) if _TOKEN.fullmatch(v)]
        if options and options not in variants:
            variants.append(options)
    return Query(None, "", variants[:MAX_WORDS])


# --- misspelt words -----------------------------------------------------------------------------

#: A misspelt word matches real words at least this similar (pg_trgm's default is 0.3).
TYPO_SIMILARITY = 0.4
TYPO_VARIANTS = 3
#: Misspelt words looked up per query, at most (each costs a trigram search).
TYPO_LOOKUPS = 3
TYPO_MIN = 4
_VOCABULARY_VERSION = "tickets:search:vocabulary"


def with_near_words(query: Query) -> Query:
    """The query, each word no ticket uses (not even as the start of a longer one) also
    matching the few real words nearest to it ("pasword": "password")."""
    if not query.variants:
        return query
    known = _known([v for options in query.variants for v in options])
    variants: list[list[str]] = []
    lookups = 0
    for options in query.variants:
        used = any(
            term == v or (_prefix(v) and term.startswith(v)) for v in options for term in known
        )
        longest = max(options, key=len)
        if used or len(longest) < TYPO_MIN or longest.isdigit() or lookups >= TYPO_LOOKUPS:
            variants.append(options)
            continue
        lookups += 1
        near = [w for w in _near_terms(longest) if w not in options]
        variants.append([*options, *near])
    return Query(query.number, query.email, variants)


def _known(variants: list[str]) -> list[str]:
    """Terms of the vocabulary that are one of `variants` or start with one (one statement)."""
    condition = Q(term__in=variants)
    for variant in variants:
        if _prefix(variant):
            condition |= Q(term__startswith=variant)
    return list(TicketTerm.objects.filter(condition).values_list("term", flat=True)[:200])


def _near_terms(word: str) -> list[str]:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT term FROM tickets_ticketterm WHERE term %% %s "
                "ORDER BY similarity(term, %s) DESC, term LIMIT %s",
                [word, word, TYPO_VARIANTS * 3],
            )
            found = [row[0] for row in cursor.fetchall()]
    else:
        index = _trigram_index(str(cache.get(_VOCABULARY_VERSION, "")))
        found = list({term for gram in trigrams(word) for term in index.get(gram, ())})
    scored = sorted(((similarity(word, t), t) for t in found), key=lambda x: (-x[0], x[1]))
    return [t for score, t in scored if score >= TYPO_SIMILARITY and _near(word, t)][:TYPO_VARIANTS]


def _near(word: str, term: str) -> bool:
    """A few keystrokes away; "quantum" is not a typo of "quantity"."""
    return edits(word, term) <= (1 if len(word) <= 5 else 2)


@lru_cache(maxsize=4)
def _trigram_index(version: str) -> dict[str, frozenset[str]]:
    """Trigram → ticket terms (SQLite), built once per vocabulary version and process."""
    index: dict[str, set[str]] = {}
    for term in TicketTerm.objects.values_list("term", flat=True).iterator():
        for gram in trigrams(term):
            index.setdefault(gram, set()).add(term)
    return {gram: frozenset(terms) for gram, terms in index.items()}


#: Terms this process knows are in the vocabulary: a backfill of a million tickets asks the
#: database only about words it has not met yet (bounded; cleared when full).
_known_terms: set[str] = set()
_KNOWN_MAX = 200_000


def _remember_terms(rows: list[TicketSearch]) -> None:
    """New stems of these tickets into the vocabulary (SQLite's trigram index is rebuilt)."""
    terms = {
        term
        for row in rows
        for term in (*row.public.split(), *row.internal.split())
        if TYPO_MIN <= len(term) <= 100 and not term.isdigit() and term not in _known_terms
    }
    if not terms:
        return
    made = TicketTerm.objects.bulk_create(
        [TicketTerm(term=term) for term in sorted(terms)], ignore_conflicts=True
    )
    if len(_known_terms) + len(terms) > _KNOWN_MAX:
        _known_terms.clear()
    # Known once the transaction commits (a rollback would take the new ones back out).
    transaction.on_commit(lambda: _known_terms.update(terms))
    if made and connection.vendor == "sqlite":
        transaction.on_commit(lambda: cache.set(_VOCABULARY_VERSION, uuid.uuid4().hex, None))


# --- searching ----------------------------------------------------------------------------------


def jump(user: User, text: str) -> Ticket | None:
    """The ticket a query names by its number, when `user` may see it."""
    query = parse(text)
    if query.number is None:
        return None
    return Ticket.objects.visible_to(user).filter(number=query.number).first()


def search(
    user: User, text: str, *, within: QuerySet[Ticket] | None = None, limit: int = 25
) -> list[Found]:
    """The tickets `user` may see that match `text`, best first; `within` narrows them further
    (the queue's filters), and is itself read through the access rule."""
    query = with_near_words(parse(text))
    if query.empty:
        return []
    agent = user.is_agent or user.is_admin
    tickets = Ticket.objects.visible_to(user)
    if within is not None:
        tickets = tickets.filter(pk__in=within.values("pk"))
    if query.number is not None:
        candidates = _newest(tickets.filter(number=query.number))
    elif query.email:
        candidates = _newest(tickets.filter(customer__email=query.email))
    elif agent and connection.vendor == "postgresql":
        candidates = _newest_by_bucket(tickets, query.variants)
    else:
        candidates = _newest(tickets.filter(pk__in=_matching(query.variants, agent=agent)))
    if query.variants:
        ranked = _rank(candidates, query.variants, agent=agent)[:limit]
    else:
        ranked = [(row[0], row[2], 1.0) for row in candidates[:limit]]
    shown = Ticket.objects.select_related("customer", "department", "assignee").in_bulk(
        [pk for pk, _language, _score in ranked]
    )
    snippets = _snippets(
        {pk: language for pk, language, _score in ranked}, query.variants, agent=agent
    )
    return [
        Found(shown[pk], score, snippets.get(pk, ""))
        for pk, _language, score in ranked
        if pk in shown
    ]


def _prefix(word: str) -> bool:
    return len(word) >= PREFIX_MIN and not word.isdigit()


Candidate = tuple[int, str, str]  # id, subject, language: whole tickets only for the page shown


def _newest(tickets: QuerySet[Ticket], limit: int = CANDIDATES) -> list[Candidate]:
    return list(tickets.order_by("-id").values_list("id", "subject", "language")[:limit])


def _newest_by_bucket(tickets: QuerySet[Ticket], variants: list[list[str]]) -> list[Candidate]:
    """The newest matching tickets (PostgreSQL, agents): bucket by bucket from the newest,
    then the older tickets at once (see the module's docstring)."""
    newest = Ticket.objects.order_by("-id").values_list("id", flat=True).first() or 0
    bucket = newest // BUCKET
    found: list[Candidate] = []
    for _read in range(BUCKETS_FIRST):
        if bucket < 0 or len(found) >= CANDIDATES:
            return found
        words = RawSQL(BUCKET_MATCH, [_tsquery(variants, f"b{bucket:06d}x")])  # noqa: S611
        # The bucket's ids on the tickets' side too: a merge join then starts at its top.
        inside = tickets.filter(pk__gte=bucket * BUCKET, pk__lt=(bucket + 1) * BUCKET)
        found += _newest(inside.filter(pk__in=words), CANDIDATES - len(found))
        bucket -= 1
    if bucket < 0 or len(found) >= CANDIDATES:
        return found
    floor = (bucket + 1) * BUCKET
    older = RawSQL(OLDER_MATCH, [_tsquery(variants), floor])  # noqa: S611
    return found + _newest(tickets.filter(pk__lt=floor, pk__in=older), CANDIDATES - len(found))


def _tsquery(variants: list[list[str]], mark: str = "") -> str:
    """Every query word, one of its variants (a prefix from three letters), each word marked
    with `mark` (a bucket) when given. Only stems of word characters are in it, and it goes
    to the database as a parameter."""
    return " & ".join(
        "(" + " | ".join(f"{mark}{v}:*" if _prefix(v) else f"{mark}{v}" for v in options) + ")"
        for options in variants
    )


def _matching(variants: list[list[str]], *, agent: bool) -> RawSQL:
    """The ids of the tickets whose words hold every query word (one of its variants)."""
    if connection.vendor == "postgresql":
        sql = AGENTS_MATCH if agent else CUSTOMERS_MATCH
        return RawSQL(sql, [_tsquery(variants)])  # noqa: S611
    match = " AND ".join(
        "(" + " OR ".join(f'"{v}"*' if _prefix(v) else f'"{v}"' for v in options) + ")"
        for options in variants
    )
    if not agent:
        match = f"public : ({match})"
    return RawSQL("SELECT rowid FROM tickets_fts WHERE tickets_fts MATCH %s", [match])


def _matches(tokens: set[str], options: list[str]) -> bool:
    for variant in options:
        if variant in tokens:
            return True
        if _prefix(variant) and any(token.startswith(variant) for token in tokens):
            return True
    return False


def _rank(
    candidates: list[Candidate], variants: list[list[str]], *, agent: bool
) -> list[tuple[int, str, float]]:
    """(id, language, score) of the candidates (id, subject, language), best first."""
    columns = ("ticket_id", "public", "internal") if agent else ("ticket_id", "public")
    stored = {
        row[0]: row[1:]
        for row in TicketSearch.objects.filter(
            ticket_id__in=[pk for pk, _s, _l in candidates]
        ).values_list(*columns)
    }
    ranked: list[tuple[int, str, float]] = []
    for pk, subject_text, language in candidates:
        words = stored.get(pk)
        if words is None:
            continue
        subject = set(mixed_terms(subject_text, language))
        public = set(words[0].split())
        internal = set(words[1].split()) if agent else set()
        score = 0.0
        for options in variants:
            if _matches(subject, options):
                score += 3
            elif _matches(public, options):
                score += 1
            elif _matches(internal, options):
                score += 0.8
        ranked.append((pk, language, score))
    # Best first; among equals, the newer (the candidates came newest first: a stable sort).
    ranked.sort(key=lambda found: -found[2])
    return ranked


# --- snippets ---------------------------------------------------------------------------------


def _snippets(
    languages: dict[int, str], variants: list[list[str]], *, agent: bool, words: int = 24
) -> dict[int, str]:
    """Per ticket (id: its language), the passage of the first message that matches, escaped,
    the matching words marked; tickets found by their subject or customer alone get none."""
    if not languages or not variants:
        return {}
    messages = Message.objects.filter(ticket_id__in=list(languages)).order_by("id")
    if not agent:
        messages = messages.filter(internal=False)
    options = [v for values in variants for v in values]
    found: dict[int, str] = {}
    for message in messages.only("id", "ticket_id", "body", "internal", "verification"):
        if message.ticket_id in found or not (agent or customer_may_see_message(message)):
            continue
        language = languages[message.ticket_id]

        def hit(word: str, language: str = language) -> bool:
            return _matches(set(mixed_terms(word, language)), options)

        tokens = message.body.split()
        at = next((i for i, token in enumerate(tokens) if hit(token)), None)
        if at is None:
            continue
        start = max(0, at - words // 3)
        shown = " ".join(tokens[start : start + words])
        shown = ("… " if start else "") + shown + (" …" if start + words < len(tokens) else "")
        found[message.ticket_id] = _marked(shown, hit)
    return found


def _marked(shown: str, hit: object) -> str:
    pieces: list[str] = []
    last = 0
    for match in _TOKEN.finditer(shown):
        pieces.append(html.escape(shown[last : match.start()]))
        word = html.escape(match.group(0))
        pieces.append(f"<mark>{word}</mark>" if hit(match.group(0)) else word)  # type: ignore[operator]
        last = match.end()
    pieces.append(html.escape(shown[last:]))
    return "".join(pieces)


# --- the index ----------------------------------------------------------------------------------


def _words_of(ticket: Ticket, messages: list[Message]) -> tuple[str, str]:
    language = ticket.language
    customer = ticket.customer
    public_parts = [
        str(ticket.number),
        ticket.subject,
        customer.display_name,
        customer.full_name,
        customer.email,
        customer.organisation.name if customer.organisation is not None else "",
    ]
    # Tags are the team's own labels: found by agents, never by the customer.
    internal_parts: list[str] = [" ".join(tag.name for tag in ticket.tags.all())]
    for message in messages:
        (public_parts if customer_may_see_message(message) else internal_parts).append(message.body)
    public = " ".join(mixed_terms(" ".join(p for p in public_parts if p), language))
    internal = " ".join(mixed_terms(" ".join(internal_parts), language))
    return public, internal


@transaction.atomic
def index_tickets(ids: Iterable[int]) -> int:
    """Rebuild the search words of these tickets (gone ones are skipped): safe to run twice."""
    ids = sorted(set(ids))
    if not ids:
        return 0
    tickets = list(
        Ticket.objects.filter(pk__in=ids)
        .select_related("customer", "customer__organisation")
        .prefetch_related("tags")
    )
    by_ticket: dict[int, list[Message]] = {}
    for message in Message.objects.filter(ticket_id__in=ids).only(
        "id", "ticket_id", "body", "internal", "verification"
    ):
        by_ticket.setdefault(message.ticket_id, []).append(message)
    now = timezone.now()
    rows = []
    for ticket in tickets:
        public, internal = _words_of(ticket, by_ticket.get(ticket.pk, []))
        rows.append(TicketSearch(ticket=ticket, public=public, internal=internal, indexed_at=now))
    found = [row.ticket_id for row in rows]
    TicketSearch.objects.filter(ticket_id__in=ids).delete()
    TicketSearch.objects.bulk_create(rows)
    _remember_terms(rows)
    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            cursor.executemany("DELETE FROM tickets_fts WHERE rowid = %s", [[i] for i in ids])
            cursor.executemany(
                "INSERT INTO tickets_fts(rowid, public, internal) VALUES (%s, %s, %s)",
                [[row.ticket_id, row.public, row.internal] for row in rows],
            )
    return len(found)
