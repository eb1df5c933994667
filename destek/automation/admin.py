from __future__ import annotations

import json
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db import models
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from destek.automation import assignment, webhook_jobs, webhooks
from destek.automation.models import (
    AgentProfile,
    DepartmentAssignment,
    Macro,
    MacroText,
    Rule,
    RuleText,
    WebhookDelivery,
    WebhookTarget,
)
from destek.automation.rule_editor import RuleForm
from destek.automation.rules import DRY_RUN_LIMIT, dry_run
from destek.automation.webhook_choices import ALL_EVENTS, WebhookEvent
from destek.automation.webhook_safety import resolve
from destek.lib.errors import ActionRefused

#: Texts are typed in any of the five languages: each box takes the direction of its words.
TEXT_IN_ANY_DIRECTION: dict[type[models.Field[Any, Any]], dict[str, Any]] = {
    models.CharField: {"widget": forms.TextInput(attrs={"dir": "auto", "class": "vTextField"})},
    models.TextField: {"widget": forms.Textarea(attrs={"dir": "auto", "class": "vLargeTextField"})},
}


class MacroTextInline(admin.StackedInline):  # type: ignore[type-arg]
    model = MacroText
    extra = 1
    formfield_overrides = TEXT_IN_ANY_DIRECTION


@admin.register(Macro)
class MacroAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    """Admins keep the shared macros (and see the personal ones); agents apply them from the
    ticket page. The reply texts, one per language, are edited inline."""

    inlines = [MacroTextInline]
    list_display = ("name", "owner", "department", "status", "priority", "position")
    list_filter = ("department", "status", "priority", ("owner", admin.EmptyFieldListFilter))
    list_editable = ("position",)
    search_fields = ("name", "texts__title", "texts__body")
    fieldsets = (
        (None, {"fields": ("name", "owner", "department", "position")}),
        (
            _("What it changes"),
            {
                "fields": (
                    "status",
                    "close_reason",
                    "priority",
                    "set_department",
                    "assignee_choice",
                    "assignee",
                    "add_tags",
                    "remove_tags",
                    "note",
                )
            },
        ),
    )


@admin.register(DepartmentAssignment)
class DepartmentAssignmentAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    """How each department's tickets find an agent; a department without a row is manual."""

    list_display = ("department", "mode", "chat_weight", "require_language", "require_online")
    list_filter = ("mode",)
    filter_horizontal = ("skill_tags",)
    fieldsets = (
        (None, {"fields": ("department", "mode")}),
        (_("Least loaded"), {"fields": ("chat_weight",)}),
        (_("Who is available"), {"fields": ("require_language", "skill_tags", "require_online")}),
        (_("Reassignment"), {"fields": ("reassign_after_minutes", "calendar")}),
    )


@admin.register(AgentProfile)
class AgentProfileAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    """An agent's languages, skills, working hours and leave. Sending an agent away hands
    their open tickets of assigning departments to colleagues (`assignment.set_away`)."""

    list_display = ("agent", "away", "away_until", "calendar", "last_assigned_at")
    list_filter = ("away",)
    search_fields = ("agent__email", "agent__full_name")
    filter_horizontal = ("skills",)
    readonly_fields = ("last_assigned_at",)
    fields = ("agent", "languages", "skills", "calendar", "away", "away_until", "last_assigned_at")

    def save_model(self, request: Any, obj: AgentProfile, form: Any, change: bool) -> None:
        went_away = obj.away and (
            not change or "away" in form.changed_data or "away_until" in form.changed_data
        )
        super().save_model(request, obj, form, change)
        if went_away and obj.is_away(timezone.now()):
            # After the save commits: the profile's lock held while handing tickets over
            # would deadlock with the sweep (see `assignment.set_away`).
            assignment.release_tickets_after_commit(obj.agent)


# --- rules (issue 18) -----------------------------------------------------------------------


class RuleTextInline(admin.StackedInline):  # type: ignore[type-arg]
    model = RuleText
    extra = 1
    formfield_overrides = TEXT_IN_ANY_DIRECTION


@admin.register(Rule)
class RuleAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    """Rules on events and on time. The dry run lists the open tickets a rule would touch
    now and how, writing nothing. Conditions and actions are edited as rows
    (`rule_editor.RuleForm`), stored as the same JSON."""

    form = RuleForm
    inlines = [RuleTextInline]
    list_display = ("name", "kind", "enabled", "position", "dry_run_link")
    list_filter = ("kind", "enabled")
    list_editable = ("enabled", "position")
    search_fields = ("name",)
    actions = ["dry_run_action"]

    def get_urls(self) -> list[URLPattern]:
        own = [
            path(
                "<int:rule_id>/dry-run/",
                self.admin_site.admin_view(self.dry_run_view),
                name="automation_rule_dry_run",
            )
        ]
        return own + super().get_urls()

    @admin.display(description=_("Dry run"))
    def dry_run_link(self, rule: Rule) -> str:
        url = reverse("admin:automation_rule_dry_run", args=[rule.pk])
        return format_html('<a href="{}">{}</a>', url, _("Dry run"))

    @admin.action(description=_("Dry run: which open tickets it would touch now"))
    def dry_run_action(self, request: HttpRequest, queryset: QuerySet[Rule]) -> HttpResponse:
        rule = queryset.first()
        assert rule is not None  # the admin runs an action on a selection only
        return redirect("admin:automation_rule_dry_run", rule.pk)

    def dry_run_view(self, request: HttpRequest, rule_id: int) -> HttpResponse:
        if not self.has_view_permission(request):
            raise PermissionDenied
        rule = get_object_or_404(Rule.objects.prefetch_related("texts"), pk=rule_id)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "rule": rule,
            "rows": dry_run(rule),
            "limit": DRY_RUN_LIMIT,
            "title": _("Dry run of “{name}”").format(name=rule.name),
        }
        return TemplateResponse(request, "admin/automation/rule/dry_run.html", context)


# --- webhooks --------------------------------------------------------------------------------


class WebhookTargetForm(forms.ModelForm):  # type: ignore[type-arg]
    """The URL is checked as the API checks it (http(s), no private address unless allowed);
    the events are picked from the known names; the secret is never shown again."""

    url = forms.URLField(label=_("URL"), max_length=500, assume_scheme="https")
    events = forms.MultipleChoiceField(
        label=_("events"),
        choices=[(ALL_EVENTS, _("Every event")), *WebhookEvent.choices],
        widget=forms.CheckboxSelectMultiple,
    )

    class Meta:
        model = WebhookTarget
        fields = ("url", "events", "internal_notes", "active")

    def clean_url(self) -> str:
        url = str(self.cleaned_data["url"]).strip()
        try:
            resolve(url)
        except ActionRefused as exc:
            raise forms.ValidationError(str(exc.detail)) from None
        return url

    def clean_events(self) -> list[str]:
        try:
            return webhooks.clean_events(list(self.cleaned_data["events"]))
        except ActionRefused as exc:
            raise forms.ValidationError(str(exc.detail)) from None


@admin.register(WebhookTarget)
class WebhookTargetAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    """Targets; the secret is generated on creation and shown once in the success message."""

    form = WebhookTargetForm
    list_display = ("url", "events", "internal_notes", "active", "created_at", "log")
    list_filter = ("active",)
    search_fields = ("url",)
    readonly_fields = ("log",)

    def get_queryset(self, request: HttpRequest) -> QuerySet[WebhookTarget]:
        return super().get_queryset(request).filter(deleted_at__isnull=True)

    def delete_model(self, request: HttpRequest, obj: WebhookTarget) -> None:
        webhooks.delete_target(request.user, obj)  # type: ignore[arg-type]

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[WebhookTarget]) -> None:
        for target in queryset:
            webhooks.delete_target(request.user, target)  # type: ignore[arg-type]

    @admin.display(description=_("Delivery log"))
    def log(self, obj: WebhookTarget) -> str:
        if obj.pk is None:
            return "-"
        url = reverse("admin:automation_webhookdelivery_changelist")
        return format_html('<a href="{}?target__id__exact={}">{}</a>', url, obj.pk, _("Deliveries"))

    def save_model(self, request: HttpRequest, obj: WebhookTarget, form: Any, change: bool) -> None:
        if not change:
            obj.secret = webhooks.clean_secret(None)
            obj.created_by = request.user  # type: ignore[assignment]
        super().save_model(request, obj, form, change)
        if not change:
            messages.warning(
                request,
                _("The signing secret of this target, shown only now: {secret}").format(
                    secret=obj.secret
                ),
            )


#: Identifiers, JSON and the receiver's answer, shown left to right on a right-to-left page.
_DELIVERY_AS_CODE = {
    "public_id": "delivery_id",
    "payload": "payload_text",
    "response_body": "answer",
    "error": "error_text",
}


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    """The delivery log, newest first; select deliveries and replay them (new deliveries of
    the same payloads)."""

    list_display = (
        "created_at",
        "event",
        "target",
        "status",
        "attempts",
        "response_status",
        "duration_ms",
        "next_attempt_at",
    )
    list_filter = ("status", "event", "target")
    list_select_related = ("target",)
    search_fields = ("public_id",)
    actions = ("replay",)
    fields = readonly_fields = tuple(
        _DELIVERY_AS_CODE.get(f.name, f.name)
        for f in WebhookDelivery._meta.fields
        if f.name not in ("id", "claimed_at")
    )

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.display(description=_("delivery id"))
    def delivery_id(self, delivery: WebhookDelivery) -> str:
        return format_html('<code dir="ltr">{}</code>', delivery.public_id)

    @admin.display(description=_("payload"))
    def payload_text(self, delivery: WebhookDelivery) -> str:
        text = json.dumps(delivery.payload, ensure_ascii=False, indent=2)
        return format_html('<pre dir="ltr" class="destek-code">{}</pre>', text)

    @admin.display(description=_("error"))
    def error_text(self, delivery: WebhookDelivery) -> str:
        label = webhook_jobs.ERROR_LABELS.get(delivery.error)
        return str(label) if label is not None else (delivery.error or "-")

    @admin.display(description=_("response body"))
    def answer(self, delivery: WebhookDelivery) -> str:
        if not delivery.response_body:
            return "-"
        return format_html('<pre dir="ltr" class="destek-code">{}</pre>', delivery.response_body)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.action(description=_("Replay the selected deliveries"))
    def replay(self, request: HttpRequest, queryset: QuerySet[WebhookDelivery]) -> None:
        count = 0
        for delivery in queryset:
            webhooks.replay(request.user, delivery)  # type: ignore[arg-type]
            count += 1
        messages.success(request, _("Deliveries queued again: {count}.").format(count=count))
