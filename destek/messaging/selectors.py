"""What the pages ask of the messengers."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Max
from django.utils.html import format_html
from django.utils.safestring import SafeString

from destek.messaging.choices import ChannelKind, Health, OutboundState
from destek.messaging.models import Contact, MessagingChannel, OutboundMessage
from destek.messaging.window import CLOSED_ERROR, WINDOW_KINDS, closes_at, is_open
from destek.notify.sms import sms_enabled
from destek.tickets.choices import AuthorKind, Channel
from destek.tickets.models import Message, Ticket


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


@dataclass(frozen=True)
class UnsentReply:
    """An agent's reply the messenger never got: what it said, on which messenger, and why
    (`window_closed`: it waited on a failing channel until Meta's 24-hour window closed)."""

    message: Message
    messenger: str
    window_closed: bool
    error: str

    @property
    def excerpt_html(self) -> SafeString:
        """The reply's first words, isolated: in a Persian sentence they keep their order."""
        body = " ".join(self.message.body.split())
        short = body if len(body) <= 80 else body[:79].rstrip() + "…"
        return format_html("<bdi>{}</bdi>", short)


def unsent_replies(ticket: Ticket) -> list[UnsentReply]:
    """The ticket's agent replies that failed to reach the chat for good, older ones first;
    none once an agent sent a reply by e-mail after them. None for a ticket of no messenger."""
    if ticket.channel not in ChannelKind.values:
        return []
    rows = list(
        OutboundMessage.objects.filter(state=OutboundState.FAILED, message__ticket=ticket)
        .select_related("message", "channel")
        .order_by("pk")[:20]
    )
    if not rows:
        return []
    mailed_after = Message.objects.filter(
        ticket=ticket, channel=Channel.EMAIL, author_kind=AuthorKind.AGENT, internal=False
    ).aggregate(last=Max("pk"))["last"]
    return [
        UnsentReply(
            message=row.message,
            messenger=str(row.channel.get_kind_display()),
            window_closed=row.last_error == CLOSED_ERROR,
            error=row.last_error,
        )
        for row in rows
        if row.message is not None and (mailed_after is None or row.message.pk > mailed_after)
    ]
