"""Names an admin gives in each language (departments, service-level policies): a JSON
object {language: name} beside the plain name, which is used where a language has none."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django import forms
from django.conf import settings
from django.db import models
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _


def names_field() -> models.JSONField:
    """The field that holds the names by language, the same on every model that has one."""
    return models.JSONField(
        _("names by language"),
        default=dict,
        blank=True,
        help_text=_(
            "The name customers and agents read in each language; the name above where a "
            "language has none."
        ),
    )


def name_in(names: Mapping[str, Any] | None, fallback: str, language: str | None = None) -> str:
    """The name in `language` (the active one by default), else `fallback`."""
    language = (language or get_language() or "").split("-")[0]
    value = (names or {}).get(language)
    return str(value).strip() if isinstance(value, str) and value.strip() else fallback


def _language_fields() -> dict[str, forms.Field]:
    return {
        f"name_{code}": forms.CharField(
            label=_("Name in %(language)s") % {"language": label},
            max_length=100,
            required=False,
        )
        for code, label in settings.LANGUAGES
    }


class _NamesFormBase(forms.ModelForm):  # type: ignore[type-arg]
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        names = self.instance.names or {}
        for code, _label in settings.LANGUAGES:
            self.fields[f"name_{code}"].initial = names.get(code, "")

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        self.instance.names = {
            code: cleaned[f"name_{code}"].strip()
            for code, _label in settings.LANGUAGES
            if (cleaned.get(f"name_{code}") or "").strip()
        }
        return cleaned


#: The admin form of a model with `names`: one text field per language ("Name in Persian").
NamesForm: type[forms.ModelForm] = type(  # type: ignore[type-arg]
    "NamesForm", (_NamesFormBase,), {"__module__": __name__, **_language_fields()}
)


def name_fields() -> tuple[str, ...]:
    return tuple(f"name_{code}" for code, _label in settings.LANGUAGES)
