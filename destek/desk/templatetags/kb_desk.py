"""The ticket page's "insert a link to an article": published public articles in the ticket's
language, with the address a customer opens."""

from __future__ import annotations

from typing import Any

from django import template
from django.conf import settings
from django.utils.encoding import iri_to_uri

from destek.kb.search import search, visible

register = template.Library()


#: The ticket page lists at most this many: a help centre of thousands would bloat every page.
LINKS_MAX = 30


def article_links(language: str, subject: str = "") -> list[dict[str, str]]:
    """Title and absolute address of articles a customer can read in `language`: those that
    match the ticket's subject first, then the rest in the help centre's order, at most
    LINKS_MAX (the help centre's own search finds any other)."""
    matching = [hit.translation for hit in search(subject, language, limit=10)] if subject else []
    rest = (
        visible()
        .filter(language=language)
        .exclude(pk__in=[t.pk for t in matching])
        .order_by("article__section__position", "article__position", "title")
        .select_related(None)
        .only("title", "slug")[: LINKS_MAX - len(matching)]
    )
    return [
        {"title": t.title, "url": iri_to_uri(f"{settings.BASE_URL}/kb/{language}/{t.slug}/")}
        for t in [*matching, *rest]
    ]


@register.inclusion_tag("desk/kb/_insert_link.html")
def kb_insert_link(ticket: Any) -> dict[str, Any]:
    return {"links": article_links(ticket.language, ticket.subject), "language": ticket.language}
