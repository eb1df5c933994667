"""Reading inbound mail records."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import TYPE_CHECKING

from destek.mail.models import InboundMessage, InboundStatus

if TYPE_CHECKING:
    from destek.tickets.models import Ticket


_answering: ContextVar[str] = ContextVar("answering", default="")
_automatic_from: ContextVar[str] = ContextVar("automatic_from", default="")
_unverified_for: ContextVar[frozenset[str]] = ContextVar("unverified_for", default=frozenset())


@contextmanager
def answering(
    message_id: str, *, automatic_from: str = "", unverified_for: Iterable[str] = ()
) -> Iterator[None]:
    """While the pipeline files a mail, the mail we send about it answers that very mail
    (its record is linked to the ticket only after the action). When that mail was itself
    automatic, `automatic_from` is its sender: no automatic mail goes back to it (RFC 3834).
    When its sender was not authenticated, automatic answers to `unverified_for` (the
    customer's addresses) count against the tighter cap for unverified mail."""
    token = _answering.set(f"<{message_id}>" if message_id else "")
    quiet = _automatic_from.set(automatic_from.strip().lower())
    unverified = _unverified_for.set(frozenset(a.strip().lower() for a in unverified_for))
    try:
        yield
    finally:
        _unverified_for.reset(unverified)
        _automatic_from.reset(quiet)
        _answering.reset(token)


def answering_unverified_mail(address: str) -> bool:
    """Whether a mail to `address` now would answer mail whose sender was not authenticated."""
    return address.strip().lower() in _unverified_for.get()


def answering_automatic_mail_from(address: str) -> bool:
    """Whether the pipeline is filing an automatic mail from `address` right now."""
    current = _automatic_from.get()
    return bool(current) and current == address.strip().lower()


def last_inbound_message_id(ticket: Ticket) -> str:
    """The Message-ID (with angle brackets) of the customer's latest mail in this ticket."""
    current = _answering.get()
    if current:
        return current
    found = (
        InboundMessage.objects.filter(ticket=ticket, status=InboundStatus.STORED)
        .exclude(rfc_message_id="")
        .order_by("-pk")
        .values_list("rfc_message_id", flat=True)
        .first()
    )
    return f"<{found}>" if found else ""
