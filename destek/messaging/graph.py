"""The few Graph API calls of Meta's platforms (WhatsApp Cloud API, Messenger, Instagram),
through httpx against the channel's Graph address (a setting, with its version; a test's
stand-in). The access token goes in the Authorization header, never in a URL, and is never
logged. Webhook calls are proven Meta's by their signature (`X-Hub-Signature-256`)."""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

import httpx
from django.conf import settings

from destek.messaging.models import MessagingChannel
from destek.messaging.platform import PlatformError

#: Graph error codes: the token is invalid or expired (the channel must be fixed), and the
#: ones that say "too many calls, later".
TOKEN_CODES = {102, 190}
THROTTLE_CODES = {4, 17, 32, 613, 80007, 130429, 131048, 131056}


class GraphError(PlatformError):
    pass


def signature_ok(channel: MessagingChannel, body: bytes, header: str) -> bool:
    """Whether `header` ("sha256=<hex>") is the HMAC-SHA256 of the raw body with the
    channel's app secret; compared in constant time."""
    secret = channel.app_secret()
    given = header.strip()
    if not secret or not given.startswith("sha256="):
        return False
    expected = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(given[len("sha256=") :].lower().encode(), expected.encode())


def _client() -> httpx.Client:
    return httpx.Client(timeout=settings.DESTEK_MESSAGING_TIMEOUT, follow_redirects=False)


def _headers(channel: MessagingChannel) -> dict[str, str]:
    return {"Authorization": f"Bearer {channel.token()}"}


def call(
    channel: MessagingChannel,
    method: str,
    path: str,
    *,
    json: dict[str, Any] | None = None,
    data: dict[str, Any] | None = None,
    files: dict[str, tuple[str, bytes, str]] | None = None,
    params: dict[str, str] | None = None,
) -> dict[str, Any]:
    """The JSON answer of one Graph call (`path` after the version), or GraphError."""
    url = f"{channel.base_url()}/{path.lstrip('/')}"
    name = f"{method} {path.split('?')[0]}"
    try:
        with _client() as client:
            response = client.request(
                method,
                url,
                json=json,
                data=data,
                files=files,
                params=params,
                headers=_headers(channel),
            )
    except httpx.HTTPError as exc:
        raise GraphError(f"{name}: {type(exc).__name__}", retry=True) from None
    try:
        body = response.json()
    except ValueError:
        body = {}
    if not isinstance(body, dict):
        body = {}
    error = body.get("error") if isinstance(body.get("error"), dict) else None
    if response.status_code == 200 and error is None:
        return body
    error = error or {}
    code = error.get("code")
    description = f"{name}: " + str(error.get("message") or f"HTTP {response.status_code}")[:500]
    if code in TOKEN_CODES or response.status_code == 401:
        raise GraphError(description, auth=True)
    if (
        code in THROTTLE_CODES
        or error.get("is_transient")
        or response.status_code == 429
        or response.status_code >= 500
    ):
        raise GraphError(description, retry=True)
    raise GraphError(description)


def download(
    channel: MessagingChannel, url: str, *, limit: int, with_token: bool = True
) -> tuple[bytes, str]:
    """The bytes at `url` (at most `limit` of them) and their content type."""
    if not url.startswith(("https://", "http://")):
        raise GraphError("media: not a web address")
    chunks: list[bytes] = []
    total = 0
    try:
        with (
            _client() as client,
            client.stream("GET", url, headers=_headers(channel) if with_token else {}) as response,
        ):
            if response.status_code != 200:
                raise GraphError(
                    f"media: HTTP {response.status_code}",
                    auth=response.status_code == 401,
                    retry=response.status_code >= 500,
                )
            length = response.headers.get("Content-Length")
            if length and length.isdigit() and int(length) > limit:
                raise GraphError("media: too large", too_large=True)
            for chunk in response.iter_bytes():
                total += len(chunk)
                if total > limit:
                    raise GraphError("media: too large", too_large=True)
                chunks.append(chunk)
            content_type = response.headers.get("Content-Type", "").split(";")[0].strip()
    except httpx.HTTPError as exc:
        raise GraphError(f"media: {type(exc).__name__}", retry=True) from None
    return b"".join(chunks), content_type
