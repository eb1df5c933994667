from __future__ import annotations

from django.contrib import admin

from destek.desk.models import CannedReply


@admin.register(CannedReply)
class CannedReplyAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    """Admins keep the canned replies; agents only use them from the ticket page."""

    list_display = ("title", "language", "department", "status", "priority", "position")
    list_filter = ("language", "department", "status", "priority")
    list_editable = ("position",)
    search_fields = ("title", "body")
