"""The ticket page's "insert a link to an article": published public articles in the ticket's
language, with the address a customer opens."""

from __future__ import annotations

from typing import Any

from django import template
from django.conf import settings
from django.utils.encoding import iri_to_uri

from destek.kb.search import visible

register = template.Library()


def article_links(language: str) -> list[dict[str, str]]:
    """Title and absolute address of every article a customer can read in `language`."""
    rows = (
        visible()
        .filter(language=language)
        .order_by("article__section__position", "article__position", "title")
        .values_list("title", "slug")
    )
    return [
        {"title": title, "url": iri_to_uri(f"{settings.BASE_URL}/kb/{language}/{slug}/")}
        for title, slug in rows
    ]


@register.inclusion_tag("desk/kb/_insert_link.html")
def kb_insert_link(ticket: Any) -> dict[str, Any]:
    return {"links": article_links(ticket.language), "language": ticket.language}
