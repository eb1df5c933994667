"""An agent marks themselves away (on leave) or back, from their profile: while away they get
no new tickets, and their open tickets of assigning departments go to colleagues."""

from __future__ import annotations

from datetime import datetime, time
from zoneinfo import ZoneInfo

from django import forms
from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.http import require_POST

from destek.accounts.http import AuthenticatedHttpRequest
from destek.automation import assignment
from destek.desk.views import agent_only
from destek.lib.dates import format_number
from destek.lib.errors import ActionRefused


class AwayForm(forms.Form):
    away = forms.BooleanField(required=False)
    back_on = forms.DateField(
        label=gettext_lazy("Back on"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
    )


@agent_only
@require_POST
def away(request: AuthenticatedHttpRequest) -> HttpResponse:
    form = AwayForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Give the date as year-month-day."))
        return redirect("portal:profile")
    until = None
    back_on = form.cleaned_data["back_on"]
    if form.cleaned_data["away"] and back_on is not None:
        until = datetime.combine(back_on, time.min, tzinfo=ZoneInfo(request.user.time_zone))
    try:
        done = assignment.set_away(request.user, away=form.cleaned_data["away"], until=until)
    except ActionRefused as refusal:
        messages.error(request, str(refusal.detail))
        return redirect("portal:profile")
    if not form.cleaned_data["away"]:
        messages.success(request, _("Welcome back: you get new tickets again."))
    elif done.handed_over:
        messages.success(
            request,
            ngettext(
                "You are away: new tickets go to your colleagues, and %(count)s of your open "
                "tickets went to them.",
                "You are away: new tickets go to your colleagues, and %(count)s of your open "
                "tickets went to them.",
                done.handed_over,
            )
            % {"count": format_number(done.handed_over)},
        )
    else:
        messages.success(request, _("You are away: new tickets go to your colleagues."))
    return redirect("portal:profile")
