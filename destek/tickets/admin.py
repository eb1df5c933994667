from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from destek.accounts.admin import UserAdmin as PeopleAdmin
from destek.accounts.models import User
from destek.lib.names import NamesForm, name_fields
from destek.sla.admin import RecomputesClocks
from destek.tickets.models import (
    Department,
    IntakeRule,
    Membership,
    Message,
    Policy,
    Tag,
    Ticket,
    TicketCC,
    TicketEvent,
    TicketFollower,
    TimeEntry,
)


class MembershipInline(admin.TabularInline):  # type: ignore[type-arg]
    model = Membership
    extra = 0
    autocomplete_fields = ("user",)


class AgentDepartmentsInline(admin.TabularInline):  # type: ignore[type-arg]
    model = Membership
    extra = 0
    verbose_name = _("department")
    verbose_name_plural = _("departments (agents)")


class UserAdmin(PeopleAdmin):
    """The people's admin from `accounts`, with the departments an agent works in."""

    inlines = [AgentDepartmentsInline, *PeopleAdmin.inlines]


admin.site.unregister(User)
admin.site.register(User, UserAdmin)


@admin.register(Department)
class DepartmentAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    form = NamesForm
    list_display = ("name", "slug", "email", "reopen_window_days", "position")
    list_editable = ("position",)
    search_fields = ("name", "slug")
    prepopulated_fields = {"slug": ("name",)}
    inlines = [MembershipInline]
    fields = (
        "name",
        *name_fields(),
        "slug",
        "email",
        "reopen_window_days",
        "position",
        "billing",
        "asks_diagnostics",
    )


class ReadOnlyInline(admin.TabularInline):  # type: ignore[type-arg]
    extra = 0
    can_delete = False
    show_change_link = False

    def has_add_permission(self, request: Any, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: Any, obj: Any = None) -> bool:
        return False


class MessageInline(ReadOnlyInline):
    model = Message
    fk_name = "ticket"
    fields = ("created_at", "author_kind", "author", "internal", "nudge", "merged_from", "body")


class EventInline(ReadOnlyInline):
    model = TicketEvent
    fields = ("created_at", "kind", "actor_kind", "actor", "from_value", "to_value")


class CCInline(ReadOnlyInline):
    model = TicketCC
    fields = ("address", "user", "added_by", "added_at")


class FollowerInline(ReadOnlyInline):
    model = TicketFollower
    fields = ("agent", "created_at")


class TimeInline(ReadOnlyInline):
    model = TimeEntry
    fields = ("created_at", "agent", "minutes", "note")


@admin.register(Ticket)
class TicketAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    """Read-only: every change of a ticket goes through an action (desk or API)."""

    list_display = (
        "display_number",
        "subject",
        "status",
        "priority",
        "department",
        "customer",
        "assignee",
        "channel",
        "created_at",
    )
    list_filter = ("status", "priority", "department", "channel", "close_reason")
    search_fields = ("=number", "subject", "customer__email")
    list_select_related = ("department", "customer", "assignee")
    show_full_result_count = False  # COUNT(*) over a million rows on every page is not free
    inlines = [MessageInline, EventInline, CCInline, FollowerInline, TimeInline]

    def has_add_permission(self, request: Any) -> bool:
        return False

    def has_change_permission(self, request: Any, obj: Any = None) -> bool:
        return False

    @admin.display(description=_("number"), ordering="number")
    def display_number(self, obj: Ticket) -> str:
        return obj.display_number


@admin.register(IntakeRule)
class IntakeRuleAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ("code", "enabled", "limit")
    list_editable = ("enabled", "limit")

    def has_add_permission(self, request: Any) -> bool:
        return False

    def has_delete_permission(self, request: Any, obj: Any = None) -> bool:
        return False


@admin.register(Tag)
class TagAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    search_fields = ("name",)


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
