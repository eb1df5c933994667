"""The forms of the customer and organisation pages: shape only; the actions in
`accounts.customer_actions` decide."""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from destek.accounts.choices import Tier
from destek.accounts.customer_actions import NOTE_MAX
from destek.accounts.models import Organisation, User
from destek.desk.forms import _ListedChoices
from destek.lib.zones import personal_time_zone_choices


class NoteForm(forms.Form):
    body = forms.CharField(
        label=_("Note for agents"),
        widget=forms.Textarea(attrs={"rows": 3, "dir": "auto"}),
        max_length=NOTE_MAX,
        help_text=_("Only agents and admins read it, never the customer."),
    )


class OrganisationField(forms.ModelChoiceField):  # type: ignore[type-arg]
    iterator = _ListedChoices

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(queryset=Organisation.objects.only("name").order_by("name"), **kwargs)


class CustomerForm(forms.Form):
    """What an agent may edit; the tier only for admins (the field is not there for
    agents, and the action refuses it from them anyway)."""

    full_name = forms.CharField(label=_("Full name"), max_length=200, required=False)
    phone = forms.CharField(
        label=_("Phone"),
        max_length=32,
        required=False,
        widget=forms.TextInput(attrs={"type": "tel", "dir": "ltr"}),
        help_text=_("A new number is unverified until the customer confirms it."),
    )
    language = forms.ChoiceField(
        label=_("Language"),
        choices=settings.LANGUAGES,
        error_messages={"invalid_choice": _("Choose one of the languages offered.")},
    )
    time_zone = forms.ChoiceField(
        label=_("Time zone"),
        error_messages={"invalid_choice": _("Choose one of the time zones offered.")},
    )
    organisation = OrganisationField(
        label=_("Organisation"),
        required=False,
        empty_label="—",
        help_text=_("Members of an organisation that shares tickets read each other's tickets."),
    )
    tier = forms.ChoiceField(
        label=_("Tier"),
        choices=Tier.choices,
        error_messages={"invalid_choice": _("Choose one of the tiers offered.")},
    )

    def __init__(self, *args: Any, customer: User, admin: bool, **kwargs: Any) -> None:
        kwargs.setdefault(
            "initial",
            {
                "full_name": customer.full_name,
                "phone": customer.phone,
                "language": customer.language,
                "time_zone": customer.time_zone,
                "organisation": customer.organisation_id,
                "tier": customer.tier,
            },
        )
        kwargs.setdefault("auto_id", "id_customer_%s")
        super().__init__(*args, **kwargs)
        zones = personal_time_zone_choices()
        if customer.time_zone not in {name for name, _label in zones}:
            # A zone set elsewhere (the admin offers every one): kept, not silently replaced
            # by the first of the list when the agent saves something else.
            zones = [(customer.time_zone, customer.time_zone), *zones]
        time_zone = self.fields["time_zone"]
        assert isinstance(time_zone, forms.ChoiceField)
        time_zone.choices = zones
        if not admin:
            del self.fields["tier"]


class DomainsForm(forms.Form):
    domains = forms.CharField(
        label=_("E-mail domains"),
        widget=forms.Textarea(attrs={"rows": 3, "dir": "ltr"}),
        required=False,
        max_length=5000,
        help_text=_(
            "One per line, like example.com. Customers of no organisation who write from "
            "these domains are suggested as members."
        ),
    )
