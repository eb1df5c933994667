"""Forms check shape only; the rules live in the ticket actions."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from destek.lib.forms import FilesField
from destek.tickets.choices import Priority
from destek.tickets.details import CATALOGUE, CRITICAL, DEVICE_CHOICES, TECHNICAL, WHEN
from destek.tickets.models import Department

URGENCIES = [
    (p.value, p.label) for p in (Priority.LOW, Priority.NORMAL, Priority.HIGH, Priority.CRITICAL)
]


class SignInForm(forms.Form):
    email = forms.EmailField(label=_("E-mail address"), max_length=254)
    password = forms.CharField(label=_("Password"), widget=forms.PasswordInput, max_length=200)


class DepartmentSelect(forms.Select):
    """Marks the departments that ask for technical details, for the form's script."""

    def create_option(self, *args: Any, **kwargs: Any) -> dict[str, Any]:
        option = super().create_option(*args, **kwargs)
        instance = getattr(option["value"], "instance", None)
        if instance is not None and instance.asks_diagnostics:
            option["attrs"]["data-diagnostics"] = "1"
        return option


def _detail_field(detail: Any) -> forms.Field:
    if detail.key == "device":
        return forms.ChoiceField(
            label=detail.label,
            choices=[("", "—"), *DEVICE_CHOICES],
            required=False,
        )
    widget = forms.Textarea(attrs={"rows": 3}) if detail.multiline else forms.TextInput()
    return forms.CharField(
        label=detail.label,
        max_length=detail.max_length,
        required=False,
        help_text=detail.help_text,
        widget=widget,
    )


class TicketForm(forms.Form):
    department = forms.ModelChoiceField(
        label=_("Department"),
        queryset=Department.objects.all(),
        required=False,
        empty_label=_("Let us decide"),
        widget=DepartmentSelect,
    )
    urgency = forms.ChoiceField(label=_("Urgency"), choices=URGENCIES, initial=Priority.NORMAL)
    subject = forms.CharField(label=_("Subject"), max_length=250)
    body = forms.CharField(
        label=_("Description"), widget=forms.Textarea(attrs={"rows": 8}), max_length=100_000
    )
    attachments = FilesField(label=_("Attachments"), required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for detail in CATALOGUE:
            self.fields[detail.key] = _detail_field(detail)

    def group(self, name: str) -> list[forms.BoundField]:
        return [self[detail.key] for detail in CATALOGUE if detail.group == name]

    @property
    def technical(self) -> list[forms.BoundField]:
        return self.group(TECHNICAL)

    @property
    def when(self) -> list[forms.BoundField]:
        return self.group(WHEN)

    @property
    def critical(self) -> list[forms.BoundField]:
        return self.group(CRITICAL)

    def details(self) -> dict[str, str]:
        return {d.key: self.cleaned_data.get(d.key) or "" for d in CATALOGUE}


class ReplyForm(forms.Form):
    body = forms.CharField(
        label=_("Your reply"), widget=forms.Textarea(attrs={"rows": 5}), max_length=100_000
    )
    attachments = FilesField(label=_("Attachments"), required=False)


class LookupForm(forms.Form):
    number = forms.CharField(label=_("Ticket number"), max_length=20)
    email = forms.EmailField(label=_("E-mail address"), max_length=254)


class CodeForm(forms.Form):
    code = forms.CharField(label=_("Code from the e-mail"), max_length=12)
