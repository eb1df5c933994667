"""The agent's live chats: the inbox (presence, the waiting line, my chats) and one chat's
page (its transcript, updated live, the visitor, and the forms that act on it).

Thin edges over `destek.chat.actions` and the ticket actions: each view parses, finds the chat
through the one door (`chat_for_user`: 404 for a chat of another department), calls one
action and answers. The page's script sends its forms with fetch and reads JSON back; without
it the same forms post and come back to the page, the typed text kept on a refusal.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from functools import wraps
from typing import Any

from django.contrib import messages
from django.db.models import OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Substr
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from destek.accounts.choices import Role
from destek.accounts.http import AuthenticatedHttpRequest
from destek.accounts.models import User
from destek.automation.selectors import macros_for, render_text, reply_text
from destek.chat import actions as chat_actions
from destek.chat import events as chat_log
from destek.chat import queue
from destek.chat.access import chat_for_user
from destek.chat.choices import AuthorRole, ChatState, EventType, Presence
from destek.chat.models import AgentPresence, Chat
from destek.desk.selectors import forget_queue_counts
from destek.desk.views import agent_only
from destek.lib.errors import ActionRefused
from destek.surveys.actions import survey_of
from destek.tickets import actions as ticket_actions
from destek.tickets import config as tickets_config
from destek.tickets.choices import Channel, TicketStatus
from destek.tickets.models import Message, Ticket, agent_department_ids

#: The first words of a waiting chat shown in the line.
FIRST_WORDS = 140
#: Events one poll returns at most; the next poll asks for the rest.
EVENTS_BATCH = 200
#: What a transcript shows; `typing`, `seen` and `queue` are live signals, not history.
TRANSCRIPT_TYPES = (EventType.MESSAGE, EventType.ASSIGNED, EventType.ENDED)


def _json_wanted(request: HttpRequest) -> bool:
    return "application/json" in request.headers.get("Accept", "")


def _refusal(refusal: ActionRefused) -> JsonResponse:
    return JsonResponse(refusal.as_dict(), status=refusal.status)


# --- the inbox --------------------------------------------------------------------------------


def _presence(user: User) -> str:
    """The agent's status as routing sees it: online only with a fresh heartbeat."""
    row = AgentPresence.objects.filter(agent=user).values_list("status", "last_seen_at").first()
    if row is None:
        return Presence.OFFLINE
    status, seen = row
    if status == Presence.ONLINE and seen < queue.heartbeat_cutoff():
        return Presence.OFFLINE
    return str(status)


def _waiting(user: User) -> QuerySet[Chat]:
    chats = Chat.objects.filter(state=ChatState.WAITING)
    if not user.is_admin:
        chats = chats.filter(department_id__in=agent_department_ids(user))
    return chats


def waiting_count(user: User) -> int:
    return _waiting(user).count()


def _first_words() -> Substr:
    first = (
        Message.objects.filter(ticket_id=OuterRef("ticket_id"), internal=False)
        .order_by("id")
        .values("body")[:1]
    )
    return Substr(Subquery(first), 1, FIRST_WORDS + 20)


def _waited(since: datetime, now: datetime) -> int:
    return max(0, int((now - since).total_seconds()))


def _short(text: str | None) -> str:
    words = " ".join((text or "").split())
    return words if len(words) <= FIRST_WORDS else words[: FIRST_WORDS - 1] + "…"


def _lists(user: User) -> dict[str, Any]:
    """The waiting line (serving order) and the agent's own chats: two statements."""
    now = timezone.now()
    names = {d.pk: d for d in tickets_config.departments()}
    waiting = []
    for chat in queue.in_serving_order(
        _waiting(user).select_related("ticket").annotate(first_words=_first_words())
    )[:200]:
        waiting.append(
            {
                "chat": chat,
                "department": names.get(chat.department_id),
                "waited": _waited(chat.queued_at, now),
                "first_words": _short(getattr(chat, "first_words", "")),
                "offered_to_me": chat.offered_to_id == user.pk,
            }
        )
    mine = [
        {
            "chat": chat,
            "department": names.get(chat.department_id),
            "since": _waited(chat.accepted_at or chat.queued_at, now),
        }
        for chat in Chat.objects.filter(state=ChatState.ACTIVE, agent=user)
        .select_related("ticket")
        .order_by("accepted_at", "id")
    ]
    return {
        "waiting": waiting,
        "waiting_count": len(waiting),
        "offered_count": sum(1 for row in waiting if row["offered_to_me"]),
        "mine": mine,
    }


@agent_only
@require_GET
def inbox(request: AuthenticatedHttpRequest) -> HttpResponse:
    """/desk/chats/: my presence, the waiting line of my departments, my chats."""
    user: User = request.user
    return render(
        request,
        "desk/chats.html",
        {
            "presence": _presence(user),
            "presence_choices": Presence.choices,
            **_lists(user),
        },
    )


@agent_only
@require_GET
def inbox_lists(request: AuthenticatedHttpRequest) -> HttpResponse:
    """The two lists again, for the page to swap in every few seconds (and when the socket
    says something changed); the navigation's count comes along out of band."""
    response = render(request, "desk/_chat_lists.html", {**_lists(request.user), "oob": True})
    response["Cache-Control"] = "no-store"
    return response


@agent_only
@require_GET
def waiting_badge(request: AuthenticatedHttpRequest) -> HttpResponse:
    """The count next to "Chats" in the navigation."""
    response = render(
        request, "desk/_chat_count.html", {"waiting_count": waiting_count(request.user)}
    )
    response["Cache-Control"] = "no-store"
    return response


@agent_only
@require_POST
def presence(request: AuthenticatedHttpRequest) -> HttpResponse:
    status = request.POST.get("status", "")
    try:
        chat_actions.set_presence(request.user, status)
    except ActionRefused as refusal:
        if _json_wanted(request):
            return _refusal(refusal)
        messages.error(request, str(refusal.detail))
        return redirect("desk:chats")
    if _json_wanted(request):
        return JsonResponse({"status": status})
    return redirect("desk:chats")


@agent_only
@require_POST
def heartbeat(request: AuthenticatedHttpRequest) -> JsonResponse:
    """The inbox or a chat page is still open: keeps an online agent online."""
    online = chat_actions.heartbeat(request.user)
    return JsonResponse({"online": online, "status": _presence(request.user)})


# --- one chat ---------------------------------------------------------------------------------


def chat_view(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """An agent's request about one chat: found through the one door, 404 for anyone else's."""

    @agent_only
    @wraps(view)
    def wrapped(request: AuthenticatedHttpRequest, chat_id: int) -> HttpResponse:
        try:
            found = chat_for_user(chat_id, request.user)
        except Chat.DoesNotExist:
            raise Http404 from None
        try:
            return view(request, found)
        except Chat.DoesNotExist:
            raise Http404 from None

    return wrapped


@require_POST
@chat_view
def accept(request: AuthenticatedHttpRequest, chat: Chat) -> HttpResponse:
    try:
        chat_actions.accept(chat, agent=request.user)
    except ActionRefused as refusal:
        # Another agent was quicker: a word on the inbox, which shows the line as it is now.
        messages.error(request, str(refusal.detail))
        return redirect("desk:chats")
    forget_queue_counts()
    return redirect("desk:chat", chat_id=chat.pk)


def _transcript(chat: Chat, agent: User) -> list[dict[str, Any]]:
    """The chat's events that make its history, with the ticket's internal notes among them
    (notes are never chat events: the visitor's side never reads them)."""
    items: list[dict[str, Any]] = [
        {"at": row.created_at, "event": row.as_json(), "seq": row.seq}
        for row in chat.events.filter(type__in=TRANSCRIPT_TYPES).order_by("seq")
    ]
    notes = Message.objects.filter(ticket_id=chat.ticket_id, internal=True).select_related("author")
    for note in notes.order_by("id"):
        items.append(
            {
                "at": note.created_at,
                "note": note,
                "seq": None,
            }
        )
    items.sort(key=lambda item: item["at"])
    return items


def _earlier_tickets(chat: Chat, agent: User) -> QuerySet[Ticket]:
    """The visitor's other tickets this agent may see: their account's, and for a visitor
    who only typed an address, the tickets of earlier chats that gave the same address
    (shown as such: it is unverified)."""
    same = Q(customer_id=chat.visitor_id)
    if chat.email and not chat.email_verified:
        same |= Q(chat__email=chat.email)
    return (
        Ticket.objects.visible_to(agent)
        .filter(same)
        .exclude(pk=chat.ticket_id)
        .only("number", "subject", "status", "created_at")
        .order_by("-pk")[:10]
    )


def _colleagues(chat: Chat, agent: User) -> list[tuple[int, str]]:
    """Who the chat can go to: agents of its department online now with room, but me."""
    free = [a.agent_id for a in queue.free_agents(chat.department_id) if a.agent_id != agent.pk]
    if not free:
        return []
    names = User.objects.filter(pk__in=free, role__in=[Role.AGENT, Role.ADMIN]).only(
        "full_name", "email"
    )
    return sorted(((u.pk, u.display_name) for u in names), key=lambda pair: pair[1].lower())


def _page(request: AuthenticatedHttpRequest, chat: Chat, **extra: Any) -> HttpResponse:
    user: User = request.user
    chat = (
        Chat.objects.select_related("ticket", "ticket__customer", "agent").filter(pk=chat.pk).get()
    )
    ticket = chat.ticket
    department = tickets_config.department_by_id(chat.department_id)
    live = chat.state in (ChatState.WAITING, ChatState.ACTIVE)
    context = {
        "chat": chat,
        "ticket": ticket,
        "department": department,
        "mine": chat.state == ChatState.ACTIVE and chat.agent_id == user.pk,
        "live": live,
        "transcript": _transcript(chat, user),
        "last_seq": chat.last_seq,
        "earlier": _earlier_tickets(chat, user),
        # The replies of the macros usable here, to put in the box (a chat takes text only).
        "canned": [
            (macro, render_text(body, ticket=ticket, agent=user))
            for macro in macros_for(user, ticket)
            if (body := reply_text(macro, ticket))
        ],
        "colleagues": _colleagues(chat, user) if live else [],
        "departments": [d for d in tickets_config.departments() if d.pk != chat.department_id],
        "facts": sorted((chat.facts or {}).items()),
        "survey_answer": survey_of(ticket) if not live else None,
        "body": "",
        "note_body": "",
        "error": None,
        **extra,
    }
    status = 422 if context["error"] else 200
    return render(request, "desk/chat.html", context, status=status)


@require_GET
@chat_view
def conversation(request: AuthenticatedHttpRequest, chat: Chat) -> HttpResponse:
    return _page(request, chat)


@require_GET
@chat_view
def chat_events(request: AuthenticatedHttpRequest, chat: Chat) -> JsonResponse:
    """The chat's events after `?after=<seq>`, as the API gives them, with its state: the
    page polls this when the socket is not there."""
    try:
        after = max(int(request.GET.get("after", "0")), 0)
    except ValueError:
        after = 0
    state = Chat.objects.filter(pk=chat.pk).values_list("state", flat=True).get()
    response = JsonResponse(
        {"events": chat_log.after(chat, after, limit=EVENTS_BATCH), "state": state}
    )
    response["Cache-Control"] = "no-store"
    return response


def _answer(
    request: AuthenticatedHttpRequest,
    chat: Chat,
    refusal: ActionRefused | None,
    *,
    done: dict[str, Any] | None = None,
    **kept: Any,
) -> HttpResponse:
    """A form's answer: JSON for the page's script; otherwise the page again (with what was
    typed and the refusal) or back to it."""
    if _json_wanted(request):
        if refusal is not None:
            return _refusal(refusal)
        return JsonResponse(done or {"ok": True})
    if refusal is not None:
        return _page(request, chat, error=str(refusal.detail), **kept)
    return redirect("desk:chat", chat_id=chat.pk)


@require_POST
@chat_view
def send(request: AuthenticatedHttpRequest, chat: Chat) -> HttpResponse:
    """The agent writes in the chat: a public reply on its ticket (the ticket's hook makes it
    the chat's next event). The ticket stays `open` while the chat goes on: the visitor is
    there, not awaited."""
    body = request.POST.get("body", "")
    try:
        if chat.state not in (ChatState.WAITING, ChatState.ACTIVE):
            raise ActionRefused(
                "chat_ended",
                _("This chat has ended: answer on the ticket page instead."),
                status=409,
            )
        if not body.strip():
            raise ActionRefused("body_required", _("Write a message first."))
        message = ticket_actions.add_message(
            chat.ticket,
            author=request.user,
            body=body,
            status_after=TicketStatus.OPEN,
            channel=Channel.CHAT,
        )
    except ActionRefused as refusal:
        return _answer(request, chat, refusal, body=body)
    return _answer(request, chat, None, done={"message_id": message.pk})


@require_POST
@chat_view
def note(request: AuthenticatedHttpRequest, chat: Chat) -> HttpResponse:
    """An internal note on the chat's ticket: agents only, never a chat event."""
    body = request.POST.get("body", "")
    try:
        if not body.strip():
            raise ActionRefused("body_required", _("Write the note first."))
        message = ticket_actions.add_message(
            chat.ticket, author=request.user, body=body, internal=True, channel=Channel.WEB
        )
    except ActionRefused as refusal:
        return _answer(request, chat, refusal, note_body=body)
    return _answer(
        request,
        chat,
        None,
        done={
            "message_id": message.pk,
            "body": message.body,
            "name": request.user.display_name,
            "at": message.created_at.isoformat(),
        },
    )


@require_POST
@chat_view
def typing(request: AuthenticatedHttpRequest, chat: Chat) -> HttpResponse:
    if chat.state in (ChatState.WAITING, ChatState.ACTIVE):
        chat_actions.typing(chat, author=AuthorRole.AGENT)
    return HttpResponse(status=204)


@require_POST
@chat_view
def seen(request: AuthenticatedHttpRequest, chat: Chat) -> HttpResponse:
    """The agent has read the chat up to event `up_to` (the visitor sees "seen")."""
    try:
        up_to = int(request.POST.get("up_to", ""))
    except ValueError:
        return HttpResponse(status=400)
    if chat.agent_id == request.user.pk:  # a colleague looking in has not "seen" it for them
        chat_actions.seen(chat, author=AuthorRole.AGENT, up_to=up_to)
    return HttpResponse(status=204)


@require_POST
@chat_view
def end(request: AuthenticatedHttpRequest, chat: Chat) -> HttpResponse:
    keep_open = request.POST.get("keep_open") in ("1", "on", "true")
    chat_actions.end(chat, by=request.user, keep_open=keep_open)
    forget_queue_counts()
    if _json_wanted(request):
        return JsonResponse({"state": ChatState.ENDED})
    messages.success(
        request,
        _("The chat has ended and continues as a ticket.")
        if keep_open
        else _("The chat has ended."),
    )
    return redirect("desk:chat", chat_id=chat.pk)


@require_POST
@chat_view
def transfer(request: AuthenticatedHttpRequest, chat: Chat) -> HttpResponse:
    """To an agent of the chat's department (`agent`) or to another department
    (`department`); after a transfer out of the agent's departments, back to the inbox."""
    user: User = request.user
    try:
        target = _transfer_target(request)
        chat_actions.transfer(chat, by=user, **target)
    except ActionRefused as refusal:
        return _answer(request, chat, refusal)
    forget_queue_counts()
    try:
        chat_for_user(chat.pk, user)
    except Chat.DoesNotExist:
        still_mine = False
    else:
        still_mine = True
    where = reverse("desk:chat", args=[chat.pk]) if still_mine else reverse("desk:chats")
    if _json_wanted(request):
        return JsonResponse({"next": where})
    messages.success(request, _("The chat was transferred."))
    return redirect(where)


def _transfer_target(request: AuthenticatedHttpRequest) -> dict[str, Any]:
    raw_agent = request.POST.get("agent", "")
    raw_department = request.POST.get("department", "")
    if raw_agent.isdigit():
        agent = User.objects.filter(
            pk=int(raw_agent), is_active=True, role__in=[Role.AGENT, Role.ADMIN]
        ).first()
        if agent is None:
            raise ActionRefused("transfer_target", _("This agent cannot take chats."))
        return {"agent": agent}
    if raw_department.isdigit():
        department = tickets_config.department_by_id(int(raw_department))
        if department is None:
            raise ActionRefused("transfer_target", _("There is no such department."))
        return {"department": department}
    raise ActionRefused(
        "transfer_target", _("Choose an agent or a department to transfer the chat to.")
    )
