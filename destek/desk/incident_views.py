"""Incidents on the desk: the list of open and recent ones with their linked tickets counted,
an incident's page (its linked tickets; resolving it and answering them all, for those who
may post the status), and the ticket page's "Incident" box (link, unlink)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import get_language, gettext_lazy, ngettext
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from destek.accounts.http import AuthenticatedHttpRequest
from destek.accounts.models import User
from destek.announcements import actions as status_actions
from destek.announcements import incident_tickets
from destek.announcements.access import may_manage
from destek.announcements.choices import IncidentState
from destek.announcements.incident_tickets import access_incident
from destek.announcements.models import Incident, IncidentTicket
from destek.announcements.texts import pick
from destek.desk.views import agent_only, ticket_form
from destek.lib.errors import ActionRefused
from destek.tickets.models import Ticket


class RepliesForm(forms.Form):
    """The reply to every linked ticket, one text per language."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for code, name in settings.LANGUAGES:
            self.fields[f"body_{code}"] = forms.CharField(
                label=_("Reply in {language}").format(language=name),
                required=False,
                widget=forms.Textarea(attrs={"rows": 3, "dir": "auto", "lang": code}),
            )

    def texts(self) -> dict[str, str]:
        return {
            code: self.cleaned_data.get(f"body_{code}", "")
            for code, _name in settings.LANGUAGES
            if self.cleaned_data.get(f"body_{code}", "").strip()
        }


class ResolveForm(forms.Form):
    body = forms.CharField(
        label=gettext_lazy("What was fixed (the resolving update, in your language)"),
        widget=forms.Textarea(attrs={"rows": 3, "dir": "auto"}),
        max_length=status_actions.BODY_MAX,
    )


def _incident_or_404(user: User, incident_id: int) -> Incident:
    try:
        return access_incident(user, incident_id)
    except Incident.DoesNotExist:
        raise Http404 from None


@agent_only
def incidents(request: AuthenticatedHttpRequest) -> HttpResponse:
    """Open incidents and those resolved lately, each with its linked tickets counted."""
    language = get_language()
    rows = [
        {"incident": i, "title": pick(i.title, language).text}
        for i in incident_tickets.desk_incidents()
    ]
    return render(request, "desk/incidents.html", {"rows": rows})


@agent_only
def incident(request: AuthenticatedHttpRequest, incident_id: int, **forms_: Any) -> HttpResponse:
    """An incident's timeline and its linked tickets (those the agent may see); for those who
    may post the status, resolving it and answering every linked ticket at once."""
    user: User = request.user
    found = _incident_or_404(user, incident_id)
    language = get_language()
    links = list(
        IncidentTicket.objects.filter(incident=found, ticket__in=Ticket.objects.visible_to(user))
        .select_related("ticket", "ticket__customer", "linked_by")
        .order_by("ticket__number")
    )
    hidden = IncidentTicket.objects.filter(incident=found).count() - len(links)
    manager = may_manage(user)
    context: dict[str, Any] = {
        "incident": found,
        "title": pick(found.title, language).text,
        "updates": [
            (u, pick(u.body, language).text) for u in found.updates.order_by("-created_at", "-pk")
        ],
        "links": links,
        "hidden": hidden,
        "manager": manager,
    }
    if manager and found.is_open:
        context["resolve_form"] = forms_.get("resolve_form") or ResolveForm(auto_id="id_resolve_%s")
    if manager and not found.is_open:
        context["replies_form"] = forms_.get("replies_form") or RepliesForm(
            initial={
                f"body_{code}": text
                for code, text in incident_tickets.resolving_texts(found).items()
            },
            auto_id="id_replies_%s",
        )
    return render(request, "desk/incident.html", context)


@agent_only
@require_POST
def resolve(request: AuthenticatedHttpRequest, incident_id: int) -> HttpResponse:
    """Resolve the incident with an update (then its tickets can be answered)."""
    user: User = request.user
    found = _incident_or_404(user, incident_id)
    if not may_manage(user):
        # The form is shown only to those who may post the status; the address is not.
        raise PermissionDenied
    form = ResolveForm(request.POST, auto_id="id_resolve_%s")
    if form.is_valid():
        try:
            status_actions.add_incident_update(
                user,
                found,
                body=form.cleaned_data["body"],
                state=IncidentState.RESOLVED,
                language=get_language(),
            )
        except ActionRefused as refusal:
            messages.error(request, str(refusal.detail))
            return incident(request, incident_id, resolve_form=form)
        messages.success(request, _("The incident is resolved."))
        return redirect("desk:incident", incident_id=found.pk)
    return incident(request, incident_id, resolve_form=form)


@agent_only
@require_POST
def reply_all(request: AuthenticatedHttpRequest, incident_id: int) -> HttpResponse:
    """Answer every linked ticket still open and resolve it; say who was skipped and why."""
    user: User = request.user
    found = _incident_or_404(user, incident_id)
    form = RepliesForm(request.POST, auto_id="id_replies_%s")
    if not form.is_valid():
        return incident(request, incident_id, replies_form=form)
    try:
        result = incident_tickets.resolve_linked_tickets(
            user, found, body=form.texts(), language=get_language()
        )
    except ActionRefused as refusal:
        messages.error(request, str(refusal.detail))
        return incident(request, incident_id, replies_form=form)
    messages.success(
        request,
        ngettext(
            "Answered and resolved {count} ticket.",
            "Answered and resolved {count} tickets.",
            len(result.replied),
        ).format(count=len(result.replied)),
    )
    for number, _code, reason in result.skipped:
        messages.warning(
            request, _("#{number} skipped: {reason}").format(number=number, reason=reason)
        )
    return redirect("desk:incident", incident_id=found.pk)


@ticket_form
def link(request: AuthenticatedHttpRequest, ticket: Ticket) -> HttpResponse:
    """The ticket page's box: link the ticket to the incident chosen (or suggested)."""
    try:
        chosen = access_incident(request.user, request.POST.get("incident", ""))
    except Incident.DoesNotExist:
        messages.error(request, _("Choose an incident."))
        return redirect("desk:ticket", number=ticket.number)
    try:
        incident_tickets.link_tickets(request.user, chosen, [ticket])
    except ActionRefused as refusal:
        messages.error(request, str(refusal.detail))
    return redirect("desk:ticket", number=ticket.number)


@ticket_form
def unlink(request: AuthenticatedHttpRequest, ticket: Ticket, incident_id: int) -> HttpResponse:
    chosen = _incident_or_404(request.user, incident_id)
    try:
        incident_tickets.unlink_ticket(request.user, chosen, ticket)
    except ActionRefused as refusal:
        messages.error(request, str(refusal.detail))
    return redirect("desk:ticket", number=ticket.number)
