"""What the ticket actions share: who acts, the audit event, the row lock, the checks every
concern applies. Private to the package; callers import from `destek.tickets.actions`."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.utils.translation import gettext_lazy as _

from destek.accounts.actions import verified_addresses
from destek.accounts.models import User
from destek.lib.errors import ActionRefused
from destek.lib.text import strip_invisible
from destek.tickets import clocks, config
from destek.tickets.access import can_work
from destek.tickets.choices import ActorKind
from destek.tickets.models import Attachment, Message, Ticket, TicketEvent
from destek.tickets.signals import ticket_event

BODY_MAX = 100_000


@dataclass(frozen=True)
class Actor:
    """Who or what makes a change: a person, or the timer and rules acting on their own."""

    kind: str
    user: User | None = None
    #: The name of the automation rule acting (kind `rule`): each history entry it writes
    #: carries it as `rule`, so the history says which rule made the change.
    rule: str = ""

    @classmethod
    def of(cls, user: User) -> Actor:
        return cls(ActorKind.CUSTOMER if user.is_customer else ActorKind.AGENT, user)


TIMER = Actor(ActorKind.TIMER)


def _save(ticket: Ticket) -> None:
    """Every save of a changed ticket recomputes its service-level clocks first."""
    clocks.refresh(ticket)
    ticket.save()


def _event(
    ticket: Ticket,
    actor: Actor,
    kind: str,
    *,
    from_value: Any = "",
    to_value: Any = "",
    public: bool = True,
    **data: Any,
) -> TicketEvent:
    """Write one entry of the ticket's history."""
    event = _new_event(
        ticket, actor, kind, from_value=from_value, to_value=to_value, public=public, **data
    )
    event.save(force_insert=True)
    ticket_event.send(sender=TicketEvent, ticket=ticket, event=event)
    return event


def _new_event(
    ticket: Ticket,
    actor: Actor,
    kind: str,
    *,
    from_value: Any = "",
    to_value: Any = "",
    public: bool = True,
    **data: Any,
) -> TicketEvent:
    """One entry of the ticket's history, for the caller to insert with others at once."""
    if actor.rule:
        data.setdefault("rule", actor.rule)
    return TicketEvent(
        ticket=ticket,
        kind=kind,
        actor_kind=actor.kind,
        actor=actor.user,
        from_value=str(from_value or "")[:250],
        to_value=str(to_value or "")[:250],
        public=public,
        data=data,
    )


def check_notify_address(customer: User, address: str) -> str:
    """Ticket mail may go only to an address the customer proved is theirs."""
    address = (address or "").strip().lower()
    if address and address not in verified_addresses(customer):
        raise ActionRefused(
            "unverified_address",
            _("Verify this address first: add it to your account and enter the code we send."),
        )
    return address


def rule_enabled(code: str) -> bool:
    """Intake rules are on unless an admin switched one off."""
    return code not in disabled_rules()


def disabled_rules() -> frozenset[str]:
    return config.disabled_intake_rules()


def _own(ticket: Ticket, customer: User) -> None:
    """Colleagues may read a shared ticket; only the customer who filed it changes it."""
    if ticket.customer_id != customer.pk:
        raise ActionRefused(
            "not_your_ticket",
            _("Only the customer who filed this ticket can change it."),
            status=403,
        )


def _clean_text(value: str, *, field: str, maximum: int) -> str:
    text = strip_invisible(value or "").strip()
    if not text:
        raise ActionRefused(
            f"{field}_required", _("This field is required: {field}.").format(field=field)
        )
    if len(text) > maximum:
        raise ActionRefused(
            f"{field}_too_long",
            _("{field} is too long: at most {maximum} characters.").format(
                field=field, maximum=maximum
            ),
        )
    return text


def _attach(attachments: Sequence[Attachment], ticket: Ticket, message: Message) -> None:
    ids = {a.pk for a in attachments}
    if not ids:
        return
    claimed = Attachment.objects.filter(pk__in=ids, message__isnull=True).update(
        ticket=ticket, message=message
    )
    if claimed != len(ids):  # another message took one first, or it was purged
        raise ActionRefused(
            "attachment_not_found", _("An attachment was not found or is already used.")
        )


def _lock(ticket: Ticket) -> Ticket:
    return (
        Ticket.objects.select_for_update(of=("self",))
        .select_related("department", "customer", "assignee")
        .get(pk=ticket.pk)
    )


def _require_worker(actor: Actor, ticket: Ticket) -> None:
    if actor.user is not None and not can_work(actor.user, ticket):
        raise ActionRefused(
            "forbidden", _("Only agents of the department can do this."), status=403
        )
