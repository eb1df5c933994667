"""The ticket page's forms as they stand before an agent types in them.

Rendering Django forms goes through a template per widget and cost a third of the ticket
page. Untouched, they differ only by the page's language, the ticket's priority and
department, and the department names (configuration), so each process renders each variant
once and keeps it with the configuration (`lib.config_cache`): a change of departments is
seen as any other configuration change. A form that comes back with the agent's input and
its errors is rendered afresh.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.template.loader import render_to_string
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import get_language

from destek.lib.config_cache import cached
from destek.tickets.selectors import upload_limits


def _compose(form: forms.Form, **flags: bool) -> SafeString:
    return mark_safe(  # noqa: S308  (a template's output, escaped by it)
        render_to_string("desk/_compose_fields.html", {"form": form, **flags, **upload_limits()})
    )


def _paragraphs(form: forms.Form) -> SafeString:
    return mark_safe(str(form.as_p()))  # noqa: S308  (Django's rendering, escaped by it)


def form_html(name: str, form: forms.Form, variant: Any = "") -> SafeString:
    """The fields of the ticket page's form `name` ("reply", "note", "fields", "close") as
    HTML: kept per language and `variant` (what the untouched form shows that differs between
    tickets) while `form` is untouched, rendered afresh when it carries the agent's input."""

    def render() -> SafeString:
        if name == "reply":
            return _compose(form, staff=True)
        if name == "note":
            return _compose(form, internal=True)
        return _paragraphs(form)

    if form.is_bound:
        return render()
    return cached(f"desk:form:{name}:{get_language()}:{variant}", render)
