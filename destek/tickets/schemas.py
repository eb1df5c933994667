"""The shapes of the tickets API: what it reads, and what it answers built from the models.

An answer is a schema validated from a model instance: plain fields are read off the model,
the rest come from a `resolve_<field>` that may look at the caller (`context["request"].auth`,
which django-ninja hands every response schema; `as_json` passes the same for an answer made
ahead, such as one an idempotent request stores).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any, Literal

from django.http import HttpRequest
from ninja import Schema
from ninja.schema import DjangoGetter
from pydantic import (
    ConfigDict,
    EmailStr,
    Field,
    PlainSerializer,
    ValidationInfo,
    model_validator,
)
from pydantic.functional_validators import ModelWrapValidatorHandler

from destek.accounts.models import User
from destek.tickets import actions
from destek.tickets.choices import TicketStatus
from destek.tickets.clocks import clocks_left
from destek.tickets.models import Attachment, Message, Ticket, TicketEvent
from destek.tickets.selectors import customer_status_label, expected_answer_at, expected_answer_text

Instant = Annotated[datetime, PlainSerializer(lambda d: d.isoformat(), return_type=str)]
PriorityName = Literal["low", "normal", "high", "critical"]
StatusName = Literal["new", "open", "pending", "resolved", "closed"]
ChannelName = Literal["web", "api", "email", "chat", "telegram", "phone"]
CloseReasonName = Literal["resolved", "no_reply", "duplicate", "contract", "customer"]

Context = dict[str, Any]


def as_json(schema: type[Schema], obj: Any, request: HttpRequest) -> dict[str, Any]:
    """`obj` as the caller of `request` gets it, ready to store: an idempotent request keeps
    the first answer and gives it again, word for word."""
    return schema.model_validate(obj, context={"request": request}).model_dump(mode="json")


def _viewer(context: Context) -> User:
    user: User = context["request"].auth
    return user


#: Asked for the messenger identity of a customer known only by a messenger (messaging
#: registers it): `{"kind": "telegram", "username": "aysel" or None}`; None for anyone with an
#: address of their own. Such a customer's address is a placeholder that can never get mail,
#: so the API shows this instead of it.
messenger_identities: list[Callable[[User], dict[str, str | None] | None]] = []


def _messenger(person: User, context: Context) -> dict[str, str | None] | None:
    """The person's messenger identity, asked once per answer (a thread names the customer
    on every message)."""
    known: dict[int, dict[str, str | None] | None] = context.setdefault("_messengers", {})
    if person.pk not in known:
        known[person.pk] = next(
            (found for ask in messenger_identities if (found := ask(person)) is not None), None
        )
    return known[person.pk]


def _person(person: User | None, context: Context) -> str | None:
    """Staff see addresses (none for a messenger customer: theirs is a placeholder);
    customers see the name an agent signs with."""
    if person is None:
        return None
    if _viewer(context).is_customer:
        return person.display_name
    return None if _messenger(person, context) else person.email


class Answer(Schema):
    """An answer built by resolvers from a model. One already made (a stored idempotent
    answer, a dict) is checked as it stands: resolvers read models, not answers."""

    @model_validator(mode="wrap")
    @classmethod
    def _run_root_validator(
        cls, values: Any, handler: ModelWrapValidatorHandler[Any], info: ValidationInfo
    ) -> Any:
        if isinstance(values, dict):
            return handler(values)
        return handler(DjangoGetter(values, cls, info.context))


# --- answers --------------------------------------------------------------------------------


class AttachmentOut(Answer):
    id: str
    filename: str
    size: int
    content_type: str
    url: str

    @staticmethod
    def resolve_id(attachment: Attachment) -> str:
        return str(attachment.public_id)

    @staticmethod
    def resolve_url(attachment: Attachment) -> str:
        return f"/api/v1/attachments/{attachment.public_id}"


class MessengerOut(Schema):
    kind: str
    username: str | None


class TicketOut(Answer):
    # The ticket as the caller may see it: customers get the agent's name, not their address,
    # no tags (they are the team's own labels) and of the service-level bookkeeping only when
    # to expect an answer. (A comment, not a docstring: it would join the OpenAPI document.)

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
    customer: str | None = Field(
        description="The customer's e-mail address; null for a customer known only by a "
        "messenger (see `customer_messenger`)."
    )
    # A default: an idempotent answer stored before this field was added is given again.
    customer_messenger: MessengerOut | None = Field(
        default=None,
        description="Where a messenger customer is reached: `kind` (`telegram`, `whatsapp`, "
        "`messenger`, `instagram`) and their `username` there, if any; null for a customer "
        "with an address.",
    )
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

    @staticmethod
    def resolve_status_label(ticket: Ticket) -> str:
        return customer_status_label(ticket)

    @staticmethod
    def resolve_department(ticket: Ticket) -> str:
        return ticket.department.slug

    @staticmethod
    def resolve_customer(ticket: Ticket, context: Context) -> str | None:
        if _messenger(ticket.customer, context):
            return None
        return ticket.customer.email

    @staticmethod
    def resolve_customer_messenger(
        ticket: Ticket, context: Context
    ) -> dict[str, str | None] | None:
        return _messenger(ticket.customer, context)

    @staticmethod
    def resolve_assignee(ticket: Ticket, context: Context) -> str | None:
        return _person(ticket.assignee, context)

    @staticmethod
    def resolve_tags(ticket: Ticket, context: Context) -> list[str]:
        if _viewer(context).is_customer:
            return []
        return [tag.name for tag in ticket.tags.all()]

    @staticmethod
    def resolve_close_reason(ticket: Ticket) -> str | None:
        return ticket.close_reason or None

    @staticmethod
    def resolve_contract_clause(ticket: Ticket) -> str | None:
        return ticket.contract_clause or None

    @staticmethod
    def resolve_related_to(ticket: Ticket) -> int | None:
        return ticket.related_to.number if ticket.related_to else None

    @staticmethod
    def resolve_merged_into(ticket: Ticket) -> int | None:
        return ticket.merged_into.number if ticket.merged_into else None

    @staticmethod
    def resolve_notify_address(ticket: Ticket) -> str | None:
        return ticket.notify_address or None

    @staticmethod
    def resolve_details(ticket: Ticket) -> dict[str, str]:
        return ticket.details or {}

    @staticmethod
    def resolve_reopen_until(ticket: Ticket) -> datetime | None:
        closed = ticket.status == TicketStatus.CLOSED and ticket.closed_at
        if closed and ticket.merged_into_id is None:
            return actions.reopen_deadline(ticket)
        return None

    @staticmethod
    def resolve_expected_answer(ticket: Ticket) -> str | None:
        return expected_answer_text(ticket)

    @staticmethod
    def resolve_expected_answer_at(ticket: Ticket) -> datetime | None:
        return expected_answer_at(ticket)

    # The team's own bookkeeping: customers see when to expect an answer, not the rest.

    @staticmethod
    def resolve_sla_policy(ticket: Ticket, context: Context) -> str | None:
        if _viewer(context).is_customer or ticket.sla_policy is None:
            return None
        return ticket.sla_policy.name

    @staticmethod
    def resolve_first_response_breached_at(ticket: Ticket, context: Context) -> datetime | None:
        return None if _viewer(context).is_customer else ticket.first_response_breached_at

    @staticmethod
    def resolve_next_response_breached_at(ticket: Ticket, context: Context) -> datetime | None:
        return None if _viewer(context).is_customer else ticket.next_response_breached_at

    @staticmethod
    def resolve_resolution_breached_at(ticket: Ticket, context: Context) -> datetime | None:
        return None if _viewer(context).is_customer else ticket.resolution_breached_at


class ClockOut(Answer):
    due: Instant | None
    business_minutes_left: float | None
    running: bool
    breached_at: Instant | None


class TicketDetailOut(TicketOut):
    clocks: dict[str, ClockOut] | None = Field(
        default=None, description="Agents: each service-level clock with its time left."
    )

    @staticmethod
    def resolve_clocks(ticket: Ticket, context: Context) -> dict[str, dict[str, Any]] | None:
        if not _viewer(context).is_agent:
            return None
        return clocks_left(ticket)


class TicketPage(Answer):
    items: list[TicketOut]
    next_cursor: str | None
    #: With `q`: per ticket number, the matching passage (HTML, the words in <mark>).
    snippets: dict[str, str] | None = None


class MessageOut(Answer):
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

    @staticmethod
    def resolve_ticket(message: Message) -> int:
        return message.ticket.number

    @staticmethod
    def resolve_author(message: Message, context: Context) -> str | None:
        return _person(message.author, context)

    @staticmethod
    def resolve_merged_from(message: Message) -> int | None:
        if message.merged_from_id and message.merged_from:
            return message.merged_from.number
        return None


class EventOut(Answer):
    id: int
    kind: str
    actor_kind: str
    actor: str | None
    from_value: str
    to_value: str
    data: dict[str, Any]
    created_at: Instant

    @staticmethod
    def resolve_actor(event: TicketEvent, context: Context) -> str | None:
        return _person(event.actor, context)


# --- requests -------------------------------------------------------------------------------


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
