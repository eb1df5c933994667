"""Agents writing the knowledge base in the desk: articles, their settings and their files.

Translations are only ever written through `actions.save_translation` (it renders the HTML and
indexes the words in the same transaction); this module adds what the editor needs around it.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext as _

from destek.kb.actions import save_translation
from destek.kb.choices import ArticleStatus, Visibility
from destek.kb.models import Article, ArticleFile, Section, Translation
from destek.lib.errors import ActionRefused
from destek.lib.text import clean_filename

#: What an article may carry, known by its first bytes (never by the name or the browser's
#: word): images shown inline and PDF guides offered for download. No SVG: it can script.
FILE_TYPES = {
    "image/png": (b"\x89PNG\r\n\x1a\n", ("png",)),
    "image/jpeg": (b"\xff\xd8\xff", ("jpg", "jpeg")),
    "image/gif": (b"GIF8", ("gif",)),
    "image/webp": (b"RIFF", ("webp",)),
    "application/pdf": (b"%PDF-", ("pdf",)),
}

log = logging.getLogger(__name__)


def sniff(head: bytes) -> str | None:
    """The content type of a file from its first bytes, if it is one an article may carry."""
    for content_type, (magic, _extensions) in FILE_TYPES.items():
        if head.startswith(magic):
            if content_type == "image/webp" and head[8:12] != b"WEBP":
                continue
            return content_type
    return None


def _unique_key(title: str) -> str:
    base = slugify(title)[:80].strip("-") or "article"
    key, n = base, 2
    while Article.objects.filter(key=key).exists():
        key, n = f"{base}-{n}", n + 1
    return key


def _check_settings(status: str, visibility: str) -> None:
    if status not in ArticleStatus.values:
        raise ActionRefused("bad_status", _("Choose draft or published."), field="status")
    if visibility not in Visibility.values:
        raise ActionRefused("bad_visibility", _("Choose public or internal."), field="visibility")


def _tags(tags: str) -> str:
    return ", ".join(dict.fromkeys(t.strip() for t in tags.split(",") if t.strip()))[:300]


@transaction.atomic
def create_article(
    *,
    section: Section,
    status: str,
    visibility: str,
    tags: str = "",
    related: Iterable[Article] = (),
    language: str,
    title: str,
    body: str,
    slug: str = "",
    source_ticket_id: int | None = None,
) -> Article:
    """A new article with its first translation; a refused translation leaves no article."""
    _check_settings(status, visibility)
    if language not in dict(settings.LANGUAGES):
        raise ActionRefused("bad_language", _("Choose a language."), field="language")
    article = Article.objects.create(
        key=_unique_key(title),
        section=section,
        status=status,
        visibility=visibility,
        tags=_tags(tags),
        source_ticket_id=source_ticket_id,
    )
    article.related.set(list(related))
    save_text(article, language=language, title=title, body=body, slug=slug)
    article.refresh_from_db()
    return article


@transaction.atomic
def update_article(
    article: Article,
    *,
    section: Section,
    status: str,
    visibility: str,
    tags: str = "",
    related: Iterable[Article] = (),
) -> Article:
    """An article's settings: section, draft or published, public or internal, tags, related."""
    _check_settings(status, visibility)
    if status == ArticleStatus.PUBLISHED and not article.translations.exists():
        raise ActionRefused(
            "nothing_to_publish", _("Write the article in one language first."), field="status"
        )
    article.section = section
    article.status = status
    article.visibility = visibility
    article.tags = _tags(tags)
    article.updated_at = timezone.now()
    article.save(update_fields=["section", "status", "visibility", "tags", "updated_at"])
    article.related.set([other for other in related if other.pk != article.pk])
    return article


@transaction.atomic
def save_text(
    article: Article, *, language: str, title: str, body: str, slug: str = ""
) -> Translation:
    """One language of an article from the editor. A slug the agent typed that another
    article already uses in that language is refused (the action would quietly number it)."""
    if language not in dict(settings.LANGUAGES):
        raise ActionRefused("bad_language", _("Choose a language."), field="language")
    wanted = slugify(slug, allow_unicode=True)
    if slug.strip() and not wanted:
        raise ActionRefused(
            "slug_invalid", _("Use letters, digits and hyphens in the address."), field="slug"
        )
    if (
        wanted
        and Translation.objects.filter(language=language, slug=wanted)
        .exclude(article=article)
        .exists()
    ):
        raise ActionRefused(
            "slug_taken",
            _("Another article already uses this address in this language."),
            field="slug",
        )
    return save_translation(article, language=language, title=title, body=body, slug=wanted)


def _file_name(upload_name: str, content_type: str, taken: set[str]) -> str:
    """A name the Markdown can refer to: `file:<name>` stops at whitespace and `)`, and the
    extension says what the file is."""
    name = clean_filename(upload_name or "file", max_length=100)
    name = "-".join(name.replace("(", "").replace(")", "").split()) or "file"
    stem, dot, extension = name.rpartition(".")
    extensions = FILE_TYPES[content_type][1]
    if dot and stem and extension.lower() in extensions:
        extension = extension.lower()
    else:
        stem, extension = name, extensions[0]
    candidate, n = f"{stem}.{extension}", 2
    while candidate in taken:
        candidate, n = f"{stem}-{n}.{extension}", n + 1
    return candidate


@transaction.atomic
def add_file(article: Article, upload: Any) -> ArticleFile:
    """Keep an image or a PDF for an article; the translations that refer to it by
    `file:<name>` are rendered again so the reference works at once."""
    limit = settings.DESTEK_MAX_ATTACHMENT_MB * 1024 * 1024
    if upload.size is None or upload.size > limit:
        raise ActionRefused(
            "attachment_too_large",
            _("The file is larger than {mb} MB.").format(mb=settings.DESTEK_MAX_ATTACHMENT_MB),
            status=413,
            field="file",
        )
    head = upload.read(16)
    upload.seek(0)
    content_type = sniff(head)
    if content_type is None:
        raise ActionRefused(
            "file_type_refused",
            _("Only PNG, JPEG, GIF and WebP images and PDF documents can be added."),
            status=415,
            field="file",
        )
    taken = set(article.files.values_list("filename", flat=True))
    stored = ArticleFile(
        article=article,
        filename=_file_name(upload.name or "file", content_type, taken),
        content_type=content_type,
    )
    try:
        stored.file.save(f"{stored.public_id}.{FILE_TYPES[content_type][1][0]}", upload, save=False)
    except OSError as exc:
        # A full disk or a storage fault: the storage left nothing behind (lib/storage.py);
        # the editor says so next to the file, like an upload to a ticket.
        log.error("an article file could not be stored: %s", exc)
        raise ActionRefused(
            "storage_unavailable",
            _(
                "The file could not be saved: the server has no room for it right now. "
                "Please try again later."
            ),
            status=507,
            field="file",
        ) from exc
    name = stored.file.name
    try:
        stored.save()
    except Exception:
        stored.file.storage.delete(name)
        raise
    for existing in article.translations.all():
        if f"file:{stored.filename}" in existing.body:
            save_translation(
                article,
                language=existing.language,
                title=existing.title,
                body=existing.body,
                slug=existing.slug,
                refuse_remote_images=False,  # stored before they were refused
            )
    return stored
