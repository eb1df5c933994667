"""The knowledge base in the desk: every article (drafts and internal ones too), the editor
with its preview, files, an article from a ticket, and the reports. Agents only."""

from __future__ import annotations

from itertools import groupby
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.db.models import Prefetch
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils.cache import patch_vary_headers
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from destek.accounts.http import AuthenticatedHttpRequest
from destek.accounts.models import User
from destek.desk.article_drafts import thread_as_markdown
from destek.desk.kb_forms import ArticleForm, FileForm, NewArticleForm, TranslationForm
from destek.desk.selectors import article_links
from destek.desk.views import agent_only
from destek.kb import editing, reports
from destek.kb.choices import ArticleStatus
from destek.kb.markdown import render as render_markdown
from destek.kb.models import Article, Section, Translation
from destek.kb.search import search
from destek.lib.errors import ActionRefused
from destek.lib.forms import add_refusal
from destek.lib.middleware import CSP
from destek.tickets.access import access_ticket
from destek.tickets.models import Ticket

LANGUAGES = dict(settings.LANGUAGES)
#: Editor pages show previews that may embed a video from the allow-listed players.
EDITOR_CSP = CSP + "; frame-src https://www.youtube-nocookie.com https://player.vimeo.com"


def _language(value: str | None) -> str:
    if value in LANGUAGES:
        return str(value)
    current = get_language() or settings.LANGUAGE_CODE
    return current if current in LANGUAGES else settings.LANGUAGE_CODE


def _article_or_404(pk: int) -> Article:
    found = Article.objects.select_related("section", "source_ticket").filter(pk=pk).first()
    if found is None:
        raise Http404
    return found


def _files(article: Article | None) -> dict[str, str]:
    """File name -> address, as `save_translation` renders them."""
    if article is None:
        return {}
    return {f.filename: f"/kb/files/{f.public_id}/" for f in article.files.all()}


def _editor(
    request: AuthenticatedHttpRequest, template: str, context: dict[str, Any], status: int = 200
) -> HttpResponse:
    response = render(request, template, context, status=status)
    response["Content-Security-Policy"] = EDITOR_CSP
    return response


@agent_only
def home(request: AuthenticatedHttpRequest) -> HttpResponse:
    """All articles by section with their status, visibility and languages; a search that
    includes drafts and internal articles."""
    shown = _language(get_language())
    query = " ".join(request.GET.get("q", "").split())[:200]
    search_language = _language(request.GET.get("lang") or shown)
    hits = (
        search(query, search_language, limit=30, include_internal=True, include_drafts=True)
        if query
        else []
    )
    articles = Article.objects.select_related("section").prefetch_related(
        Prefetch(
            "translations",
            queryset=Translation.objects.only("article_id", "language", "title", "slug"),
        )
    )
    sections = []
    for section, items in groupby(articles, key=lambda a: a.section):
        rows = []
        for article in items:
            present = sorted(t.language for t in article.translations.all())
            rows.append(
                {
                    "article": article,
                    "title": reports.title_in(article, shown),
                    "present": present,
                    "missing": [code for code in LANGUAGES if code not in present],
                }
            )
        sections.append((section.title(shown), rows))
    return render(
        request,
        "desk/kb/home.html",
        {
            "sections": sections,
            "query": query,
            "search_language": search_language,
            "hits": hits,
            "kb_languages": settings.LANGUAGES,
        },
    )


@agent_only
@require_GET
def links(request: AuthenticatedHttpRequest, number: int) -> HttpResponse:
    """The ticket page's "insert a link to an article" menu, asked for when the agent opens
    it (htmx swaps the list in); without JavaScript, a page of its own with the links to
    copy. Published public articles in the ticket's language, those matching its subject
    first."""
    try:
        ticket = access_ticket(request.user, number)
    except Ticket.DoesNotExist:
        raise Http404 from None
    fragment = bool(request.headers.get("HX-Request"))
    response = render(
        request,
        "desk/kb/_links.html" if fragment else "desk/kb/links.html",
        {
            "ticket": ticket,
            "links": article_links(ticket.language, ticket.subject),
            "language": ticket.language,
        },
    )
    patch_vary_headers(response, ["HX-Request"])
    return response


@agent_only
def new(request: AuthenticatedHttpRequest) -> HttpResponse:
    """A new article with its first language; `?ticket=<number>` starts a draft from the
    ticket's public thread, in the ticket's language."""
    user: User = request.user
    source: Ticket | None = None
    if request.method == "POST":
        form = NewArticleForm(request.POST)
        number = request.POST.get("ticket") or ""
    else:
        number = request.GET.get("ticket", "")
        initial: dict[str, Any] = {
            "language": _language(get_language()),
            "section": Section.objects.values_list("pk", flat=True).first(),
            "status": ArticleStatus.DRAFT,
        }
        form = NewArticleForm(initial=initial)
    if number:
        try:
            source = access_ticket(user, int(number))
        except (Ticket.DoesNotExist, ValueError):
            raise Http404 from None
        if request.method != "POST":
            form = NewArticleForm(
                initial={
                    **initial,
                    "language": source.language,
                    "title": source.subject,
                    "body": thread_as_markdown(source),
                    "ticket": source.number,
                }
            )
    preview = None
    status = 200
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        if "preview" in request.POST:
            preview = render_markdown(data["body"])
        else:
            try:
                article = editing.create_article(
                    section=data["section"],
                    status=data["status"],
                    visibility=data["visibility"],
                    tags=data["tags"],
                    related=data["related"],
                    language=data["language"],
                    title=data["title"],
                    body=data["body"],
                    slug=data["slug"],
                    source_ticket_id=source.pk if source else None,
                )
            except ActionRefused as refusal:
                add_refusal(form, refusal)
            else:
                messages.success(request, _("The article is saved."))
                return redirect("desk:kb_article", pk=article.pk)
    if request.method == "POST" and form.errors:
        status = 422
    return _editor(
        request,
        "desk/kb/new.html",
        {"form": form, "preview": preview, "source": source, "files": {}},
        status,
    )


@agent_only
def article(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    """An article's settings, its languages and its files."""
    found = _article_or_404(pk)
    if request.method == "POST":
        form = ArticleForm(request.POST, article=found)
        if form.is_valid():
            data = form.cleaned_data
            try:
                editing.update_article(
                    found,
                    section=data["section"],
                    status=data["status"],
                    visibility=data["visibility"],
                    tags=data["tags"],
                    related=data["related"],
                )
            except ActionRefused as refusal:
                add_refusal(form, refusal)
            else:
                messages.success(request, _("The article is saved."))
                return redirect("desk:kb_article", pk=found.pk)
        return _article_page(request, found, form=form, status=422)
    return _article_page(request, found)


def _article_page(
    request: AuthenticatedHttpRequest,
    found: Article,
    *,
    form: ArticleForm | None = None,
    file_form: FileForm | None = None,
    status: int = 200,
) -> HttpResponse:
    translations = {t.language: t for t in found.translations.all()}
    form = form or ArticleForm(
        article=found,
        initial={
            "section": found.section_id,
            "status": found.status,
            "visibility": found.visibility,
            "tags": found.tags,
            "related": list(found.related.values_list("pk", flat=True)),
        },
    )
    return render(
        request,
        "desk/kb/article.html",
        {
            "article": found,
            "title": reports.title_in(found, _language(get_language())),
            "form": form,
            "file_form": file_form or FileForm(),
            "kb_languages": [
                (code, name, translations.get(code)) for code, name in settings.LANGUAGES
            ],
            "files": found.files.order_by("filename"),
        },
        status=status,
    )


@agent_only
def text(request: AuthenticatedHttpRequest, pk: int, language: str) -> HttpResponse:
    """One language of an article: title, address and Markdown text, with a preview that
    saves nothing."""
    if language not in LANGUAGES:
        raise Http404
    found = _article_or_404(pk)
    existing = found.translations.filter(language=language).first()
    preview = None
    status = 200
    if request.method == "POST":
        form = TranslationForm(request.POST)
        if form.is_valid():
            data = form.cleaned_data
            if "preview" in request.POST:
                preview = render_markdown(data["body"], _files(found))
            else:
                try:
                    editing.save_text(
                        found,
                        language=language,
                        title=data["title"],
                        body=data["body"],
                        slug=data["slug"],
                    )
                except ActionRefused as refusal:
                    add_refusal(form, refusal)
                else:
                    messages.success(request, _("The article is saved."))
                    return redirect("desk:kb_text", pk=found.pk, language=language)
        if form.errors:
            status = 422
    else:
        form = TranslationForm(
            initial={"title": existing.title, "slug": existing.slug, "body": existing.body}
            if existing
            else {}
        )
    return _editor(
        request,
        "desk/kb/text.html",
        {
            "article": found,
            "language": language,
            "language_name": LANGUAGES[language],
            "existing": existing,
            "form": form,
            "preview": preview,
            "files": found.files.order_by("filename"),
            "public_url": f"/kb/{language}/{existing.slug}/" if existing else "",
        },
        status,
    )


@agent_only
@require_POST
def upload(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    found = _article_or_404(pk)
    form = FileForm(request.POST, request.FILES)
    if form.is_valid():
        try:
            stored = editing.add_file(found, form.cleaned_data["file"])
        except ActionRefused as refusal:
            add_refusal(form, refusal)
            return _article_page(request, found, file_form=form, status=refusal.status)
        messages.success(request, _("{name} is added to the article.").format(name=stored.filename))
        return redirect("desk:kb_article", pk=found.pk)
    return _article_page(request, found, file_form=form, status=422)


@agent_only
@require_POST
def preview(request: AuthenticatedHttpRequest) -> HttpResponse:
    """The editor's live preview: the sanitised HTML of the text sent, nothing saved."""
    body = request.POST.get("body", "")[:200_000]
    found = None
    if (request.POST.get("article") or "").isdigit():
        found = Article.objects.filter(pk=int(request.POST["article"])).first()
    response = HttpResponse(render_markdown(body, _files(found)), content_type="text/html")
    response["Cache-Control"] = "no-store"
    return response


@agent_only
def report(request: AuthenticatedHttpRequest) -> HttpResponse:
    return render(
        request,
        "desk/kb/reports.html",
        {
            "rows": reports.article_rows(_language(get_language())),
            "empty": reports.empty_searches(),
            "days": reports.EMPTY_SEARCH_DAYS,
        },
    )
