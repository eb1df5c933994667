from __future__ import annotations

from typing import Any

from django.contrib import admin

from destek.lib.zones import TimeZoneSelectAdmin
from destek.sla.models import Calendar, CalendarDate, WeeklyHours
from destek.sla.signals import service_levels_changed


class RecomputesClocks(admin.ModelAdmin):  # type: ignore[type-arg]
    """Hours or targets changed: open tickets' clocks follow (`service_levels_changed`); for
    the calendars here and the policies in `tickets`."""

    def save_related(self, request: Any, form: Any, formsets: Any, change: bool) -> None:
        super().save_related(request, form, formsets, change)
        service_levels_changed.send(sender=type(form.instance))

    def delete_model(self, request: Any, obj: Any) -> None:
        super().delete_model(request, obj)
        service_levels_changed.send(sender=type(obj))


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
