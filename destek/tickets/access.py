"""The one door to tickets, their messages and their files. Every page, endpoint and job that
acts for a user goes through it.

Not yours and does not exist look the same (`Ticket.DoesNotExist`, `Attachment.DoesNotExist`,
a 404 at the edge), so a number or an id tells nobody whether a ticket or a file exists.
"""

from __future__ import annotations

import uuid
from typing import TypeGuard

from django.contrib.auth.models import AnonymousUser
from django.db.models import Q, QuerySet
from django.utils.translation import gettext as _

from destek.accounts.models import User
from destek.lib.errors import ActionRefused
from destek.tickets.choices import Verification
from destek.tickets.models import (
    Attachment,
    Message,
    Ticket,
    agent_department_ids,
    customer_ids_visible_to,
)

__all__ = [
    "AnyUser",
    "access_attachment",
    "access_public_attachment",
    "access_ticket",
    "agent_department_ids",
    "can_work",
    "claimable_uploads",
    "customer_ids_visible_to",
    "customer_may_see_message",
    "customer_visible_messages",
    "public_messages",
    "signed_in",
    "visible_messages",
]

#: Whatever a request or a job holds as its user: signed in, signed out, or nobody at all.
AnyUser = User | AnonymousUser | None


def signed_in(user: AnyUser) -> TypeGuard[User]:
    return user is not None and user.is_authenticated and user.is_active


# --- tickets --------------------------------------------------------------------------------


def access_ticket(user: User, number: int | str, *, for_update: bool = False) -> Ticket:
    """The ticket `number` if `user` may see it; raises Ticket.DoesNotExist otherwise."""
    try:
        number = int(str(number).lstrip("#"))
    except ValueError:
        raise Ticket.DoesNotExist from None
    qs = Ticket.objects.visible_to(user).select_related("department", "customer", "assignee")
    if for_update:
        qs = qs.select_for_update(of=("self",))
    return qs.get(number=number)


def can_work(user: User, ticket: Ticket) -> bool:
    """Agents work tickets of their departments; admins work all."""
    if user.is_admin:
        return True
    return user.is_agent and ticket.department_id in agent_department_ids(user)


# --- messages -------------------------------------------------------------------------------


def visible_messages(user: User, ticket: Ticket) -> QuerySet[Message]:
    """The thread of `ticket` as `user` reads it: oldest first, with authors and files loaded.

    `ticket` is one `access_ticket` gave `user`; this decides only which of its messages they
    see. Agents and admins read every message, internal notes too; customers what
    `public_messages` keeps.
    """
    if user.is_agent:
        return _thread(ticket)
    return public_messages(ticket)


def public_messages(ticket: Ticket) -> QuerySet[Message]:
    """The thread of `ticket` as its customer reads it: for the customer, and for whoever reads
    as them without an account (the status view a one-time code opened)."""
    return customer_visible_messages(_thread(ticket))


def _thread(ticket: Ticket) -> QuerySet[Message]:
    # A merged ticket's thread still lists what was written on it (`Message.ticket` says where
    # each one is now): nobody opens a merged ticket to find it empty.
    return (
        Message.objects.filter(Q(ticket=ticket) | Q(merged_from=ticket))
        .select_related("author", "ticket", "merged_from")
        .prefetch_related("attachments")
        .order_by("id")
    )


def customer_visible_messages(qs: QuerySet[Message]) -> QuerySet[Message]:
    """The customer's rule, written once: never an internal note, and never mail held until
    the customer confirms it came from them. For any reader who reads as the customer (a
    knowledge-base draft, the count a merge tells the customer)."""
    return qs.filter(internal=False).exclude(verification=Verification.PENDING)


def customer_may_see_message(message: Message | None) -> bool:
    """`customer_visible_messages` for one message in hand (None: a file on no message)."""
    return (
        message is not None
        and not message.internal
        and message.verification != Verification.PENDING
    )


# --- attachments ----------------------------------------------------------------------------


def access_attachment(user: AnyUser, public_id: uuid.UUID | str) -> Attachment:
    """The attachment `public_id` if `user` may download it; raises Attachment.DoesNotExist
    otherwise, so a foreign id and an unknown one look the same.

    An upload no message has claimed yet belongs to its uploader alone. A claimed one goes
    through the ticket's door; a customer gets only the files of public messages, never
    those of an internal note or any file not on a message.
    """
    if not signed_in(user):
        raise Attachment.DoesNotExist
    attachment = _attachment(public_id)
    if attachment.ticket_id is None:
        if attachment.uploaded_by_id != user.pk:
            raise Attachment.DoesNotExist
        return attachment
    if not Ticket.objects.filter(pk=attachment.ticket_id).visible_to(user).exists():
        raise Attachment.DoesNotExist
    if not user.is_agent and not customer_may_see_message(attachment.message):
        raise Attachment.DoesNotExist
    return attachment


def claimable_uploads(user: User, ids: list[uuid.UUID]) -> list[Attachment]:
    """`user`'s own uploads that no message has claimed yet, to attach to a new message; any
    other id (someone else's, already used, unknown) refuses them all."""
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


def access_public_attachment(ticket: Ticket, public_id: uuid.UUID | str) -> Attachment:
    """An attachment of a public message of `ticket`, for the read-only status view that a
    one-time code opened: nothing of another ticket, nothing internal."""
    attachment = _attachment(public_id)
    # A merge moves messages and their files to the ticket that continues; the merged
    # ticket's view still shows the messages written on it, so their files too.
    message = attachment.message
    on_ticket = attachment.ticket_id == ticket.pk or (
        message is not None and message.merged_from_id == ticket.pk
    )
    if not on_ticket or not customer_may_see_message(message):
        raise Attachment.DoesNotExist
    return attachment


def _attachment(public_id: uuid.UUID | str) -> Attachment:
    try:
        public_id = uuid.UUID(str(public_id))
    except ValueError:
        raise Attachment.DoesNotExist from None
    return Attachment.objects.select_related("message").get(public_id=public_id)
