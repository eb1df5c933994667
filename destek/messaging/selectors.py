"""What the pages ask of the messengers."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from destek.messaging.choices import ChannelKind, Health
from destek.messaging.models import Contact, MessagingChannel
from destek.messaging.window import WINDOW_KINDS, closes_at, is_open
from destek.notify.sms import sms_enabled
from destek.tickets.models import Ticket


def failing_channel(ticket: Ticket) -> MessagingChannel | None:
    """The failing messenger channel a ticket's replies would go through (they wait), or
    None; one statement, and none for a ticket of another channel."""
    if ticket.channel not in ChannelKind.values:
        return None
    return (
        MessagingChannel.objects.filter(
            kind=ticket.channel,
            health=Health.FAILING,
            contacts__customer_id=ticket.customer_id,
        )
        .order_by("-pk")
        .first()
    )


def contact_of(ticket: Ticket) -> Contact | None:
    """The chat a messenger's ticket is answered in: the contact who last wrote on it (an
    account may have linked several chats), else the customer's newest on that messenger."""
    if ticket.channel not in ChannelKind.values:
        return None
    contacts = Contact.objects.select_related("channel", "customer").filter(
        customer_id=ticket.customer_id, channel__kind=ticket.channel
    )
    written = contacts.filter(messages__message__ticket_id=ticket.pk).order_by("-messages__pk")
    return written.first() or contacts.order_by("-pk").first()


@dataclass(frozen=True)
class ReplyWindow:
    """What the desk's composer says about Meta's 24-hour window on a ticket: when it
    closes, whether it is open, and where else the customer can be reached."""

    channel: MessagingChannel
    closes_at: datetime | None
    open: bool
    #: The customer's real e-mail address ("" when they have none of their own).
    email: str
    #: Their verified phone when the ticket's SMS notices go to it ("" otherwise).
    phone: str
    #: WhatsApp: the approved templates that may be sent outside the window.
    templates: list[str]

    @property
    def offers(self) -> bool:
        return bool(self.email or self.phone)


def reply_window(ticket: Ticket) -> ReplyWindow | None:
    """The window of a WhatsApp, Messenger or Instagram ticket (two statements), None for
    other tickets and for one whose customer has no contact on that messenger."""
    if ticket.channel not in WINDOW_KINDS:
        return None
    contact = contact_of(ticket)
    if contact is None:
        return None
    customer = contact.customer
    # Messenger contacts' own addresses are under .invalid: they reach no one.
    email = "" if customer.email.endswith(".invalid") else customer.email
    sms = sms_enabled() and ticket.notify_sms and customer.phone_verified_at is not None
    return ReplyWindow(
        channel=contact.channel,
        closes_at=closes_at(contact),
        open=is_open(contact),
        email=email,
        phone=customer.phone if sms else "",
        templates=list(contact.channel.templates or []) if ticket.channel == "whatsapp" else [],
    )
