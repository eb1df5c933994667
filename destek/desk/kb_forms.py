"""Knowledge-base editor forms: shape only; `kb.editing` and `kb.actions` decide."""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from destek.kb.choices import ArticleStatus, Visibility
from destek.kb.models import Article, Section


class ArticleForm(forms.Form):
    section = forms.ModelChoiceField(label=_("Section"), queryset=Section.objects.all())
    status = forms.ChoiceField(
        label=_("Status"), choices=ArticleStatus.choices, initial=ArticleStatus.DRAFT
    )
    visibility = forms.ChoiceField(
        label=_("Visibility"), choices=Visibility.choices, initial=Visibility.PUBLIC
    )
    tags = forms.CharField(
        label=_("Tags"), max_length=300, required=False, help_text=_("Comma-separated.")
    )
    related = forms.ModelMultipleChoiceField(
        label=_("Related articles"),
        queryset=Article.objects.all(),
        required=False,
        widget=forms.SelectMultiple(attrs={"size": 6}),
    )

    def __init__(self, *args: Any, article: Article | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if article is not None:
            self.fields["related"].queryset = Article.objects.exclude(pk=article.pk)  # type: ignore[attr-defined]


class TranslationForm(forms.Form):
    title = forms.CharField(label=_("Title"), max_length=200, required=False)
    slug = forms.CharField(
        label=_("Address (slug)"),
        max_length=200,
        required=False,
        help_text=_("Leave empty to make one from the title."),
    )
    # Empty titles and bodies are refused by the action, next to the field, like every other
    # refusal; the form only bounds the size.
    body = forms.CharField(
        label=_("Text (Markdown)"),
        max_length=200_000,
        required=False,
        strip=False,
        widget=forms.Textarea(attrs={"rows": 18, "data-kb-preview": ""}),
    )


class NewArticleForm(ArticleForm, TranslationForm):
    language = forms.ChoiceField(label=_("Language"), choices=settings.LANGUAGES)
    ticket = forms.IntegerField(required=False, widget=forms.HiddenInput)

    field_order = [
        "language", "title", "slug", "body", "section", "status", "visibility", "tags",
        "related", "ticket",
    ]  # fmt: skip


class FileForm(forms.Form):
    file = forms.FileField(label=_("Image or PDF guide"))
