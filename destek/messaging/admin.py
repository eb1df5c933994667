"""Messenger channels in the admin: their health and last error; the token is never shown."""

from __future__ import annotations

from django.contrib import admin

from destek.messaging.models import Contact, MessagingChannel


@admin.register(MessagingChannel)
class MessagingChannelAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ("name", "kind", "department", "health", "last_error_at")
    list_filter = ("kind", "health")
    fields = (
        "kind",
        "name",
        "bot_username",
        "department",
        "api_url",
        "account_id",
        "templates",
        "token_expires_at",
        "health",
        "last_error",
        "last_error_at",
    )
    readonly_fields = ("kind", "bot_username", "health", "last_error", "last_error_at")

    def has_add_permission(self, request: object) -> bool:
        return False  # `destek channels add-telegram` adds one (it sets the webhook)


@admin.register(Contact)
class ContactAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = (
        "name", "username", "channel", "customer", "language", "linked_at", "created_at",
    )  # fmt: skip
    list_filter = ("channel",)
    search_fields = ("name", "username", "external_user_id")
    raw_id_fields = ("customer",)
    readonly_fields = ("channel", "external_user_id", "chat_id", "linked_at", "created_at")
