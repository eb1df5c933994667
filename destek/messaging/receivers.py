"""What messaging does when tickets tell it something: an agent's public reply on a
messenger's ticket, and its files, go to the contact's chat (through the outbox, in the same
transaction as the reply). Outside Meta's 24-hour window the reply is refused (409), unless
the agent chose to send it by e-mail instead (a message of channel `email`: the customer's
mail and SMS notices carry it, the messenger does not)."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _

from destek.lib.errors import ActionRefused
from destek.messaging import actions, window
from destek.messaging.choices import ChannelKind
from destek.messaging.models import Contact
from destek.tickets.access import customer_may_see_message
from destek.tickets.choices import AuthorKind, Channel
from destek.tickets.models import Attachment, Message, Ticket

#: The tickets' channels that are messengers (the same words as the channel kinds).
MESSENGER_CHANNELS = frozenset(ChannelKind.values)


def chat_carries(ticket: Ticket) -> bool | None:
    """Whether the customer's chat carries a messenger ticket's replies (None for a ticket of
    no messenger): False once the contact was unlinked from the ticket's account or its
    channel removed; the customer's mail then carries them (tickets/notifications.py)."""
    if ticket.channel not in MESSENGER_CHANNELS:
        return None
    return Contact.objects.filter(
        customer_id=ticket.customer_id, channel__kind=ticket.channel
    ).exists()


def message_added(sender: Any, *, ticket: Ticket, message: Message, **kwargs: Any) -> None:
    # The channel, already in hand, spares every other ticket's message a query. Internal
    # notes and held mail never go; the customer's own words are not sent back to them.
    if ticket.channel not in MESSENGER_CHANNELS or message.author_kind != AuthorKind.AGENT:
        return
    files = [f for f in kwargs.get("attachments", ()) if isinstance(f, Attachment)]
    if not customer_may_see_message(message) or not (message.body.strip() or files):
        return
    if message.channel == Channel.EMAIL:
        return
    contact = (
        Contact.objects.select_related("channel")
        .filter(customer_id=ticket.customer_id, channel__kind=ticket.channel)
        .order_by("-pk")
        .first()
    )
    if contact is None:
        return
    if not window.is_open(contact):
        raise ActionRefused(
            "reply_window_closed",
            _(
                "The customer wrote more than 24 hours ago: {messenger} takes no free reply "
                "now. Send it by e-mail or SMS instead."
            ).format(messenger=contact.channel.get_kind_display()),
            status=409,
        )
    actions.queue_text(contact, message.body, message=message, files=files)
