"""The agent's pages: the queue and a ticket, through the one door and the ticket actions."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import replace
from functools import wraps
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import Exists, OuterRef, Sum
from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.safestring import mark_safe
from django.utils.translation import get_language, ngettext
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from destek.accounts.choices import Role
from destek.accounts.http import AuthenticatedHttpRequest
from destek.accounts.models import User
from destek.announcements.incident_tickets import ticket_incidents
from destek.announcements.texts import pick
from destek.automation import actions as macro_actions
from destek.automation.models import Macro
from destek.automation.selectors import access_macro, macros_for, macros_of, shown_name
from destek.automation.selectors import preview as macro_preview_of
from destek.desk import actions as desk_actions
from destek.desk import presence
from destek.desk.blank_forms import form_html
from destek.desk.forms import (
    BulkForm,
    CloseForm,
    MergeForm,
    NoteForm,
    PhoneTicketForm,
    ReplyForm,
    SavedViewForm,
    TicketFieldsForm,
    TimeForm,
)
from destek.desk.models import SavedView
from destek.desk.people_selectors import customers_visible_to
from destek.desk.queue_filters import (
    QueueQuery,
    condition,
    ignored_names,
    ordering,
    read_query,
)
from destek.desk.rows import COLUMNS as queue_rows_columns
from destek.desk.rows import queue_rows
from destek.desk.saved_views import access_view, listed_views, shareable_departments, view_query
from destek.desk.selectors import (
    forget_queue_counts,
    history,
    queue_counts,
    queue_neighbours,
    ticket_clocks,
)
from destek.lib.errors import ActionRefused
from destek.lib.forms import add_refusal
from destek.messaging import actions as messaging_actions
from destek.messaging.selectors import failing_channel, reply_window, unsent_replies
from destek.notify.models import FailingAddress
from destek.surveys.actions import survey_of
from destek.tickets import actions
from destek.tickets import search as ticket_search
from destek.tickets.access import access_ticket, agent_department_ids, visible_messages
from destek.tickets.actions import Actor
from destek.tickets.choices import Channel, TicketStatus
from destek.tickets.details import labelled
from destek.tickets.models import Message, Tag, Ticket, TimeEntry
from destek.tickets.selectors import queue_page, ticket_people, upload_limits

PAGE = 50


def agent_only(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    signed_in = login_required(view)

    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not request.user.is_authenticated:
            # A page's own requests (htmx) get a refusal, not the sign-in page to swap in.
            if request.headers.get("HX-Request"):
                raise PermissionDenied
            return signed_in(request, *args, **kwargs)
        if not request.user.is_agent:
            raise PermissionDenied
        return view(request, *args, **kwargs)

    wrapped.__name__ = view.__name__
    return wrapped


@agent_only
def queue(request: AuthenticatedHttpRequest) -> HttpResponse:
    """Breached first, then the nearest due, then priority, VIP first; filters as links, any
    column sortable, saved views beside it."""
    user = request.user
    params = request.GET
    query = read_query(params)
    q = query.q
    if q:
        found = ticket_search.jump(user, q)
        if found is not None:  # a ticket number: straight to it
            return redirect("desk:ticket", number=found.number)
        person = customers_visible_to(user).filter(email=q.lower()).first() if "@" in q else None
        if person is not None:  # a customer's address: to their page
            return redirect("desk:customer", customer_id=person.pk)
    current = _current_view(request, query)
    if query.ignored:
        messages.warning(
            request,
            _("Left out what could not be read: {names}.").format(
                names=ignored_names(query.ignored)
            ),
        )
    now = timezone.now()
    qs = (
        Ticket.objects.visible_to(user)
        .select_related("customer", "assignee", "department")
        .only(*queue_rows_columns)
        .filter(condition(query, user, now=now))
    )
    order = ordering(query)
    next_url = None
    if q:
        hits = ticket_search.search(user, q, within=qs, limit=PAGE)
        if order:  # best first unless a column is chosen
            place = {
                pk: i
                for i, pk in enumerate(
                    Ticket.objects.filter(pk__in=[h.ticket.pk for h in hits])
                    .order_by(*order)
                    .values_list("pk", flat=True)
                )
            }
            hits.sort(key=lambda hit: place.get(hit.ticket.pk, 0))
        rows = [
            # Escaped text with <mark> around the matching words (tickets/search.py).
            replace(row, snippet=mark_safe(hit.snippet))  # noqa: S308
            for row, hit in zip(queue_rows([h.ticket for h in hits], now=now), hits, strict=True)
        ]
    elif order:
        # A chosen column pages by number: its order is not the index's keyset.
        number = _page_number(params.get("page"))
        sorted_page = list(qs.order_by(*order)[(number - 1) * PAGE : number * PAGE + 1])
        rows = queue_rows(sorted_page[:PAGE], now=now)
        if len(sorted_page) > PAGE:
            next_url = query.url(page=str(number + 1), view=params.get("view", ""))
    else:
        try:
            page = queue_page(qs, cursor=params.get("cursor") or None, limit=PAGE)
        except ActionRefused:
            # A stale or mangled link (cursors are signed): the first page, not an error page.
            page = queue_page(qs, cursor=None, limit=PAGE)
        rows = queue_rows(page.items, now=now)
        if page.next_cursor:
            next_url = query.url(cursor=page.next_cursor, view=params.get("view", ""))
    departments = _departments(user)
    return render(
        request,
        "desk/queue.html",
        {
            "rows": rows,
            "next_url": next_url,
            "now": now,
            "q": q,
            "query": query,
            "filters": {**query.filters, "status": query.status},
            "untagged_url": query.url(tag=""),
            "headers": _headers(query),
            "counts": queue_counts(user, now=now),
            "views": listed_views(user, now=now),
            "current_view": current,
            "departments": departments,
            "view_form": SavedViewForm(departments=departments),
            "bulk": BulkForm(agents=_colleagues(user), macros=_macro_choices(user)),
            "bulk_limit": desk_actions.BULK_LIMIT,
            "back": params.urlencode(),
        },
    )


#: A chosen column pages by number up to here; past it, a narrower filter is quicker to read.
PAGES_MAX = 200


def _page_number(raw: str | None) -> int:
    try:
        return min(max(int(raw or 1), 1), PAGES_MAX)
    except ValueError:
        return 1


def _current_view(request: AuthenticatedHttpRequest, query: QueueQuery) -> SavedView | None:
    """The view named in the address (`view=<id>`), when the reader may open it; what of its
    saved filters could not be read is said once, as the queue says it of an address."""
    raw = request.GET.get("view")
    if not raw:
        return None
    try:
        view = access_view(request.user, raw)
    except SavedView.DoesNotExist:
        return None
    stored = view_query(view)
    if stored.ignored and not query.ignored:
        messages.warning(
            request,
            _("Part of the view “{name}” could not be read and was left out: {names}.").format(
                name=view.name, names=ignored_names(stored.ignored)
            ),
        )
    return view


def _departments(user: User) -> list[tuple[int, str]]:
    """The departments the reader works in, by their name in the page's language."""
    return [(d.pk, d.display_name()) for d in shareable_departments(user)]


def _headers(query: QueueQuery) -> list[dict[str, str]]:
    """The list's column headings: each a link that sorts by it, ascending first, the other
    way round when it is the sorted column already; `aria-sort` on the sorted one."""
    labels = {
        "number": _("Number"),
        "subject": _("Subject"),
        "customer": _("Customer"),
        "priority": _("Priority"),
        "status": _("Status"),
        "department": _("Department"),
        "due": _("Due"),
        "assignee": _("Assignee"),
        "updated": _("Updated"),
    }
    headers = []
    for key, label in labels.items():
        active = query.sort_column == key
        descending = active and query.descending
        flip = key if not active or descending else f"-{key}"
        headers.append(
            {
                "key": key,
                "label": label,
                "aria_sort": ("descending" if descending else "ascending") if active else "",
                "url": query.url(sort="" if flip == "due" else flip),
            }
        )
    return headers


def _colleagues(user: User) -> list[tuple[str, str]]:
    """Agents the bulk bar can assign to: those of the agent's own departments."""
    agents = User.objects.filter(is_active=True, role__in=[Role.AGENT, Role.ADMIN])
    if not user.is_admin:
        agents = agents.filter(departments__in=agent_department_ids(user))
    return [
        (str(pk), name or email.split("@")[0])
        for pk, name, email in agents.exclude(pk=user.pk)
        .distinct()
        .order_by("full_name", "email")
        .values_list("pk", "full_name", "email")
    ]


def _macro_choices(user: User) -> list[tuple[str, str]]:
    """The macros the bulk bar offers: every one the agent may use somewhere (whether it fits
    each ticket is checked ticket by ticket)."""
    return [(str(macro.pk), shown_name(macro)) for macro in macros_of(user)]


@agent_only
@require_POST
def bulk(request: AuthenticatedHttpRequest) -> HttpResponse:
    """The bar above the queue: each ticked ticket through the one door and the same action;
    what was refused is reported ticket by ticket and the rest stays done."""
    user: User = request.user
    form = BulkForm(request.POST, agents=_colleagues(user), macros=_macro_choices(user))
    back = QueryDict(request.POST.get("back", "")).urlencode()
    target = reverse("desk:queue") + (f"?{back}" if back else "")
    if not form.is_valid():
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, str(error))
        return redirect(target)
    data = form.cleaned_data
    numbers: list[int] = data["ticket"]
    try:
        if data["op"] == "assign":
            choice = data["assignee"]
            assignee: User | None = None
            if choice == "me":
                assignee = user
            elif choice != "none":
                assignee = User.objects.get(pk=int(choice))
            result = desk_actions.bulk_assign(user, numbers, assignee)
        elif data["op"] == "status":
            result = desk_actions.bulk_status(user, numbers, data["status"])
        elif data["op"] == "department":
            result = desk_actions.bulk_department(user, numbers, data["department"])
        elif data["op"] == "macro":
            result = desk_actions.bulk_macro(user, numbers, data["macro"])
        elif not data["confirm"]:
            # A merge cannot be undone: first a page naming every ticket and the target.
            target_ticket = _merge_target(user, data["into"])
            sources = (
                Ticket.objects.visible_to(user)
                .filter(number__in=numbers)
                .exclude(pk=target_ticket.pk)
                .order_by("-pk")
            )
            return render(
                request,
                "desk/bulk_merge_confirm.html",
                {
                    "target": target_ticket,
                    "sources": sources,
                    "numbers": numbers,
                    "back": request.POST.get("back", ""),
                },
            )
        else:
            result = desk_actions.bulk_merge(user, numbers, data["into"])
    except ActionRefused as refusal:
        messages.error(request, str(refusal.detail))
        return redirect(target)
    if result.updated:
        count = len(result.updated)
        messages.success(
            request,
            ngettext("{count} ticket updated.", "{count} tickets updated.", count).format(
                count=count
            ),
        )
    if result.refused:
        count = len(result.refused)
        reasons = "; ".join(f"#{number} {reason}" for number, reason in result.refused)
        messages.error(
            request,
            ngettext("{count} refused: {reasons}", "{count} refused: {reasons}", count).format(
                count=count, reasons=reasons
            ),
        )
    return redirect(target)


def _merge_target(user: User, number: int) -> Ticket:
    try:
        return access_ticket(user, number)  # the one door, for the target too
    except Ticket.DoesNotExist:
        raise ActionRefused(
            "merge_target_not_found", _("Ticket #{number} was not found.").format(number=number)
        ) from None


def _ticket_or_404(request: AuthenticatedHttpRequest, number: int) -> Ticket:
    try:
        return access_ticket(request.user, number)
    except Ticket.DoesNotExist:
        raise Http404 from None


def _merged_into(user: User, ticket: Ticket) -> dict[str, Any]:
    """The ticket this one was merged into: its number, and whether this agent may open it."""
    if ticket.merged_into_id is None:
        return {}
    target = (
        Ticket.objects.filter(pk=ticket.merged_into_id)
        .annotate(visible=Exists(Ticket.objects.visible_to(user).filter(pk=OuterRef("pk"))))
        .values_list("number", "visible")
        .first()
    )
    if target is None:
        return {}
    return {"merged_number": target[0], "merged_visible": target[1]}


def _page(request: AuthenticatedHttpRequest, ticket: Ticket, **forms: Any) -> HttpResponse:
    """The ticket page: one statement for each thing it shows (see the pinned count in
    desk/tests/test_ticket_page.py). The knowledge-base links come only when their menu
    opens."""
    user: User = request.user
    thread = list(visible_messages(user, ticket))
    events = history(ticket)
    others = (
        Ticket.objects.visible_to(request.user)
        .filter(customer=ticket.customer)
        .exclude(pk=ticket.pk)
        .only("number", "subject", "status")
        .order_by("-pk")[:10]
    )
    previous, following = queue_neighbours(user, ticket)
    context = {
        "ticket": ticket,
        "thread": thread,
        # Moved-away messages (shown on a merged ticket) are not this ticket's to poll after.
        "last_message_id": max((m.pk for m in thread if m.ticket_id == ticket.pk), default=0),
        **_merged_into(user, ticket),
        "events": events,
        "others": others,
        **_incident_box(ticket),
        "clocks": ticket_clocks(ticket, now=timezone.now()),
        "details": labelled(ticket.details),
        "rating": survey_of(ticket),
        "bouncing": FailingAddress.objects.filter(email=ticket.customer.email).first(),
        "messenger_failing": failing_channel(ticket),
        "reply_window": reply_window(ticket),
        "unsent_replies": unsent_replies(ticket),
        "reply": form_html(
            "reply",
            forms.get("reply")
            or ReplyForm(initial={"status": TicketStatus.PENDING}, auto_id="id_reply_%s"),
        ),
        "note": form_html("note", forms.get("note") or NoteForm(auto_id="id_note_%s")),
        "macros": list(macros_for(user, ticket)),
        **_macro_shown(user, ticket, forms.get("macro")),
        "merge": forms.get("merge") or MergeForm(auto_id="id_merge_%s"),
        "previous": previous,
        "next": following,
        "fields": form_html(
            "fields",
            forms.get("fields")
            or TicketFieldsForm(
                initial={"priority": ticket.priority, "department": ticket.department_id}
            ),
            variant=(ticket.priority, ticket.department_id),
        ),
        "close": form_html("close", forms.get("close") or CloseForm()),
        **_time_spent(ticket, forms.get("time")),
        "tags": list(ticket.tags.values_list("name", flat=True)),
        "tags_typed": forms.get("tags_typed", ""),
        "error": forms.get("error"),
        # Held because a message arrived while the agent wrote (`_compose`): which form, and
        # what arrived.
        "held": forms.get("held", ""),
        "arrived": forms.get("arrived", ()),
        "dropped_files": forms.get("dropped_files", False),
        **_presence_context(user, ticket),
        **ticket_people(ticket, user),
        "cc_error": forms.get("cc_error"),
        "cc_typed": forms.get("cc_typed", ""),
        **upload_limits(),
    }
    return render(request, "desk/ticket.html", context)


def _incident_box(ticket: Ticket) -> dict[str, Any]:
    """The "Incident" box: the incidents linked, the one the ticket was filed during (to
    link in one click), the open ones to choose from; one statement."""
    rows = ticket_incidents(ticket)
    language = get_language()
    for row in rows:
        row.shown_title = pick(row.title, language).text  # type: ignore[attr-defined]
    return {
        "incidents_linked": [i for i in rows if i.linked],  # type: ignore[attr-defined]
        "incidents_suggested": [i for i in rows if i.suggested],  # type: ignore[attr-defined]
        "incidents_open": [i for i in rows if i.is_open and not i.linked],  # type: ignore[attr-defined]
    }


def _time_spent(ticket: Ticket, form: TimeForm | None) -> dict[str, Any]:
    """Who logged how many minutes on the ticket (one statement), and the form to log more."""
    if not settings.DESTEK_TIME_TRACKING:
        return {}
    per_agent = list(
        TimeEntry.objects.filter(ticket=ticket)
        .values("agent__full_name", "agent__email")
        .annotate(minutes=Sum("minutes"))
        .order_by("-minutes", "agent__email")
    )
    for row in per_agent:  # named as everywhere (User.display_name), without reading users
        row["name"] = User(
            full_name=row["agent__full_name"], email=row["agent__email"]
        ).display_name
    return {
        "time_per_agent": per_agent,
        "time_total": sum(row["minutes"] for row in per_agent),
        "time_form": form_html("time", form or TimeForm(auto_id="id_time_%s")),
    }


@agent_only
def ticket(request: AuthenticatedHttpRequest, number: int) -> HttpResponse:
    found = _ticket_or_404(request, number)
    if found.first_seen_at is None:
        actions.mark_seen(found, agent=request.user)
    return _page(request, found)


def _presence_context(user: User, ticket: Ticket) -> dict[str, Any]:
    """The page's own id for presence (each page load is one "tab"), counted as viewing from
    the moment it is rendered, and who else is on the ticket."""
    tab = secrets.token_urlsafe(12)
    if presence.record(ticket.pk, user, tab, presence.VIEWING):
        presence.announce(ticket.pk)
    return {"presence_tab": tab, "present": presence.present(ticket.pk, reader=user)}


@agent_only
def ticket_presence(request: AuthenticatedHttpRequest, number: int) -> HttpResponse:
    """Who else is on the ticket, as the fragment the page shows (GET, after a socket's
    hint); POST `tab` and `state` (viewing, reply, note, gone) first records what this page
    does: its heartbeat and typing when it has no socket, and its goodbye (a beacon)."""
    found = _ticket_or_404(request, number)
    user: User = request.user
    if request.method == "POST":
        tab = request.POST.get("tab", "")
        state = request.POST.get("state", "")
        if not presence.valid_tab(tab) or state not in presence.STATES:
            return HttpResponse(_("Unknown page or state."), status=400)
        if presence.record(found.pk, user, tab, state):
            presence.announce(found.pk)
    elif request.method != "GET":
        return HttpResponse(status=405, headers={"Allow": "GET, POST"})
    response = render(
        request,
        "desk/_presence.html",
        {"present": presence.present(found.pk, reader=user), "ticket": found},
    )
    response["Cache-Control"] = "no-store"
    return response


# --- the forms of the ticket page: one view each --------------------------------------------
# Each parses its form, calls the ticket action and goes back to the ticket; a refusal comes
# back on the same page with what was typed, nothing lost.


def ticket_form(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """A form posted from the ticket page: agents only, POST only, the ticket through the one
    door (404 for a ticket the agent may not see)."""

    @agent_only
    @require_POST
    @wraps(view)
    def wrapped(request: AuthenticatedHttpRequest, number: int, **more: Any) -> HttpResponse:
        try:
            return view(request, _ticket_or_404(request, number), **more)
        except Ticket.DoesNotExist:
            raise Http404 from None

    return wrapped


def _refused(
    request: AuthenticatedHttpRequest, ticket: Ticket, refusal: ActionRefused, **forms: Any
) -> HttpResponse:
    """The ticket page again, read afresh (the refused action changed nothing), with the
    refusal above it and the form as it was sent."""
    found = _ticket_or_404(request, ticket.number)
    return _page(request, found, error=str(refusal.detail), **forms)


def _done(request: AuthenticatedHttpRequest, ticket: Ticket) -> HttpResponse:
    forget_queue_counts()  # the queue the agent goes back to counts this change
    try:
        access_ticket(request.user, ticket.number)
    except Ticket.DoesNotExist:  # transferred out of the agent's departments
        return redirect("desk:queue")
    return redirect("desk:ticket", number=ticket.number)


@ticket_form
def reply(request: AuthenticatedHttpRequest, found: Ticket) -> HttpResponse:
    return _compose(request, found, "reply")


@ticket_form
def send_template(request: AuthenticatedHttpRequest, found: Ticket) -> HttpResponse:
    """An approved WhatsApp template, outside the 24-hour window."""
    try:
        messaging_actions.send_template(
            found, agent=request.user, name=request.POST.get("name", "")
        )
    except ActionRefused as refusal:
        return _refused(request, found, refusal)
    return _done(request, found)


@ticket_form
def note(request: AuthenticatedHttpRequest, found: Ticket) -> HttpResponse:
    return _compose(request, found, "note")


def _compose(request: AuthenticatedHttpRequest, found: Ticket, what: str) -> HttpResponse:
    """A reply, or an internal note: the same form with its files, one of them internal."""
    user: User = request.user
    form = (ReplyForm if what == "reply" else NoteForm)(
        request.POST, request.FILES, auto_id=f"id_{what}_%s"
    )
    if not form.is_valid():
        return _page(request, found, **{what: form})
    arrived = _arrived_since(user, found, form.cleaned_data["seen"])
    if arrived and not form.cleaned_data["confirm"]:
        # Nothing is sent: the page again, with what arrived, the text as typed and a button
        # that sends it anyway.
        return _page(
            request,
            found,
            held=what,
            arrived=arrived,
            dropped_files=bool(form.cleaned_data["attachments"]),
            **{what: form},
        )
    try:
        # The portal's and the API's upload action: the same size limit and stored
        # names. Stored before the message; if it is refused, the daily purge
        # removes the unclaimed files.
        stored = [actions.store_upload(user, upload) for upload in form.cleaned_data["attachments"]]
    except ActionRefused as refusal:
        add_refusal(form, refusal, "attachments")
        return _page(request, found, **{what: form})
    try:
        macro_id = form.cleaned_data.get("macro")
        if macro_id:  # a macro's reply the agent edited: its other changes are made too
            macro_actions.apply_macro(
                found,
                access_macro(user, found, macro_id),
                agent=user,
                body=form.cleaned_data["body"],
                status=form.cleaned_data["status"],
                attachments=stored,
            )
        else:
            # A note's files belong to an internal message: customers never get them.
            actions.add_message(
                found,
                author=user,
                body=form.cleaned_data["body"],
                internal=what == "note",
                status_after=form.cleaned_data.get("status"),
                # Outside a messenger's 24-hour window the agent may send it by e-mail
                # (and SMS notice) instead: the messenger is left out (messaging/receivers).
                channel=Channel.EMAIL if request.POST.get("via") == "email" else Channel.WEB,
                attachments=stored,
            )
    except ActionRefused as refusal:
        return _refused(request, found, refusal, **{what: form})
    return _done(request, found)


def _arrived_since(user: User, ticket: Ticket, seen: int | None) -> list[Message]:
    """The public messages and replies of others the agent's page had not shown (after
    `seen`) when they sent theirs; none when the page did not say what it showed."""
    if seen is None:
        return []
    return list(
        visible_messages(user, ticket)
        .filter(ticket=ticket, pk__gt=seen, internal=False)
        .exclude(author=user)[:THREAD_BATCH]
    )


def _macro_shown(user: User, ticket: Ticket, macro: Macro | None) -> dict[str, Any]:
    """The preview of the macro chosen in the picker, when the page shows one."""
    if macro is None:
        return {}
    shown = macro_preview_of(macro, ticket, user)
    reply_status = macro.status if macro.status in actions.AGENT_REPLY_STATUSES else ""
    return {"chosen": macro, "preview": shown, "reply_status": reply_status}


@agent_only
@require_GET
def macro_preview(request: AuthenticatedHttpRequest, number: int) -> HttpResponse:
    """What the macro chosen in the picker will do, before it is applied: for htmx the
    preview alone, without JavaScript the ticket page with it."""
    user: User = request.user
    found = _ticket_or_404(request, number)
    try:
        macro = access_macro(user, found, int(request.GET.get("macro", "")))
    except (ValueError, ActionRefused):
        if request.headers.get("HX-Request"):
            return HttpResponse("")  # the empty choice: no preview
        return redirect("desk:ticket", number=found.number)
    if request.headers.get("HX-Request"):
        context = {"ticket": found, **_macro_shown(user, found, macro)}
        return render(request, "desk/_macro_preview.html", context)
    return _page(request, found, macro=macro)


@ticket_form
def macro_apply(request: AuthenticatedHttpRequest, found: Ticket, macro_id: int) -> HttpResponse:
    """Apply a macro as it is: all its changes, or none and the reason."""
    user: User = request.user
    try:
        macro = access_macro(user, found, macro_id)
        macro_actions.apply_macro(found, macro, agent=user)
    except ActionRefused as refusal:
        return _refused(request, found, refusal)
    messages.success(request, _("Macro “{name}” applied.").format(name=shown_name(macro)))
    return _done(request, found)


@ticket_form
def merge(request: AuthenticatedHttpRequest, found: Ticket) -> HttpResponse:
    user: User = request.user
    actor = Actor.of(user)
    form = MergeForm(request.POST, auto_id="id_merge_%s")
    if not form.is_valid():
        return _page(request, found, merge=form)
    try:
        target = _merge_target(user, form.cleaned_data["into"])
        if not form.cleaned_data["confirm"]:
            # A merge cannot be undone: first a page naming both tickets, which works
            # without JavaScript; a merge that would be refused is refused here already.
            actions.check_merge(found, into=target, actor=actor)
            return render(request, "desk/merge_confirm.html", {"ticket": found, "target": target})
        actions.merge(found, into=target, actor=actor)
    except ActionRefused as refusal:
        return _refused(request, found, refusal, merge=form)
    forget_queue_counts()
    return redirect("desk:ticket", number=target.number)


@ticket_form
def assign(request: AuthenticatedHttpRequest, found: Ticket) -> HttpResponse:
    """Assign to me."""
    user: User = request.user
    try:
        actions.assign(found, actor=Actor.of(user), assignee=user)
    except ActionRefused as refusal:
        return _refused(request, found, refusal)
    return _done(request, found)


@ticket_form
def fields(request: AuthenticatedHttpRequest, found: Ticket) -> HttpResponse:
    """Priority (with its reason) and department."""
    user: User = request.user
    actor = Actor.of(user)
    form = TicketFieldsForm(request.POST)
    if not form.is_valid():
        return _page(request, found, fields=form)
    try:
        actions.update_ticket(  # both or neither: one transaction
            found,
            actor,
            priority=form.cleaned_data["priority"],
            priority_reason=form.cleaned_data["priority_reason"],
            department=form.cleaned_data["department"],
        )
    except ActionRefused as refusal:
        return _refused(request, found, refusal, fields=form)
    return _done(request, found)


@ticket_form
def log_time(request: AuthenticatedHttpRequest, found: Ticket) -> HttpResponse:
    """Minutes spent on the ticket, and what was done."""
    form = TimeForm(request.POST, auto_id="id_time_%s")
    if not form.is_valid():
        return _page(request, found, time=form)
    try:
        actions.log_time(
            found,
            agent=request.user,
            minutes=form.cleaned_data["minutes"],
            note=form.cleaned_data["note"],
        )
    except ActionRefused as refusal:
        return _refused(request, found, refusal, time=form)
    return _done(request, found)


@ticket_form
def tags(request: AuthenticatedHttpRequest, found: Ticket) -> HttpResponse:
    """Add the tags typed (comma-separated), or remove one."""
    typed = request.POST.get("add", "")[:200]
    try:
        actions.change_tags(
            found,
            actor=Actor.of(request.user),
            add=actions.tag_names(typed),
            remove=actions.tag_names(request.POST.get("remove", "")[:200]),
        )
    except ActionRefused as refusal:
        return _refused(request, found, refusal, tags_typed=typed)
    return _done(request, found)


@agent_only
@require_GET
def tag_suggestions(request: AuthenticatedHttpRequest) -> HttpResponse:
    """The datalist's options for what the agent is typing: tags in use that start with the
    last name typed after a comma (ten at most)."""
    before, _comma, typed = request.GET.get("add", "")[:200].rpartition(",")
    names = actions.tag_names(typed)
    found = Tag.objects.filter(name__startswith=names[0]) if names else Tag.objects.all()
    # Picking an option replaces the whole box: each option keeps the tags typed before it.
    kept = ", ".join(actions.tag_names(before))
    options = [
        f"{kept}, {name}" if kept else name
        for name in found.order_by("name").values_list("name", flat=True)[:10]
    ]
    return render(request, "desk/_tag_options.html", {"options": options})


@ticket_form
def close(request: AuthenticatedHttpRequest, found: Ticket) -> HttpResponse:
    """Close with a reason (and the contract clause when the reason is the contract)."""
    user: User = request.user
    form = CloseForm(request.POST)
    if not form.is_valid():
        return _page(request, found, close=form)
    try:
        actions.change_status(
            found,
            actor=Actor.of(user),
            status=TicketStatus.CLOSED,
            close_reason=form.cleaned_data["reason"],
            contract_clause=form.cleaned_data["clause"],
        )
    except ActionRefused as refusal:
        return _refused(request, found, refusal, close=form)
    return _done(request, found)


#: The most messages one poll returns; the next poll fetches the rest.
THREAD_BATCH = 100


@agent_only
@require_GET
def thread(request: AuthenticatedHttpRequest, number: int) -> HttpResponse:
    """The messages after `?after=<id>`, rendered as on the ticket page, for htmx to append,
    with the next poller; 204 when there is nothing new. Read-only: it does not even mark the
    ticket seen."""
    found = _ticket_or_404(request, number)
    try:
        after = max(int(request.GET.get("after", "0")), 0)
    except ValueError:
        after = 0
    user: User = request.user
    # Not what a merge moved away: the page shows it already, and it is never new.
    items = list(visible_messages(user, found).filter(ticket=found, pk__gt=after)[:THREAD_BATCH])
    # Who else is on the ticket comes along (out of band), so a page without the ticket socket
    # still sees it within one poll.
    response = render(
        request,
        "desk/_thread_more.html",
        {
            "thread": items,
            "ticket": found,
            "after": items[-1].pk if items else after,
            "present": presence.present(found.pk, reader=user),
        },
    )
    response["Cache-Control"] = "no-store"
    return response


#: Which phone-ticket field a refusal belongs next to; the rest show above the form.
PHONE_FIELD_OF = {
    "unknown_customer_number": "customer",
    "not_a_customer": "customer",
    "customer_inactive": "customer",
    "invalid_email": "customer",
    "subject_required": "subject",
    "subject_too_long": "subject",
    "body_required": "body",
    "body_too_long": "body",
}


@agent_only
def phone(request: AuthenticatedHttpRequest) -> HttpResponse:
    """A ticket for a caller: found by address or customer number, or a new customer."""
    user: User = request.user
    form = PhoneTicketForm(request.POST or None, initial={"language": get_language()})
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            ticket = desk_actions.file_phone_ticket(
                user,
                customer=data["customer"],
                subject=data["subject"],
                body=data["body"],
                department=data["department"],
                priority=data["priority"],
                name=data["name"],
                phone=data["phone"],
                language=data["language"],
            )
        except ActionRefused as refusal:
            add_refusal(form, refusal, PHONE_FIELD_OF.get(refusal.code))
        else:
            messages.success(
                request,
                _("Ticket #{number} filed for {customer}.").format(
                    number=ticket.number, customer=ticket.customer.display_name
                ),
            )
            try:
                access_ticket(user, ticket.number)
            except Ticket.DoesNotExist:  # routed to a department the agent does not work in
                return redirect("desk:queue")
            return redirect("desk:ticket", number=ticket.number)
    status = 422 if request.method == "POST" else 200
    return render(request, "desk/phone.html", {"form": form}, status=status)
