"""`{% load bidi %}`: `{{ message.body|isolate }}` escapes plain text and isolates its
left-to-right runs in right-to-left text; `{{ html|isolate_html }}` does it to sanitised
HTML; `{{ message.body|linked }}` also makes its web and mail addresses links."""

from __future__ import annotations

from django import template
from django.utils.html import format_html
from django.utils.safestring import SafeData, SafeString, mark_safe

from destek.lib import bidi

register = template.Library()


@register.filter
def isolate(value: object) -> SafeString:
    return bidi.isolate_text("" if value is None else str(value))


@register.filter
def linked(value: object) -> SafeString:
    """Plain text, escaped, with its web and mail addresses as links, isolated like `isolate`."""
    return bidi.linked_text("" if value is None else str(value))


@register.filter
def isolate_html(value: object) -> SafeString:
    if not isinstance(value, SafeData):
        # Only HTML we made safe ourselves (sanitised) is kept as HTML; anything else is text.
        return bidi.isolate_text("" if value is None else str(value))
    return mark_safe(bidi.isolate_html(str(value)))  # noqa: S308  (input is already safe HTML)


@register.filter
def bdi(value: object) -> SafeString:
    """A person's text (a ticket subject) inside a sentence of ours, in `<bdi>`: its direction
    is its own and cannot reorder the words around it."""
    return format_html("<bdi>{}</bdi>", "" if value is None else str(value))
