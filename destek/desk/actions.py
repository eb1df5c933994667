"""The desk's own moves, each made of the ticket actions: bulk changes (a macro on many
tickets too) and tickets filed for a caller. None of them writes a ticket itself."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.utils.translation import gettext_lazy as _

from destek.accounts.choices import Role
from destek.accounts.models import User, normalize_email
from destek.automation.actions import apply_macro
from destek.automation.selectors import access_macro
from destek.desk.selectors import forget_queue_counts
from destek.lib.errors import ActionRefused
from destek.tickets import actions
from destek.tickets.access import access_ticket, can_work
from destek.tickets.actions import Actor
from destek.tickets.choices import Channel, CloseReason, TicketStatus
from destek.tickets.models import Department, Ticket

#: The most tickets one bulk change touches: each is its own transaction and mail.
BULK_LIMIT = 100


@dataclass
class BulkResult:
    updated: list[int] = field(default_factory=list)
    #: (ticket number, why) in the agent's language.
    refused: list[tuple[int, str]] = field(default_factory=list)


def _not_found() -> str:
    return str(_("not found"))


def bulk_change(
    agent: User,
    numbers: Sequence[int],
    change: Callable[[Ticket, Actor], object],
) -> BulkResult:
    """Apply `change` to each ticket the agent may see, one transaction per ticket.

    Deliberately not one transaction for all: a ticket refused (not in the agent's
    departments, already closed, merged) must not undo the changes made to the others, and
    the agent is told ticket by ticket. Each ticket passes the one door first; one it may
    not see is reported as not found, whether or not it exists.
    """
    if len(numbers) > BULK_LIMIT:
        raise ActionRefused(
            "too_many",
            _("Select at most {limit} tickets at a time.").format(limit=BULK_LIMIT),
        )
    actor = Actor.of(agent)
    result = BulkResult()
    for number in dict.fromkeys(numbers):  # once each, in the order given
        try:
            ticket = access_ticket(agent, number)
            change(ticket, actor)
        except Ticket.DoesNotExist:
            result.refused.append((number, _not_found()))
        except ActionRefused as refusal:
            result.refused.append((number, str(refusal.detail)))
        else:
            result.updated.append(number)
    if result.updated:  # each ticket committed on its own: the counts change now
        forget_queue_counts()
    return result


def bulk_assign(agent: User, numbers: Sequence[int], assignee: User | None) -> BulkResult:
    return bulk_change(
        agent,
        numbers,
        lambda ticket, actor: actions.update_ticket(ticket, actor, assignee=assignee),
    )


def bulk_status(agent: User, numbers: Sequence[int], status: str) -> BulkResult:
    """`closed` closes as resolved; other close reasons are chosen on the ticket page."""

    def change(ticket: Ticket, actor: Actor) -> Ticket:
        reason = CloseReason.RESOLVED if status == TicketStatus.CLOSED else ""
        return actions.update_ticket(ticket, actor, status=status, close_reason=reason)

    return bulk_change(agent, numbers, change)


def bulk_department(agent: User, numbers: Sequence[int], department: Department) -> BulkResult:
    return bulk_change(
        agent,
        numbers,
        lambda ticket, actor: actions.update_ticket(ticket, actor, department=department),
    )


def bulk_merge(agent: User, numbers: Sequence[int], into: int) -> BulkResult:
    """Merge each selected ticket into ticket `into`; selecting the target too is harmless."""
    try:
        target = access_ticket(agent, into)
    except Ticket.DoesNotExist:
        raise ActionRefused(
            "merge_target_not_found",
            _("Ticket #{number} was not found.").format(number=into),
        ) from None
    sources = [number for number in numbers if number != target.number]
    return bulk_change(
        agent, sources, lambda ticket, actor: actions.merge(ticket, into=target, actor=actor)
    )


def bulk_macro(agent: User, numbers: Sequence[int], macro_id: int) -> BulkResult:
    """Apply one macro to each selected ticket, each in its own transaction: a ticket the
    macro does not fit (another department, no reply in its language, a rule it would
    break) is refused alone, all its changes undone, and the others keep theirs."""

    def change(ticket: Ticket, actor: Actor) -> Ticket:
        return apply_macro(ticket, access_macro(agent, ticket, macro_id), agent=agent)

    return bulk_change(agent, numbers, change)


def find_customer(reference: str) -> User | None:
    """A customer by e-mail address or customer number; None for an unknown address."""
    reference = reference.strip()
    if "@" in reference:
        found = User.objects.filter(email=normalize_email(reference)).first()
    else:
        found = User.objects.filter(customer_number=reference.lstrip("#")).first()
        if found is None:
            raise ActionRefused(
                "unknown_customer_number", _("No customer has this customer number.")
            )
    if found is not None and not found.is_customer:
        raise ActionRefused(
            "not_a_customer", _("This address belongs to a staff account, not a customer.")
        )
    if found is not None and not found.is_active:
        raise ActionRefused("customer_inactive", _("This customer's account is deactivated."))
    return found


@transaction.atomic
def file_phone_ticket(
    agent: User,
    *,
    customer: str,
    subject: str,
    body: str,
    department: Department | None,
    priority: str,
    name: str = "",
    phone: str = "",
    language: str = "en",
) -> Ticket:
    """File a ticket for a caller. An unknown address becomes a customer account without a
    password (they can set one through the password reset) and unverified; the ticket is
    the customer's, filed by the agent on the phone channel, and the customer gets the
    usual confirmation mail with its number.

    The agent's priority is the agent's judgement, not the customer's urgency: it is set
    after routing, where the agent works in the department routing chose."""
    if not agent.is_agent:
        raise ActionRefused("forbidden", _("Only agents file tickets for callers."), status=403)
    found = find_customer(customer)
    if found is None:
        address = normalize_email(customer)
        try:
            validate_email(address)
        except ValidationError:
            raise ActionRefused("invalid_email", _("Enter a valid e-mail address.")) from None
        found = User(
            email=address,
            full_name=" ".join(name.split())[:200],
            phone=phone.strip()[:32],
            role=Role.CUSTOMER,
            language=language,
            # The agent only heard the address: it is not proven until its owner follows a
            # sign-up or password-reset link, which is also how they claim the account.
            email_verified_at=None,
        )
        found.set_unusable_password()
        found.save()
    ticket = actions.create_ticket(
        customer=found,
        subject=subject,
        body=body,
        channel=Channel.PHONE,
        department=department,
        urgency=priority,
        language=found.language,
        filed_by=agent,
    )
    if ticket.priority != priority and can_work(agent, ticket):
        ticket = actions.change_priority(ticket, actor=Actor.of(agent), priority=priority)
    return ticket
