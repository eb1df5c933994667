"""Our own marks on outgoing mail (made by `destek.notify.tokens`), recognised when a reply
comes back.

Every mail about a ticket carries a Message-ID signed for its recipient, References to the
ticket's thread root, and a Reply-To plus-address signed for the ticket. A reply's headers then
say which ticket it belongs to and, through the recipient-bound signature, that it answers a mail
we sent to that very address: a customer cannot forge `From:` an agent, because the agent's
token does not verify for anyone else.
"""

from __future__ import annotations

import hmac
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.core.signing import BadSignature, TimestampSigner

from destek.notify.tokens import domain as _domain
from destek.notify.tokens import sign as _sign

_SIGNED_ID = re.compile(r"^destek\.([0-9a-f]{16})\.t(\d{1,15})\.([0-9a-f]{20})@", re.IGNORECASE)
_ROOT_ID = re.compile(r"^destek\.t(\d{1,15})@", re.IGNORECASE)
_PLUS = re.compile(r"^[^@+]+\+t(\d{1,15})\.([0-9a-f]{12})@", re.IGNORECASE)
_SUBJECT_NUMBER = re.compile(r"\[#(\d{4,15})\]")


@dataclass(frozen=True)
class Token:
    ticket_number: int
    for_sender: bool  # the signature verifies for the address the reply comes from


def from_ids(ids: Iterable[str], sender: str) -> Token | None:
    """The ticket one of our signed Message-IDs names; a token signed for `sender` first."""
    sender = sender.strip().lower()
    found: Token | None = None
    for raw in ids:
        value = raw.strip("<> ")
        match = _SIGNED_ID.match(value)
        if not match or not value.lower().endswith("@" + _domain()):
            continue
        nonce, number, signature = match.group(1), int(match.group(2)), match.group(3).lower()
        expected = _sign(f"{nonce.lower()}.{number}.{sender}", 20)
        if hmac.compare_digest(signature, expected):
            return Token(number, for_sender=True)
        found = found or Token(number, for_sender=False)
    return found


def from_root(ids: Iterable[str]) -> int | None:
    for raw in ids:
        value = raw.strip("<> ")
        match = _ROOT_ID.match(value)
        if match and value.lower().endswith("@" + _domain()):
            return int(match.group(1))
    return None


def from_plus_address(addresses: Iterable[str]) -> int | None:
    """The ticket of a signed plus-address among the recipients (forged tags do not count)."""
    for address in addresses:
        match = _PLUS.match(address.strip().lower())
        if not match or not address.lower().endswith("@" + _domain()):
            continue
        number = int(match.group(1))
        if hmac.compare_digest(match.group(2), _sign(str(number), 12)):
            return number
    return None


def from_subject(subject: str) -> int | None:
    match = _SUBJECT_NUMBER.search(subject)
    return int(match.group(1)) if match else None


def is_ours(message_id_value: str) -> bool:
    """A Message-ID we made (our own mail coming back)."""
    value = message_id_value.strip("<> ").lower()
    return value.startswith("destek.") and value.endswith("@" + _domain())


# --- confirming held mail ----------------------------------------------------------------------

CONFIRM_SALT = "destek.mail.confirm"


def confirm_token(message_pk: int) -> str:
    """The link's token for a held message, with the time it was made. Only we can make one,
    and it is mailed only to the address the message claimed to come from."""
    return TimestampSigner(salt=CONFIRM_SALT).sign(str(message_pk))


def held_message_of(token: str) -> int | None:
    """The held message a confirmation token names, while it is good
    (DESTEK_MAIL_CONFIRM_DAYS); None for a forged, broken or expired token."""
    try:
        value = TimestampSigner(salt=CONFIRM_SALT).unsign(
            token, max_age=timedelta(days=settings.DESTEK_MAIL_CONFIRM_DAYS)
        )
    except BadSignature:  # also SignatureExpired
        return None
    return int(value) if value.isdigit() else None
