"""Who a chat visitor is, as the widget page learned it, in a form the chat API can trust.

Two ways a visitor is known without typing a name and an address:
- a customer signed in to this Destek (the portal's session, read by the widget page);
- a user of a company's own site that embeds the widget, vouched for by that site: it signs
  "<user_id>:<email>:<timestamp>" with HMAC-SHA256 under a secret it shares with Destek
  (DESTEK_CHAT_SITES), and the widget page checks the signature and its age.

Either way the widget page hands its script an identity token (`issue`): the same facts,
signed by Destek (`django.core.signing`, its own salt), which `POST /api/v1/chats` reads back
with `read`. The token, not a cookie, carries the identity because the widget usually runs
in an iframe on another site, where the browser sends no Destek cookies.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from dataclasses import asdict, dataclass

from django.conf import settings
from django.core import signing
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.utils.translation import gettext_lazy as _

from destek.accounts.models import User

SALT = "destek.chat.identity"
#: How long the widget page's identity token starts chats: a working day of an open tab.
TOKEN_MAX_AGE = 12 * 3600
#: A site's clock may run this far ahead of ours.
CLOCK_SKEW = 60


@dataclass(frozen=True)
class Identity:
    """`user_id`: a customer of this Destek (signed in). `site` and `external_id`: a user of
    a site that vouched for them, with the address it vouched for (verified by that site)."""

    email: str
    name: str = ""
    user_id: int | None = None
    site: str = ""
    external_id: str = ""


class IdentityRefused(Exception):
    """A site's signature that does not hold; `message` says why, in the visitor's language."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def signature_for(secret: str, user_id: str, email: str, timestamp: str) -> str:
    """The hex HMAC-SHA256 a site sends (the README shows the same in the site's Python)."""
    message = f"{user_id}:{email}:{timestamp}".encode()
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def verify_site_signature(
    site: str,
    user_id: str,
    email: str,
    timestamp: str,
    signature: str,
    *,
    name: str = "",
    now: float | None = None,
) -> Identity:
    """The identity a site vouched for, or IdentityRefused: an unknown site, a signature that
    does not match, or one older than DESTEK_CHAT_IDENTITY_MAX_AGE seconds."""
    secret = settings.DESTEK_CHAT_SITES.get(site)
    if not secret:
        raise IdentityRefused("unknown_site", str(_("This site is not set up for live chat.")))
    # A colon inside the id would make two different (id, e-mail) pairs sign the same text.
    if not user_id or ":" in user_id or len(user_id) > 100 or len(email) > 254:
        raise IdentityRefused("bad_signature", str(_("The sign-in of this site is not valid.")))
    expected = signature_for(secret, user_id, email, timestamp)
    if not hmac.compare_digest(expected.encode(), signature.strip().lower().encode()):
        raise IdentityRefused("bad_signature", str(_("The sign-in of this site is not valid.")))
    try:
        signed_at = int(timestamp)
        validate_email(email)
    except (ValueError, ValidationError):
        raise IdentityRefused(
            "bad_signature", str(_("The sign-in of this site is not valid."))
        ) from None
    age = (time.time() if now is None else now) - signed_at
    if age > settings.DESTEK_CHAT_IDENTITY_MAX_AGE or age < -CLOCK_SKEW:
        raise IdentityRefused(
            "expired", str(_("The sign-in of this site has expired. Please reload the page."))
        )
    return Identity(email=email.strip(), name=name.strip()[:200], site=site, external_id=user_id)


def for_customer(user: User) -> Identity:
    return Identity(email=user.email, name=user.display_name, user_id=user.pk)


def issue(identity: Identity) -> str:
    """The token the widget's script passes as `identity` when it starts a chat."""
    return signing.dumps(asdict(identity), salt=SALT, compress=True)


def read(token: str, *, max_age: int = TOKEN_MAX_AGE) -> Identity | None:
    """The identity a token of `issue` carries; None when it was not made here, was changed,
    or is older than `max_age` seconds."""
    if not token or len(token) > 2000:
        return None
    try:
        data = signing.loads(token, salt=SALT, max_age=max_age)
        return Identity(**data)
    except (signing.BadSignature, TypeError):
        return None
