"""Reading inbound mail records."""

from __future__ import annotations

from destek.mail.models import InboundMessage, InboundStatus


def last_inbound_message_id(ticket_id: int) -> str:
    """The Message-ID (with angle brackets) of the customer's latest mail in this ticket
    (registered with `notify.threads` for the In-Reply-To of the ticket's mail)."""
    found = (
        InboundMessage.objects.filter(ticket_id=ticket_id, status=InboundStatus.STORED)
        .exclude(rfc_message_id="")
        .order_by("-pk")
        .values_list("rfc_message_id", flat=True)
        .first()
    )
    return f"<{found}>" if found else ""
