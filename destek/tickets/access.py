"""The one door to tickets. Every page, endpoint and job that acts for a user goes through it.

Not yours and does not exist look the same (`Ticket.DoesNotExist`, a 404 at the edge), so a
number tells nobody whether a ticket exists.
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

from django.db.models import QuerySet

if TYPE_CHECKING:
    from destek.accounts.models import User
    from destek.tickets.models import Attachment, Message, Ticket, TicketQuerySet


def visible_tickets(qs: TicketQuerySet, user: Any) -> TicketQuerySet:
    if user is None or not user.is_authenticated or not user.is_active:
        return qs.none()
    if user.is_admin:
        return qs
    if user.is_agent:
        # A literal id list, not a join through memberships: SQLite then walks the ticket
        # index backwards instead of sorting every ticket of the departments for each page.
        return qs.filter(department_id__in=agent_department_ids(user))
    return qs.filter(customer_id__in=customer_ids_visible_to(user))


def customer_ids_visible_to(user: Any) -> list[int]:
    """A customer's own id, and their colleagues' where the organisation shares tickets."""
    organisation = user.organisation
    if organisation is None or not organisation.share_tickets:
        return [user.pk]
    from destek.accounts.models import User

    return list(User.objects.filter(organisation=organisation).values_list("pk", flat=True))


def agent_department_ids(user: Any) -> list[int]:
    """The departments an agent works in, read once per request (cached on the user)."""
    cached = getattr(user, "_department_ids", None)
    if cached is None:
        from destek.tickets.models import Membership

        cached = list(Membership.objects.filter(user=user).values_list("department_id", flat=True))
        user._department_ids = cached
    return list(cached)


def access_ticket(user: User, number: int | str, *, for_update: bool = False) -> Ticket:
    """The ticket `number` if `user` may see it; raises Ticket.DoesNotExist otherwise."""
    from destek.tickets.models import Ticket

    try:
        number = int(str(number).lstrip("#"))
    except ValueError:
        raise Ticket.DoesNotExist from None
    qs = Ticket.objects.visible_to(user).select_related("department", "customer", "assignee")
    if for_update:
        qs = qs.select_for_update(of=("self",))
    return qs.get(number=number)


def _attachment(public_id: Any) -> Attachment:
    from destek.tickets.models import Attachment

    try:
        public_id = uuid.UUID(str(public_id))
    except ValueError:
        raise Attachment.DoesNotExist from None
    return Attachment.objects.select_related("message").get(public_id=public_id)


def access_attachment(user: User, public_id: Any) -> Attachment:
    """The attachment `public_id` if `user` may download it; raises Attachment.DoesNotExist
    otherwise, so a foreign id and an unknown one look the same.

    An upload no message has claimed yet belongs to its uploader alone. A claimed one goes
    through the ticket's door; a customer gets only the files of public messages, never
    those of an internal note or any file not on a message.
    """
    from destek.tickets.models import Attachment, Ticket

    if user is None or not user.is_authenticated or not user.is_active:
        raise Attachment.DoesNotExist
    attachment = _attachment(public_id)
    if attachment.ticket_id is None:
        if attachment.uploaded_by_id != user.pk:
            raise Attachment.DoesNotExist
        return attachment
    if not visible_tickets(Ticket.objects.filter(pk=attachment.ticket_id), user).exists():
        raise Attachment.DoesNotExist
    if not user.is_agent and not _public(attachment):
        raise Attachment.DoesNotExist
    return attachment


def access_public_attachment(ticket: Ticket, public_id: Any) -> Attachment:
    """An attachment of a public message of `ticket`, for the read-only status view that a
    one-time code opened: nothing of another ticket, nothing internal."""
    from destek.tickets.models import Attachment

    attachment = _attachment(public_id)
    # A merge moves messages and their files to the ticket that continues; the merged
    # ticket's view still shows the messages written on it, so their files too.
    message = attachment.message
    on_ticket = attachment.ticket_id == ticket.pk or (
        message is not None and message.merged_from_id == ticket.pk
    )
    if not on_ticket or not _public(attachment):
        raise Attachment.DoesNotExist
    return attachment


def _public(attachment: Attachment) -> bool:
    # Never a file of an internal note, nor of mail held until the customer confirms it.
    return customer_may_see_message(attachment.message)


def can_work(user: User, ticket: Ticket) -> bool:
    """Agents work tickets of their departments; admins work all."""
    if user.is_admin:
        return True
    return user.is_agent and ticket.department.membership_set.filter(user=user).exists()


def customer_visible_messages(qs: QuerySet[Message]) -> QuerySet[Message]:
    """The messages of a thread a customer (or anyone reading as the customer: a status
    lookup, a knowledge-base draft) may see: never internal notes, and never mail held until
    the customer confirms it came from them."""
    from destek.tickets.choices import Verification

    return qs.filter(internal=False).exclude(verification=Verification.PENDING)


def messages_visible_to(qs: QuerySet[Message], user: Any) -> QuerySet[Message]:
    """The thread as `user` reads it: agents see everything, customers what is theirs to see."""
    if getattr(user, "is_customer", True):
        return customer_visible_messages(qs)
    return qs


def customer_may_see_message(message: Message | None) -> bool:
    from destek.tickets.choices import Verification

    return (
        message is not None
        and not message.internal
        and message.verification != Verification.PENDING
    )
