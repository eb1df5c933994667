"""Tickets over JSON. Each endpoint parses, goes through the one door, calls one action."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Literal

from django.conf import settings
from django.db import transaction
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import File, P, QueryEx, Router, Schema, Status
from ninja.files import UploadedFile

from destek.accounts.choices import Role
from destek.accounts.http import ApiRequest
from destek.accounts.models import User
from destek.api.idempotency import idempotent
from destek.api.surveys import TicketRatedOut
from destek.lib.errors import ActionRefused
from destek.lib.ratelimit import hit
from destek.tickets import actions
from destek.tickets import config as tickets_config
from destek.tickets import search as ticket_search
from destek.tickets.access import (
    access_attachment,
    access_ticket,
    claimable_uploads,
    visible_messages,
)
from destek.tickets.actions import UNCHANGED, Actor, Unchanged
from destek.tickets.choices import Channel
from destek.tickets.downloads import attachment_response
from destek.tickets.models import (
    Department,
    Message,
    Ticket,
    TicketEvent,
    TicketQuerySet,
)
from destek.tickets.schemas import (
    AttachmentOut,
    ChannelName,
    EventOut,
    MergeIn,
    MessageIn,
    MessageOut,
    PriorityName,
    StatusName,
    TicketIn,
    TicketOut,
    TicketPage,
    TicketPatch,
    as_json,
)
from destek.tickets.selectors import keyset_page, queue_page

router = Router(tags=["tickets"])


class ErrorOut(Schema):
    detail: str
    code: str


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


def _throttle(user: User, scope: str, per_hour: int) -> None:
    if not hit(scope, str(user.pk), limit=per_hour, window_seconds=3600):
        raise ActionRefused(
            "rate_limited", _("Too many requests. Please wait a while and try again."), status=429
        )


def _department(slug: str) -> Department:
    department = tickets_config.department_by_slug(slug)
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
    q: QueryEx[str | None, P(max_length=500)] = None,
    channel: ChannelName | None = None,
    tag: QueryEx[str | None, P(max_length=50)] = None,
    customer: QueryEx[str | None, P(max_length=254)] = None,
    created_after: datetime | None = None,
    created_before: datetime | None = None,
) -> dict[str, Any]:
    """Agents get the queue order by default (breached first, nearest due, priority, VIP);
    customers their newest first. `due=hour` keeps what falls due within the hour,
    `due=breached` what is past due. `q` searches (numbers, subjects, messages, internal notes
    for agents, customers, organisations, tags; every word must match, typed with or without
    its letter marks): the best matches first, one page of at most `limit`, with `snippets`.
    `channel`, `tag`, `customer` (an e-mail address, agents), `created_after` and
    `created_before` (ISO 8601) narrow the list or the search alike."""
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
    if channel:
        qs = qs.filter(channel=channel)
    if tag and not user.is_customer:  # the team's labels: customers do not filter by them
        qs = qs.filter(tags__name=tag.strip().lower())
    if customer and not user.is_customer:
        qs = qs.filter(customer__email=customer.strip().lower())
    if created_after:
        qs = qs.filter(created_at__gte=created_after)
    if created_before:
        qs = qs.filter(created_at__lt=created_before)
    if assignee == "me":
        qs = qs.filter(assignee=user)
    elif assignee == "none":
        qs = qs.filter(assignee__isnull=True)
    elif assignee:
        qs = qs.filter(assignee__email=assignee.strip().lower())
    size = limit or settings.DESTEK_API_PAGE_SIZE
    if q is not None and q.strip():
        found = ticket_search.search(user, q, within=qs, limit=size)
        tickets = _ticket_qs(user).in_bulk([f.ticket.pk for f in found])
        return {
            "items": [tickets[f.ticket.pk] for f in found if f.ticket.pk in tickets],
            "next_cursor": None,
            "snippets": {str(f.ticket.number): f.snippet for f in found if f.snippet},
        }
    if (order or ("newest" if user.is_customer else "queue")) == "queue":
        page = queue_page(qs, cursor=cursor, limit=size)
    else:
        page = keyset_page(qs, cursor=cursor, limit=size)
    return {"items": page.items, "next_cursor": page.next_cursor}


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
        attachments = claimable_uploads(user, payload.attachments)
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
        return 201, as_json(TicketOut, ticket, request)

    return Status(*idempotent(request, payload.model_dump(mode="json"), run))


@router.get(
    "/tickets/{number}", response={200: TicketRatedOut, 404: ErrorOut}, summary="One ticket"
)
def get_ticket(request: HttpRequest, number: int) -> Ticket:
    user: User = request.auth  # type: ignore[attr-defined]
    ticket = _reload(user, number)
    if user.is_agent and ticket.first_seen_at is None:
        actions.mark_seen(ticket, agent=user)
    return ticket


@router.patch(
    "/tickets/{number}",
    response={200: TicketOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut, 422: ErrorOut},
    summary="Change a ticket (agents: workflow fields; customers: notifications)",
)
def patch_ticket(request: HttpRequest, number: int, payload: TicketPatch) -> Ticket:
    user: User = request.auth  # type: ignore[attr-defined]
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
            return _reload(user, number)
        assignee: User | Unchanged | None = UNCHANGED
        if payload.assignee is not None or payload.unassign:
            assignee = None
            if payload.assignee is not None:
                assignee = User.objects.filter(email=str(payload.assignee).lower()).first()
                if assignee is None:
                    raise ActionRefused("invalid_assignee", _("There is no such agent."))
        # One transaction, one event per changed field; the department goes last.
        actions.update_ticket(
            ticket,
            actor,
            priority=UNCHANGED if payload.priority is None else payload.priority,
            priority_reason=payload.priority_reason or "",
            assignee=assignee,
            status=UNCHANGED if payload.status is None else payload.status,
            close_reason=payload.close_reason or "",
            contract_clause=payload.contract_clause or "",
            department=(
                UNCHANGED if payload.department is None else _department(payload.department)
            ),
        )
    # The agent may have moved the ticket out of their own departments: answer from what
    # was written, since the one door may no longer let them read it.
    return _by_pk(ticket.pk)


@router.get(
    "/tickets/{number}/messages",
    response={200: list[MessageOut], 404: ErrorOut},
    summary="The thread; customers never see internal notes",
)
def list_messages(request: HttpRequest, number: int) -> QuerySet[Message]:
    user: User = request.auth  # type: ignore[attr-defined]
    return visible_messages(user, access_ticket(user, number))


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
            attachments=claimable_uploads(user, payload.attachments),
        )
        message = Message.objects.select_related("author", "ticket").get(pk=message.pk)
        return 201, as_json(MessageOut, message, request)

    return Status(*idempotent(request, payload.model_dump(mode="json"), run))


@router.get(
    "/tickets/{number}/events",
    response={200: list[EventOut], 404: ErrorOut},
    summary="The ticket's history: who or what changed what, when",
)
def list_events(request: HttpRequest, number: int) -> QuerySet[TicketEvent]:
    user: User = request.auth  # type: ignore[attr-defined]
    ticket = access_ticket(user, number)
    events = TicketEvent.objects.filter(ticket=ticket).select_related("actor").order_by("id")
    if user.is_customer:
        events = events.filter(public=True)
    return events


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
        return 200, as_json(TicketOut, _reload(user, number), request)

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
        return 200, as_json(TicketOut, _reload(user, target.number), request)

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
        return 201, as_json(AttachmentOut, actions.store_upload(user, file, sha256=digest), request)

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
