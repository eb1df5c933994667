"""What readers did with the knowledge base, for the team that writes it: per article views,
votes, comments, deflections and tickets filed anyway; and the searches that found nothing.

A fixed number of queries whatever the number of articles: each count is one aggregate with
`Count(filter=Q(...))` grouped by article, joined in Python.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Count, Max, Prefetch, Q
from django.db.models.functions import Lower
from django.utils import timezone

from destek.kb.choices import ArticleEventKind
from destek.kb.models import Article, ArticleEvent, Feedback, SearchLog, Translation

EMPTY_SEARCH_DAYS = 30


@dataclass(frozen=True)
class ArticleRow:
    article: Article
    title: str
    views: int
    suggested_opens: int
    deflections: int
    filed_anyway: int
    helpful: int
    votes: int
    comments: int

    @property
    def helpful_share(self) -> float | None:
        """Yes votes among all votes, 0..1; None without votes."""
        return self.helpful / self.votes if self.votes else None


@dataclass(frozen=True)
class EmptySearch:
    query: str
    language: str
    count: int
    last: datetime


def title_in(article: Article, language: str) -> str:
    """The article's title in `language`, else English, else any (translations prefetched)."""
    by_language = {t.language: t.title for t in article.translations.all()}
    return (
        by_language.get(language)
        or by_language.get("en")
        or next(iter(by_language.values()), article.key)
    )


def article_rows(language: str) -> list[ArticleRow]:
    """Every article with its counts, the most viewed first. Four queries."""
    articles = Article.objects.select_related("section").prefetch_related(
        Prefetch(
            "translations", queryset=Translation.objects.only("article_id", "language", "title")
        )
    )
    events = {
        row["article_id"]: row
        for row in ArticleEvent.objects.values("article_id").annotate(
            views=Count("id", filter=Q(kind=ArticleEventKind.VIEW)),
            opens=Count("id", filter=Q(kind=ArticleEventKind.SUGGESTED_OPEN)),
            deflected=Count("id", filter=Q(kind=ArticleEventKind.DEFLECTED)),
            filed=Count("id", filter=Q(kind=ArticleEventKind.FILED_ANYWAY)),
        )
    }
    votes = {
        row["article_id"]: row
        for row in Feedback.objects.values("article_id").annotate(
            yes=Count("id", filter=Q(helpful=True)),
            all=Count("id"),
            comments=Count("id", filter=~Q(comment="")),
        )
    }
    rows = []
    for article in articles:
        event = events.get(article.pk, {})
        vote = votes.get(article.pk, {})
        rows.append(
            ArticleRow(
                article=article,
                title=title_in(article, language),
                views=event.get("views", 0),
                suggested_opens=event.get("opens", 0),
                deflections=event.get("deflected", 0),
                filed_anyway=event.get("filed", 0),
                helpful=vote.get("yes", 0),
                votes=vote.get("all", 0),
                comments=vote.get("comments", 0),
            )
        )
    rows.sort(key=lambda row: (-row.views, -row.deflections, row.article.key))
    return rows


def empty_searches(
    *, days: int = EMPTY_SEARCH_DAYS, limit: int = 100, now: datetime | None = None
) -> list[EmptySearch]:
    """Searches that found nothing in the last `days`, the most frequent first: what to write
    next. Spellings that differ only in case count as one. One query."""
    since = (now or timezone.now()) - timedelta(days=days)
    found = (
        SearchLog.objects.filter(results=0, created_at__gte=since)
        # Suggestions run on every pause while a subject is typed: half-typed words, not
        # questions nobody answered.
        .exclude(source="suggest")
        .annotate(folded=Lower("query"))
        .values("folded", "language")
        .annotate(count=Count("id"), last=Max("created_at"))
        .order_by("-count", "-last", "folded")[:limit]
    )
    return [
        EmptySearch(
            query=row["folded"], language=row["language"], count=row["count"], last=row["last"]
        )
        for row in found
    ]


def deflection_totals(start: datetime, end: datetime) -> dict[str, int]:
    """Over a period, how often readers opened a suggested article, how often one answered
    their question (no ticket filed) and how often they filed one anyway. One query."""
    found = ArticleEvent.objects.filter(created_at__gte=start, created_at__lt=end).aggregate(
        opens=Count("id", filter=Q(kind=ArticleEventKind.SUGGESTED_OPEN)),
        deflected=Count("id", filter=Q(kind=ArticleEventKind.DEFLECTED)),
        filed=Count("id", filter=Q(kind=ArticleEventKind.FILED_ANYWAY)),
    )
    return {key: value or 0 for key, value in found.items()}
