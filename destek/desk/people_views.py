"""The desk's pages about people: a customer (their tickets from every channel, addresses,
notes; editing what an agent may edit) and an organisation (members, their tickets, notes,
domains and the members they suggest).

Each view reaches its customer or organisation through the one door
(`desk.people_selectors`; 404 for anyone it does not open to), calls one action and goes
back to the page; a refusal comes back on the page with what was typed.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from destek.accounts import customer_actions
from destek.accounts.http import AuthenticatedHttpRequest
from destek.accounts.models import Organisation, User
from destek.desk import people_selectors as people
from destek.desk.people_forms import CustomerForm, DomainsForm, NoteForm
from destek.desk.views import agent_only
from destek.lib.errors import ActionRefused
from destek.lib.forms import add_refusal

#: Which field an edit's refusal belongs next to, when the action did not say.
CUSTOMER_FIELD_OF = {"invalid_phone": "phone", "tier_admins_only": "tier"}


def _customer_or_404(request: AuthenticatedHttpRequest, customer_id: int) -> User:
    try:
        return people.access_customer(request.user, customer_id)
    except User.DoesNotExist:
        raise Http404 from None


def _organisation_or_404(request: AuthenticatedHttpRequest, organisation_id: int) -> Organisation:
    try:
        return people.access_organisation(request.user, organisation_id)
    except Organisation.DoesNotExist:
        raise Http404 from None


# --- a customer -----------------------------------------------------------------------------


def _customer_page(
    request: AuthenticatedHttpRequest, customer: User, *, status: int = 200, **forms: Any
) -> HttpResponse:
    """One statement for each thing shown, whatever the number of tickets (pinned in
    desk/tests/test_people.py)."""
    user: User = request.user
    page = people.customer_tickets(user, customer, cursor=request.GET.get("cursor") or None)
    context = {
        "customer": customer,
        "addresses": list(customer.contact_addresses.only("email", "verified_at", "user_id")),
        "tickets": page.items,
        "next_cursor": page.next_cursor,
        "paged": bool(request.GET.get("cursor")),
        "notes": people.customer_notes(customer),
        "ratings": people.recent_ratings(user, customer),
        "note_form": forms.get("note_form") or NoteForm(auto_id="id_note_%s"),
    }
    return render(request, "desk/customer.html", context, status=status)


def _add_note(
    request: AuthenticatedHttpRequest,
    found: Any,
    add: Callable[..., Any],
    *,
    done: str,
    page: Callable[..., HttpResponse],
) -> HttpResponse:
    """A note on a customer or an organisation: back to its page, or the page again with the
    form and the reason (422)."""
    form = NoteForm(request.POST, auto_id="id_note_%s")
    if form.is_valid():
        try:
            add(found, author=request.user, body=form.cleaned_data["body"])
        except ActionRefused as refusal:
            add_refusal(form, refusal)
        else:
            messages.success(request, _("Note added."))
            return redirect(done)
    return page(request, found, status=422, note_form=form)


@agent_only
def customer(request: AuthenticatedHttpRequest, customer_id: int) -> HttpResponse:
    return _customer_page(request, _customer_or_404(request, customer_id))


@agent_only
@require_POST
def customer_note(request: AuthenticatedHttpRequest, customer_id: int) -> HttpResponse:
    found = _customer_or_404(request, customer_id)
    return _add_note(
        request,
        found,
        customer_actions.add_customer_note,
        done=reverse("desk:customer", kwargs={"customer_id": found.pk}),
        page=_customer_page,
    )


@agent_only
def customer_edit(request: AuthenticatedHttpRequest, customer_id: int) -> HttpResponse:
    """The edit form on a page of its own: its time zone list is long, and the customer's
    page is opened far more often than edited."""
    user: User = request.user
    found = _customer_or_404(request, customer_id)
    form = CustomerForm(request.POST or None, customer=found, admin=user.is_admin)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            changed = customer_actions.update_customer(
                found,
                by=user,
                full_name=data["full_name"],
                phone=data["phone"],
                language=data["language"],
                time_zone=data["time_zone"],
                organisation=data["organisation"],
                tier=data.get("tier"),
            )
        except ActionRefused as refusal:
            add_refusal(form, refusal, CUSTOMER_FIELD_OF.get(refusal.code))
        else:
            messages.success(
                request, _("Customer saved.") if changed else _("Nothing was changed.")
            )
            return redirect("desk:customer", customer_id=found.pk)
    return render(
        request,
        "desk/customer_edit.html",
        {"customer": found, "form": form},
        status=422 if request.method == "POST" else 200,
    )


# --- an organisation ------------------------------------------------------------------------


def _organisation_page(
    request: AuthenticatedHttpRequest,
    organisation: Organisation,
    *,
    status: int = 200,
    **forms: Any,
) -> HttpResponse:
    user: User = request.user
    page = people.organisation_tickets(user, organisation, cursor=request.GET.get("cursor") or None)
    shown = people.members(user, organisation)
    domains, suggested = people.suggested_members(user, organisation)
    context = {
        "organisation": organisation,
        "members": shown[: people.MEMBERS_SHOWN],
        "more_members": len(shown) > people.MEMBERS_SHOWN,
        "members_shown": people.MEMBERS_SHOWN,
        "domains": domains,
        "suggested": suggested,
        "tickets": page.items,
        "next_cursor": page.next_cursor,
        "paged": bool(request.GET.get("cursor")),
        "notes": people.organisation_notes(organisation),
        "note_form": forms.get("note_form") or NoteForm(auto_id="id_note_%s"),
        "domains_form": forms.get("domains_form")
        or (
            DomainsForm(initial={"domains": "\n".join(domains)}, auto_id="id_domains_%s")
            if user.is_admin
            else None
        ),
        "error": forms.get("error"),
    }
    return render(request, "desk/organisation.html", context, status=status)


@agent_only
def organisation(request: AuthenticatedHttpRequest, organisation_id: int) -> HttpResponse:
    return _organisation_page(request, _organisation_or_404(request, organisation_id))


@agent_only
@require_POST
def organisation_note(request: AuthenticatedHttpRequest, organisation_id: int) -> HttpResponse:
    found = _organisation_or_404(request, organisation_id)
    return _add_note(
        request,
        found,
        customer_actions.add_organisation_note,
        done=reverse("desk:organisation", kwargs={"organisation_id": found.pk}),
        page=_organisation_page,
    )


@agent_only
@require_POST
def organisation_domains(request: AuthenticatedHttpRequest, organisation_id: int) -> HttpResponse:
    found = _organisation_or_404(request, organisation_id)
    form = DomainsForm(request.POST, auto_id="id_domains_%s")
    if form.is_valid():
        try:
            customer_actions.set_organisation_domains(
                found, form.cleaned_data["domains"].splitlines(), by=request.user
            )
        except ActionRefused as refusal:
            if refusal.status == 403:  # an agent: the page offers them no such form
                raise PermissionDenied from None
            add_refusal(form, refusal, "domains")
        else:
            messages.success(request, _("Domains saved."))
            return redirect("desk:organisation", organisation_id=found.pk)
    return _organisation_page(request, found, status=422, domains_form=form)


@agent_only
@require_POST
def organisation_confirm(request: AuthenticatedHttpRequest, organisation_id: int) -> HttpResponse:
    """ "Confirm as member" beside a suggested customer."""
    found = _organisation_or_404(request, organisation_id)
    try:
        customer_id = int(request.POST.get("customer", ""))
    except ValueError:
        raise Http404 from None
    joining = _customer_or_404(request, customer_id)
    try:
        joined = customer_actions.confirm_member(found, joining, by=request.user)
    except ActionRefused as refusal:
        return _organisation_page(request, found, status=422, error=str(refusal.detail))
    if joined:
        messages.success(
            request,
            _("{customer} is now a member of {organisation}.").format(
                customer=joining.display_name, organisation=found.name
            ),
        )
    return redirect("desk:organisation", organisation_id=found.pk)
