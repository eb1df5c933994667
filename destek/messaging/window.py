"""Meta's 24-hour reply window: WhatsApp, Messenger and Instagram take a free reply only
within 24 hours of the customer's last message (after it, WhatsApp takes an approved
template; the others nothing)."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.utils import timezone

from destek.messaging.choices import ChannelKind
from destek.messaging.models import Contact

WINDOW = timedelta(hours=24)
#: The platforms with the window (Telegram has none).
WINDOW_KINDS = frozenset({ChannelKind.WHATSAPP, ChannelKind.MESSENGER, ChannelKind.INSTAGRAM})

#: The `last_error` of a reply that waited (a failing channel) until Meta's 24-hour window
#: closed: it is not sent (the platform would refuse it); the desk offers mail instead.
CLOSED_ERROR = "the 24-hour reply window closed before it could be sent"


def closes_at(contact: Contact) -> datetime | None:
    """When free replies to the contact end; None when they never do (Telegram) or the
    contact never wrote."""
    if contact.channel.kind not in WINDOW_KINDS or contact.last_inbound_at is None:
        return None
    return contact.last_inbound_at + WINDOW


def is_open(contact: Contact, now: datetime | None = None) -> bool:
    if contact.channel.kind not in WINDOW_KINDS:
        return True
    ends = closes_at(contact)
    return ends is not None and (now or timezone.now()) < ends
