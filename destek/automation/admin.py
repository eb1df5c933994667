from __future__ import annotations

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from destek.automation.models import Macro, MacroText


class MacroTextInline(admin.StackedInline):  # type: ignore[type-arg]
    model = MacroText
    extra = 1


@admin.register(Macro)
class MacroAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    """Admins keep the shared macros (and see the personal ones); agents apply them from the
    ticket page. The reply texts, one per language, are edited inline."""

    inlines = [MacroTextInline]
    list_display = ("name", "owner", "department", "status", "priority", "position")
    list_filter = ("department", "status", "priority", ("owner", admin.EmptyFieldListFilter))
    list_editable = ("position",)
    search_fields = ("name", "texts__title", "texts__body")
    fieldsets = (
        (None, {"fields": ("name", "owner", "department", "position")}),
        (
            _("What it changes"),
            {
                "fields": (
                    "status",
                    "close_reason",
                    "priority",
                    "set_department",
                    "assignee_choice",
                    "assignee",
                    "add_tags",
                    "remove_tags",
                    "note",
                )
            },
        ),
    )
