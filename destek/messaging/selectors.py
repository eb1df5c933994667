"""What the pages ask of the messengers."""

from __future__ import annotations

from destek.messaging.choices import ChannelKind, Health
from destek.messaging.models import MessagingChannel
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
