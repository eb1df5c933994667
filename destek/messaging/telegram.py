"""The few Telegram Bot API calls Destek makes, through httpx against the channel's API base
URL (Telegram's own, a self-hosted Bot API server, or a test's stand-in). The bot token is
only ever in Telegram's URL, never in one of ours, and never logged (settings: httpx WARNING)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx
from django.conf import settings

from destek.messaging.models import MessagingChannel

#: Telegram's longest text message.
TEXT_LIMIT = 4096


class TelegramError(Exception):
    """A call that did not succeed. `auth`: the token is refused (401/403), the channel must
    be fixed by an admin; `retry`: a network fault or a 5xx/429, try again later."""

    def __init__(self, description: str, *, auth: bool = False, retry: bool = False) -> None:
        super().__init__(description)
        self.description = description
        self.auth = auth
        self.retry = retry


@dataclass(frozen=True)
class RemoteFile:
    path: str
    size: int | None


def _url(channel: MessagingChannel, method: str) -> str:
    return f"{channel.base_url()}/bot{channel.token()}/{method}"


def _client() -> httpx.Client:
    return httpx.Client(timeout=settings.DESTEK_MESSAGING_TIMEOUT, follow_redirects=False)


def call(channel: MessagingChannel, method: str, data: dict[str, Any]) -> Any:
    """The `result` of one Bot API method, or TelegramError."""
    try:
        with _client() as client:
            response = client.post(_url(channel, method), json=data)
    except httpx.HTTPError as exc:
        raise TelegramError(f"{method}: {type(exc).__name__}", retry=True) from None
    try:
        body = response.json()
    except ValueError:
        body = {}
    description = str(body.get("description") or f"HTTP {response.status_code}")[:500]
    if response.status_code in (401, 403, 404) and method != "getFile":
        # 404 on every method: Telegram's answer to a token it does not know.
        raise TelegramError(f"{method}: {description}", auth=True)
    if response.status_code == 429 or response.status_code >= 500:
        raise TelegramError(f"{method}: {description}", retry=True)
    if response.status_code != 200 or not body.get("ok"):
        raise TelegramError(f"{method}: {description}")
    return body.get("result")


def set_webhook(channel: MessagingChannel, url: str) -> None:
    call(
        channel,
        "setWebhook",
        {
            "url": url,
            "secret_token": channel.webhook_secret,
            "allowed_updates": ["message", "edited_message"],
        },
    )


def send_message(channel: MessagingChannel, chat_id: str, text: str) -> None:
    call(channel, "sendMessage", {"chat_id": chat_id, "text": text})


def get_file(channel: MessagingChannel, file_id: str) -> RemoteFile:
    result = call(channel, "getFile", {"file_id": file_id})
    if not isinstance(result, dict) or not result.get("file_path"):
        raise TelegramError("getFile: no file_path")
    size = result.get("file_size")
    return RemoteFile(path=str(result["file_path"]), size=int(size) if size else None)


def download(channel: MessagingChannel, remote: RemoteFile, *, limit: int) -> bytes:
    """The file's bytes, at most `limit` of them (TelegramError beyond)."""
    url = f"{channel.base_url()}/file/bot{channel.token()}/{remote.path}"
    chunks: list[bytes] = []
    total = 0
    try:
        with _client() as client, client.stream("GET", url) as response:
            if response.status_code != 200:
                raise TelegramError(f"file: HTTP {response.status_code}")
            for chunk in response.iter_bytes():
                total += len(chunk)
                if total > limit:
                    raise TelegramError("file: too large")
                chunks.append(chunk)
    except httpx.HTTPError as exc:
        raise TelegramError(f"file: {type(exc).__name__}", retry=True) from None
    return b"".join(chunks)


def split_text(text: str, limit: int = TEXT_LIMIT) -> list[str]:
    """`text` in parts of at most `limit` characters, cut at a line break or a space when
    one is near the end of a part."""
    parts: list[str] = []
    rest = text
    while len(rest) > limit:
        cut = rest.rfind("\n", limit // 2, limit)
        if cut <= 0:
            cut = rest.rfind(" ", limit // 2, limit)
        if cut <= 0:
            cut = limit
        parts.append(rest[:cut].rstrip())
        rest = rest[cut:].lstrip()
    if rest or not parts:
        parts.append(rest)
    return parts
