"""The agent's pages: the queue and a ticket, through the one door and the ticket actions."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from destek.accounts.models import User
from destek.desk.forms import CloseForm, NoteForm, ReplyForm, TicketFieldsForm
from destek.lib.errors import ActionRefused
from destek.sla.clocks import clocks_left
from destek.tickets import actions
from destek.tickets.access import access_ticket
from destek.tickets.actions import Actor
from destek.tickets.choices import ACTIVE_STATUSES, Channel, Priority, TicketStatus
from destek.tickets.models import Message, Ticket, TicketEvent
from destek.tickets.selectors import queue_page

PAGE = 50


def agent_only(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    @login_required
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not request.user.is_agent:  # type: ignore[union-attr]
            raise PermissionDenied
        return view(request, *args, **kwargs)

    wrapped.__name__ = view.__name__
    return wrapped


@agent_only
def queue(request: HttpRequest) -> HttpResponse:
    """Breached first, then the nearest due, then priority, VIP first; filters as links."""
    user = request.user
    params = request.GET
    qs = Ticket.objects.visible_to(user).select_related("department", "customer", "assignee")
    status = params.get("status", "active")
    if status == "active":
        qs = qs.filter(status__in=ACTIVE_STATUSES)
    elif status in TicketStatus.values:
        qs = qs.filter(status=status)
    who = params.get("who", "")
    if who == "mine":
        qs = qs.filter(assignee_id=user.pk)
    elif who == "unassigned":
        qs = qs.filter(assignee__isnull=True)
    if params.get("priority") in Priority.values:
        qs = qs.filter(priority=params["priority"])
    if params.get("vip") == "1":
        qs = qs.filter(customer_vip=True)
    now = timezone.now()
    due = params.get("due", "")
    if due == "hour":
        qs = qs.filter(queue_due__gt=now, queue_due__lte=now + timedelta(hours=1))
    elif due == "breached":
        qs = qs.filter(queue_due__lte=now)
    try:
        page = queue_page(qs, cursor=params.get("cursor") or None, limit=PAGE)
    except ActionRefused:
        raise Http404 from None
    return render(
        request,
        "desk/queue.html",
        {
            "tickets": page.items,
            "next_cursor": page.next_cursor,
            "now": now,
            "filters": {
                "status": status,
                "who": who,
                "due": due,
                "priority": params.get("priority", ""),
                "vip": params.get("vip", ""),
            },
        },
    )


def _ticket_or_404(request: HttpRequest, number: int) -> Ticket:
    try:
        return access_ticket(request.user, number)  # type: ignore[arg-type]
    except Ticket.DoesNotExist:
        raise Http404 from None


def _page(request: HttpRequest, ticket: Ticket, **forms: Any) -> HttpResponse:
    thread = (
        Message.objects.filter(ticket=ticket)
        .select_related("author")
        .prefetch_related("attachments")
        .order_by("id")
    )
    events = TicketEvent.objects.filter(ticket=ticket).select_related("actor").order_by("id")
    others = (
        Ticket.objects.visible_to(request.user)
        .filter(customer=ticket.customer)
        .exclude(pk=ticket.pk)
        .order_by("-pk")[:10]
    )
    context = {
        "ticket": ticket,
        "thread": thread,
        "events": events,
        "others": others,
        "clocks": clocks_left(ticket),
        "reply": forms.get("reply") or ReplyForm(initial={"status": TicketStatus.PENDING}),
        "note": forms.get("note") or NoteForm(),
        "fields": forms.get("fields")
        or TicketFieldsForm(
            initial={"priority": ticket.priority, "department": ticket.department_id}
        ),
        "close": forms.get("close") or CloseForm(),
        "error": forms.get("error"),
    }
    return render(request, "desk/ticket.html", context)


@agent_only
def ticket(request: HttpRequest, number: int) -> HttpResponse:
    found = _ticket_or_404(request, number)
    if found.first_seen_at is None:
        actions.mark_seen(found, agent=request.user)  # type: ignore[arg-type]
    return _page(request, found)


@agent_only
@require_POST
def act(request: HttpRequest, number: int, what: str) -> HttpResponse:
    """One form, one action; a refusal comes back on the same page, nothing lost."""
    found = _ticket_or_404(request, number)
    user: User = request.user  # type: ignore[assignment]
    actor = Actor.of(user)
    form: Any = None
    try:
        if what in ("reply", "note"):
            form = (ReplyForm if what == "reply" else NoteForm)(request.POST)
            if not form.is_valid():
                return _page(request, found, **{what: form})
            actions.add_message(
                found,
                author=user,
                body=form.cleaned_data["body"],
                internal=what == "note",
                status_after=form.cleaned_data.get("status"),
                channel=Channel.WEB,
            )
        elif what == "assign":
            actions.assign(found, actor=actor, assignee=user)
        elif what == "fields":
            form = TicketFieldsForm(request.POST)
            if not form.is_valid():
                return _page(request, found, fields=form)
            actions.change_priority(found, actor=actor, priority=form.cleaned_data["priority"])
            actions.change_department(
                found, actor=actor, department=form.cleaned_data["department"]
            )
        elif what == "close":
            form = CloseForm(request.POST)
            if not form.is_valid():
                return _page(request, found, close=form)
            actions.change_status(
                found,
                actor=actor,
                status=TicketStatus.CLOSED,
                close_reason=form.cleaned_data["reason"],
                contract_clause=form.cleaned_data["clause"],
            )
        else:
            raise Http404
    except ActionRefused as refusal:
        return _page(
            request,
            _ticket_or_404(request, number),
            error=str(refusal.detail),
            **({what: form} if form is not None else {}),
        )
    except Ticket.DoesNotExist:
        raise Http404 from None
    try:
        access_ticket(user, number)
    except Ticket.DoesNotExist:  # transferred out of the agent's departments
        return redirect("desk:queue")
    return redirect("desk:ticket", number=number)
