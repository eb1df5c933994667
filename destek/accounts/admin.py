from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.contrib.auth.forms import AdminPasswordChangeForm, UserChangeForm, UserCreationForm
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from destek.accounts.actions import change_password
from destek.accounts.models import ApiToken, ContactAddress, Organisation, User
from destek.accounts.signals import customer_named, customer_terms_changed, organisation_renamed
from destek.lib.zones import TimeZoneSelectAdmin


class UserCreateForm(UserCreationForm):  # type: ignore[type-arg]
    class Meta:
        model = User
        fields = ("email", "role")


class UserEditForm(UserChangeForm):  # type: ignore[type-arg]
    class Meta:
        model = User
        fields = "__all__"


class PasswordForm(AdminPasswordChangeForm):  # type: ignore[type-arg]
    """The admin's password change goes through the action, which also ends API tokens."""

    def save(self, commit: bool = True) -> Any:
        change_password(self.user, self.cleaned_data["password1"])
        return self.user


class ContactAddressInline(admin.TabularInline):  # type: ignore[type-arg]
    model = ContactAddress
    extra = 0
    fields = ("email", "verified_at", "created_at")
    readonly_fields = ("verified_at", "created_at")


@admin.register(User)
class UserAdmin(TimeZoneSelectAdmin, BaseUserAdmin):  # type: ignore[type-arg]
    form = UserEditForm
    add_form = UserCreateForm
    change_password_form = PasswordForm
    ordering = ("email",)
    list_display = (
        "email",
        "full_name",
        "role",
        "tier",
        "customer_number",
        "organisation",
        "language",
        "is_active",
        "date_joined",
    )
    list_filter = ("role", "tier", "language", "is_active", "organisation")
    search_fields = ("email", "full_name", "customer_number", "phone")
    list_select_related = ("organisation",)
    readonly_fields = ("customer_number", "date_joined", "last_login")
    # `tickets.admin` adds the departments an agent works in (memberships are tickets').
    inlines = [ContactAddressInline]
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        (_("Person"), {"fields": ("full_name", "phone", "language", "time_zone")}),
        (_("Role"), {"fields": ("role", "is_active")}),
        (_("Customer"), {"fields": ("customer_number", "organisation", "tier")}),
        (_("Dates"), {"fields": ("date_joined", "last_login")}),
    )
    add_fieldsets = (
        (None, {"classes": ("wide",), "fields": ("email", "role", "password1", "password2")}),
    )
    filter_horizontal = ()

    def view_on_site(self, obj: User) -> str | None:
        """ "View on site" opens a customer's page in the desk."""
        return reverse("desk:customer", args=[obj.pk]) if obj.is_customer else None

    def save_model(self, request: Any, obj: User, form: Any, change: bool) -> None:
        super().save_model(request, obj, form, change)
        if change and {"tier", "organisation"} & set(form.changed_data):
            # Policies match on both: a VIP's open tickets move to the VIP clocks, from
            # their start.
            customer_terms_changed.send(sender=User, customer=obj)
        if change and {"full_name", "organisation"} & set(form.changed_data):
            customer_named.send(sender=User, customer=obj)


@admin.register(Organisation)
class OrganisationAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ("name", "share_tickets", "created_at")
    list_filter = ("share_tickets",)
    search_fields = ("name",)

    def save_model(self, request: Any, obj: Organisation, form: Any, change: bool) -> None:
        super().save_model(request, obj, form, change)
        if change and "name" in form.changed_data:
            organisation_renamed.send(sender=Organisation, organisation=obj)

    def view_on_site(self, obj: Organisation) -> str:
        """ "View on site" opens its page in the desk, where admins set its e-mail domains."""
        return reverse("desk:organisation", args=[obj.pk])


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ("hint", "user", "name", "created_at", "last_used_at", "revoked_at")
    list_filter = ("revoked_at",)
    search_fields = ("user__email", "name", "hint")
    readonly_fields = ("user", "hint", "created_at", "last_used_at")
    fields = ("user", "name", "hint", "created_at", "last_used_at", "revoked_at")

    def has_add_permission(self, request: Any) -> bool:
        # Raw tokens are shown once, at creation through the API; the admin only revokes.
        return False
