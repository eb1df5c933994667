"""Messenger channels in the admin: their health at a glance (and the replies waiting on a
failing one), a new token when the old one was revoked (never shown), and the updates whose
work failed, with "Process again"."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db import transaction
from django.db.models import Count, Q, QuerySet
from django.http import HttpRequest
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from destek.lib.errors import ActionRefused
from destek.messaging import actions, health
from destek.messaging.choices import EventState, Health, OutboundState
from destek.messaging.models import Contact, InboundEvent, MessagingChannel

_HEALTH_COLOURS = {Health.HEALTHY: "#1a7f37", Health.FAILING: "#b42318", Health.UNKNOWN: "#666"}


class ChannelForm(forms.ModelForm):  # type: ignore[type-arg]
    new_token = forms.CharField(
        label=_("New token"),
        required=False,
        strip=True,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
        help_text=_(
            "Only when the token was revoked or changed (Telegram: from @BotFather). Saved "
            "encrypted, never shown; the webhook is set again with it."
        ),
    )

    class Meta:
        model = MessagingChannel
        fields = ("name", "department", "api_url", "account_id", "templates", "token_expires_at")

    def clean_new_token(self) -> str:
        token = str(self.cleaned_data.get("new_token") or "")
        if not token:
            return ""
        try:
            return health.check_token(self.instance.kind, token)
        except ActionRefused as exc:
            raise forms.ValidationError(str(exc.detail)) from None


@admin.register(MessagingChannel)
class MessagingChannelAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    form = ChannelForm
    list_display = ("name", "kind", "department", "health_shown", "waiting", "error_shown")
    list_filter = ("health", "kind")
    fields = (
        "kind", "name", "bot_username", "department", "api_url", "account_id", "templates",
        "token_expires_at", "new_token", "health", "last_error", "last_error_at",
    )  # fmt: skip
    readonly_fields = ("kind", "bot_username", "health", "last_error", "last_error_at")

    def get_queryset(self, request: HttpRequest) -> QuerySet[MessagingChannel]:
        # The replies waiting on each channel, counted in the list's own statement.
        channels: QuerySet[MessagingChannel] = (
            super()
            .get_queryset(request)
            .select_related("department")
            .annotate(waiting_count=Count("outbox", filter=Q(outbox__state=OutboundState.PENDING)))
        )
        return channels

    @admin.display(description=_("health"), ordering="health")
    def health_shown(self, channel: MessagingChannel) -> str:
        colour = _HEALTH_COLOURS.get(Health(channel.health), "#666")
        mark = "✖" if channel.health == Health.FAILING else "●"
        return format_html(
            '<strong style="color: {}">{} {}</strong>', colour, mark, channel.get_health_display()
        )

    @admin.display(description=_("replies waiting"))
    def waiting(self, channel: MessagingChannel) -> int:
        return int(getattr(channel, "waiting_count", 0))

    @admin.display(description=_("last error"), ordering="last_error_at")
    def error_shown(self, channel: MessagingChannel) -> str:
        if channel.health != Health.FAILING:
            return "—"
        return f"{channel.last_error[:120]}"

    def has_add_permission(self, request: object) -> bool:
        return False  # `destek channels add-telegram` adds one (it sets the webhook)

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        super().save_model(request, obj, form, change)
        token = form.cleaned_data.get("new_token")
        if not token:
            return
        if health.replace_token(obj, token):
            self.message_user(request, _("The new token works: the channel is working again."))
        else:
            self.message_user(
                request,
                _("The new token is saved, but the platform refused it: {error}").format(
                    error=obj.last_error
                ),
                messages.ERROR,
            )


@admin.register(InboundEvent)
class InboundEventAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    """What the platforms sent, kept as sent; failed ones can be processed again."""

    list_display = ("received_at", "channel", "external_id", "state", "attempts", "error_shown")
    list_filter = ("state", "channel")
    search_fields = ("external_id",)
    readonly_fields = (
        "channel", "external_id", "payload", "state", "attempts", "error",
        "received_at", "processed_at",
    )  # fmt: skip
    actions = ("process_again",)
    list_select_related = ("channel",)

    @admin.display(description=_("error"))
    def error_shown(self, event: InboundEvent) -> str:
        return event.error.strip().splitlines()[-1][:120] if event.error.strip() else ""

    @admin.action(description=_("Process again"))
    def process_again(self, request: HttpRequest, queryset: QuerySet[InboundEvent]) -> None:
        ids = list(queryset.filter(state=EventState.FAILED).values_list("pk", flat=True))
        with transaction.atomic():
            reopened = health.reopen_failed(ids)
            for event_id in reopened:
                transaction.on_commit(
                    lambda event_id=event_id: [  # type: ignore[misc]
                        hook(event_id) for hook in actions.event_received
                    ],
                    robust=True,
                )
        self.message_user(
            request,
            ngettext(
                "{count} update is processed again.",
                "{count} updates are processed again.",
                len(reopened),
            ).format(count=len(reopened)),
        )

    def has_add_permission(self, request: object) -> bool:
        return False

    def has_change_permission(self, request: object, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: object, obj: object = None) -> bool:
        return False  # the raw update is never lost


@admin.register(Contact)
class ContactAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = (
        "name", "username", "channel", "customer", "language", "linked_at", "created_at",
    )  # fmt: skip
    list_filter = ("channel",)
    search_fields = ("name", "username", "external_user_id")
    raw_id_fields = ("customer",)
    readonly_fields = ("channel", "external_user_id", "chat_id", "linked_at", "created_at")
