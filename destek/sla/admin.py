from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db import transaction

from destek.lib.names import NamesForm, name_fields
from destek.lib.zones import TimeZoneSelectAdmin
from destek.sla.models import Calendar, CalendarDate, Policy, WeeklyHours


def recompute_after_commit() -> None:
    """Targets or hours changed: open tickets' clocks follow, in the worker."""
    from destek.sla.jobs import recompute_open_tickets

    transaction.on_commit(recompute_open_tickets, robust=True)


class RecomputesClocks(admin.ModelAdmin):  # type: ignore[type-arg]
    def save_related(self, request: Any, form: Any, formsets: Any, change: bool) -> None:
        super().save_related(request, form, formsets, change)
        recompute_after_commit()

    def delete_model(self, request: Any, obj: Any) -> None:
        super().delete_model(request, obj)
        recompute_after_commit()


class WeeklyHoursInline(admin.TabularInline):  # type: ignore[type-arg]
    model = WeeklyHours
    extra = 0


class CalendarDateInline(admin.TabularInline):  # type: ignore[type-arg]
    model = CalendarDate
    extra = 0


@admin.register(Calendar)
class CalendarAdmin(TimeZoneSelectAdmin, RecomputesClocks):
    list_display = ("name", "time_zone", "holiday_country", "holiday_subdivision")
    search_fields = ("name",)
    inlines = [WeeklyHoursInline, CalendarDateInline]


@admin.register(Policy)
class PolicyAdmin(RecomputesClocks):
    form = NamesForm
    list_display = (
        "name",
        "position",
        "enabled",
        "calendar",
        "first_response_minutes",
        "next_response_minutes",
        "resolution_minutes",
        "raise_priority",
    )
    list_editable = ("position", "enabled")
    list_filter = ("enabled", "calendar")
    list_select_related = ("calendar",)
    fieldsets = (
        (None, {"fields": ("name", *name_fields(), "position", "enabled")}),
        (
            "When",
            {
                "fields": (
                    "if_priority",
                    "if_tier",
                    "if_department",
                    "if_channel",
                    "if_organisation",
                )
            },
        ),
        (
            "Targets",
            {
                "fields": (
                    "calendar",
                    "first_response_minutes",
                    "next_response_minutes",
                    "resolution_minutes",
                    "warning_percent",
                    "raise_priority",
                )
            },
        ),
    )
