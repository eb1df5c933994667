"""`GET /kb/search` and `GET /kb/suggest`: published articles for anyone, best first.

Public (no token needed) and rate-limited per client; an agent's bearer token may add
`internal=true`. The language is `lang`, else the caller's Accept-Language, else a signed-in
caller's own language.
"""

from __future__ import annotations

import html
import re
from typing import Any

from django.conf import settings
from django.http import HttpRequest
from django.urls import reverse
from django.utils import translation as i18n
from django.utils.translation import gettext as _
from ninja import P, QueryEx, Router, Schema

from destek.accounts.actions import user_for_token
from destek.accounts.models import User
from destek.api.auth import activate_language
from destek.kb import actions, search
from destek.kb.choices import Visibility
from destek.lib.errors import ActionRefused
from destek.lib.ratelimit import client_ip, hit

router = Router(tags=["knowledge base"])

#: Requests per client (token's user, else address) and minute, both endpoints together.
#: The new-ticket form asks while the customer types (debounced), hence the headroom.
PER_MINUTE = 120
#: Longer text is refused (422); the search itself reads the first 200 characters.
MAX_QUERY = 500
SUGGESTIONS = 5


class ErrorOut(Schema):
    detail: str
    code: str


class ArticleHit(Schema):
    key: str
    title: str
    url: str
    section: str
    language: str
    internal: bool
    snippet: str
    snippet_html: str
    score: float


_TAGS = re.compile(r"<[^>]*>")


def _caller(request: HttpRequest) -> User | None:
    """The bearer token's user, or None: these endpoints also serve the anonymous."""
    header = request.headers.get("Authorization", "")
    scheme, _sep, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    user = user_for_token(token.strip())
    if user is not None:
        activate_language(request, user)
    return user


def _language(lang: str | None) -> str:
    if not lang:
        try:
            return i18n.get_supported_language_variant(i18n.get_language() or "")
        except LookupError:
            return str(settings.LANGUAGE_CODE)
    code = lang.strip().lower().replace("_", "-")
    known = dict(settings.LANGUAGES)
    for candidate in (code, code.split("-")[0]):
        if candidate in known:
            return candidate
    raise ActionRefused(
        "unknown_language",
        _("Unknown language. Use one of: {codes}.").format(codes=", ".join(known)),
        field="lang",
    )


def _run(
    request: HttpRequest, query: str, lang: str | None, internal: bool, limit: int, source: str
) -> list[dict[str, Any]]:
    user = _caller(request)
    ident = f"user:{user.pk}" if user is not None else f"ip:{client_ip(request)}"
    if not hit("kb-api", ident, limit=PER_MINUTE, window_seconds=60):
        raise ActionRefused(
            "rate_limited", _("Too many requests. Please wait a while and try again."), status=429
        )
    language = _language(lang)
    if internal and not (user is not None and user.is_agent):
        raise ActionRefused(
            "agents_only", _("Only agents may search internal articles."), status=403
        )
    query = " ".join(query.replace("\x00", " ").split())
    if not query:
        return []
    hits = search.search(query, language, limit=limit, include_internal=internal)
    actions.record_search(query, language, len(hits), source)
    return [
        {
            "key": item.translation.article.key,
            "title": item.translation.title,
            "url": reverse("kb:article", args=[item.translation.language, item.translation.slug]),
            "section": item.translation.article.section.title(language),
            "language": item.translation.language,
            "internal": item.translation.article.visibility == Visibility.INTERNAL,
            "snippet": html.unescape(_TAGS.sub("", item.snippet)),
            "snippet_html": item.snippet,
            "score": item.score,
        }
        for item in hits
    ]


@router.get(
    "/search",
    auth=None,
    response={200: list[ArticleHit], 403: ErrorOut, 422: ErrorOut, 429: ErrorOut},
    summary="Search published articles, best first",
)
def search_articles(
    request: HttpRequest,
    q: QueryEx[str, P(max_length=MAX_QUERY)] = "",
    lang: QueryEx[str | None, P(max_length=16)] = None,
    limit: QueryEx[int, P(ge=1, le=50)] = 10,
    internal: bool = False,
) -> list[dict[str, Any]]:
    """`q` in the words of `lang` (az, fa, ru, tr, en; default: Accept-Language). Each hit has
    its page's `url`, a plain-text `snippet` and the same as HTML with the matching words in
    `<mark>` (`snippet_html`, escaped). An empty `q` finds nothing. `internal=true` adds
    internal articles, for agents only."""
    return _run(request, q, lang, internal, limit, "api")


@router.get(
    "/suggest",
    auth=None,
    response={200: list[ArticleHit], 403: ErrorOut, 422: ErrorOut, 429: ErrorOut},
    summary="Up to five articles that may answer a ticket's subject",
)
def suggest_articles(
    request: HttpRequest,
    subject: QueryEx[str, P(max_length=MAX_QUERY)] = "",
    lang: QueryEx[str | None, P(max_length=16)] = None,
    internal: bool = False,
) -> list[dict[str, Any]]:
    """What the new-ticket form shows while the customer types the subject (at least three
    characters; fewer find nothing)."""
    if len(subject.strip()) < 3:
        _run(request, "", lang, internal, SUGGESTIONS, "suggest")
        return []
    return _run(request, subject, lang, internal, SUGGESTIONS, "suggest")
