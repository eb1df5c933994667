"""Signed webhooks to the company's own systems: targets, the outbox rows written with each
ticket change, the address check that keeps them off private networks, and the signature.

The tickets signals (`destek.tickets.signals`) run the receivers below inside the change's
transaction, so a delivery row exists exactly when the change committed; the worker
(`webhook_jobs.py`) sends it after commit.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from destek.accounts.models import User
from destek.automation.models import WebhookDelivery, WebhookTarget
from destek.automation.webhook_choices import (
    ALL_EVENTS,
    RULE_TRIGGERED,
    WebhookDeliveryStatus,
    WebhookEvent,
)
from destek.automation.webhook_safety import refused_url, resolve
from destek.lib import config_cache
from destek.lib.errors import ActionRefused
from destek.tickets.choices import EventKind, TicketStatus
from destek.tickets.models import Message, Ticket, TicketEvent

SECRET_MIN = 16
SECRET_MAX = 128
#: History entries told as `message.created` (or not at all) rather than `ticket.updated`.
NOT_UPDATES = frozenset({EventKind.REPLY, EventKind.NOTE, EventKind.SEEN})


# --- targets ---------------------------------------------------------------------------------


def _admin(user: User) -> None:
    if not user.is_admin:
        raise ActionRefused("admins_only", _("Only administrators manage webhooks."), status=403)


def clean_events(events: object) -> list[str]:
    known = set(WebhookEvent.values)
    if (
        not isinstance(events, list)
        or not events
        or not all(isinstance(e, str) and (e in known or e == ALL_EVENTS) for e in events)
    ):
        raise ActionRefused(
            "webhook_events_unknown",
            _("Choose events among: {events}, or * for all.").format(
                events=", ".join(WebhookEvent.values)
            ),
            field="events",
        )
    return [ALL_EVENTS] if ALL_EVENTS in events else sorted(set(events))


def clean_secret(secret: str | None) -> str:
    if secret is None or secret == "":
        return secrets.token_hex(32)
    if not SECRET_MIN <= len(secret) <= SECRET_MAX or not secret.isprintable():
        raise ActionRefused(
            "webhook_secret_length",
            _("A secret has {minimum} to {maximum} printable characters.").format(
                minimum=SECRET_MIN, maximum=SECRET_MAX
            ),
            field="secret",
        )
    return secret


@transaction.atomic
def create_target(
    user: User,
    *,
    url: str,
    events: object,
    secret: str | None = None,
    internal_notes: bool = False,
) -> WebhookTarget:
    """A new target; its secret (generated when not given) is in the returned object, the
    only time the API shows it."""
    _admin(user)
    url = url.strip()
    if len(url) > 500:
        raise refused_url()
    resolve(url)
    return WebhookTarget.objects.create(
        url=url,
        events=clean_events(events),
        secret=clean_secret(secret),
        internal_notes=internal_notes,
        created_by=user,
    )


@transaction.atomic
def delete_target(user: User, target: WebhookTarget) -> None:
    """Removed for everyone: its delivery log goes, and the row is only marked deleted (see
    `WebhookTarget.deleted_at`); rows still written for it are failed by the sweep."""
    _admin(user)
    target.deliveries.all().delete()
    target.active = False
    target.deleted_at = timezone.now()
    target.save(update_fields=["active", "deleted_at"])


@transaction.atomic
def replay(user: User, delivery: WebhookDelivery) -> WebhookDelivery:
    """A new delivery (new id) of the same payload to the same target, sent after commit."""
    _admin(user)
    copy = WebhookDelivery.objects.create(
        target_id=delivery.target_id,
        event=delivery.event,
        payload=delivery.payload,
        next_attempt_at=timezone.now(),
        replay_of=delivery,
    )
    _send_after_commit([copy.pk])
    return copy


# --- the outbox rows -------------------------------------------------------------------------


def _send_after_commit(ids: list[int]) -> None:
    from destek.automation import webhook_jobs

    def send() -> None:
        for delivery_id in ids:
            webhook_jobs.enqueue(delivery_id)

    transaction.on_commit(send, robust=True)


def ticket_json(ticket: Ticket) -> dict[str, Any]:
    return {
        "number": ticket.number,
        "subject": ticket.subject,
        "status": ticket.status,
        "priority": ticket.priority,
        "department": ticket.department.slug,
        "channel": ticket.channel,
        "language": ticket.language,
        "customer_email": ticket.customer.email if ticket.customer else None,
        "assignee_email": ticket.assignee.email if ticket.assignee else None,
        "created_at": ticket.created_at.isoformat(),
    }


#: History kinds whose entry is written just before the ticket's field is set: the payload
#: shows the ticket as the change leaves it.
AFTER_CHANGE = {
    EventKind.STATUS: "status",
    EventKind.PRIORITY: "priority",
    EventKind.DEPARTMENT: "department",
    EventKind.ASSIGNEE: "assignee_email",
}


@dataclass(frozen=True)
class TargetRef:
    """What a change needs of a target to write its delivery row."""

    id: int
    events: frozenset[str]
    internal_notes: bool


def _load_targets() -> tuple[TargetRef, ...]:
    return tuple(
        TargetRef(t.pk, frozenset(t.events), t.internal_notes)
        for t in WebhookTarget.objects.filter(active=True).order_by("pk")
    )


def _targets(event: str, *, internal: bool = False) -> list[TargetRef]:
    """The active targets that asked for `event`. Targets are configuration: read once per
    process (`config_cache`, watched in `connect`), so a change costs no statement for
    webhooks once the process is warm, with or without targets."""
    return [
        t
        for t in config_cache.cached("automation:webhook_targets", _load_targets)
        if (ALL_EVENTS in t.events or event in t.events) and (t.internal_notes or not internal)
    ]


def queue(
    event: str,
    ticket: Ticket,
    extra: dict[str, Any],
    *,
    targets: list[TargetRef],
    overlay: dict[str, Any] | None = None,
) -> int:
    """One delivery per target, written in the caller's transaction; the worker sends them
    once it commits."""
    if not targets:
        return 0
    now = timezone.now()
    payload = {
        "event": event,
        "occurred_at": now.isoformat(),
        "ticket": ticket_json(ticket) | (overlay or {}),
        **extra,
    }
    rows = WebhookDelivery.objects.bulk_create(
        [
            WebhookDelivery(
                target_id=t.id,
                event=event,
                payload=payload,
                status=WebhookDeliveryStatus.PENDING,
                next_attempt_at=now,
                created_at=now,
            )
            for t in targets
        ]
    )
    _send_after_commit([r.pk for r in rows])
    return len(rows)


def _message_json(message: Message) -> dict[str, Any]:
    return {
        "id": message.pk,
        "body": message.body,
        "internal": message.internal,
        "author_kind": message.author_kind,
        "author_email": message.author.email if message.author else None,
        "channel": message.channel,
        "created_at": message.created_at.isoformat(),
    }


# --- receivers (connected in apps.ready) -----------------------------------------------------


def on_ticket_created(sender: Any, *, ticket: Ticket, **kwargs: Any) -> None:
    targets = _targets(WebhookEvent.TICKET_CREATED)
    if not targets:
        return
    first = Message.objects.filter(ticket=ticket).order_by("pk").first()
    extra = {"message": _message_json(first)} if first is not None else {}
    queue(WebhookEvent.TICKET_CREATED, ticket, extra, targets=targets)


def on_ticket_event(sender: Any, *, ticket: Ticket, event: TicketEvent, **kwargs: Any) -> None:
    if event.kind in NOT_UPDATES:
        return
    targets = _targets(WebhookEvent.TICKET_UPDATED)
    closing = event.kind == EventKind.STATUS and event.to_value == TicketStatus.CLOSED
    closed_targets = _targets(WebhookEvent.TICKET_CLOSED) if closing else []
    if not targets and not closed_targets:
        return
    change = {
        "kind": event.kind,
        "from": event.from_value,
        "to": event.to_value,
        "by": event.actor_kind,
        "public": event.public,
    }
    field = AFTER_CHANGE.get(event.kind)  # type: ignore[call-overload]
    overlay = {field: event.to_value or None} if field else {}
    queue(
        WebhookEvent.TICKET_UPDATED,
        ticket,
        {"changes": [change]},
        targets=targets,
        overlay=overlay,
    )
    closed = {"close_reason": ticket.close_reason}
    queue(WebhookEvent.TICKET_CLOSED, ticket, closed, targets=closed_targets, overlay=overlay)


def on_message_added(sender: Any, *, ticket: Ticket, message: Message, **kwargs: Any) -> None:
    targets = _targets(WebhookEvent.MESSAGE_CREATED, internal=message.internal)
    # The first message travels in `ticket.created` (sent right after this, same transaction).
    if not targets or not Message.objects.filter(ticket=ticket, pk__lt=message.pk).exists():
        return
    queue(
        WebhookEvent.MESSAGE_CREATED,
        ticket,
        {"message": _message_json(message)},
        targets=targets,
    )


def on_survey_answered(
    sender: Any, *, ticket: Ticket, answer: dict[str, Any], **kwargs: Any
) -> None:
    targets = _targets(WebhookEvent.SURVEY_ANSWERED)
    queue(WebhookEvent.SURVEY_ANSWERED, ticket, {"survey": answer}, targets=targets)


def call_for_rule(rule_name: str, ticket: Ticket, target_id: int) -> bool:
    """A rule's `call_webhook`: one `rule.triggered` delivery to that target, whatever events
    it asked for, in the rule's transaction. A target switched off or deleted gets nothing
    (False); the rule's other changes stand."""
    targets = [
        t
        for t in config_cache.cached("automation:webhook_targets", _load_targets)
        if t.id == target_id
    ]
    return queue(RULE_TRIGGERED, ticket, {"rule": rule_name}, targets=targets) > 0


def connect() -> None:
    from destek.tickets import signals

    config_cache.watch(WebhookTarget)
    signals.ticket_created.connect(on_ticket_created, dispatch_uid="webhooks.ticket_created")
    signals.ticket_event.connect(on_ticket_event, dispatch_uid="webhooks.ticket_event")
    signals.message_added.connect(on_message_added, dispatch_uid="webhooks.message_added")
    signals.survey_answered.connect(on_survey_answered, dispatch_uid="webhooks.survey_answered")
