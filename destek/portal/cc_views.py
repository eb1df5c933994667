"""The customer copies other addresses on their ticket (CC), or stops copying them."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.views.decorators.http import require_POST

from destek.accounts.http import AuthenticatedHttpRequest
from destek.lib.errors import ActionRefused
from destek.portal.forms import ReplyForm
from destek.portal.views import _customer, _ticket_page
from destek.tickets import actions
from destek.tickets.access import access_ticket
from destek.tickets.models import Ticket


def _back(number: int) -> HttpResponse:
    return redirect(reverse("portal:ticket", args=[number]) + "#cc")


@login_required
@require_POST
def cc_add(request: AuthenticatedHttpRequest, number: int) -> HttpResponse:
    user = _customer(request)
    typed = request.POST.get("address", "")[:500]
    try:
        actions.add_cc(access_ticket(user, number), by=user, address=typed)
    except Ticket.DoesNotExist:
        raise Http404 from None
    except ActionRefused as refusal:
        # The page again with the refusal and what was typed, nothing lost.
        return _ticket_page(
            request,
            number,
            ReplyForm(),
            cc_error=str(refusal.detail),
            cc_typed=typed,
            status=refusal.status,
        )
    return _back(number)


@login_required
@require_POST
def cc_remove(request: AuthenticatedHttpRequest, number: int) -> HttpResponse:
    user = _customer(request)
    try:
        actions.remove_cc(
            access_ticket(user, number), by=user, address=request.POST.get("address", "")
        )
    except Ticket.DoesNotExist:
        raise Http404 from None
    except ActionRefused as refusal:
        return _ticket_page(
            request, number, ReplyForm(), cc_error=str(refusal.detail), status=refusal.status
        )
    return _back(number)
