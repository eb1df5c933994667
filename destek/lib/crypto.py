"""Secrets an admin enters that the server must use again (a mailbox's password): stored
encrypted with Fernet (AES-128-CBC with HMAC-SHA256), under a key derived from SECRET_KEY by
HKDF-SHA256. A copy of the database alone does not give them away; changing SECRET_KEY makes
them unreadable, and they must be entered again."""

from __future__ import annotations

import base64

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings


class SecretUnreadable(Exception):
    """The stored secret was encrypted under another SECRET_KEY (or was altered)."""


def _fernet(purpose: str) -> Fernet:
    key = HKDF(
        algorithm=hashes.SHA256(),
        length=32,
        salt=b"destek stored secrets",
        info=purpose.encode(),
    ).derive(settings.SECRET_KEY.encode())
    return Fernet(base64.urlsafe_b64encode(key))


def encrypt(value: str, *, purpose: str) -> str:
    """`value` encrypted for `purpose` (a key of its own for each purpose)."""
    return _fernet(purpose).encrypt(value.encode()).decode("ascii")


def decrypt(token: str, *, purpose: str) -> str:
    try:
        return _fernet(purpose).decrypt(token.encode("ascii")).decode()
    except (InvalidToken, ValueError) as exc:
        raise SecretUnreadable(purpose) from exc
