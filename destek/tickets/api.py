"""Tickets over JSON. Each endpoint parses, goes through the one door, calls one action."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Annotated, Any, Literal

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import File, P, QueryEx, Router, Schema, Status
from ninja.files import UploadedFile
from pydantic import ConfigDict, EmailStr, Field, PlainSerializer

from destek.accounts.choices import Role
from destek.accounts.http import ApiRequest
from destek.accounts.models import User
from destek.api.idempotency import idempotent
from destek.lib.errors import ActionRefused
from destek.lib.ratelimit import hit
from destek.sla.clocks import clocks_left
from destek.tickets import actions, selectors
from destek.tickets.access import access_attachment, access_ticket
from destek.tickets.actions import Actor
from destek.tickets.choices import Channel, TicketStatus
from destek.tickets.downloads import attachment_response
from destek.tickets.models import (
    Attachment,
    Department,
    Message,
    Ticket,
    TicketEvent,
    TicketQuerySet,
)
from destek.tickets.selectors import (
    customer_status_label,
    expected_answer_at,
    expected_answer_text,
    keyset_page,
    queue_page,
)

router = Router(tags=["tickets"])

Instant = Annotated[datetime, PlainSerializer(lambda d: d.isoformat(), return_type=str)]
PriorityName = Literal["low", "normal", "high", "critical"]
StatusName = Literal["new", "open", "pending", "resolved", "closed"]
CloseReasonName = Literal["resolved", "no_reply", "duplicate", "contract", "customer"]


class ErrorOut(Schema):
    detail: str
    code: str


class AttachmentOut(Schema):
    id: str
    filename: str
    size: int
    content_type: str
    url: str


class TicketOut(Schema):
    number: int
    display_number: str
    subject: str
    status: StatusName
    status_label: str
    priority: PriorityName
    urgency: PriorityName
    declared_critical: bool = Field(
        description="The customer declared a critical incident with the facts and it was "
        "accepted: lowering its priority needs `priority_reason`."
    )
    department: str
    channel: str
    customer: str
    assignee: str | None
    language: str
    tags: list[str]
    close_reason: str | None
    contract_clause: str | None
    related_to: int | None
    merged_into: int | None
    notify_customer: bool
    notify_address: str | None
    notify_sms: bool
    details: dict[str, str]
    created_at: Instant
    updated_at: Instant
    first_seen_at: Instant | None
    first_response_at: Instant | None
    last_customer_message_at: Instant | None
    last_agent_message_at: Instant | None
    resolved_at: Instant | None
    closed_at: Instant | None
    reopen_until: Instant | None
    expected_answer: str | None
    expected_answer_at: Instant | None
    first_response_due: Instant | None
    next_response_due: Instant | None
    resolution_due: Instant | None
    sla_policy: str | None
    first_response_breached_at: Instant | None
    next_response_breached_at: Instant | None
    resolution_breached_at: Instant | None


class ClockOut(Schema):
    due: Instant | None
    business_minutes_left: float | None
    running: bool
    breached_at: Instant | None


class TicketDetailOut(TicketOut):
    clocks: dict[str, ClockOut] | None = Field(
        default=None, description="Agents: each service-level clock with its time left."
    )


class TicketPage(Schema):
    items: list[TicketOut]
    next_cursor: str | None


class MessageOut(Schema):
    id: int
    ticket: int
    body: str
    internal: bool
    nudge: bool
    author_kind: str
    author: str | None
    channel: str
    #: "" (not in question), "unverified" (mail whose sender was not verified), "pending" (held
    #: until the customer confirms it: agents only), "confirmed".
    verification: str = ""
    created_at: Instant
    merged_from: int | None = Field(
        default=None,
        description="The ticket this message was written on, when a merge moved it away; "
        "the merged ticket lists it too, and `ticket` says where it is now.",
    )
    attachments: list[AttachmentOut]


class EventOut(Schema):
    id: int
    kind: str
    actor_kind: str
    actor: str | None
    from_value: str
    to_value: str
    data: dict[str, Any]
    created_at: Instant


class TicketIn(Schema):
    model_config = ConfigDict(extra="forbid")

    subject: str = Field(max_length=1000)
    body: str = Field(max_length=100_000)
    department: str | None = Field(default=None, max_length=50)
    urgency: PriorityName = "normal"
    related_to: int | None = None
    attachments: list[uuid.UUID] = Field(default_factory=list, max_length=20)
    notify: bool = True
    notify_address: EmailStr | None = None
    customer: EmailStr | None = Field(
        default=None, description="Agents only: file for this customer (a phone call)."
    )
    channel: Literal["api", "phone", "web"] | None = Field(
        default=None, description="Agents filing for a customer: `phone` by default."
    )
    details: dict[str, str] | None = Field(
        default=None,
        description=(
            "Diagnostic details: device (computer, smartphone, tablet), os, browser, "
            "app_version, started_at, time_zone, steps, tried, server_ip, order_number, "
            "service_name. When given with urgency `critical`, server_ip or order_number, "
            "service_name, started_at and time_zone are required, and the ticket is a "
            "critical incident answered around the clock (within the customer's limit)."
        ),
    )


class MessageIn(Schema):
    model_config = ConfigDict(extra="forbid")

    body: str = Field(max_length=100_000)
    internal: bool = False
    status: Literal["open", "pending", "resolved"] | None = Field(
        default=None, description="Agents: the status after a public reply (default pending)."
    )
    attachments: list[uuid.UUID] = Field(default_factory=list, max_length=20)


class TicketPatch(Schema):
    model_config = ConfigDict(extra="forbid")

    status: StatusName | None = None
    priority: PriorityName | None = None
    priority_reason: str | None = Field(
        default=None,
        max_length=500,
        description=(
            "Why the priority changes. Required to lower a critical incident the customer "
            "declared; the customer sees it."
        ),
    )
    department: str | None = Field(default=None, max_length=50)
    assignee: EmailStr | None = None
    unassign: bool = False
    close_reason: CloseReasonName | None = None
    contract_clause: str | None = Field(default=None, max_length=100)
    notify: bool | None = None
    notify_address: EmailStr | None = None
    notify_sms: bool | None = None


class MergeIn(Schema):
    model_config = ConfigDict(extra="forbid")

    into: int


AGENT_FIELDS = {
    "status",
    "priority",
    "priority_reason",
    "department",
    "assignee",
    "unassign",
    "close_reason",
    "contract_clause",
}
CUSTOMER_FIELDS = {"notify", "notify_address", "notify_sms"}


# --- serialising ----------------------------------------------------------------------------


def _person(person: User | None, viewer: User) -> str | None:
    """Staff see addresses; customers see the name an agent signs with."""
    if person is None:
        return None
    return person.display_name if viewer.is_customer else person.email


def attachment_out(a: Attachment) -> dict[str, Any]:
    return {
        "id": str(a.public_id),
        "filename": a.filename,
        "size": a.size,
        "content_type": a.content_type,
        "url": f"/api/v1/attachments/{a.public_id}",
    }


def ticket_out(t: Ticket, viewer: User) -> dict[str, Any]:
    """The ticket as `viewer` may see it: customers get the agent's name, not their address,
    and no tags (they are the team's own labels)."""
    staff_only = viewer.is_customer
    reopen_until = None
    if t.status == TicketStatus.CLOSED and t.merged_into_id is None and t.closed_at:
        reopen_until = actions.reopen_deadline(t)
    return {
        "number": t.number,
        "display_number": t.display_number,
        "subject": t.subject,
        "status": t.status,
        "status_label": customer_status_label(t),
        "priority": t.priority,
        "urgency": t.urgency,
        "declared_critical": t.declared_critical,
        "department": t.department.slug,
        "channel": t.channel,
        "customer": t.customer.email,
        "assignee": _person(t.assignee, viewer),
        "language": t.language,
        "tags": [] if viewer.is_customer else [tag.name for tag in t.tags.all()],
        "close_reason": t.close_reason or None,
        "contract_clause": t.contract_clause or None,
        "related_to": t.related_to.number if t.related_to else None,
        "merged_into": t.merged_into.number if t.merged_into else None,
        "notify_customer": t.notify_customer,
        "notify_address": t.notify_address or None,
        "notify_sms": t.notify_sms,
        "details": t.details or {},
        "created_at": t.created_at,
        "updated_at": t.updated_at,
        "first_seen_at": t.first_seen_at,
        "first_response_at": t.first_response_at,
        "last_customer_message_at": t.last_customer_message_at,
        "last_agent_message_at": t.last_agent_message_at,
        "resolved_at": t.resolved_at,
        "closed_at": t.closed_at,
        "reopen_until": reopen_until,
        "expected_answer": expected_answer_text(t),
        "expected_answer_at": expected_answer_at(t),
        "first_response_due": t.first_response_due,
        "next_response_due": t.next_response_due,
        "resolution_due": t.resolution_due,
        # The team's own bookkeeping: customers see when to expect an answer, not the rest.
        "sla_policy": None if staff_only else (t.sla_policy.name if t.sla_policy else None),
        "first_response_breached_at": None if staff_only else t.first_response_breached_at,
        "next_response_breached_at": None if staff_only else t.next_response_breached_at,
        "resolution_breached_at": None if staff_only else t.resolution_breached_at,
    }


def ticket_json(t: Ticket, viewer: User) -> dict[str, Any]:
    """The ticket as stored for an idempotent replay: exactly what the first answer said."""
    return TicketOut.model_validate(ticket_out(t, viewer)).model_dump(mode="json")


def message_out(m: Message, viewer: User) -> dict[str, Any]:
    return {
        "id": m.pk,
        "ticket": m.ticket.number,
        "body": m.body,
        "internal": m.internal,
        "nudge": m.nudge,
        "author_kind": m.author_kind,
        "author": _person(m.author, viewer),
        "channel": m.channel,
        "verification": m.verification,
        "created_at": m.created_at,
        "merged_from": m.merged_from.number if m.merged_from_id and m.merged_from else None,
        "attachments": [attachment_out(a) for a in m.attachments.all()],
    }


def message_json(m: Message, viewer: User) -> dict[str, Any]:
    return MessageOut.model_validate(message_out(m, viewer)).model_dump(mode="json")


def _ticket_qs(user: User) -> TicketQuerySet:
    # related_to and merged_into are prefetched, not joined: they are rarely set (a prefetch
    # of nothing costs no query), and two self-joins more cost PostgreSQL milliseconds of
    # planning on every page.
    return (
        Ticket.objects.visible_to(user)
        .select_related("department", "customer", "assignee", "sla_policy")
        .prefetch_related("tags", "related_to", "merged_into")
    )


def _reload(user: User, number: int) -> Ticket:
    return _ticket_qs(user).get(number=number)


def _by_pk(pk: int) -> Ticket:
    """A ticket the caller just changed, read without the door (they may have moved it out)."""
    return (
        Ticket.objects.select_related("department", "customer", "assignee", "sla_policy")
        .prefetch_related("tags", "related_to", "merged_into")
        .get(pk=pk)
    )


def _uploads(user: User, ids: list[uuid.UUID]) -> list[Attachment]:
    """The caller's own uploads not yet attached to anything; anything else is not found."""
    if not ids:
        return []
    found = list(
        Attachment.objects.filter(public_id__in=ids, uploaded_by=user, message__isnull=True)
    )
    if len(found) != len(set(ids)):
        raise ActionRefused(
            "attachment_not_found", _("An attachment was not found or is already used.")
        )
    return found


def _throttle(user: User, scope: str, per_hour: int) -> None:
    if not hit(scope, str(user.pk), limit=per_hour, window_seconds=3600):
        raise ActionRefused(
            "rate_limited", _("Too many requests. Please wait a while and try again."), status=429
        )


def _department(slug: str) -> Department:
    department = Department.objects.filter(slug=slug).first()
    if department is None:
        raise ActionRefused(
            "invalid_department", _("There is no department “{slug}”.").format(slug=slug)
        )
    return department


# --- endpoints ------------------------------------------------------------------------------


@router.get(
    "/tickets",
    response={200: TicketPage, 400: ErrorOut, 422: ErrorOut},
    summary="Tickets you may see, newest first (cursor pagination)",
)
def list_tickets(
    request: ApiRequest,
    cursor: str | None = None,
    limit: QueryEx[int | None, P(ge=1, le=200)] = None,
    status: StatusName | None = None,
    department: str | None = None,
    assignee: str | None = None,
    priority: PriorityName | None = None,
    due: Literal["hour", "breached"] | None = None,
    vip: bool | None = None,
    order: Literal["queue", "newest"] | None = None,
) -> dict[str, Any]:
    """Agents get the queue order by default (breached first, nearest due, priority, VIP);
    customers their newest first. `due=hour` keeps what falls due within the hour,
    `due=breached` what is past due."""
    user: User = request.auth
    qs = _ticket_qs(user)
    now = timezone.now()
    if due == "hour":
        qs = qs.filter(queue_due__gt=now, queue_due__lte=now + timedelta(hours=1))
    elif due == "breached":
        qs = qs.filter(queue_due__lte=now)
    if vip is not None:
        qs = qs.filter(customer_vip=vip)
    if status:
        qs = qs.filter(status=status)
    if priority:
        qs = qs.filter(priority=priority)
    if department:
        qs = qs.filter(department__slug=department)
    if assignee == "me":
        qs = qs.filter(assignee=user)
    elif assignee == "none":
        qs = qs.filter(assignee__isnull=True)
    elif assignee:
        qs = qs.filter(assignee__email=assignee.strip().lower())
    size = limit or settings.DESTEK_API_PAGE_SIZE
    if (order or ("newest" if user.is_customer else "queue")) == "queue":
        page = queue_page(qs, cursor=cursor, limit=size)
    else:
        page = keyset_page(qs, cursor=cursor, limit=size)
    return {"items": [ticket_out(t, user) for t in page.items], "next_cursor": page.next_cursor}


@router.post(
    "/tickets",
    response={
        200: TicketOut,
        201: TicketOut,
        403: ErrorOut,
        429: ErrorOut,
        404: ErrorOut,
        409: ErrorOut,
        422: ErrorOut,
    },
    summary="File a ticket (customers; agents for a customer by phone)",
)
def create_ticket(request: ApiRequest, payload: TicketIn) -> Status[Any]:
    user: User = request.auth

    if user.is_customer:
        _throttle(user, "tickets", settings.DESTEK_TICKETS_PER_HOUR)

    def run() -> tuple[int, Any]:
        department = _department(payload.department) if payload.department else None
        attachments = _uploads(user, payload.attachments)
        if user.is_customer:
            if payload.customer or payload.channel:
                raise ActionRefused(
                    "field_not_allowed",
                    _("Only agents may set the customer or the channel."),
                    status=403,
                )
            customer = user
            filed_by: User | None = None
            channel: str = Channel.API
        else:
            if not payload.customer:
                raise ActionRefused(
                    "customer_required", _("Agents file tickets for a customer: give its e-mail.")
                )
            found = User.objects.filter(
                email=payload.customer.lower(), role=Role.CUSTOMER, is_active=True
            ).first()
            if found is None:
                raise ActionRefused("invalid_customer", _("There is no such customer."))
            customer = found
            filed_by, channel = user, payload.channel or Channel.PHONE
        related = None
        if payload.related_to is not None:
            related = Ticket.objects.visible_to(customer).get(number=payload.related_to)
        ticket = actions.create_ticket(
            customer=customer,
            subject=payload.subject,
            body=payload.body,
            channel=channel,
            department=department,
            urgency=payload.urgency,
            related_to=related,
            attachments=attachments,
            filed_by=filed_by,
            notify_customer=payload.notify,
            notify_address=str(payload.notify_address or ""),
            details=payload.details,
        )
        # The ticket as the action wrote it: routing may have sent it to a department the
        # filing agent does not work in, and they still deserve to see what they filed.
        return 201, ticket_json(ticket, user)

    return Status(*idempotent(request, payload.model_dump(mode="json"), run))


@router.get(
    "/tickets/{number}", response={200: TicketDetailOut, 404: ErrorOut}, summary="One ticket"
)
def get_ticket(request: ApiRequest, number: int) -> dict[str, Any]:
    user: User = request.auth
    ticket = _reload(user, number)
    if user.is_agent and ticket.first_seen_at is None:
        actions.mark_seen(ticket, agent=user)
    out = ticket_out(ticket, user)
    if user.is_agent:
        out["clocks"] = clocks_left(ticket)
    return out


@router.patch(
    "/tickets/{number}",
    response={200: TicketOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut, 422: ErrorOut},
    summary="Change a ticket (agents: workflow fields; customers: notifications)",
)
def patch_ticket(request: ApiRequest, number: int, payload: TicketPatch) -> dict[str, Any]:
    user: User = request.auth
    fields = set(payload.model_dump(exclude_unset=True))
    allowed = AGENT_FIELDS if user.is_agent else CUSTOMER_FIELDS
    with transaction.atomic():
        ticket = access_ticket(user, number)  # first: a stranger learns nothing, not even 403
        if fields - allowed:
            raise ActionRefused(
                "field_not_allowed",
                _("You may not change: {fields}.").format(
                    fields=", ".join(sorted(fields - allowed))
                ),
                status=403,
            )
        actor = Actor.of(user)
        if user.is_customer:
            if payload.notify_sms is not None:
                actions.set_sms_notifications(ticket, customer=user, enabled=payload.notify_sms)
            if fields & {"notify", "notify_address"}:
                actions.set_customer_notifications(
                    ticket,
                    customer=user,
                    enabled=ticket.notify_customer if payload.notify is None else payload.notify,
                    address=str(payload.notify_address or "")
                    if "notify_address" in fields
                    else ticket.notify_address,
                )
            return ticket_out(_reload(user, number), user)
        if payload.priority is not None:
            actions.change_priority(
                ticket,
                actor=actor,
                priority=payload.priority,
                reason=payload.priority_reason or "",
            )
        if payload.assignee is not None or payload.unassign:
            assignee = None
            if payload.assignee is not None:
                assignee = User.objects.filter(email=str(payload.assignee).lower()).first()
                if assignee is None:
                    raise ActionRefused("invalid_assignee", _("There is no such agent."))
            actions.assign(ticket, actor=actor, assignee=assignee)
        if payload.status is not None:
            actions.change_status(
                ticket,
                actor=actor,
                status=payload.status,
                close_reason=payload.close_reason or "",
                contract_clause=payload.contract_clause or "",
            )
        elif payload.close_reason or payload.contract_clause:
            raise ActionRefused(
                "close_reason_without_close", _("A close reason is given only when closing.")
            )
        # Last: after a transfer the agent may no longer work the ticket.
        if payload.department is not None:
            actions.change_department(
                ticket, actor=actor, department=_department(payload.department)
            )
    # The agent may have moved the ticket out of their own departments: answer from what
    # was written, since the one door may no longer let them read it.
    return ticket_out(_by_pk(ticket.pk), user)


@router.get(
    "/tickets/{number}/messages",
    response={200: list[MessageOut], 404: ErrorOut},
    summary="The thread; customers never see internal notes",
)
def list_messages(request: ApiRequest, number: int) -> list[dict[str, Any]]:
    user: User = request.auth
    ticket = access_ticket(user, number)
    # A merged ticket's thread still lists what was written on it (`ticket` names where each
    # message is now): nobody opens a merged ticket to find it empty.
    messages = selectors.thread(ticket, internal=not user.is_customer)
    return [message_out(m, user) for m in messages]


@router.post(
    "/tickets/{number}/messages",
    response={
        200: MessageOut,
        201: MessageOut,
        403: ErrorOut,
        404: ErrorOut,
        409: ErrorOut,
        422: ErrorOut,
        429: ErrorOut,
    },
    summary="Reply, or add an internal note (agents)",
)
def post_message(request: ApiRequest, number: int, payload: MessageIn) -> Status[Any]:
    user: User = request.auth
    _throttle(user, "messages", settings.DESTEK_MESSAGES_PER_HOUR)

    def run() -> tuple[int, Any]:
        ticket = access_ticket(user, number)
        if user.is_customer and payload.status:
            raise ActionRefused(
                "field_not_allowed", _("Customers do not set the status."), status=403
            )
        message = actions.add_message(
            ticket,
            author=user,
            body=payload.body,
            internal=payload.internal,
            status_after=payload.status,
            channel=Channel.API,
            attachments=_uploads(user, payload.attachments),
        )
        message = Message.objects.select_related("author", "ticket").get(pk=message.pk)
        return 201, message_json(message, user)

    return Status(*idempotent(request, payload.model_dump(mode="json"), run))


@router.get(
    "/tickets/{number}/events",
    response={200: list[EventOut], 404: ErrorOut},
    summary="The ticket's history: who or what changed what, when",
)
def list_events(request: ApiRequest, number: int) -> list[dict[str, Any]]:
    user: User = request.auth
    ticket = access_ticket(user, number)
    events = TicketEvent.objects.filter(ticket=ticket).select_related("actor").order_by("id")
    if user.is_customer:
        events = events.filter(public=True)
    out = []
    for e in events:
        out.append(
            {
                "id": e.pk,
                "kind": e.kind,
                "actor_kind": e.actor_kind,
                "actor": _person(e.actor, user),
                "from_value": e.from_value,
                "to_value": e.to_value,
                "data": e.data,
                "created_at": e.created_at,
            }
        )
    return out


def _customer_only(user: User) -> None:
    if not user.is_customer:
        raise ActionRefused(
            "customers_only",
            _("Agents change the status with PATCH /tickets/{number}."),
            status=403,
        )


def _customer_transition(request: ApiRequest, number: int, action: Any) -> Status[Any]:
    """Close and reopen: the customer's own moves on their own ticket."""
    user: User = request.auth

    def run() -> tuple[int, Any]:
        ticket = access_ticket(user, number)
        _customer_only(user)
        action(ticket, customer=user)
        return 200, ticket_json(_reload(user, number), user)

    return Status(*idempotent(request, {"number": number}, run))


CUSTOMER_TRANSITION = {200: TicketOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut, 422: ErrorOut}


@router.post(
    "/tickets/{number}/close",
    response=CUSTOMER_TRANSITION,
    summary="Customers: close your own ticket",
)
def close_ticket(request: ApiRequest, number: int) -> Status[Any]:
    return _customer_transition(request, number, actions.close_by_customer)


@router.post(
    "/tickets/{number}/reopen",
    response=CUSTOMER_TRANSITION,
    summary="Customers: reopen a closed ticket within the reopen window",
)
def reopen_ticket(request: ApiRequest, number: int) -> Status[Any]:
    return _customer_transition(request, number, actions.reopen_by_customer)


@router.post(
    "/tickets/{number}/merge",
    response={200: TicketOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut, 422: ErrorOut},
    summary="Agents: merge this duplicate into another ticket",
)
def merge_ticket(request: ApiRequest, number: int, payload: MergeIn) -> Status[Any]:
    user: User = request.auth

    def run() -> tuple[int, Any]:
        if not user.is_agent:
            raise ActionRefused("agents_only", _("Only agents merge tickets."), status=403)
        source = access_ticket(user, number)
        target = access_ticket(user, payload.into)
        actions.merge(source, into=target, actor=Actor.of(user))
        return 200, ticket_json(_reload(user, target.number), user)

    return Status(*idempotent(request, payload.model_dump(mode="json") | {"number": number}, run))


# --- attachments ----------------------------------------------------------------------------


@router.post(
    "/attachments",
    response={200: AttachmentOut, 201: AttachmentOut, 413: ErrorOut, 422: ErrorOut},
    summary="Upload a file; then list its id in `attachments` of a ticket or message",
)
def upload(request: ApiRequest, file: File[UploadedFile]) -> Status[Any]:
    user: User = request.auth
    digest = actions.upload_digest(file)

    def run() -> tuple[int, Any]:
        return 201, attachment_out(actions.store_upload(user, file, sha256=digest))

    fingerprint = {"name": file.name, "size": file.size, "sha256": digest}
    return Status(*idempotent(request, fingerprint, run))


@router.get(
    "/attachments/{attachment_id}",
    response={200: None, 404: ErrorOut},
    summary="Download an attachment (always as a download)",
)
def download(request: ApiRequest, attachment_id: str) -> Any:
    user: User = request.auth
    # The one door decides; not yours and does not exist are the same 404.
    return attachment_response(access_attachment(user, attachment_id))
