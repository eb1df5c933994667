"""Services, groups, areas, incidents (with their timeline) and maintenance in the admin.
Saving goes through the actions where state is involved, so the shown state, its history and
the events stay right."""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.auth.models import Permission
from django.http import HttpRequest
from django.utils import timezone
from django.utils.functional import lazy
from django.utils.html import format_html_join
from django.utils.translation import gettext, gettext_noop
from django.utils.translation import gettext_lazy as _

from destek.accounts.choices import Role
from destek.accounts.models import User
from destek.announcements import actions
from destek.announcements.access import PERMISSION
from destek.announcements.choices import IncidentState, MaintenanceState
from destek.announcements.models import (
    Area,
    AutomaticOptOut,
    Incident,
    IncidentUpdate,
    Maintenance,
    Service,
    ServiceGroup,
    ServiceStateChange,
    ServiceUser,
    StatusEvent,
    Subscription,
)
from destek.announcements.texts import default_language
from destek.lib.errors import ActionRefused
from destek.lib.names import NamesForm, name_fields
from destek.tickets.admin import UserAdmin as DeskUserAdmin


@admin.register(ServiceGroup)
class ServiceGroupAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    form = NamesForm
    list_display = ("name", "position")
    list_editable = ("position",)
    fields = ("name", *name_fields(), "position")


class ServiceStateChangeInline(admin.TabularInline):  # type: ignore[type-arg]
    model = ServiceStateChange
    extra = 0
    can_delete = False
    readonly_fields = ("state", "at")
    ordering = ("-at",)
    max_num = 0


@admin.register(Service)
class ServiceAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    form = NamesForm
    fields = ("name", *name_fields(), "slug", "group", "position", "state", "shown_state")
    list_display = ("name", "slug", "group", "state", "shown_state", "position")
    list_filter = ("group", "shown_state")
    search_fields = ("name", "slug")
    prepopulated_fields = {"slug": ("name",)}
    readonly_fields = ("shown_state",)
    inlines = [ServiceStateChangeInline]

    def save_model(self, request: HttpRequest, obj: Service, form: Any, change: bool) -> None:
        state = obj.state
        if change and "state" in form.changed_data:
            # The state goes through the action: history, event, the shown state.
            obj.state = Service.objects.get(pk=obj.pk).state
            super().save_model(request, obj, form, change)
            actions.set_service_state(request.user, obj, state)  # type: ignore[arg-type]
            return
        super().save_model(request, obj, form, change)
        actions.refresh_services([obj.pk])


@admin.register(Area)
class AreaAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    form = NamesForm
    fields = ("name", *name_fields(), "slug", "kind", "position")
    list_display = ("name", "slug", "kind", "position")
    list_filter = ("kind",)
    prepopulated_fields = {"slug": ("name",)}


@admin.register(ServiceUser)
class ServiceUserAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ("__str__", "user", "organisation", "service", "area")
    list_filter = ("service", "area")
    raw_id_fields = ("user", "organisation")
    search_fields = ("user__email", "organisation__name")


def _in_language(label: str, language: Any) -> str:
    return gettext(label) % {"language": language}


_lazy_in_language = lazy(_in_language, str)


def _language_texts(
    prefix: str, label: str, *, textarea: bool, max_length: int
) -> dict[str, forms.Field]:
    """One field per language ("Title in Persian"): what the actions take as {language: text}."""
    return {
        f"{prefix}_{code}": forms.CharField(
            label=_lazy_in_language(label, name),
            required=False,
            max_length=max_length,
            strip=True,
            widget=(
                forms.Textarea(attrs={"rows": 3, "dir": "auto"})
                if textarea
                else forms.TextInput(attrs={"dir": "auto", "class": "vTextField"})
            ),
        )
        for code, name in settings.LANGUAGES
    }


def _names(prefix: str) -> tuple[str, ...]:
    return tuple(f"{prefix}_{code}" for code, _name in settings.LANGUAGES)


def _gather(form: forms.BaseForm, data: dict[str, Any], prefix: str) -> dict[str, str]:
    """The per-language fields of `prefix` as {language: text}, the empty ones left out."""
    return {
        code: text
        for code, _name in settings.LANGUAGES
        if (text := (data.get(f"{prefix}_{code}") or "").strip())
    }


def _fill(form: forms.ModelForm, prefix: str, texts: dict[str, str] | None) -> None:  # type: ignore[type-arg]
    for code, _name in settings.LANGUAGES:
        form.fields[f"{prefix}_{code}"].initial = (texts or {}).get(code, "")


class IncidentUpdateInline(admin.StackedInline):  # type: ignore[type-arg]
    """The timeline, read only: updates are added through the API (or the action), which
    changes the incident's state and its services with them."""

    model = IncidentUpdate
    extra = 0
    can_delete = False
    max_num = 0
    fields = ("state", "texts", "author", "created_at")
    readonly_fields = fields

    @admin.display(description=_("text"))
    def texts(self, update: IncidentUpdate) -> str:
        """Each language's text under its name, as written (not the stored JSON)."""
        names = dict(settings.LANGUAGES)
        return format_html_join(
            "",
            "<p><strong>{}</strong></p>"
            '<p dir="auto" lang="{}" style="white-space: pre-wrap">{}</p>',
            ((names.get(code, code), code, text) for code, text in update.body.items()),
        )


def _check_title_and_services(form: forms.ModelForm, data: dict[str, Any]) -> None:  # type: ignore[type-arg]
    """An incident's or a maintenance window's title (per language) and its services."""
    try:
        data["title"] = actions.texts_of(
            _gather(form, data, "title"), field="title", language=None, required=True,
            max_length=actions.TITLE_MAX,
        )  # fmt: skip
    except ActionRefused as refused:
        form.add_error(f"title_{default_language()}", str(refused.detail))
    if not data.get("services"):
        form.add_error("services", _("Name at least one affected service."))


class _IncidentFormBase(forms.ModelForm):  # type: ignore[type-arg]
    """The title and the new update, one field per language."""

    class Meta:
        model = Incident
        fields = ["state", "impact", "services", "areas", "started_at"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _fill(self, "title", self.instance.title)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        _check_title_and_services(self, data)
        data["update"] = _gather(self, data, "update")
        if self.instance.pk is None and not data["update"]:
            self.add_error(f"update_{default_language()}", _("Say what is happening."))
        return data


#: "Title in English", "Title in Azerbaijani" ...: incidents and maintenance alike.
TITLE_FIELDS = _language_texts(
    "title", gettext_noop("Title in %(language)s"), textarea=False, max_length=actions.TITLE_MAX
)

#: Title in English, in Azerbaijani ...; a new update in each (Markdown, a textarea each).
IncidentForm: type[forms.ModelForm] = type(  # type: ignore[type-arg]
    "IncidentForm",
    (_IncidentFormBase,),
    {
        "__module__": __name__,
        **TITLE_FIELDS,
        **_language_texts(
            "update",
            gettext_noop("New update in %(language)s"),
            textarea=True,
            max_length=actions.BODY_MAX,
        ),
    },
)


@admin.register(Incident)
class IncidentAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    """New incidents and state changes go through the actions (timeline, events, the
    services' shown state); the timeline itself is read only here."""

    form = IncidentForm
    fieldsets = (
        (None, {"fields": (*_names("title"), "state", "impact", "services", "areas")}),
        (
            _("New update"),
            {
                "fields": _names("update"),
                "description": _(
                    "Markdown. Required for a new incident (in one language at least); on a "
                    "change, added to the timeline with the state chosen above."
                ),
            },
        ),
        (None, {"fields": ("started_at", "resolved_at", "created_by")}),
    )
    list_display = ("__str__", "state", "impact", "started_at", "resolved_at")
    list_filter = ("state", "impact", "services")
    filter_horizontal = ("services", "areas")
    readonly_fields = ("resolved_at", "created_by")
    inlines = [IncidentUpdateInline]
    date_hierarchy = "started_at"

    def save_model(self, request: HttpRequest, obj: Incident, form: Any, change: bool) -> None:
        data = form.cleaned_data
        user = request.user
        text = data.get("update") or {}
        if not change:
            created = actions.create_incident(
                user,  # type: ignore[arg-type]
                title=data["title"],
                body=text,
                services=list(data["services"]),
                areas=list(data["areas"]),
                state=data["state"],
                impact=data["impact"],
            )
            obj.pk = created.pk
            obj.state = created.state
            return
        before = Incident.objects.get(pk=obj.pk)
        Incident.objects.filter(pk=obj.pk).update(
            title=data["title"], impact=data["impact"], started_at=data["started_at"]
        )
        obj.state = before.state
        # On the form, not on the admin: one ModelAdmin serves every request at once.
        form.status_pending = (before, text, data["state"])

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        for formset in formsets:  # the read-only timeline: saves nothing, but the log needs it
            self.save_formset(request, form, formset, change)
        if not change:
            return  # the action set the services and areas
        form.save_m2m()
        before, text, state = form.status_pending
        obj = form.instance
        if text or state != before.state:
            actions.add_incident_update(
                request.user,  # type: ignore[arg-type]
                obj,
                body=text or str(IncidentState(state).label),
                state=state,
            )
        actions.refresh_services(
            set(obj.services.values_list("pk", flat=True))
            | set(before.services.values_list("pk", flat=True))
        )


class _MaintenanceFormBase(forms.ModelForm):  # type: ignore[type-arg]
    """The title and the description, one field per language."""

    class Meta:
        model = Maintenance
        fields = ["services", "areas", "starts_at", "ends_at"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _fill(self, "title", self.instance.title)
        _fill(self, "body", self.instance.body)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        _check_title_and_services(self, data)
        data["body"] = _gather(self, data, "body")
        if self.instance.pk is not None:
            for name in ("starts_at", "ends_at"):
                # The form shows whole seconds: a time left as it was is not a move.
                kept = getattr(self.instance, name)
                if data.get(name) == kept.replace(microsecond=0):
                    data[name] = kept
        starts, ends = data.get("starts_at"), data.get("ends_at")
        if starts and ends and ends <= starts:
            self.add_error("ends_at", _("The maintenance must end after it starts."))
        elif ends and self.instance.pk is None and ends <= timezone.now():
            self.add_error("ends_at", _("This window has ended already."))
        elif self.instance.pk is not None and starts and ends:
            _check_move(self, starts, ends)
        if "title" in data:
            self.instance.title = data["title"]
        self.instance.body = data["body"]
        return data


def _check_move(form: forms.ModelForm, starts: Any, ends: Any) -> None:  # type: ignore[type-arg]
    """What reschedule_maintenance refuses, said on the form before anything is saved."""
    window: Maintenance = form.instance
    if (starts, ends) == (window.starts_at, window.ends_at):
        return
    if window.state not in (MaintenanceState.SCHEDULED, MaintenanceState.IN_PROGRESS):
        form.add_error("starts_at", _("This maintenance is over and cannot be moved."))
    elif window.state == MaintenanceState.IN_PROGRESS and starts != window.starts_at:
        form.add_error("starts_at", _("This maintenance has started: only its end can be moved."))
    elif ends <= timezone.now():
        form.add_error("ends_at", _("This window has ended already."))


MaintenanceForm: type[forms.ModelForm] = type(  # type: ignore[type-arg]
    "MaintenanceForm",
    (_MaintenanceFormBase,),
    {
        "__module__": __name__,
        **TITLE_FIELDS,
        **_language_texts(
            "body",
            gettext_noop("Description in %(language)s"),
            textarea=True,
            max_length=actions.BODY_MAX,
        ),
    },
)


@admin.register(Maintenance)
class MaintenanceAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    """A new window goes through the action (validated, an event); a window's times may be
    moved later, its state only by the worker or the cancel action."""

    form = MaintenanceForm
    fields = (
        *_names("title"),
        *_names("body"),
        "services",
        "areas",
        "starts_at",
        "ends_at",
        "state",
        "started_at",
        "completed_at",
        "cancelled_at",
        "created_by",
    )
    list_display = ("__str__", "state", "starts_at", "ends_at")
    list_filter = ("state", "services")
    filter_horizontal = ("services", "areas")
    readonly_fields = ("state", "started_at", "completed_at", "cancelled_at", "created_by")
    actions = ["cancel"]

    def save_model(self, request: HttpRequest, obj: Maintenance, form: Any, change: bool) -> None:
        data = form.cleaned_data
        if change:
            # The times through the action: validated, the subscribers told the new window,
            # a moved start reminded of again. The texts and services as the form saves them.
            saved = Maintenance.objects.get(pk=obj.pk)
            moved = (obj.starts_at, obj.ends_at) != (saved.starts_at, saved.ends_at)
            obj.starts_at, obj.ends_at = saved.starts_at, saved.ends_at
            super().save_model(request, obj, form, change)
            if moved:
                try:
                    actions.reschedule_maintenance(
                        request.user,  # type: ignore[arg-type]
                        obj,
                        starts_at=data["starts_at"],
                        ends_at=data["ends_at"],
                    )
                except ActionRefused as refused:
                    messages.error(request, str(refused.detail))
                obj.refresh_from_db()
            return
        try:
            created = actions.schedule_maintenance(
                request.user,  # type: ignore[arg-type]
                title=data["title"],
                body=data.get("body") or {},
                services=list(data["services"]),
                areas=list(data["areas"]),
                starts_at=data["starts_at"],
                ends_at=data["ends_at"],
            )
        except ActionRefused as refused:  # the form checked the same: a race at most
            messages.error(request, str(refused.detail))
            return
        obj.pk = created.pk
        obj.state = created.state

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        if not change:
            return
        before = set(form.instance.services.values_list("pk", flat=True))
        form.save_m2m()
        actions.refresh_services(before | set(form.instance.services.values_list("pk", flat=True)))

    @admin.action(description=_("Cancel the chosen maintenance"))
    def cancel(self, request: HttpRequest, queryset: Any) -> None:
        for maintenance in queryset:
            try:
                actions.cancel_maintenance(maintenance, request.user)  # type: ignore[arg-type]
            except ActionRefused as refused:
                messages.error(request, f"{maintenance}: {refused.detail}")


@admin.register(StatusEvent)
class StatusEventAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ("kind", "incident", "maintenance", "service", "actor", "at")
    list_filter = ("kind",)
    date_hierarchy = "at"

    def has_add_permission(self, request: Any) -> bool:
        return False

    def has_change_permission(self, request: Any, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: Any, obj: Any = None) -> bool:
        return False


@admin.register(Subscription)
class SubscriptionAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    """Read-mostly: subscribers change their own; an admin may only remove one (a
    complaint, a typo'd address)."""

    list_display = ("__str__", "via", "everything", "incident", "language", "confirmed_at")
    list_filter = ("via", "everything", ("confirmed_at", admin.EmptyFieldListFilter))
    search_fields = ("address", "user__email")
    list_select_related = ("user", "incident")
    readonly_fields = (
        "via",
        "user",
        "address",
        "language",
        "time_zone",
        "everything",
        "services",
        "areas",
        "incident",
        "confirmed_at",
        "created_at",
    )
    exclude = ("token",)

    def has_add_permission(self, request: Any) -> bool:
        return False

    def has_change_permission(self, request: Any, obj: Any = None) -> bool:
        return False


@admin.register(AutomaticOptOut)
class AutomaticOptOutAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ("user", "created_at")
    readonly_fields = ("user", "created_at")

    def has_add_permission(self, request: Any) -> bool:
        return False


class UserAdmin(DeskUserAdmin):
    """The people's admin (with departments, from `tickets`), with two actions that let
    agents post the service status or stop them."""

    actions = ["allow_status", "disallow_status"]

    def _permission(self) -> Permission:
        app_label, codename = PERMISSION.split(".")
        return Permission.objects.get(content_type__app_label=app_label, codename=codename)

    @admin.action(description=_("Allow the chosen agents to post the service status"))
    def allow_status(self, request: HttpRequest, queryset: Any) -> None:
        permission = self._permission()
        for user in queryset.filter(role=Role.AGENT):
            user.user_permissions.add(permission)

    @admin.action(description=_("Stop the chosen agents posting the service status"))
    def disallow_status(self, request: HttpRequest, queryset: Any) -> None:
        permission = self._permission()
        for user in queryset:
            user.user_permissions.remove(permission)


admin.site.unregister(User)
admin.site.register(User, UserAdmin)
