from __future__ import annotations

from typing import Any

from django.contrib import admin

from destek.notify.models import Delivery, DemoMail, FailingAddress


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


@admin.register(DemoMail)
class DemoMailAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    """What the demo caught instead of sending; read it more easily at /desk/demo-mail/."""

    list_display = ("sent_at", "to", "subject")
    search_fields = ("to", "subject")
    readonly_fields = [f.name for f in DemoMail._meta.fields]

    def has_add_permission(self, request: Any) -> bool:
        return False


@admin.register(FailingAddress)
class FailingAddressAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ("email", "permanent", "status", "bounces", "last_failed_at")
    list_filter = ("permanent",)
    search_fields = ("email",)
