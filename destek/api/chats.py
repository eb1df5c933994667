"""Live chat over JSON: the visitor's side (start, write, read the events, typing, seen,
rating, files) and the agents' (presence, the waiting line, accept, end). Agents reply with
`POST /tickets/{number}/messages`, like on any ticket.

A visitor is known by the chat's token (`X-Chat-Token`), a customer by their bearer token or
their portal session; whoever is not the chat's visitor or an agent of its department gets a
404 and reads nothing.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from types import SimpleNamespace
from typing import Any, Literal

from django.conf import settings
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import File, Router, Schema, Status
from ninja.errors import AuthenticationError
from ninja.files import UploadedFile
from ninja.security import APIKeyHeader
from ninja.utils import check_csrf
from pydantic import Field
from pydantic.config import JsonDict

from destek.accounts.actions import user_for_token
from destek.accounts.models import User
from destek.api.auth import activate_language
from destek.api.surveys import QuestionOut, RatingOut, _questions
from destek.chat import actions as chat_actions
from destek.chat import events as chat_events
from destek.chat import identity, queue
from destek.chat.access import RELATED, chat_for_user, chat_for_visitor
from destek.chat.choices import AuthorRole, ChatState
from destek.chat.models import AgentPresence, Chat
from destek.lib.errors import ActionRefused
from destek.lib.ratelimit import Limit, client_ip, hit_all
from destek.surveys.actions import COMMENT_MAX, survey_of
from destek.surveys.models import SurveyAnswer
from destek.tickets import actions as ticket_actions
from destek.tickets import config as tickets_config
from destek.tickets.access import signed_in
from destek.tickets.choices import TicketStatus
from destek.tickets.downloads import attachment_response
from destek.tickets.models import Attachment, Department, Ticket, agent_department_ids
from destek.tickets.schemas import AttachmentOut, Instant, TicketOut

router = Router(tags=["chat"])

TOKEN_HEADER = "X-Chat-Token"  # noqa: S105  (a header name)


@dataclass(frozen=True)
class Caller:
    """Who calls a chat endpoint: a signed-in user (bearer token or session), and the chat
    token the request carries; either may be missing. Always true, so ninja lets it in: the
    endpoints decide what each may do."""

    user: User | None
    token: str

    def __bool__(self) -> bool:
        return True


class ChatAuth(APIKeyHeader):
    """`X-Chat-Token` for a visitor; `Authorization: Bearer` or the portal session for a
    signed-in user; nothing at all to start a chat anonymously. A bearer token that is wrong
    is a 401, not a silent anonymous call; a session write needs its CSRF token."""

    param_name = TOKEN_HEADER

    def __call__(self, request: HttpRequest) -> Caller:
        token = request.headers.get(TOKEN_HEADER, "").strip()
        header = request.headers.get("Authorization", "")
        if header:
            scheme, _space, raw = header.partition(" ")
            user = user_for_token(raw.strip()) if scheme.lower() == "bearer" else None
            if user is None:
                raise AuthenticationError
            activate_language(request, user)
            return Caller(user, token)
        session_user = getattr(request, "user", None)
        if signed_in(session_user) and not token:
            if check_csrf(request) is not None:
                raise ActionRefused(
                    "csrf_failed", _("The page has expired: reload it and try again."), status=403
                )
            return Caller(session_user, "")
        return Caller(None, token)

    def authenticate(self, request: HttpRequest, key: str | None) -> Any:
        return None  # never called: __call__ decides


class AgentAuth(ChatAuth):
    """The agents' routes: signed in (401 otherwise) as an agent (403 otherwise), checked
    before the request's body is read."""

    def __call__(self, request: HttpRequest) -> Caller:
        caller = super().__call__(request)
        _agent(caller)
        return caller


chat_auth = ChatAuth()
agent_auth = AgentAuth()


class ErrorOut(Schema):
    detail: str
    code: str


def _caller(request: HttpRequest) -> Caller:
    caller: Caller = request.auth  # type: ignore[attr-defined]
    return caller


def _access(caller: Caller, chat_id: int, related: tuple[str, ...] = RELATED) -> tuple[Chat, str]:
    """The chat and the caller's side of it, through the one door; anyone else: 404."""
    if caller.token:
        return chat_for_visitor(chat_id, caller.token, related=related), AuthorRole.VISITOR
    if caller.user is None:
        raise Chat.DoesNotExist
    chat = chat_for_user(chat_id, caller.user, related=related)
    side = AuthorRole.VISITOR if chat.visitor_id == caller.user.pk else AuthorRole.AGENT
    return chat, side


def _visitor_only(side: str) -> None:
    if side != AuthorRole.VISITOR:
        raise ActionRefused(
            "visitors_only",
            _("Agents reply with POST /tickets/{number}/messages."),
            status=403,
        )


def _agent(caller: Caller) -> User:
    if caller.user is None:
        raise AuthenticationError
    if not caller.user.is_agent:
        raise ActionRefused("agents_only", _("Only agents take chats."), status=403)
    return caller.user


def _limit(*limits: Limit) -> None:
    """Count the attempt against every limit at once; refused (429) when any is over."""
    if not hit_all(*limits):
        window = max(one.window_seconds for one in limits)
        raise ActionRefused(
            "rate_limited",
            _("You are sending too much too fast. Please wait a minute and try again."),
            status=429,
            retry_after=window if window <= 60 else 60,
        )


# --- shapes -------------------------------------------------------------------------------------


class ChatIn(Schema):
    body: str = Field(max_length=100_000)
    name: str | None = Field(default=None, max_length=200)
    email: str | None = Field(default=None, max_length=254)
    department: str | None = Field(default=None, max_length=50)
    facts: dict[str, str] | None = None
    attachments: list[uuid.UUID] = Field(default_factory=list, max_length=10)
    # The widget page's signed identity (a signed-in customer, or a user a site vouched for).
    identity: str | None = Field(default=None, max_length=2000)


class ChatStartOut(Schema):
    id: int
    ticket: TicketOut
    visitor_token: str
    offline: bool
    queue_position: int | None
    estimated_wait_seconds: int | None


class ChatOut(Schema):
    id: int
    state: Literal["waiting", "active", "ended", "offline"]
    ticket: int
    subject: str
    department: str
    name: str
    vip: bool
    priority: str
    agent: str | None
    offered_to_me: bool
    queued_at: Instant
    accepted_at: Instant | None
    ended_at: Instant | None
    waited_seconds: int
    queue_position: int | None
    last_seq: int
    facts: dict[str, str]


class ChatPage(Schema):
    items: list[ChatOut]


class ChatMessageIn(Schema):
    body: str = Field(max_length=100_000)
    attachments: list[uuid.UUID] = Field(default_factory=list, max_length=10)


class ChatMessageOut(Schema):
    id: int
    created_at: Instant


class EventsOut(Schema):
    events: list[dict[str, Any]]


class PresenceIn(Schema):
    status: Literal["online", "away", "offline"]


class PresenceOut(Schema):
    status: Literal["online", "away", "offline"]
    max_chats: int
    heartbeat_seconds: int


class EndIn(Schema):
    keep_open: bool = False
    # Mail the conversation to the visitor's address once it has ended (once per chat).
    transcript: bool = False


class SeenIn(Schema):
    up_to: int = Field(ge=0, le=2_000_000_000)


class RatingIn(Schema):
    rating: int = Field(ge=1, le=5)
    comment: str = Field(default="", max_length=2000)


SCORE: JsonDict = {"minimum": 1, "maximum": 5}


class ChatSurveyIn(Schema):
    # The range is checked by the survey's action, so the refusal names the question in the
    # visitor's language ("Clarity: choose a whole number from 1 to 5.").
    speed: int = Field(json_schema_extra=SCORE)
    clarity: int = Field(json_schema_extra=SCORE)
    tone: int = Field(json_schema_extra=SCORE)
    solved: bool
    comment: str = Field(default="", max_length=COMMENT_MAX)


class ChatSurveyOut(Schema):
    chat: int
    ticket: int
    asked: bool = Field(description="Whether this chat's ticket has a survey to answer.")
    questions: list[QuestionOut]
    answer: RatingOut | None
    reopened: bool = Field(description="The answer put the ticket back in the team's hands.")


def _chat_json(chat: Chat, viewer: User | None, *, place: int | None = None) -> dict[str, Any]:
    ticket: Ticket = chat.ticket
    now = timezone.now()
    until: datetime = chat.accepted_at or chat.ended_at or now
    return {
        "id": chat.pk,
        "state": chat.state,
        "ticket": ticket.number,
        "subject": ticket.subject,
        "department": chat.department.slug,
        "name": chat.name,
        "vip": chat.vip,
        "priority": ticket.priority,
        "agent": chat.agent.display_name if chat.agent is not None else None,
        "offered_to_me": viewer is not None and chat.offered_to_id == viewer.pk,
        "queued_at": chat.queued_at,
        "accepted_at": chat.accepted_at,
        "ended_at": chat.ended_at,
        "waited_seconds": max(0, int((until - chat.queued_at).total_seconds())),
        "queue_position": place,
        "last_seq": chat.last_seq,
        "facts": chat.facts or {},
    }


def _reloaded(chat: Chat) -> Chat:
    return Chat.objects.select_related("ticket", "department", "agent").get(pk=chat.pk)


def _department(slug: str | None) -> Department | None:
    if not slug:
        return None
    department = tickets_config.department_by_slug(slug)
    if department is None:
        raise ActionRefused(
            "invalid_department", _("There is no department “{slug}”.").format(slug=slug)
        )
    return department


# --- the visitor --------------------------------------------------------------------------------

VISITOR_ERRORS: dict[int, Any] = {
    403: ErrorOut,
    404: ErrorOut,
    409: ErrorOut,
    413: ErrorOut,
    422: ErrorOut,
    429: ErrorOut,
}


@router.post(
    "/chats",
    auth=chat_auth,
    response={201: ChatStartOut, **VISITOR_ERRORS},
    summary="Start a chat (anonymous, or a signed-in customer)",
)
def start_chat(request: HttpRequest, payload: ChatIn) -> Status[Any]:
    """With nobody there to answer (outside the chat calendar, every agent offline or busy,
    the line full) the chat is filed as an ordinary ticket: `offline` is true and
    `ticket.expected_answer` says when to expect the answer."""
    caller = _caller(request)
    customer = caller.user
    if customer is not None and not customer.is_customer:
        raise ActionRefused(
            "customers_only", _("Agents answer chats; they do not start them."), status=403
        )
    if payload.identity and customer is None:
        vouched = identity.read(payload.identity)
        if vouched is None:
            raise ActionRefused(
                "identity_expired",
                _("Your sign-in for the chat has expired. Please reload the page."),
            )
        customer = chat_actions.customer_for_identity(vouched)
    email = (payload.email or "").strip().lower()
    if email and "@" not in email:
        raise ActionRefused("invalid_email", _("Enter a valid e-mail address."), field="email")
    limits = [
        Limit("chat-start-ip", client_ip(request), settings.DESTEK_CHAT_STARTS_PER_IP_HOUR, 3600)
    ]
    visitor = str(customer.pk) if customer is not None else email
    if visitor:
        limits.append(Limit("chat-start", visitor, settings.DESTEK_CHAT_STARTS_PER_HOUR, 3600))
    _limit(*limits)
    with transaction.atomic():
        attachments = []
        if payload.attachments:
            if customer is None:
                raise ActionRefused(
                    "attachment_not_found",
                    _("Send files once the chat has started."),
                )
            from destek.tickets.access import claimable_uploads

            attachments = claimable_uploads(customer, payload.attachments)
        started = chat_actions.start_chat(
            body=payload.body,
            name=payload.name or "",
            email=email,
            department=_department(payload.department),
            customer=customer,
            facts=payload.facts,
            attachments=attachments,
        )
        ticket = (
            Ticket.objects.select_related("department", "customer", "assignee", "sla_policy")
            .prefetch_related("tags", "related_to", "merged_into")
            .get(pk=started.chat.ticket_id)
        )
        # The ticket as its customer sees it: the visitor is that customer.
        as_customer = SimpleNamespace(auth=started.chat.visitor)
        ticket_json = TicketOut.model_validate(ticket, context={"request": as_customer})
    return Status(
        201,
        {
            "id": started.chat.pk,
            "ticket": ticket_json.model_dump(mode="json"),
            "visitor_token": started.visitor_token,
            "offline": started.offline,
            "queue_position": started.queue_position,
            "estimated_wait_seconds": started.estimated_wait_seconds,
        },
    )


@router.get(
    "/chats/{chat_id}",
    auth=chat_auth,
    response={200: ChatOut, 404: ErrorOut},
    summary="One chat: its state and place in the line",
)
def get_chat(request: HttpRequest, chat_id: int) -> dict[str, Any]:
    caller = _caller(request)
    chat, _side = _access(caller, chat_id)
    chat = _reloaded(chat)
    return _chat_json(chat, caller.user, place=queue.position(chat))


@router.post(
    "/chats/{chat_id}/messages",
    auth=chat_auth,
    response={201: ChatMessageOut, **VISITOR_ERRORS},
    summary="The visitor writes (agents reply with POST /tickets/{number}/messages)",
)
def post_message(request: HttpRequest, chat_id: int, payload: ChatMessageIn) -> Status[Any]:
    caller = _caller(request)
    chat, side = _access(caller, chat_id, related=("visitor",))
    _visitor_only(side)
    _limit(
        Limit("chat-message", str(chat.pk), settings.DESTEK_CHAT_MESSAGES_PER_MINUTE, 60),
        Limit(
            "chat-message-ip", client_ip(request), settings.DESTEK_CHAT_MESSAGES_PER_IP_MINUTE, 60
        ),
    )
    # The files are claimed again, by a conditional update, inside the action's transaction.
    attachments = _claimable(chat, payload.attachments)
    message = chat_actions.post_visitor_message(chat, body=payload.body, attachments=attachments)
    return Status(201, {"id": message.pk, "created_at": message.created_at})


def _claimable(chat: Chat, ids: list[uuid.UUID]) -> list[Attachment]:
    from destek.tickets.access import claimable_uploads

    return claimable_uploads(chat.visitor, ids)


@router.get(
    "/chats/{chat_id}/events",
    auth=chat_auth,
    response={200: EventsOut, 404: ErrorOut},
    summary="The chat's events after number `after`, oldest first (the polling fallback)",
)
def list_events(request: HttpRequest, chat_id: int, after: int = 0) -> dict[str, Any]:
    chat, _side = _access(_caller(request), chat_id)
    return {"events": chat_events.after(chat, max(0, after))}


@router.post(
    "/chats/{chat_id}/typing",
    auth=chat_auth,
    response={204: None, 404: ErrorOut, 409: ErrorOut},
    summary="The caller is typing (kept at most once every 3 seconds per side)",
)
def typing(request: HttpRequest, chat_id: int) -> Status[None]:
    chat, side = _access(_caller(request), chat_id)
    _open(chat)
    chat_actions.typing(chat, author=side)
    return Status(204, None)


@router.post(
    "/chats/{chat_id}/seen",
    auth=chat_auth,
    response={204: None, 404: ErrorOut, 422: ErrorOut},
    summary="The caller has read the chat up to event `up_to`",
)
def seen(request: HttpRequest, chat_id: int, payload: SeenIn) -> Status[None]:
    chat, side = _access(_caller(request), chat_id)
    chat_actions.seen(chat, author=side, up_to=payload.up_to)
    return Status(204, None)


@router.post(
    "/chats/{chat_id}/rating",
    auth=chat_auth,
    response={204: None, 403: ErrorOut, 404: ErrorOut, 422: ErrorOut},
    summary="The visitor rates the chat (1-5)",
)
def rate(request: HttpRequest, chat_id: int, payload: RatingIn) -> Status[None]:
    chat, side = _access(_caller(request), chat_id)
    _visitor_only(side)
    chat_actions.rate(chat, rating=payload.rating, comment=payload.comment)
    return Status(204, None)


def _survey_json(chat: Chat, answer: SurveyAnswer | None) -> dict[str, Any]:
    ticket = Ticket.objects.only("number", "status").get(pk=chat.ticket_id)
    return {
        "chat": chat.pk,
        "ticket": ticket.number,
        "asked": chat_actions.survey_asked(chat),
        "questions": _questions(),
        "answer": answer,
        "reopened": answer is not None
        and answer.escalated_at is not None
        and ticket.status in (TicketStatus.NEW, TicketStatus.OPEN, TicketStatus.PENDING),
    }


@router.get(
    "/chats/{chat_id}/survey",
    auth=chat_auth,
    response={200: ChatSurveyOut, 404: ErrorOut},
    summary="The survey of an ended chat: whether it was asked, its questions, the answer",
)
def get_survey(request: HttpRequest, chat_id: int) -> dict[str, Any]:
    chat, _side = _access(_caller(request), chat_id)
    return _survey_json(chat, survey_of(chat.ticket))


@router.post(
    "/chats/{chat_id}/survey",
    auth=chat_auth,
    response={
        201: ChatSurveyOut,
        403: ErrorOut,
        404: ErrorOut,
        409: ErrorOut,
        422: ErrorOut,
        429: ErrorOut,
    },
    summary="The visitor answers the chat's survey (answering again replaces the answer)",
)
def answer_survey(request: HttpRequest, chat_id: int, payload: ChatSurveyIn) -> Status[Any]:
    """Only when the chat asked (its `ended` event has `"survey": true`), else 409. Not solved,
    or a score of 2 or less, reopens the ticket once."""
    chat, side = _access(_caller(request), chat_id)
    if side != AuthorRole.VISITOR:
        raise ActionRefused(
            "customers_only", _("Only the ticket's customer answers its survey."), status=403
        )
    answer = chat_actions.answer_survey(chat, **payload.model_dump())
    return Status(201, _survey_json(chat, answer))


@router.post(
    "/chats/{chat_id}/end",
    auth=chat_auth,
    response={200: ChatOut, 404: ErrorOut, 422: ErrorOut},
    summary="End the chat (visitor or agent); `keep_open` continues it as a ticket",
)
def end_chat(request: HttpRequest, chat_id: int, payload: EndIn | None = None) -> dict[str, Any]:
    caller = _caller(request)
    chat, side = _access(caller, chat_id)
    by = caller.user if caller.user is not None and not caller.token else chat.visitor
    if side == AuthorRole.VISITOR:
        by = chat.visitor
    ended = chat_actions.end(chat, by=by, keep_open=payload.keep_open if payload else False)
    if payload is not None and payload.transcript and side == AuthorRole.VISITOR:
        chat_actions.send_transcript(ended)
    return _chat_json(_reloaded(ended), caller.user)


@router.post(
    "/chats/{chat_id}/attachments",
    auth=chat_auth,
    response={201: AttachmentOut, 403: ErrorOut, 404: ErrorOut, 413: ErrorOut, 429: ErrorOut},
    summary="The visitor uploads a file; then lists its id in `attachments` of a message",
)
def upload(request: HttpRequest, chat_id: int, file: File[UploadedFile]) -> Status[Any]:
    chat, side = _access(_caller(request), chat_id)
    _visitor_only(side)
    if chat.state == ChatState.ENDED:
        _open(chat)
    _limit(
        Limit("chat-message", str(chat.pk), settings.DESTEK_CHAT_MESSAGES_PER_MINUTE, 60),
        Limit(
            "chat-message-ip", client_ip(request), settings.DESTEK_CHAT_MESSAGES_PER_IP_MINUTE, 60
        ),
    )
    stored = ticket_actions.store_upload(chat.visitor, file)
    return Status(201, AttachmentOut.model_validate(stored).model_dump(mode="json"))


@router.get(
    "/chats/{chat_id}/attachments/{attachment_id}",
    auth=None,
    response={200: None, 404: ErrorOut},
    summary="Download a file of the chat: `X-Chat-Token` or `?token=`, or signed in",
)
def download(request: HttpRequest, chat_id: int, attachment_id: str, token: str = "") -> Any:
    """A link in the visitor's browser cannot send a header, so the token may come in the
    query too. Only files of the chat's public messages (or the visitor's own upload not yet
    sent) are given; anything else is the same 404."""
    caller = ChatAuth()(request)
    if token and not caller.token:
        caller = Caller(None, token)
    chat, _side = _access(caller, chat_id)
    try:
        public_id = uuid.UUID(attachment_id)
    except ValueError:
        raise Attachment.DoesNotExist from None
    attachment = Attachment.objects.select_related("message").get(public_id=public_id)
    from destek.tickets.access import access_public_attachment

    if attachment.ticket_id is None and attachment.uploaded_by_id == chat.visitor_id:
        return attachment_response(attachment)
    return attachment_response(access_public_attachment(chat.ticket, attachment.public_id))


def _open(chat: Chat) -> None:
    if chat.state not in (ChatState.WAITING, ChatState.ACTIVE):
        raise ActionRefused("chat_ended", _("This chat has already ended."), status=409)


# --- agents -------------------------------------------------------------------------------------


@router.put(
    "/agents/me/presence",
    auth=agent_auth,
    response={200: PresenceOut, 403: ErrorOut, 422: ErrorOut},
    summary="Agents: online, away or offline; sending `online` again is the heartbeat",
)
def put_presence(request: HttpRequest, payload: PresenceIn) -> dict[str, Any]:
    agent = _agent(_caller(request))
    presence: AgentPresence = chat_actions.set_presence(agent, payload.status)
    return {
        "status": presence.status,
        "max_chats": presence.max_chats or settings.DESTEK_CHAT_MAX_PER_AGENT,
        "heartbeat_seconds": settings.DESTEK_CHAT_HEARTBEAT_SECONDS,
    }


@router.get(
    "/chats",
    auth=agent_auth,
    response={200: ChatPage, 403: ErrorOut},
    summary="Agents: the waiting chats of their departments in serving order, or active ones",
)
def list_chats(
    request: HttpRequest,
    state: Literal["waiting", "active"] = "waiting",
    mine: bool = False,
) -> dict[str, Any]:
    agent = _agent(_caller(request))
    chats = Chat.objects.select_related("ticket", "department", "agent").filter(state=state)
    if not agent.is_admin:
        chats = chats.filter(department_id__in=agent_department_ids(agent))
    if mine:
        chats = chats.filter(agent=agent)
    if state == "waiting":
        rows = list(queue.in_serving_order(chats)[:200])
        # Positions count within each department, in the order just read.
        places: dict[int, int] = {}
        items = []
        for chat in rows:
            places[chat.department_id] = places.get(chat.department_id, 0) + 1
            items.append(_chat_json(chat, agent, place=places[chat.department_id]))
        return {"items": items}
    return {"items": [_chat_json(c, agent) for c in chats.order_by("accepted_at", "id")[:200]]}


@router.post(
    "/chats/{chat_id}/accept",
    auth=agent_auth,
    response={200: ChatOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut},
    summary="Agents: take a waiting chat (409 when another agent has it)",
)
def accept(request: HttpRequest, chat_id: int) -> dict[str, Any]:
    caller = _caller(request)
    agent = _agent(caller)
    chat, _side = _access(Caller(agent, ""), chat_id)
    chat_actions.accept(chat, agent=agent)
    return _chat_json(_reloaded(chat), agent)
