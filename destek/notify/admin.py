from __future__ import annotations

from typing import Any

from django.contrib import admin

from destek.notify.models import Delivery


@admin.register(Delivery)
class DeliveryAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = (
        "created_at",
        "template",
        "kind",
        "recipient",
        "status",
        "attempts",
        "next_attempt_at",
        "sent_at",
    )
    list_filter = ("status", "kind", "template", "transport")
    search_fields = ("recipient", "subject", "message_id")
    readonly_fields = [f.name for f in Delivery._meta.fields]
    show_full_result_count = False

    def has_add_permission(self, request: Any) -> bool:
        return False
