"""Forms of the account pages. They check shape only (the password validators included: they
judge the string); the rules live in `destek.accounts.actions`."""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.contrib.auth import password_validation
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from destek.accounts.choices import NotificationKind
from destek.accounts.models import User
from destek.lib.zones import personal_time_zone_choices


#: Where the zones people live in are; leaves out the legacy aliases (US/..., Etc/GMT+4).
def _current_language() -> str:
    code = (get_language() or settings.LANGUAGE_CODE).split("-")[0]
    return code if code in dict(settings.LANGUAGES) else settings.LANGUAGE_CODE


def _password_field(label: Any) -> forms.CharField:
    return forms.CharField(
        label=label,
        strip=False,
        max_length=200,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text=password_validation.password_validators_help_text_html(),
    )


class SignUpForm(forms.Form):
    full_name = forms.CharField(label=_("Full name"), max_length=200)
    email = forms.EmailField(label=_("E-mail address"), max_length=254)
    password = _password_field(_("Password"))
    language = forms.ChoiceField(label=_("Language"), choices=settings.LANGUAGES)
    time_zone = forms.ChoiceField(label=_("Time zone"), choices=personal_time_zone_choices)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["language"].initial = _current_language()
        self.fields["time_zone"].initial = settings.TIME_ZONE
        self.fields["email"].widget.attrs["autocomplete"] = "email"

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("password"):
            probe = User(email=data.get("email", ""), full_name=data.get("full_name", ""))
            try:
                password_validation.validate_password(data["password"], probe)
            except forms.ValidationError as error:
                self.add_error("password", error)
        return data


class EmailForm(forms.Form):
    email = forms.EmailField(label=_("E-mail address"), max_length=254)


class SetPasswordForm(forms.Form):
    """A new password for a known person (reset link or profile): validated against them."""

    new_password = _password_field(_("New password"))

    def __init__(self, user: User, *args: Any, **kwargs: Any) -> None:
        self.user = user
        super().__init__(*args, **kwargs)

    def clean_new_password(self) -> str:
        password: str = self.cleaned_data["new_password"]
        password_validation.validate_password(password, self.user)
        return password


class ChangePasswordForm(SetPasswordForm):
    current_password = forms.CharField(
        label=_("Current password"),
        strip=False,
        max_length=200,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )
    field_order = ["current_password", "new_password"]


class CodeForm(forms.Form):
    code = forms.CharField(
        label=_("Code from your authenticator app, or a recovery code"),
        max_length=20,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "text"}),
    )


class ConfirmSignUpForm(forms.Form):
    password = forms.CharField(
        label=_("The password you chose when signing up"),
        strip=False,
        max_length=200,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )


class ConfirmCodeForm(forms.Form):
    code = forms.CharField(
        label=_("The six-digit code your app shows"),
        max_length=10,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric"}),
    )


class ProofForm(forms.Form):
    proof = forms.CharField(
        label=_("Your password, or a code from your app"),
        strip=False,
        max_length=200,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )


class ProfileForm(forms.Form):
    full_name = forms.CharField(label=_("Full name"), max_length=200, required=False)
    language = forms.ChoiceField(label=_("Language"), choices=settings.LANGUAGES)
    time_zone = forms.ChoiceField(label=_("Time zone"), choices=personal_time_zone_choices)
    calendar = forms.ChoiceField(
        label=_("Calendar for dates in Persian"),
        choices=[
            ("solar_hijri", _("Solar Hijri (1405)")),
            ("gregorian", _("Gregorian (2026)")),
        ],
        initial="solar_hijri",
        required=False,
    )
    phone = forms.CharField(
        label=_("Phone"),
        max_length=32,
        required=False,
        widget=forms.TextInput(attrs={"type": "tel", "autocomplete": "tel", "dir": "ltr"}),
    )


class PhoneCodeForm(forms.Form):
    code = forms.CharField(
        label=_("Code from the SMS"),
        max_length=12,
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "size": 8}
        ),
    )


class AddressCodeForm(forms.Form):
    email = forms.EmailField(widget=forms.HiddenInput, max_length=254)
    code = forms.CharField(label=_("Code from the e-mail"), max_length=12)


class NotificationForm(forms.Form):
    """One select per kind of mail: the account address or a verified contact address."""

    def __init__(self, user: User, verified: list[str], *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        choices = [("", _("{address} (account address)").format(address=user.email))]
        choices += [(email, email) for email in verified]
        for kind in NotificationKind:
            self.fields[kind.value] = forms.ChoiceField(
                label=kind.label, choices=choices, required=False
            )
