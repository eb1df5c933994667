"""The survey mail's signed links: a ticket and the sent survey's version, valid 14 days."""

from __future__ import annotations

from dataclasses import dataclass

from django.core import signing

SALT = "destek.surveys.link"
MAX_AGE = 14 * 24 * 3600


@dataclass(frozen=True)
class Link:
    ticket_id: int
    version: int


class Expired(Exception):
    pass


class Forged(Exception):
    pass


def make(ticket_id: int, version: int) -> str:
    return signing.dumps({"t": ticket_id, "v": version}, salt=SALT, compress=True)


def read(token: str) -> Link:
    """The link's ticket and version; `Expired` after 14 days, `Forged` for anything else."""
    try:
        data = signing.loads(token, salt=SALT, max_age=MAX_AGE)
    except signing.SignatureExpired as exc:
        raise Expired from exc
    except signing.BadSignature as exc:
        raise Forged from exc
    if not isinstance(data, dict):
        raise Forged
    ticket_id, version = data.get("t"), data.get("v")
    if not isinstance(ticket_id, int) or not isinstance(version, int):
        raise Forged
    return Link(ticket_id, version)
