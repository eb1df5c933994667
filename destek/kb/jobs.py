"""Periodic knowledge-base work: filing attempts that ended without a ticket."""

from __future__ import annotations

from datetime import timedelta

from django.core.cache import cache
from django.db.models import Max
from django.utils import timezone
from huey import crontab
from huey.contrib.djhuey import db_periodic_task

from destek.kb.actions import settle_visit
from destek.kb.choices import ArticleEventKind
from destek.kb.models import ArticleEvent

#: A visit whose last suggested article was opened this long ago, and that filed nothing,
#: counts as a deflection.
ABANDONED_AFTER = timedelta(minutes=30)
_LOCK = "kb:settle-deflections"


def abandoned_visits() -> list[str]:
    """Visits that opened a suggestion, went quiet, and have no outcome yet."""
    settled = ArticleEvent.objects.filter(
        kind__in=[ArticleEventKind.DEFLECTED, ArticleEventKind.FILED_ANYWAY]
    ).values("visit")
    return list(
        ArticleEvent.objects.filter(kind=ArticleEventKind.SUGGESTED_OPEN)
        .exclude(visit="")
        .exclude(visit__in=settled)
        .values("visit")
        .annotate(last=Max("created_at"))
        .filter(last__lt=timezone.now() - ABANDONED_AFTER)
        .values_list("visit", flat=True)[:1000]
    )


@db_periodic_task(crontab(minute="*/10"))
def settle_deflections() -> int:
    """Every ten minutes; safe twice: settle_visit skips what is settled, and a run that
    overlaps another leaves (a cache lock) rather than inserting the same outcome twice."""
    if not cache.add(_LOCK, 1, timeout=300):
        return 0
    try:
        return sum(settle_visit(visit) for visit in abandoned_visits())
    finally:
        cache.delete(_LOCK)
