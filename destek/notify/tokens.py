"""Our own marks on outgoing mail: a Message-ID signed for its recipient, the ticket's thread
root, and a Reply-To plus-address signed for the ticket. The mail channel recognises them when
a reply comes back (`destek.mail.tokens`): through the recipient-bound signature a customer
cannot forge `From:` an agent, because the agent's token does not verify for anyone else.
"""

from __future__ import annotations

import secrets

from django.conf import settings
from django.utils.crypto import salted_hmac

SALT = "destek.mail.token"


def domain() -> str:
    """The domain of our support address, which every mark of ours ends in."""
    return settings.DESTEK_SUPPORT_ADDRESS.rsplit("@", 1)[-1].lower()


def sign(value: str, length: int) -> str:
    return salted_hmac(SALT, value, algorithm="sha256").hexdigest()[:length]


def message_id(ticket_number: int | None, recipient: str) -> str:
    """A new Message-ID; for a ticket's mail it is signed for `recipient`."""
    nonce = secrets.token_hex(8)
    if ticket_number is None:
        return f"<destek.{nonce}@{domain()}>"
    signature = sign(f"{nonce}.{ticket_number}.{recipient.strip().lower()}", 20)
    return f"<destek.{nonce}.t{ticket_number}.{signature}@{domain()}>"


def thread_root(ticket_number: int) -> str:
    """The ticket's thread in every mail client: each mail References it."""
    return f"<destek.t{ticket_number}@{domain()}>"


def reply_address(ticket_number: int) -> str:
    """Our support address with the ticket's signed tag: support+t12345678.abcdef012345@..."""
    local, _at, address_domain = settings.DESTEK_SUPPORT_ADDRESS.partition("@")
    return f"{local}+t{ticket_number}.{sign(str(ticket_number), 12)}@{address_domain}"
