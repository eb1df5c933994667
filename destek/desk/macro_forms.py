"""The form an agent keeps personal macros with: shape only, the action decides."""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from destek.desk.forms import DepartmentField
from destek.tickets.choices import Priority, TicketStatus

PERSONAL_STATUSES = [
    ("", "—"),
    (TicketStatus.OPEN.value, pgettext_lazy("ticket status", "In progress")),
    (TicketStatus.PENDING.value, pgettext_lazy("ticket status", "Awaiting customer")),
    (TicketStatus.RESOLVED.value, pgettext_lazy("ticket status", "Resolved")),
]


class PersonalMacroForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=100)
    language = forms.ChoiceField(
        label=_("Language of the reply"),
        choices=[("", _("Any language")), *settings.LANGUAGES],
        required=False,
    )
    body = forms.CharField(
        label=_("Reply"),
        widget=forms.Textarea(attrs={"rows": 5, "dir": "auto"}),
        max_length=100_000,
        required=False,
        help_text=_("Placeholders: {customer_name}, {ticket_number}, {agent_name}, {department}."),
    )
    status = forms.ChoiceField(
        label=_("Then set the status to"), choices=PERSONAL_STATUSES, required=False
    )
    priority = forms.ChoiceField(
        label=_("Priority"), choices=[("", "—"), *Priority.choices], required=False
    )
    add_tags = forms.CharField(
        label=_("Add tags"), max_length=200, required=False, help_text=_("Separated by commas.")
    )
    note = forms.CharField(
        label=_("Internal note"),
        widget=forms.Textarea(attrs={"rows": 2, "dir": "auto"}),
        max_length=100_000,
        required=False,
    )
    department = DepartmentField(
        label=_("Only on tickets of"), required=False, empty_label=_("Every department")
    )

    def __init__(self, *args: Any, departments: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if departments is not None:
            self.fields["department"].queryset = departments  # type: ignore[attr-defined]
