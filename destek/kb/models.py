"""The knowledge base: sections and articles, one translation per language, and what readers
did with them (views, votes, searches, deflections)."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from destek.kb.choices import ArticleEventKind, ArticleStatus, Visibility


class Section(models.Model):
    """Account, Events and orders, Payments and wallet, Technical problems..."""

    slug = models.SlugField(_("slug"), max_length=80, unique=True)
    position = models.PositiveIntegerField(_("position"), default=0)
    # Titles per language code, e.g. {"az": "Hesab", "en": "Account"}.
    titles = models.JSONField(_("titles"), default=dict)

    class Meta:
        ordering = ["position", "slug"]
        verbose_name = _("section")
        verbose_name_plural = _("sections")

    def __str__(self) -> str:
        return self.title()

    def title(self, language: str = "en") -> str:
        return str(self.titles.get(language) or self.titles.get("en") or self.slug)


class Article(models.Model):
    """One article; its words live in its translations (one per language)."""

    key = models.SlugField(_("key"), max_length=100, unique=True)
    section = models.ForeignKey(
        Section, verbose_name=_("section"), on_delete=models.PROTECT, related_name="articles"
    )
    status = models.CharField(
        _("status"), max_length=16, choices=ArticleStatus.choices, default=ArticleStatus.DRAFT
    )
    visibility = models.CharField(
        _("visibility"), max_length=16, choices=Visibility.choices, default=Visibility.PUBLIC
    )
    tags = models.CharField(_("tags"), max_length=300, blank=True, help_text=_("Comma-separated."))
    related = models.ManyToManyField("self", verbose_name=_("related articles"), blank=True)
    position = models.PositiveIntegerField(_("position"), default=0)
    source_ticket = models.ForeignKey(
        "tickets.Ticket",
        verbose_name=_("written from ticket"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    updated_at = models.DateTimeField(_("last updated"), default=timezone.now)

    class Meta:
        ordering = ["section__position", "position", "key"]
        verbose_name = _("article")
        verbose_name_plural = _("articles")

    def __str__(self) -> str:
        return self.key

    @property
    def tag_list(self) -> list[str]:
        return [tag.strip() for tag in self.tags.split(",") if tag.strip()]


class Translation(models.Model):
    """An article in one language: title, slug and Markdown body, and the search text made
    from them (normalised, stemmed; see lib/stems.py)."""

    article = models.ForeignKey(Article, on_delete=models.CASCADE, related_name="translations")
    language = models.CharField(_("language"), max_length=8, choices=settings.LANGUAGES)
    title = models.CharField(_("title"), max_length=200)
    slug = models.SlugField(_("slug"), max_length=200, allow_unicode=True)
    body = models.TextField(_("body (Markdown)"))
    body_html = models.TextField(_("body (sanitised HTML)"), blank=True, editable=False)
    search_title = models.TextField(blank=True, editable=False)
    search_body = models.TextField(blank=True, editable=False)
    updated_at = models.DateTimeField(_("last updated"), default=timezone.now)

    class Meta:
        ordering = ["article", "language"]
        verbose_name = _("translation")
        verbose_name_plural = _("translations")
        constraints = [
            models.UniqueConstraint(fields=["article", "language"], name="kb_one_per_language"),
            models.UniqueConstraint(fields=["language", "slug"], name="kb_slug_per_language"),
        ]

    def __str__(self) -> str:
        return f"{self.title} ({self.language})"


class ArticleFile(models.Model):
    """An image or a PDF guide an article shows or offers for download."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    article = models.ForeignKey(Article, on_delete=models.CASCADE, related_name="files")
    file = models.FileField(_("file"), upload_to="kb/%Y/%m/", max_length=200)
    filename = models.CharField(_("file name"), max_length=200)
    content_type = models.CharField(_("type"), max_length=100)
    created_at = models.DateTimeField(_("created"), default=timezone.now)

    class Meta:
        verbose_name = _("article file")
        verbose_name_plural = _("article files")

    def __str__(self) -> str:
        return self.filename


class Feedback(models.Model):
    """ "Was this helpful?" with an optional comment."""

    article = models.ForeignKey(Article, on_delete=models.CASCADE, related_name="feedback")
    language = models.CharField(max_length=8)
    helpful = models.BooleanField(_("helpful"))
    comment = models.TextField(_("comment"), blank=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now)

    class Meta:
        verbose_name = _("feedback")
        verbose_name_plural = _("feedback")

    def __str__(self) -> str:
        return f"{self.article_id}: {'+' if self.helpful else '-'}"


class ArticleEvent(models.Model):
    """A view, an article opened from the suggestions while filing, a deflection (left without
    filing) or a ticket filed anyway after reading. `visit` ties one filing attempt together."""

    article = models.ForeignKey(Article, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=20, choices=ArticleEventKind.choices)
    language = models.CharField(max_length=8)
    visit = models.CharField(max_length=64, blank=True)
    ticket = models.ForeignKey(
        "tickets.Ticket", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("article event")
        verbose_name_plural = _("article events")
        indexes = [
            models.Index(fields=["article", "kind"], name="kb_event_article_idx"),
            models.Index(fields=["visit", "kind"], name="kb_event_visit_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.article_id}"


class SearchLog(models.Model):
    """Each search and how many it found: searches that found nothing tell the team what to
    write next."""

    query = models.CharField(max_length=200)
    language = models.CharField(max_length=8)
    results = models.PositiveIntegerField()
    source = models.CharField(max_length=20, default="search")  # search, suggest, api
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("search")
        verbose_name_plural = _("searches")
        indexes = [models.Index(fields=["results", "created_at"], name="kb_search_empty_idx")]

    def __str__(self) -> str:
        return self.query


class Term(models.Model):
    """Every stem the articles of a language use: where a query's misspelt word finds its
    nearest real words (pg_trgm on PostgreSQL, an in-memory trigram index on SQLite)."""

    language = models.CharField(max_length=8)
    term = models.CharField(max_length=100)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["language", "term"], name="kb_term_unique")]

    def __str__(self) -> str:
        return self.term
