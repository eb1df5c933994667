"""State changes of the knowledge base: writing articles (and their search index), loading the
demo content, and what readers do (views, votes, searches, deflections)."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from django.db import connection, transaction
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext_lazy as _

from destek.kb import search
from destek.kb.choices import ArticleEventKind, ArticleStatus, Visibility
from destek.kb.markdown import plain_text, remote_images, render
from destek.kb.models import Article, ArticleEvent, Feedback, SearchLog, Section, Term, Translation
from destek.lib import stems as text
from destek.lib.errors import ActionRefused

CONTENT = Path(__file__).parent / "content"

#: The demo's sections: slug -> titles per language.
SECTIONS = {
    "account": {
        "az": "Hesab",
        "fa": "حساب کاربری",
        "ru": "Аккаунт",
        "tr": "Hesap",
        "en": "Account",
    },
    "events-orders": {
        "az": "Tədbirlər və sifarişlər",
        "fa": "رویدادها و سفارش‌ها",
        "ru": "Мероприятия и заказы",
        "tr": "Etkinlikler ve siparişler",
        "en": "Events and orders",
    },
    "payments-wallet": {
        "az": "Ödənişlər və pul kisəsi",
        "fa": "پرداخت و کیف پول",
        "ru": "Платежи и кошелёк",
        "tr": "Ödemeler ve cüzdan",
        "en": "Payments and wallet",
    },
    "technical": {
        "az": "Texniki problemlər",
        "fa": "مشکلات فنی",
        "ru": "Технические проблемы",
        "tr": "Teknik sorunlar",
        "en": "Technical problems",
    },
}


def _analyse(title: str, body: str, language: str) -> tuple[list[str], list[str]]:
    """The stems search compares, of a title and of a Markdown body (lib/stems.py)."""
    return text.terms(title, language), text.terms(plain_text(body), language)


def _index(translation: Translation) -> None:
    """The translation's search text, its FTS5 row on SQLite, and new words for typos."""
    title_terms, body_terms = _analyse(translation.title, translation.body, translation.language)
    translation.search_title = " ".join(title_terms)
    translation.search_body = " ".join(body_terms)
    Translation.objects.filter(pk=translation.pk).update(
        search_title=translation.search_title, search_body=translation.search_body
    )
    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            cursor.execute("DELETE FROM kb_fts WHERE rowid = %s", [translation.pk])
            cursor.execute(
                "INSERT INTO kb_fts(rowid, title, body, language) VALUES (%s, %s, %s, %s)",
                [
                    translation.pk,
                    translation.search_title,
                    translation.search_body,
                    translation.language,
                ],
            )
    used = {term for term in (*title_terms, *body_terms) if len(term) < 100}
    known = set(
        Term.objects.filter(language=translation.language, term__in=used).values_list(
            "term", flat=True
        )
    )
    new = used - known
    if new:
        Term.objects.bulk_create(
            [Term(language=translation.language, term=term) for term in sorted(new)],
            ignore_conflicts=True,
        )
        # Now, not on commit: a rolled-back change only costs a rebuild of the index.
        search.vocabulary_changed()


def unindex(sender: Any, instance: Translation, **kwargs: Any) -> None:
    """A deleted translation's FTS5 row (SQLite; PostgreSQL's index is a column of the row)."""
    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            cursor.execute("DELETE FROM kb_fts WHERE rowid = %s", [instance.pk])


def _unique_slug(title: str, language: str, translation_pk: int | None) -> str:
    base = slugify(title, allow_unicode=True)[:180] or "article"
    taken = Translation.objects.filter(language=language)
    if translation_pk is not None:
        taken = taken.exclude(pk=translation_pk)
    slug, n = base, 2
    while taken.filter(slug=slug).exists():
        slug, n = f"{base}-{n}", n + 1
    return slug


@transaction.atomic
def save_translation(
    article: Article,
    *,
    language: str,
    title: str,
    body: str,
    slug: str = "",
    refuse_remote_images: bool = True,
) -> Translation:
    """Write one language of an article; its HTML and search index follow in the same
    transaction. A text with an image from elsewhere is refused, unless it is a stored text
    rendered again (`refuse_remote_images=False`: its remote images are left out)."""
    title = " ".join(title.split())
    if not title:
        raise ActionRefused("title_required", _("An article needs a title."), field="title")
    if not body.strip():
        raise ActionRefused("body_required", _("An article needs a text."), field="body")
    remote = remote_images(body) if refuse_remote_images else []
    if remote:
        raise ActionRefused(
            "remote_image",
            _(
                "Only pictures uploaded to this article can be shown. Upload the picture at "
                "%(address)s as a file of the article and write ![description](file:name) "
                "instead."
            )
            % {"address": remote[0][:120]},
            field="body",
        )
    translation = Translation.objects.filter(article=article, language=language).first()
    translation = translation or Translation(article=article, language=language)
    translation.title = title[:200]
    translation.body = body
    translation.slug = slugify(slug, allow_unicode=True) if slug else ""
    translation.slug = _unique_slug(translation.slug or title, language, translation.pk)
    translation.body_html = render(
        body, {f.filename: f"/kb/files/{f.public_id}/" for f in article.files.all()}
    )
    translation.updated_at = timezone.now()
    translation.save()
    _index(translation)
    Article.objects.filter(pk=article.pk).update(updated_at=translation.updated_at)
    return translation


@transaction.atomic
def import_translations(rows: list[tuple[Article, str, str, str]]) -> int:
    """Many (article, language, title, body) at once, for imports: the same rendering and
    analysis as `save_translation`, written in bulk. Slugs come from the titles."""
    made: list[Translation] = []
    vocabulary: dict[str, set[str]] = {}
    taken = {
        (language, slug) for language, slug in Translation.objects.values_list("language", "slug")
    }
    now = timezone.now()
    for article, language, title, body in rows:
        title_terms, body_terms = _analyse(title, body, language)
        base = slugify(title, allow_unicode=True)[:180] or "article"
        slug, n = base, 2
        while (language, slug) in taken:
            slug, n = f"{base}-{n}", n + 1
        taken.add((language, slug))
        made.append(
            Translation(
                article=article,
                language=language,
                title=" ".join(title.split())[:200],
                slug=slug,
                body=body,
                body_html=render(body),
                search_title=" ".join(title_terms),
                search_body=" ".join(body_terms),
                updated_at=now,
            )
        )
        vocabulary.setdefault(language, set()).update(
            t for t in (*title_terms, *body_terms) if len(t) < 100
        )
    Translation.objects.bulk_create(made, batch_size=500)
    if connection.vendor == "sqlite":
        created = Translation.objects.filter(article__in={row[0].pk for row in rows}).values_list(
            "pk", "search_title", "search_body", "language"
        )
        with connection.cursor() as cursor:
            cursor.executemany(
                "INSERT INTO kb_fts(rowid, title, body, language) VALUES (%s, %s, %s, %s)",
                list(created),
            )
    Term.objects.bulk_create(
        [Term(language=lang, term=term) for lang, terms in vocabulary.items() for term in terms],
        ignore_conflicts=True,
        batch_size=1000,
    )
    search.vocabulary_changed()
    return len(made)


# --- demo content ----------------------------------------------------------------------------


def _read(path: Path) -> tuple[str, str]:
    lines = path.read_text(encoding="utf-8").splitlines()
    title = lines[0].removeprefix("# ").strip() if lines else ""
    return title, "\n".join(lines[1:]).strip() + "\n"


@transaction.atomic
def load_content(root: Path = CONTENT) -> int:
    """The demo knowledge base from `kb/content/<key>/{meta.toml,<lang>.md}`; loading twice
    changes nothing. Returns how many articles were created."""
    for position, (slug, titles) in enumerate(SECTIONS.items()):
        Section.objects.get_or_create(
            slug=slug, defaults={"titles": titles, "position": (position + 1) * 10}
        )
    sections = {section.slug: section for section in Section.objects.all()}
    created = 0
    related: dict[str, list[str]] = {}
    for folder in sorted(p for p in root.iterdir() if (p / "meta.toml").exists()):
        meta: dict[str, Any] = tomllib.loads((folder / "meta.toml").read_text(encoding="utf-8"))
        article, new = Article.objects.get_or_create(
            key=folder.name,
            defaults={
                "section": sections[meta["section"]],
                "position": int(meta.get("position", 0)),
                "tags": ", ".join(meta.get("tags", [])),
                "visibility": meta.get("visibility", Visibility.PUBLIC),
                "status": ArticleStatus.PUBLISHED,
            },
        )
        related[folder.name] = list(meta.get("related", []))
        if not new:
            continue
        created += 1
        for path in sorted(folder.glob("*.md")):
            title, body = _read(path)
            save_translation(article, language=path.stem, title=title, body=body)
    by_key = {a.key: a for a in Article.objects.filter(key__in=related)}
    for key, others in related.items():
        article = by_key[key]
        if not article.related.exists():
            article.related.set([by_key[other] for other in others if other in by_key])
    return created


# --- readers ---------------------------------------------------------------------------------


def record_event(
    article: Article, kind: str, *, language: str, visit: str = "", ticket: Any = None
) -> None:
    ArticleEvent.objects.create(
        article=article, kind=kind, language=language, visit=visit[:64], ticket=ticket
    )


def record_search(query: str, language: str, results: int, source: str) -> None:
    SearchLog.objects.create(
        query=" ".join(query.split())[:200], language=language, results=results, source=source
    )


@transaction.atomic
def give_feedback(
    article: Article, *, language: str, helpful: bool, comment: str = "", user: Any = None
) -> Feedback:
    return Feedback.objects.create(
        article=article,
        language=language,
        helpful=helpful,
        comment=comment.strip()[:2000],
        user=user if getattr(user, "is_authenticated", False) else None,
    )


@transaction.atomic
def settle_visit(visit: str, *, ticket: Any = None) -> int:
    """A filing attempt ends: the articles opened from its suggestions count as "filed anyway"
    when a ticket came of it (`ticket`), else as deflections. Safe to call twice."""
    if not visit:
        return 0
    if ticket is not None:
        # Filed after the sweep had already counted the visit as a deflection: it was not one.
        ArticleEvent.objects.filter(visit=visit, kind=ArticleEventKind.DEFLECTED).update(
            kind=ArticleEventKind.FILED_ANYWAY, ticket=ticket
        )
    opened = set(
        ArticleEvent.objects.filter(visit=visit, kind=ArticleEventKind.SUGGESTED_OPEN).values_list(
            "article_id", "language"
        )
    )
    settled = set(
        ArticleEvent.objects.filter(
            visit=visit, kind__in=[ArticleEventKind.DEFLECTED, ArticleEventKind.FILED_ANYWAY]
        ).values_list("article_id", flat=True)
    )
    kind = ArticleEventKind.FILED_ANYWAY if ticket is not None else ArticleEventKind.DEFLECTED
    events = [
        ArticleEvent(
            article_id=article_id, kind=kind, language=language, visit=visit, ticket=ticket
        )
        for article_id, language in opened
        if article_id not in settled
    ]
    ArticleEvent.objects.bulk_create(events)
    return len(events)
