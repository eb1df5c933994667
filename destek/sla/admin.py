from __future__ import annotations

from django.contrib import admin

from destek.sla.models import Calendar, CalendarDate, Policy, WeeklyHours


class WeeklyHoursInline(admin.TabularInline):  # type: ignore[type-arg]
    model = WeeklyHours
    extra = 0


class CalendarDateInline(admin.TabularInline):  # type: ignore[type-arg]
    model = CalendarDate
    extra = 0


@admin.register(Calendar)
class CalendarAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ("name", "time_zone", "holiday_country", "holiday_subdivision")
    search_fields = ("name",)
    inlines = [WeeklyHoursInline, CalendarDateInline]


@admin.register(Policy)
class PolicyAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
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
        (None, {"fields": ("name", "position", "enabled")}),
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
