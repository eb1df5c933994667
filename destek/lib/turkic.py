"""Capital letters in Azerbaijani and Turkish: the capital of `i` is `İ`, not `I`.

Django capitalises the first letter of model and field names where it shows them as
headings and labels (`capfirst`: the admin's index, breadcrumbs, column headers, form
labels). Python's `str.upper()` knows no language and turns "istifadəçilər" into
"Istifadəçilər"; in these two languages the heading must read "İstifadəçilər". `install()`
(called once at start-up) puts this language-aware `capfirst` where Django looks it up.
"""

from __future__ import annotations

import importlib
from typing import Any

from django.template import defaultfilters
from django.template.defaultfilters import stringfilter
from django.utils.functional import keep_lazy_text
from django.utils.translation import get_language

#: Languages whose capital of the dotted `i` is the dotted `İ`.
DOTTED_CAPITAL_I = frozenset({"az", "tr"})

#: Django's modules that took `capfirst` from `django.utils.text` by name.
USERS = (
    "django.utils.text",
    "django.contrib.admin.sites",
    "django.contrib.admin.helpers",
    "django.contrib.admin.options",
    "django.contrib.admin.utils",
    "django.contrib.admin.templatetags.admin_list",
    "django.contrib.auth.forms",
    "django.db.models.base",
    "django.db.models.fields",
    "django.forms.models",
)


def upper_first(text: str, language: str | None = None) -> str:
    """`text` with its first letter capitalised the way `language` (the active one) writes."""
    if not text:
        return text
    language = (language or get_language() or "").split("-")[0]
    first = text[0]
    if first == "i" and language in DOTTED_CAPITAL_I:
        return "İ" + text[1:]
    return first.upper() + text[1:]


@keep_lazy_text
def capfirst(x: Any) -> Any:
    """Django's `capfirst`, with the dotted capital İ in Azerbaijani and Turkish."""
    if not x:
        return x
    return upper_first(x if isinstance(x, str) else str(x))


def _capfirst_filter(value: str) -> str:
    return upper_first(value)


def install() -> None:
    for name in USERS:
        module = importlib.import_module(name)
        if hasattr(module, "capfirst"):
            setattr(module, "capfirst", capfirst)  # noqa: B010
    # Safe in, safe out (the admin's "was changed successfully" links), as Django's own filter:
    # `stringfilter` reads the flag from the function it wraps.
    _capfirst_filter.is_safe = True  # type: ignore[attr-defined]
    template_filter = stringfilter(_capfirst_filter)
    template_filter.is_safe = True  # type: ignore[attr-defined]
    defaultfilters.register.filters["capfirst"] = template_filter
    setattr(defaultfilters, "capfirst", template_filter)  # noqa: B010
