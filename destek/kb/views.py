"""The help centre for everyone, signed in or not: sections, search, articles, votes, files.

Customers and visitors see published public articles only; signed-in agents also see internal
ones, marked as such. Drafts are never shown here (agents preview them in the desk). The one
door is `_readable(request)`; a hidden article answers 404 like a missing one.
"""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import quote

from django.conf import settings
from django.db.models import QuerySet
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import translation as i18n
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from destek.kb import actions, search
from destek.kb.choices import ArticleEventKind, ArticleStatus, Visibility
from destek.kb.forms import FeedbackForm
from destek.kb.markdown import shown_html
from destek.kb.models import ArticleEvent, ArticleFile, Section, Translation
from destek.kb.visits import first_anonymous_view, has_session, is_own_visit
from destek.lib.middleware import CSP
from destek.lib.ratelimit import client_ip, hit

#: A reader's views of one article within this many seconds count once.
VIEW_WINDOW = 30 * 60
#: Views of one article counted per client address and VIEW_WINDOW (readers of an office
#: behind one address with other browsers or sessions still count; a script that changes
#: its User-Agent each time, no further).
VIEWS_PER_ADDRESS = 20
#: Articles opened from the suggestions counted per reader and hour: each feeds a deflection
#: or a "filed anyway", and a new filing attempt is one page load away.
SUGGESTED_OPENS_PER_HOUR = 20
#: Searches per client address and minute on the search page.
SEARCH_PER_MINUTE = 60
#: Votes per client address and hour.
FEEDBACK_PER_HOUR = 30
#: Images shown inline; any other file is a download.
INLINE_IMAGES = {"image/png", "image/jpeg", "image/gif", "image/webp"}
#: Article pages that embed a video may frame these players (and nothing else).
VIDEO_FRAMES = "frame-src https://www.youtube-nocookie.com https://player.vimeo.com"


def current_language() -> str:
    """The page's language as one of our codes."""
    code = i18n.get_language() or settings.LANGUAGE_CODE
    try:
        return i18n.get_supported_language_variant(code)
    except LookupError:
        return str(settings.LANGUAGE_CODE)


def _sees_internal(request: HttpRequest) -> bool:
    user = request.user
    return bool(user.is_authenticated and user.is_agent)


def _readable(request: HttpRequest) -> QuerySet[Translation]:
    """Translations this reader may open: published, and public unless they are an agent."""
    return search.visible(include_internal=_sees_internal(request))


def _language_name(code: str) -> str:
    return str(i18n.get_language_info(code)["name_local"])


def home(request: HttpRequest) -> HttpResponse:
    language = current_language()
    translations = (
        _readable(request)
        .filter(language=language)
        .only(
            "title",
            "slug",
            "language",
            "article__visibility",
            "article__section_id",
            "article__status",
            "article__position",
            "article__key",
            "article__section__slug",
            "article__section__titles",
            "article__section__position",
        )
        .order_by("article__section__position", "article__section__slug", "article__position")
    )
    sections: dict[int, dict[str, Any]] = {}
    for item in translations:
        section: Section = item.article.section
        entry = sections.setdefault(
            section.pk, {"title": section.title(language), "translations": []}
        )
        entry["translations"].append(item)
    return render(
        request,
        "kb/home.html",
        {"sections": list(sections.values()), "language": language},
    )


def search_page(request: HttpRequest) -> HttpResponse:
    language = current_language()
    query = " ".join(request.GET.get("q", "").replace("\x00", " ").split())[:200]
    hits: list[search.Hit] = []
    status = 200
    limited = False
    if query:
        if hit("kb-search", client_ip(request), limit=SEARCH_PER_MINUTE, window_seconds=60):
            hits = search.search(
                query, language, limit=20, include_internal=_sees_internal(request)
            )
            actions.record_search(query, language, len(hits), "search")
        else:
            limited, status = True, 429
    return render(
        request,
        "kb/search.html",
        {
            "query": query,
            "hits": hits,
            "rows": [(h, h.translation.article.section.title(language)) for h in hits],
            "limited": limited,
            "language": language,
        },
        status=status,
    )


def _translation(request: HttpRequest, lang: str, slug: str) -> Translation:
    if lang not in dict(settings.LANGUAGES):
        raise Http404
    found = _readable(request).filter(language=lang, slug=slug).first()
    if found is None:
        raise Http404
    return found


def _count_view(request: HttpRequest, page: Translation) -> None:
    """One view per article and session within VIEW_WINDOW (reloads and returning from the
    vote do not count again); for a reader without a session, one per client and window,
    without making a session."""
    if not has_session(request):
        if first_anonymous_view(request, page.article_id, VIEW_WINDOW) and hit(
            "kb-view",
            f"{client_ip(request)}:{page.article_id}",
            limit=VIEWS_PER_ADDRESS,
            window_seconds=VIEW_WINDOW,
        ):
            actions.record_event(page.article, ArticleEventKind.VIEW, language=page.language)
        return
    now = time.time()
    seen: dict[str, float] = {
        key: at
        for key, at in request.session.get("kb_viewed", {}).items()
        if now - at < VIEW_WINDOW
    }
    key = str(page.article_id)
    if key not in seen:
        if not hit(
            "kb-view",
            f"{client_ip(request)}:{key}",
            limit=VIEWS_PER_ADDRESS,
            window_seconds=VIEW_WINDOW,
        ):
            return
        actions.record_event(page.article, ArticleEventKind.VIEW, language=page.language)
        seen[key] = now
        # Written only when it changes: a reload costs no session write.
        request.session["kb_viewed"] = seen


def _count_suggested_open(request: HttpRequest, page: Translation) -> None:
    """Opened from the suggestions of this browser's new-ticket form: once per visit."""
    visit = request.GET.get("visit", "")
    if not is_own_visit(request, visit):
        return
    already = ArticleEvent.objects.filter(
        visit=visit, article_id=page.article_id, kind=ArticleEventKind.SUGGESTED_OPEN
    ).exists()
    user = request.user
    reader = f"user:{user.pk}" if user.is_authenticated else f"ip:{client_ip(request)}"
    if not already and hit(
        "kb-suggested-open", reader, limit=SUGGESTED_OPENS_PER_HOUR, window_seconds=3600
    ):
        actions.record_event(
            page.article, ArticleEventKind.SUGGESTED_OPEN, language=page.language, visit=visit
        )


def _related(request: HttpRequest, page: Translation) -> list[Translation]:
    """Related articles in the page's language where translated, else in the reader's
    language, else in English."""
    others = list(
        _readable(request)
        .filter(article__in=page.article.related.all())
        .defer("body", "body_html", "search_title", "search_body")
        .order_by("article__position", "article__key")
    )
    preference = [page.language, current_language(), "en"]
    chosen: dict[int, Translation] = {}
    for item in others:
        best = chosen.get(item.article_id)
        rank = preference.index(item.language) if item.language in preference else 99
        if best is None or rank < (
            preference.index(best.language) if best.language in preference else 99
        ):
            chosen[item.article_id] = item
    return list(chosen.values())


def _article_page(
    request: HttpRequest, page: Translation, form: FeedbackForm | None = None, status: int = 200
) -> HttpResponse:
    siblings = [
        {
            "language": other.language,
            "name": _language_name(other.language),
            "title": other.title,
            "url": reverse("kb:article", args=[other.language, other.slug]),
        }
        for other in Translation.objects.filter(article_id=page.article_id)
        .exclude(pk=page.pk)
        .only("language", "slug", "title")
        .order_by("language")
    ]
    thanked = request.session.pop("kb_thanks", None) == page.pk
    response = render(
        request,
        "kb/article.html",
        {
            "page": page,
            "body_html": shown_html(
                page.body_html,
                page.body,
                {f.filename: f"/kb/files/{f.public_id}/" for f in page.article.files.all()}
                if "<img" in page.body_html
                else {},
            ),
            "article": page.article,
            "section_title": page.article.section.title(current_language()),
            "internal": page.article.visibility == Visibility.INTERNAL,
            # Our own list: Django's calls Azerbaijani right to left (its Arabic script).
            "rtl": page.language in settings.LANGUAGES_BIDI,
            "siblings": siblings,
            "related": _related(request, page),
            "form": form or FeedbackForm(),
            "thanked": thanked,
        },
        status=status,
    )
    if "<iframe" in page.body_html:
        response["Content-Security-Policy"] = f"{CSP}; {VIDEO_FRAMES}"
    return response


def article(request: HttpRequest, lang: str, slug: str) -> HttpResponse:
    page = _translation(request, lang, slug)
    _count_view(request, page)
    _count_suggested_open(request, page)
    return _article_page(request, page)


@require_POST
def feedback(request: HttpRequest, lang: str, slug: str) -> HttpResponse:
    page = _translation(request, lang, slug)
    form = FeedbackForm(request.POST)
    if not form.is_valid():
        return _article_page(request, page, form, status=422)
    if not hit("kb-feedback", client_ip(request), limit=FEEDBACK_PER_HOUR, window_seconds=3600):
        form.add_error(None, _("Too many requests. Please wait a while and try again."))
        return _article_page(request, page, form, status=429)
    actions.give_feedback(
        page.article,
        language=page.language,
        helpful=form.cleaned_data["helpful"] == "yes",
        comment=form.cleaned_data["comment"],
        user=request.user,
    )
    request.session["kb_thanks"] = page.pk
    return redirect(reverse("kb:article", args=[page.language, page.slug]) + "#feedback")


def _disposition(kind: str, filename: str) -> str:
    # RFC 6266/5987: the UTF-8 name percent-encoded; an ASCII-only fallback for old clients.
    ascii_name = "".join(
        c if c.isascii() and c.isprintable() and c not in '"\\' else "_" for c in filename
    )
    return f"{kind}; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename, safe='')}"


def article_file(request: HttpRequest, public_id: Any) -> FileResponse:
    """An article's image (inline) or guide (download), only while its article is readable.
    Agents also get files of drafts and internal articles (the desk previews them)."""
    found = ArticleFile.objects.select_related("article").filter(public_id=public_id).first()
    if found is None:
        raise Http404
    readable = found.article.status == ArticleStatus.PUBLISHED and (
        found.article.visibility == Visibility.PUBLIC
    )
    if not (readable or _sees_internal(request)):
        raise Http404
    try:
        handle = found.file.open("rb")
    except (FileNotFoundError, OSError):
        raise Http404 from None
    inline = found.content_type in INLINE_IMAGES
    response = FileResponse(
        handle, content_type=found.content_type if inline else "application/octet-stream"
    )
    response["Content-Disposition"] = _disposition(
        "inline" if inline else "attachment", found.filename
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response["Cache-Control"] = "private, max-age=3600"
    return response
