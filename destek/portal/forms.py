"""Forms check shape only; the rules live in the ticket actions."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from destek.tickets.choices import Priority
from destek.tickets.models import Department

URGENCIES = [
    (p.value, p.label) for p in (Priority.LOW, Priority.NORMAL, Priority.HIGH, Priority.CRITICAL)
]


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class FilesField(forms.FileField):
    """Several files in one input; sizes are checked by the upload action, not here."""

    widget = MultipleFileInput

    def clean(self, data: Any, initial: Any = None) -> list[Any]:
        if not data:
            return []
        files = data if isinstance(data, list | tuple) else [data]
        return [super(FilesField, self).clean(item, initial) for item in files]


class SignInForm(forms.Form):
    email = forms.EmailField(label=_("E-mail address"), max_length=254)
    password = forms.CharField(label=_("Password"), widget=forms.PasswordInput, max_length=200)


class TicketForm(forms.Form):
    department = forms.ModelChoiceField(
        label=_("Department"),
        queryset=Department.objects.all(),
        required=False,
        empty_label=_("Let us decide"),
    )
    urgency = forms.ChoiceField(label=_("Urgency"), choices=URGENCIES, initial=Priority.NORMAL)
    subject = forms.CharField(label=_("Subject"), max_length=250)
    body = forms.CharField(
        label=_("Description"), widget=forms.Textarea(attrs={"rows": 8}), max_length=100_000
    )
    attachments = FilesField(label=_("Attachments"), required=False)


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
