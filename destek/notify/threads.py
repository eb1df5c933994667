"""Which mail a notification answers, and the thread headers of a ticket's mail.

While a channel files an incoming message, what we send about it answers that very message
(`answering`). Otherwise a ticket's mail answers the customer's latest mail in it, which only
the mail channel knows: it registers its lookup when it starts (`destek.mail.apps`), since
notify sits below the channels and never imports them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Protocol

from destek.notify import tokens

_answering: ContextVar[str] = ContextVar("answering", default="")
_automatic_from: ContextVar[str] = ContextVar("automatic_from", default="")
_unverified_for: ContextVar[frozenset[str]] = ContextVar("unverified_for", default=frozenset())

#: Ticket id -> the Message-ID (with angle brackets) of the customer's latest mail in it, or "".
LatestMailLookup = Callable[[int], str]
_latest_mail_lookups: list[LatestMailLookup] = []


class _TicketLike(Protocol):
    pk: int
    number: int


@dataclass(frozen=True)
class Thread:
    """The ticket a mail is about: its row (the delivery links to it) and its number."""

    ticket_id: int
    number: int
    #: The ticket is being filed in this very change: the customer has written no earlier
    #: mail in it to answer (the mail being filed, if any, is `answering`'s).
    fresh: bool = False

    @classmethod
    def of(cls, ticket: _TicketLike | None, *, fresh: bool = False) -> Thread | None:
        return cls(ticket.pk, ticket.number, fresh) if ticket is not None else None


def register_latest_mail_lookup(lookup: LatestMailLookup) -> None:
    if lookup not in _latest_mail_lookups:
        _latest_mail_lookups.append(lookup)


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


def in_reply_to(thread: Thread) -> str:
    """The Message-ID this ticket's mail answers: the one being filed, else the customer's
    latest mail in the ticket; "" when the customer never wrote by mail."""
    current = _answering.get()
    if current or thread.fresh:
        return current
    for lookup in _latest_mail_lookups:
        found = lookup(thread.ticket_id)
        if found:
            return found
    return ""


def thread_headers(thread: Thread) -> dict[str, str]:
    """Reply-To the ticket's signed plus-address, and the ticket's thread: References its root
    and, when the customer wrote by mail, the message being answered."""
    root = tokens.thread_root(thread.number)
    last = in_reply_to(thread)
    return {
        "Reply-To": tokens.reply_address(thread.number),
        "In-Reply-To": last or root,
        "References": f"{root} {last}" if last else root,
    }
