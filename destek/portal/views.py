"""The customer's pages: thin views that go through the one door and call the actions."""

from __future__ import annotations

import uuid
from typing import Any

from django.contrib.auth import logout
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from destek.accounts.http import AuthenticatedHttpRequest
from destek.accounts.models import User
from destek.announcements.views import status_page
from destek.kb.actions import settle_visit
from destek.kb.visits import issue_visit
from destek.lib.browser import facts_from_user_agent
from destek.lib.errors import ActionRefused
from destek.lib.forms import add_refusal
from destek.lib.ratelimit import client_ip, hit
from destek.notify.sms import sms_enabled
from destek.portal import actions as status_actions
from destek.portal.forms import CodeForm, LookupForm, ReplyForm, TicketForm
from destek.surveys.actions import survey_of
from destek.tickets import actions
from destek.tickets import search as ticket_search
from destek.tickets.access import (
    access_attachment,
    access_public_attachment,
    access_ticket,
    public_messages,
    visible_messages,
)
from destek.tickets.actions import reopen_open
from destek.tickets.choices import Channel, TicketStatus
from destek.tickets.details import labelled
from destek.tickets.downloads import attachment_response
from destek.tickets.models import Attachment, Ticket
from destek.tickets.selectors import customer_status_label, expected_answer_text, upload_limits

#: Which form field a refusal belongs next to; the rest show above the form.
FIELD_OF = {
    "generic_subject": "subject",
    "shouting_subject": "subject",
    "subject_required": "subject",
    "subject_too_long": "subject",
    "body_required": "body",
    "body_too_long": "body",
}


def _store(user: User, files: list[Any]) -> list[Attachment]:
    """Each file through the one upload action (size limit, generated names)."""
    return [actions.store_upload(user, upload) for upload in files]


def home(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        return redirect("portal:tickets" if request.user.is_customer else "desk:queue")
    return render(request, "portal/home.html", {"lookup": LookupForm()})


GRANTS = "status_grants"


@require_http_methods(["GET", "HEAD", "POST"])
def status_start(request: HttpRequest) -> HttpResponse:
    """GET: the service status page (announcements). POST: a ticket's status looked up by
    number and address; the same answer whether or not they belong together."""
    if request.method != "POST":
        return status_page(request)
    form = LookupForm(request.POST)
    if not form.is_valid():
        return render(request, "portal/home.html", {"lookup": form}, status=422)
    email = form.cleaned_data["email"].lower()
    if not (
        hit("status-email", email, limit=5, window_seconds=3600)
        and hit("status-ip", client_ip(request), limit=30, window_seconds=3600)
    ):
        form.add_error(None, _("Too many attempts. Please wait a few minutes."))
        return render(request, "portal/home.html", {"lookup": form}, status=429)
    lookup_id = status_actions.start_lookup(form.cleaned_data["number"], email)
    return redirect("portal:status", lookup_id=lookup_id)


def status(request: HttpRequest, lookup_id: uuid.UUID) -> HttpResponse:
    """GET shows the code form, or the ticket once this browser entered the code; GET never
    changes anything. POST spends a code."""
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            status_actions.verify_lookup(lookup_id, form.cleaned_data["code"])
        except ActionRefused as refusal:
            add_refusal(form, refusal, "code")
        else:
            request.session[GRANTS] = [*request.session.get(GRANTS, []), str(lookup_id)][-10:]
            return redirect("portal:status", lookup_id=lookup_id)
    lookup = status_actions.viewable(lookup_id)
    if lookup is not None and str(lookup_id) in request.session.get(GRANTS, []):
        ticket = lookup.ticket
        return render(
            request,
            "portal/status_view.html",
            {
                "lookup_id": lookup_id,
                "ticket": ticket,
                "label": customer_status_label(ticket),
                "thread": public_messages(ticket),
                **_merged(None, ticket),
                "expected": expected_answer_text(ticket),
            },
        )
    return render(request, "portal/status_code.html", {"form": form})


def status_attachment(
    request: HttpRequest, lookup_id: uuid.UUID, public_id: uuid.UUID
) -> HttpResponseBase:
    """A file of the ticket the status view shows, while that view is open in this browser:
    only files of that ticket's public messages."""
    lookup = status_actions.viewable(lookup_id)
    if lookup is None or str(lookup_id) not in request.session.get(GRANTS, []):
        return redirect("portal:status", lookup_id=lookup_id)
    try:
        return attachment_response(access_public_attachment(lookup.ticket, public_id))
    except Attachment.DoesNotExist:
        raise Http404 from None


@login_required
def attachment(request: AuthenticatedHttpRequest, public_id: uuid.UUID) -> HttpResponseBase:
    """A file from a ticket page, for customers and agents alike, through the one door: a
    customer gets files of public messages of their tickets, an agent those of their
    departments' tickets. Signed out, the browser goes to the sign-in page and comes back."""
    try:
        return attachment_response(access_attachment(request.user, public_id))
    except Attachment.DoesNotExist:
        raise Http404 from None


@require_POST
def sign_out(request: HttpRequest) -> HttpResponse:
    logout(request)
    return redirect("portal:home")


def _customer(request: AuthenticatedHttpRequest) -> User:
    user = request.user
    if not user.is_customer:
        raise PermissionDenied
    return user


@login_required
def tickets(request: AuthenticatedHttpRequest) -> HttpResponse:
    user = _customer(request)
    status = request.GET.get("status", "")
    q = ticket_search.clean_query(request.GET.get("q", ""))
    qs = Ticket.objects.visible_to(user).select_related("department", "customer")
    if status == "open":
        qs = qs.exclude(status="closed")
    elif status == "closed":
        qs = qs.filter(status="closed")
    snippets: dict[int, SafeString] = {}
    if q:
        # The same search as the desk's, read as this customer: their own tickets, public
        # words only (tickets/search.py); a number of theirs opens it.
        found = ticket_search.jump(user, q)
        if found is not None:
            return redirect("portal:ticket", number=found.number)
        hits = ticket_search.search(user, q, within=qs, limit=50)
        tickets = [hit.ticket for hit in hits]
        # Escaped text with <mark> around the matching words.
        snippets = {hit.ticket.pk: mark_safe(hit.snippet) for hit in hits}  # noqa: S308
    else:
        tickets = list(qs.order_by("-pk")[:100])
    rows = [(t, customer_status_label(t), snippets.get(t.pk, "")) for t in tickets]
    return render(request, "portal/tickets.html", {"rows": rows, "status": status, "q": q})


def _follow_up_of(user: User, raw: str | None) -> Ticket | None:
    """The customer's own closed ticket a new one follows up, from `?follow_up=<number>`."""
    if not raw or not raw.isdigit():
        return None
    try:
        ticket = access_ticket(user, int(raw))
    except Ticket.DoesNotExist:
        return None
    # A colleague's shared ticket is readable, but a follow-up is filed on one's own.
    return ticket if ticket.customer_id == user.pk else None


@login_required
def new_ticket(request: AuthenticatedHttpRequest) -> HttpResponse:
    user = _customer(request)
    follow_up = _follow_up_of(user, request.POST.get("follow_up") or request.GET.get("follow_up"))
    initial: dict[str, Any] = {
        **facts_from_user_agent(request.headers.get("User-Agent", "")),
        "time_zone": user.time_zone,
    }
    if follow_up is not None:
        initial.update(subject=follow_up.subject[:250], department=follow_up.department_id)
    form = TicketForm(request.POST or None, request.FILES or None, initial=initial)
    # One filing attempt for the knowledge-base suggestions (kept across a refused submit).
    visit = issue_visit(request, request.POST.get("visit"))
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            # Stored first, each in its own transaction: if the ticket is refused, the
            # uploads stay unattached and the daily purge removes them with their files.
            stored = _store(user, data["attachments"])
            ticket = actions.create_ticket(
                customer=user,
                subject=data["subject"],
                body=data["body"],
                channel=Channel.WEB,
                department=data["department"],
                urgency=data["urgency"],
                related_to=follow_up,
                attachments=stored,
                details=form.details(),
            )
        except ActionRefused as refusal:
            # Next to the field it is about, in the customer's language; the form keeps
            # everything that was typed.
            add_refusal(form, refusal, FIELD_OF.get(refusal.code))
        else:
            settle_visit(visit, ticket=ticket)
            return redirect("portal:ticket", number=ticket.number)
    return render(
        request,
        "portal/new_ticket.html",
        {"form": form, "follow_up": follow_up, "visit": visit, **upload_limits()},
    )


def _closed_offers(ticket: Ticket) -> dict[str, Any]:
    """What a closed ticket still offers, so the page never offers what will be refused: a
    reply and a reopen within the department's reopen window, a follow-up ticket after it;
    a merged ticket offers neither (the page sends the customer to where it was merged)."""
    closed = ticket.status == TicketStatus.CLOSED
    can_reopen = closed and ticket.merged_into_id is None and reopen_open(ticket)
    return {"can_reopen": can_reopen, "can_reply": not closed or can_reopen}


def _merged(user: User | None, ticket: Ticket) -> dict[str, Any]:
    """Where a merged ticket went: its number always, and the target itself only when this
    person may open it (a merge joins one customer's tickets, but an organisation or an
    admin's edit can change who sees what)."""
    if ticket.merged_into_id is None:
        return {}
    target = Ticket.objects.filter(pk=ticket.merged_into_id).only("number").first()
    if target is None:
        return {}
    visible = user is not None and (Ticket.objects.visible_to(user).filter(pk=target.pk).exists())
    return {"merged_number": target.number, "merged_visible": visible}


def _ticket_page(
    request: AuthenticatedHttpRequest,
    number: int,
    reply: ReplyForm,
    sms_error: str = "",
    error: str = "",
    status: int = 200,
    cc_error: str = "",
    cc_typed: str = "",
) -> HttpResponse:
    user = _customer(request)
    try:
        ticket = access_ticket(user, number)
    except Ticket.DoesNotExist:
        raise Http404 from None
    mine = ticket.customer_id == user.pk
    return render(
        request,
        "portal/ticket.html",
        {
            "ticket": ticket,
            "label": customer_status_label(ticket),
            "thread": visible_messages(user, ticket),
            **_merged(user, ticket),
            "expected": expected_answer_text(ticket),
            "reply": reply,
            "mine": mine,
            # Who is copied: the customer who filed the ticket manages it (colleagues who
            # read a shared ticket do not see whom they copied).
            "ccs": list(ticket.cc_addresses.order_by("pk")) if mine else [],
            "cc_error": cc_error,
            "cc_typed": cc_typed,
            "details": labelled(ticket.details),
            "rating": survey_of(ticket) if mine else None,  # their own answer, theirs to see
            **_closed_offers(ticket),
            "sms": sms_enabled(),
            "phone_verified": bool(user.phone and user.phone_verified_at),
            "sms_error": sms_error,
            "error": error,
            **upload_limits(),
        },
        status=status,
    )


@login_required
def ticket(request: AuthenticatedHttpRequest, number: int) -> HttpResponse:
    return _ticket_page(request, number, ReplyForm())


@login_required
@require_POST
def reply(request: AuthenticatedHttpRequest, number: int) -> HttpResponse:
    user = _customer(request)
    form = ReplyForm(request.POST, request.FILES)
    if form.is_valid():
        try:
            ticket = access_ticket(user, number)
            stored = _store(user, form.cleaned_data["attachments"])
            actions.add_message(
                ticket,
                author=user,
                body=form.cleaned_data["body"],
                channel=Channel.WEB,
                attachments=stored,
            )
        except Ticket.DoesNotExist:
            raise Http404 from None
        except ActionRefused as refusal:
            add_refusal(form, refusal, FIELD_OF.get(refusal.code, "body"))
        else:
            return redirect("portal:ticket", number=number)
    return _ticket_page(request, number, form)


@login_required
@require_POST
def sms(request: AuthenticatedHttpRequest, number: int) -> HttpResponse:
    """Switch the SMS of agent replies on or off for this ticket."""
    user = _customer(request)
    try:
        ticket = access_ticket(user, number)
        actions.set_sms_notifications(
            ticket, customer=user, enabled=request.POST.get("notify_sms") == "1"
        )
    except Ticket.DoesNotExist:
        raise Http404 from None
    except ActionRefused as refusal:
        return _ticket_page(request, number, ReplyForm(), sms_error=str(refusal.detail))
    return redirect(reverse("portal:ticket", args=[number]) + "#sms")


@login_required
@require_POST
def transition(request: AuthenticatedHttpRequest, number: int, action: str) -> HttpResponse:
    user = _customer(request)
    try:
        ticket = access_ticket(user, number)
        if action == "close":
            actions.close_by_customer(ticket, customer=user)
        else:
            actions.reopen_by_customer(ticket, customer=user)
    except Ticket.DoesNotExist:
        raise Http404 from None
    except ActionRefused as refusal:
        # Said at the top of the page: the reply form may not be shown (a merged ticket).
        return _ticket_page(
            request, number, ReplyForm(), error=str(refusal.detail), status=refusal.status
        )
    return redirect("portal:ticket", number=number)
