"""The knowledge base in the admin. Translations are written through `save_translation` (so
the HTML and the search index follow); what readers did is read-only."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.utils.translation import gettext as _

from destek.kb.actions import save_translation
from destek.kb.markdown import remote_images
from destek.kb.models import (
    Article,
    ArticleEvent,
    ArticleFile,
    Feedback,
    SearchLog,
    Section,
    Translation,
)


@admin.register(Section)
class SectionAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ("slug", "__str__", "position")
    list_editable = ("position",)
    search_fields = ("slug",)
    fields = ("slug", "position", "titles")


class TranslationForm(forms.ModelForm):  # type: ignore[type-arg]
    def clean_body(self) -> str:
        body = str(self.cleaned_data.get("body") or "")
        remote = remote_images(body)
        if remote:
            # The same refusal as the desk's editor (save_translation), next to the field.
            raise forms.ValidationError(
                _(
                    "Only pictures uploaded to this article can be shown. Upload the picture "
                    "at %(address)s as a file of the article and write "
                    "![description](file:name) instead."
                )
                % {"address": remote[0][:120]}
            )
        return body


class TranslationInline(admin.StackedInline):  # type: ignore[type-arg]
    model = Translation
    form = TranslationForm
    extra = 0
    fields = ("language", "title", "slug", "body", "updated_at")
    readonly_fields = ("updated_at",)

    def get_formset(self, request: Any, obj: Any = None, **kwargs: Any) -> Any:
        formset = super().get_formset(request, obj, **kwargs)
        # Empty: made from the title by save_translation.
        formset.form.base_fields["slug"].required = False
        return formset


class FileInline(admin.TabularInline):  # type: ignore[type-arg]
    """Files are added in the desk (type and size checked there); here they can be removed."""

    model = ArticleFile
    extra = 0
    fields = ("filename", "content_type", "created_at")
    readonly_fields = fields

    def has_add_permission(self, request: Any, obj: Any = None) -> bool:
        return False


@admin.register(Article)
class ArticleAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ("key", "section", "status", "visibility", "updated_at")
    list_filter = ("status", "visibility", "section")
    search_fields = ("key", "tags", "translations__title")
    list_select_related = ("section",)
    filter_horizontal = ("related",)
    raw_id_fields = ("source_ticket",)
    readonly_fields = ("created_at", "updated_at")
    inlines = [TranslationInline, FileInline]

    def save_formset(self, request: Any, form: Any, formset: Any, change: bool) -> None:
        if formset.model is not Translation:
            super().save_formset(request, form, formset, change)
            return
        article = form.instance
        # What the change message reads (formset.save() would have set them).
        formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []
        for item in formset.forms:
            if not hasattr(item, "cleaned_data") or not item.cleaned_data:
                continue
            if item.cleaned_data.get("DELETE"):
                if item.instance.pk:
                    formset.deleted_objects.append(item.instance)
                    item.instance.delete()
                continue
            if not item.has_changed():
                continue
            data = item.cleaned_data
            before = item.initial.get("language")
            if item.instance.pk and before and before != data["language"]:
                # Another language is another translation: the old one goes.
                Translation.objects.filter(pk=item.instance.pk).delete()
            saved = save_translation(
                article,
                language=data["language"],
                title=data["title"],
                body=data["body"],
                slug=data.get("slug") or "",
            )
            if item.instance.pk and before == data["language"]:
                formset.changed_objects.append((saved, item.changed_data))
            else:
                formset.new_objects.append(saved)


class ReadOnlyAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    def has_add_permission(self, request: Any) -> bool:
        return False

    def has_change_permission(self, request: Any, obj: Any = None) -> bool:
        return False


@admin.register(Feedback)
class FeedbackAdmin(ReadOnlyAdmin):
    list_display = ("article", "language", "helpful", "comment", "created_at")
    list_filter = ("helpful", "language")
    search_fields = ("article__key", "comment")
    list_select_related = ("article",)


@admin.register(SearchLog)
class SearchLogAdmin(ReadOnlyAdmin):
    list_display = ("query", "language", "results", "source", "created_at")
    list_filter = ("language", "source")
    search_fields = ("query",)
    date_hierarchy = "created_at"


@admin.register(ArticleEvent)
class ArticleEventAdmin(ReadOnlyAdmin):
    list_display = ("article", "kind", "language", "ticket", "created_at")
    list_filter = ("kind", "language")
    search_fields = ("article__key",)
    list_select_related = ("article", "ticket")
