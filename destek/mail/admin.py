from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.http import FileResponse, Http404, HttpRequest
from django.http.response import HttpResponseBase
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from destek.mail.actions import TemporaryFailure, retry
from destek.mail.models import InboundMessage, InboundStatus, MailAccount


@admin.register(InboundMessage)
class InboundMessageAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    """Every message received, what became of it, and the quarantine: look, download, retry."""

    list_display = (
        "received_at",
        "sender",
        "subject",
        "status",
        "reason",
        "authentication",
        "ticket",
        "source",
    )
    list_filter = ("status", "reason", "authentication", "source")
    search_fields = ("sender", "subject", "rfc_message_id")
    readonly_fields = [
        *(f.name for f in InboundMessage._meta.fields if f.name != "keep"),
        "raw_link",
    ]
    exclude = ("raw",)
    actions = ("retry_selected",)
    show_full_result_count = False

    def has_add_permission(self, request: Any) -> bool:
        return False

    @admin.display(description=_("raw message"))
    def raw_link(self, obj: InboundMessage) -> str:
        url = reverse("admin:mail_inboundmessage_raw", args=[obj.pk])
        return format_html('<a href="{}">{}</a>', url, _("Download (.eml)"))

    def get_urls(self) -> list[Any]:
        own = [
            path(
                "<int:pk>/raw/",
                self.admin_site.admin_view(self.raw_view),
                name="mail_inboundmessage_raw",
            )
        ]
        return own + super().get_urls()

    def raw_view(self, request: HttpRequest, pk: int) -> HttpResponseBase:
        inbound = InboundMessage.objects.filter(pk=pk).first()
        if inbound is None or not inbound.raw:
            raise Http404
        # Always a download: the raw bytes are whatever a stranger sent.
        response = FileResponse(
            inbound.raw.open("rb"),
            as_attachment=True,
            filename=f"{inbound.public_id}.eml",
            content_type="message/rfc822",
        )
        response["X-Content-Type-Options"] = "nosniff"
        return response

    @admin.action(description=_("Run the selected messages through the pipeline again"))
    def retry_selected(self, request: HttpRequest, queryset: Any) -> None:
        done = 0
        for inbound in queryset.exclude(status__in=[InboundStatus.STORED, InboundStatus.IGNORED]):
            try:
                outcome = retry(inbound)
            except TemporaryFailure as exc:
                self.message_user(request, str(exc), messages.ERROR)
                return
            done += outcome.status != InboundStatus.QUARANTINED
        self.message_user(
            request,
            _("{count} processed; the others stay in quarantine.").format(count=done),
            messages.SUCCESS,
        )


class MailAccountForm(forms.ModelForm):  # type: ignore[type-arg]
    """The password is typed here and stored encrypted; the page never shows it again."""

    password = forms.CharField(
        label=_("Password"),
        required=False,
        strip=False,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text=_(
            "Stored encrypted and never shown again. Leave empty to keep the stored password."
        ),
    )
    forget_password = forms.BooleanField(
        label=_("Forget the stored password"),
        required=False,
        help_text=_("The environment variable below is used instead."),
    )

    class Meta:
        model = MailAccount
        fields = (
            "name",
            "host",
            "port",
            "use_tls",
            "username",
            "password_env",
            "folder",
            "processed_folder",
            "department",
            "enabled",
        )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if cleaned.get("password"):
            self.instance.set_password(cleaned["password"])
        elif cleaned.get("forget_password"):
            self.instance.set_password("")
        return cleaned


@admin.register(MailAccount)
class MailAccountAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    form = MailAccountForm
    list_display = (
        "name",
        "username",
        "host",
        "port",
        "use_tls",
        "folder",
        "password_stored",
        "enabled",
    )
    readonly_fields = ("password_stored", "last_polled_at", "last_error")
    fields = (
        "name",
        "host",
        "port",
        "use_tls",
        "username",
        "password_stored",
        "password",
        "forget_password",
        "password_env",
        "folder",
        "processed_folder",
        "department",
        "enabled",
        "last_polled_at",
        "last_error",
    )

    @admin.display(description=_("password stored"), boolean=True)
    def password_stored(self, obj: MailAccount) -> bool:
        return bool(obj.password_encrypted)
