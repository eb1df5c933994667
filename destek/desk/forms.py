"""Desk forms check shape only; the ticket actions decide."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django import forms
from django.conf import settings
from django.forms.models import ModelChoiceIterator
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from destek.lib.forms import FilesField
from destek.tickets.actions import MINUTES_MAX
from destek.tickets.choices import CloseReason, Priority, TicketStatus
from destek.tickets.models import Department

AFTER_REPLY = [
    (TicketStatus.PENDING.value, pgettext_lazy("ticket status", "Awaiting customer")),
    (TicketStatus.OPEN.value, pgettext_lazy("ticket status", "In progress")),
    (TicketStatus.RESOLVED.value, pgettext_lazy("ticket status", "Resolved")),
]
AGENT_CLOSE_REASONS = [
    (r.value, r.label) for r in (CloseReason.RESOLVED, CloseReason.NO_REPLY, CloseReason.CONTRACT)
]


class _ListedChoices(ModelChoiceIterator):
    """The choices in one plain query: `ModelChoiceIterator` reads them through
    `QuerySet.iterator()`, which on PostgreSQL declares a server-side cursor, fetches and
    closes it, three round trips for a handful of departments on every ticket page."""

    def __iter__(self) -> Any:
        if self.field.empty_label is not None:
            yield ("", self.field.empty_label)
        for obj in self.queryset:
            yield self.choice(obj)


class DepartmentField(forms.ModelChoiceField):  # type: ignore[type-arg]
    iterator = _ListedChoices

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(queryset=Department.objects.all(), **kwargs)


def SEEN() -> forms.IntegerField:
    """The newest message the agent's page showed when they sent (the page writes it, outside
    the cached form HTML, and desk.js moves it on as the thread poll brings messages). Absent
    (an older page), nothing is held."""
    return forms.IntegerField(required=False, min_value=0, widget=forms.HiddenInput)


def CONFIRM() -> forms.BooleanField:
    """Set by the "Send anyway" button of a held reply or note."""
    return forms.BooleanField(required=False, widget=forms.HiddenInput)


class ReplyForm(forms.Form):
    body = forms.CharField(
        label=_("Reply"), widget=forms.Textarea(attrs={"rows": 6}), max_length=100_000
    )
    status = forms.ChoiceField(label=_("Then set the status to"), choices=AFTER_REPLY)
    # Set by desk.js when the agent puts a macro's reply in the box to edit it: the macro's
    # other changes are made when the reply is sent.
    macro = forms.IntegerField(required=False, min_value=1, widget=forms.HiddenInput)
    attachments = FilesField(label=_("Attachments"), required=False)
    seen = SEEN()
    confirm = CONFIRM()


class NoteForm(forms.Form):
    body = forms.CharField(
        label=_("Internal note"), widget=forms.Textarea(attrs={"rows": 3}), max_length=100_000
    )
    attachments = FilesField(label=_("Attachments"), required=False)
    seen = SEEN()
    confirm = CONFIRM()


class TicketFieldsForm(forms.Form):
    priority = forms.ChoiceField(label=_("Priority"), choices=Priority.choices)
    priority_reason = forms.CharField(
        label=_("Reason for the priority change"),
        max_length=500,
        required=False,
        help_text=_("Required to lower a critical incident the customer declared; they see it."),
    )
    department = DepartmentField(label=_("Department"))


class TimeForm(forms.Form):
    minutes = forms.IntegerField(
        label=_("Minutes spent"), min_value=1, max_value=MINUTES_MAX, widget=forms.NumberInput()
    )
    note = forms.CharField(label=_("What was done"), max_length=200, required=False)


class CloseForm(forms.Form):
    reason = forms.ChoiceField(label=_("Reason"), choices=AGENT_CLOSE_REASONS)
    clause = forms.CharField(label=_("Contract clause"), max_length=100, required=False)


class MergeForm(forms.Form):
    into = forms.IntegerField(
        label=_("Merge into ticket number"), min_value=1, max_value=99_999_999
    )
    # Set by the confirmation page's button; the ticket page's form leads to that page.
    confirm = forms.BooleanField(required=False, widget=forms.HiddenInput)


class NumbersField(forms.Field):
    """The ticket numbers ticked in the queue (checkboxes named `ticket`)."""

    widget = forms.MultipleHiddenInput

    def to_python(self, value: Any) -> list[int]:
        if not value:
            return []
        try:
            return [int(str(item).lstrip("#")) for item in value]
        except ValueError:
            raise forms.ValidationError(_("Select tickets from the list.")) from None


BULK_STATUSES = [
    (TicketStatus.OPEN.value, pgettext_lazy("ticket status", "In progress")),
    (TicketStatus.PENDING.value, pgettext_lazy("ticket status", "Awaiting customer")),
    (TicketStatus.RESOLVED.value, pgettext_lazy("ticket status", "Resolved")),
    (TicketStatus.CLOSED.value, _("Closed as resolved")),
]


class BulkForm(forms.Form):
    """The bar above the queue: which tickets, which change (the button pressed), and the
    value for that change. Shape only: the ticket actions decide, ticket by ticket."""

    ticket = NumbersField(required=False)
    op = forms.ChoiceField(
        choices=[(op, op) for op in ("assign", "status", "department", "merge", "macro")]
    )
    assignee = forms.ChoiceField(label=_("Assign to"), required=False)
    status = forms.ChoiceField(label=_("Set status"), choices=BULK_STATUSES, required=False)
    department = DepartmentField(label=_("Move to department"), required=False)
    into = forms.IntegerField(
        label=_("Merge into ticket number"), min_value=1, max_value=99_999_999, required=False
    )
    # A merge is done from its confirmation page, which sets this.
    confirm = forms.BooleanField(required=False, widget=forms.HiddenInput)
    macro = forms.TypedChoiceField(label=_("Apply macro"), coerce=int, required=False)

    def __init__(
        self,
        *args: Any,
        agents: Sequence[tuple[str, str]] = (),
        macros: Sequence[tuple[str, str]] = (),
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.fields["macro"].choices = [("", "—"), *macros]  # type: ignore[attr-defined]
        self.fields["assignee"].choices = [  # type: ignore[attr-defined]
            ("me", _("Me")),
            ("none", _("Nobody")),
            *agents,
        ]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if not data.get("ticket"):
            raise forms.ValidationError(_("Select at least one ticket."))
        needs = {
            "assign": "assignee",
            "status": "status",
            "department": "department",
            "merge": "into",
            "macro": "macro",
        }
        wanted = needs.get(data.get("op", ""))
        if wanted and data.get(wanted) in (None, ""):
            self.add_error(wanted, _("This field is required."))
        return data


class PhoneTicketForm(forms.Form):
    customer = forms.CharField(
        label=_("Customer's e-mail address or customer number"), max_length=254
    )
    name = forms.CharField(label=_("Name (for a new customer)"), max_length=200, required=False)
    phone = forms.CharField(label=_("Phone (for a new customer)"), max_length=32, required=False)
    language = forms.ChoiceField(
        label=_("Language (for a new customer)"), choices=settings.LANGUAGES
    )
    department = DepartmentField(label=_("Department"), required=False)
    priority = forms.ChoiceField(
        label=_("Priority"), choices=Priority.choices, initial=Priority.NORMAL
    )
    subject = forms.CharField(label=_("Subject"), max_length=250)
    body = forms.CharField(
        label=_("What the customer said"),
        widget=forms.Textarea(attrs={"rows": 6}),
        max_length=100_000,
    )


class SavedViewForm(forms.Form):
    """Save (or rename) a view: a name, and a department to share it with or none. The
    filters come from the queue's address (`params`) and are checked by `read_query`."""

    name = forms.CharField(label=_("View name"), max_length=80, strip=True)
    department = forms.TypedChoiceField(
        label=_("Share with"), required=False, coerce=int, empty_value=None
    )
    params = forms.CharField(required=False, max_length=2000, widget=forms.HiddenInput)

    def __init__(self, *args: Any, departments: Sequence[tuple[int, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["department"]
        assert isinstance(field, forms.TypedChoiceField)
        field.choices = [("", _("Only me")), *((str(pk), name) for pk, name in departments)]
