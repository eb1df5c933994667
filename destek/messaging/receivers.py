"""What messaging does when tickets tell it something: an agent's public reply on a
messenger's ticket, and its files, go to the contact's chat (through the outbox, in the same
transaction as the reply). Outside Meta's 24-hour window the reply is refused (409), unless
the agent chose to send it by e-mail instead (a message of channel `email`: the customer's
own address and SMS notice carry it, the messenger does not; refused when neither reaches
them). An agent's reply by mail to a ticket whose chat takes it goes to the chat."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _

from destek.lib.errors import ActionRefused
from destek.messaging import actions, window
from destek.messaging.choices import ChannelKind
from destek.messaging.selectors import contact_of
from destek.tickets import notifications
from destek.tickets.access import customer_may_see_message
from destek.tickets.choices import AuthorKind, Channel
from destek.tickets.models import Attachment, Message, Ticket

#: The tickets' channels that are messengers (the same words as the channel kinds).
MESSENGER_CHANNELS = frozenset(ChannelKind.values)


def chat_carries(ticket: Ticket, message: Message) -> bool | None:
    """Whether the customer's chat takes an agent's reply on a messenger ticket (None for a
    ticket of no messenger; tickets/notifications.py mails the customer when False): not
    once the contact was unlinked from the ticket's account or its channel removed, nor a
    reply by e-mail (the agent's choice, or their answer to the ticket's mail) after Meta's
    24-hour window closed."""
    if ticket.channel not in MESSENGER_CHANNELS:
        return None
    contact = contact_of(ticket)
    if contact is None:
        return False
    return message.channel != Channel.EMAIL or window.is_open(contact)


def message_added(sender: Any, *, ticket: Ticket, message: Message, **kwargs: Any) -> None:
    # The channel, already in hand, spares every other ticket's message a query. Internal
    # notes and held mail never go; the customer's own words are not sent back to them.
    if ticket.channel not in MESSENGER_CHANNELS or message.author_kind != AuthorKind.AGENT:
        return
    files = [f for f in kwargs.get("attachments", ()) if isinstance(f, Attachment)]
    if not customer_may_see_message(message) or not (message.body.strip() or files):
        return
    contact = contact_of(ticket)
    if contact is None:
        return
    if message.channel == Channel.EMAIL and not window.is_open(contact):
        # The agent chose e-mail instead (or answered the ticket's mail): the customer's own
        # address and the SMS notice carry it; refused when neither reaches them.
        mailed = notifications.reply_address(ticket, message) is not None
        customer = ticket.customer
        sms = ticket.notify_sms and bool(customer.phone) and customer.phone_verified_at is not None
        if not (mailed or sms):
            raise ActionRefused(
                "no_address",
                _("No e-mail address or phone number of the customer's is known."),
                status=409,
            )
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
    # Written in the desk, by the API or by mail (an agent answering a notification): the
    # chat gets it.
    actions.queue_text(contact, message.body, message=message, files=files)
