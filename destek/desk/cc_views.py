"""Who else takes part in a ticket, from its desk page: following it, and the addresses
copied on it (CC). One view per form, through the ticket page's door (`ticket_form`)."""

from __future__ import annotations

from django.http import HttpResponse
from django.shortcuts import redirect
from django.urls import reverse

from destek.accounts.http import AuthenticatedHttpRequest
from destek.desk.views import _page, _ticket_or_404, ticket_form
from destek.lib.errors import ActionRefused
from destek.tickets import actions
from destek.tickets.models import Ticket


def _back(ticket: Ticket) -> HttpResponse:
    return redirect(reverse("desk:ticket", args=[ticket.number]) + "#people")


@ticket_form
def follow(request: AuthenticatedHttpRequest, found: Ticket) -> HttpResponse:
    actions.follow(found, agent=request.user)
    return _back(found)


@ticket_form
def unfollow(request: AuthenticatedHttpRequest, found: Ticket) -> HttpResponse:
    actions.unfollow(found, agent=request.user)
    return _back(found)


@ticket_form
def cc_add(request: AuthenticatedHttpRequest, found: Ticket) -> HttpResponse:
    typed = request.POST.get("address", "")[:500]
    try:
        actions.add_cc(found, by=request.user, address=typed)
    except ActionRefused as refusal:
        # The page again (read afresh), the refusal by the form and what was typed.
        again = _ticket_or_404(request, found.number)
        return _page(request, again, cc_error=str(refusal.detail), cc_typed=typed)
    return _back(found)


@ticket_form
def cc_remove(request: AuthenticatedHttpRequest, found: Ticket) -> HttpResponse:
    try:
        actions.remove_cc(found, by=request.user, address=request.POST.get("address", ""))
    except ActionRefused as refusal:
        again = _ticket_or_404(request, found.number)
        return _page(request, again, cc_error=str(refusal.detail))
    return _back(found)
