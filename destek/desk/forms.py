"""Desk forms check shape only; the ticket actions decide."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

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


class ReplyForm(forms.Form):
    body = forms.CharField(
        label=_("Reply"), widget=forms.Textarea(attrs={"rows": 6}), max_length=100_000
    )
    status = forms.ChoiceField(label=_("Then set the status to"), choices=AFTER_REPLY)


class NoteForm(forms.Form):
    body = forms.CharField(
        label=_("Internal note"), widget=forms.Textarea(attrs={"rows": 3}), max_length=100_000
    )


class TicketFieldsForm(forms.Form):
    priority = forms.ChoiceField(label=_("Priority"), choices=Priority.choices)
    department = forms.ModelChoiceField(label=_("Department"), queryset=Department.objects.all())


class CloseForm(forms.Form):
    reason = forms.ChoiceField(label=_("Reason"), choices=AGENT_CLOSE_REASONS)
    clause = forms.CharField(label=_("Contract clause"), max_length=100, required=False)
