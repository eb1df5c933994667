"""Telegram as a platform (platform.py): its updates read by python-telegram-bot's types
into `Inbound` messages, and the few Bot API calls Destek makes, through httpx against the
channel's API base URL (Telegram's own, a self-hosted Bot API server, or a test's stand-in).
The bot token is only ever in Telegram's URL, never in one of ours, and never logged
(settings: httpx WARNING)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx
from django.conf import settings
from telegram import Message, Update

from destek.lib.text import strip_invisible
from destek.messaging import texts
from destek.messaging.models import MessagingChannel
from destek.messaging.platform import (
    BadEvent,
    Inbound,
    MediaRef,
    PlatformError,
    contact_details,
    location_details,
)
from destek.messaging.platform import split_text as _split

#: Telegram's longest text message.
TEXT_LIMIT = 4096
#: Photos up to this size go as photos (Telegram's limit for sendPhoto), others as documents.
PHOTO_LIMIT = 10 * 1024 * 1024
#: The largest file a bot may upload (Telegram's limit; a self-hosted Bot API server takes more).
FILE_LIMIT = 50 * 1024 * 1024


class TelegramError(PlatformError):
    """A call that did not succeed. `auth`: the token is refused (401/404), the channel must
    be fixed by an admin; `retry`: a network fault or a 5xx/429, try again later."""


@dataclass(frozen=True)
class RemoteFile:
    path: str
    size: int | None


def _url(channel: MessagingChannel, method: str) -> str:
    return f"{channel.base_url()}/bot{channel.token()}/{method}"


def _client() -> httpx.Client:
    return httpx.Client(timeout=settings.DESTEK_MESSAGING_TIMEOUT, follow_redirects=False)


def call(
    channel: MessagingChannel,
    method: str,
    data: dict[str, Any],
    *,
    files: dict[str, tuple[str, bytes, str]] | None = None,
) -> Any:
    """The `result` of one Bot API method, or TelegramError. With `files`, the call is sent
    as multipart/form-data (an upload), `data` as its other fields."""
    try:
        with _client() as client:
            if files:
                response = client.post(_url(channel, method), data=data, files=files)
            else:
                response = client.post(_url(channel, method), json=data)
    except httpx.HTTPError as exc:
        raise TelegramError(f"{method}: {type(exc).__name__}", retry=True) from None
    try:
        body = response.json()
    except ValueError:
        body = {}
    description = str(body.get("description") or f"HTTP {response.status_code}")[:500]
    if response.status_code in (401, 404) and method != "getFile":
        # 404 on every method: Telegram's answer to a token it does not know. (403 is one
        # chat's refusal, "bot was blocked by the user": that message fails, not the channel.)
        raise TelegramError(f"{method}: {description}", auth=True)
    if response.status_code == 413:
        raise TelegramError(f"{method}: {description}", too_large=True)
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
            "allowed_updates": ["message", "edited_message", "callback_query"],
        },
    )


def send_message(channel: MessagingChannel, chat_id: str, text: str) -> str:
    """The message's id in the chat ("" when the answer has none)."""
    result = call(channel, "sendMessage", {"chat_id": chat_id, "text": text})
    found = result.get("message_id") if isinstance(result, dict) else None
    return str(found) if found is not None else ""


def answer_callback(channel: MessagingChannel, callback_id: str, text: str = "") -> None:
    """Tell Telegram a button press was handled (the button stops spinning); `text` is
    shown to the user as a short notice."""
    data: dict[str, Any] = {"callback_query_id": callback_id}
    if text:
        data["text"] = text[:200]
    call(channel, "answerCallbackQuery", data)


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
                    raise TelegramError("file: too large", too_large=True)
                chunks.append(chunk)
    except httpx.HTTPError as exc:
        raise TelegramError(f"file: {type(exc).__name__}", retry=True) from None
    return b"".join(chunks)


def split_text(text: str, limit: int = TEXT_LIMIT) -> list[str]:
    """`text` in parts of at most `limit` characters (platform.split_text)."""
    return _split(text, limit)


# --- the platform ---------------------------------------------------------------------------


def parse_update(payload: Any) -> Update:
    """The update Telegram sent, read by python-telegram-bot's types; BadEvent otherwise."""
    if not isinstance(payload, dict) or not isinstance(payload.get("update_id"), int):
        raise BadEvent("no update_id")
    try:
        return Update.de_json(payload, None)
    except (TypeError, ValueError, KeyError, AttributeError) as exc:
        raise BadEvent(str(exc)) from None


def _unreadable(payload: dict[str, Any]) -> Inbound | None:
    """A customer's message the library could not read: who sent it, read from the update
    itself, and a line that something was sent (the channel goes on)."""
    is_edit = "message" not in payload
    message = payload.get("message") or payload.get("edited_message")
    if not isinstance(message, dict):
        return None
    sender, chat = message.get("from"), message.get("chat")
    if not isinstance(sender, dict) or not isinstance(chat, dict):
        return None
    if sender.get("is_bot") or chat.get("type") != "private" or "id" not in sender:
        return None
    names = (str(sender.get("first_name") or ""), str(sender.get("last_name") or ""))
    return Inbound(
        external_id=str(payload["update_id"]),
        user_id=str(sender["id"]),
        chat_id=str(chat.get("id", sender["id"])),
        name=" ".join(strip_invisible(" ".join(names)).split())[:200],
        username=str(sender.get("username") or "")[:100],
        language=str(sender.get("language_code") or "") or None,
        text=strip_invisible(str(message.get("text") or message.get("caption") or "")).strip(),
        placeholders=[key for key in texts.PLACEHOLDERS if message.get(key)],
        is_edit=is_edit,
        message_id=str(message.get("message_id") or ""),
    )


def _button_press(payload: dict[str, Any]) -> Inbound | None:
    """A press of an inline keyboard's button (a `callback_query`), in a private chat."""
    query = payload["callback_query"]
    sender = query.get("from")
    found = query.get("message")
    message: dict[str, Any] = found if isinstance(found, dict) else {}
    found = message.get("chat")
    chat: dict[str, Any] = found if isinstance(found, dict) else {}
    if not isinstance(sender, dict) or "id" not in sender or sender.get("is_bot"):
        return None
    if chat and chat.get("type", "private") != "private":
        return None
    names = (str(sender.get("first_name") or ""), str(sender.get("last_name") or ""))
    pressed_on = str(message.get("message_id") or "")
    pressed_on = str(message.get("message_id") or "")
    return Inbound(
        external_id=str(payload["update_id"]),
        user_id=str(sender["id"]),
        chat_id=str(chat.get("id", sender["id"])),
        name=" ".join(strip_invisible(" ".join(names)).split())[:200],
        username=str(sender.get("username") or "")[:100],
        language=str(sender.get("language_code") or "") or None,
        button=str(query.get("data") or "")[:64],
        callback_id=str(query.get("id") or ""),
        message_id=pressed_on if pressed_on.isdigit() else "",
    )


def _media(message: Message) -> list[MediaRef]:
    """The files of a message, each under a name that says what it is (a voice note is an
    Ogg file, a round video message an MP4)."""
    n = message.message_id
    found: list[MediaRef] = []
    if message.photo:
        largest = max(message.photo, key=lambda p: (p.file_size or 0, p.width * p.height))
        found.append(MediaRef(largest.file_id, f"photo-{n}.jpg", "image/jpeg", largest.file_size))
    if message.document and not message.animation:
        document = message.document
        found.append(
            MediaRef(
                document.file_id,
                document.file_name or f"document-{n}",
                document.mime_type or "application/octet-stream",
                document.file_size,
            )
        )
    if message.voice:
        voice = message.voice
        found.append(
            MediaRef(
                voice.file_id, f"voice-{n}.ogg", voice.mime_type or "audio/ogg", voice.file_size
            )
        )
    if message.video_note:
        note = message.video_note
        found.append(MediaRef(note.file_id, f"video-message-{n}.mp4", "video/mp4", note.file_size))
    for kind, default_name, default_type in (
        (message.audio, f"audio-{n}.mp3", "audio/mpeg"),
        (message.video, f"video-{n}.mp4", "video/mp4"),
        (message.animation, f"animation-{n}.mp4", "video/mp4"),
    ):
        if kind:
            found.append(
                MediaRef(
                    kind.file_id,
                    kind.file_name or default_name,
                    kind.mime_type or default_type,
                    kind.file_size,
                )
            )
    return found


def _details(message: Message) -> list[str]:
    """What a sticker, a place, a location or a contact card says, as lines of the ticket."""
    if message.sticker and message.sticker.emoji:
        return [message.sticker.emoji]
    if message.venue:
        venue = message.venue
        return location_details(
            venue.location.latitude,
            venue.location.longitude,
            title=strip_invisible(venue.title or ""),
            address=strip_invisible(venue.address or ""),
        )
    if message.location:
        return location_details(message.location.latitude, message.location.longitude)
    if message.contact:
        contact = message.contact
        name = " ".join(part for part in (contact.first_name, contact.last_name or "") if part)
        return contact_details(strip_invisible(name), contact.phone_number or "")
    return []


class Telegram:
    text_limit = TEXT_LIMIT

    def events(self, payload: Any) -> list[tuple[str, dict[str, Any]]]:
        """One update is one event, under its `update_id`. It is stored even when its
        message is of a kind the library cannot read (a newer Bot API's): refusing it would
        make Telegram send it again and again, holding back the chat's next messages."""
        if not isinstance(payload, dict) or not isinstance(payload.get("update_id"), int):
            raise BadEvent("no update_id")
        return [(str(payload["update_id"]), payload)]

    def parse(self, channel: MessagingChannel, payload: dict[str, Any]) -> Inbound | None:
        if isinstance(payload.get("callback_query"), dict):
            return _button_press(payload)
        try:
            update = parse_update(payload)
        except BadEvent:
            return _unreadable(payload)
        message = update.message or update.edited_message
        if message is None or message.from_user is None or message.from_user.is_bot:
            return None
        if message.chat.type != "private":
            return None
        user = message.from_user
        placeholders = [key for key in texts.PLACEHOLDERS if getattr(message, key, None)]
        # A GIF comes as an animation and, for old clients, as a document too; a place
        # comes with its location: each is shown once.
        if message.animation:
            placeholders.remove("document")
        if message.venue:
            placeholders.remove("location")
        reply_to = message.reply_to_message
        sent_at = message.edit_date or message.date
        return Inbound(
            external_id=str(update.update_id),
            user_id=str(user.id),
            chat_id=str(message.chat.id),
            name=" ".join(strip_invisible(user.full_name or "").split())[:200],
            username=(user.username or "")[:100],
            language=user.language_code,
            text=strip_invisible(message.text or message.caption or "").strip(),
            media=_media(message),
            placeholders=placeholders,
            details=_details(message),
            is_edit=update.edited_message is not None,
            message_id=str(message.message_id),
            reply_to=str(reply_to.message_id) if reply_to is not None else "",
            reply_text=strip_invisible(
                (reply_to.text or reply_to.caption or "") if reply_to is not None else ""
            ).strip(),
            sent_at=sent_at if isinstance(sent_at, datetime) else None,
        )

    def send_text(self, channel: MessagingChannel, chat_id: str, text: str) -> str:
        return send_message(channel, chat_id, text)

    def send_buttons(
        self, channel: MessagingChannel, chat_id: str, text: str, buttons: list[tuple[str, str]]
    ) -> str:
        """An inline keyboard: scores on one row, other choices one per row."""
        short = all(len(title) <= 2 for _payload, title in buttons)
        keys = [{"text": title, "callback_data": payload[:64]} for payload, title in buttons]
        rows = [keys] if short else [[key] for key in keys]
        data = {"chat_id": chat_id, "text": text, "reply_markup": {"inline_keyboard": rows}}
        result = call(channel, "sendMessage", data)
        found = result.get("message_id") if isinstance(result, dict) else None
        return str(found) if found is not None else ""

    def acknowledge(self, channel: MessagingChannel, inbound: Inbound) -> None:
        """The press answered (the button stops spinning) and the pressed message's buttons
        taken away: a question is answered once (the next one follows as a new message)."""
        if not inbound.callback_id:
            return
        answer_callback(channel, inbound.callback_id)
        if inbound.message_id:
            call(
                channel,
                "editMessageReplyMarkup",
                {
                    "chat_id": inbound.chat_id,
                    "message_id": int(inbound.message_id),
                    "reply_markup": {"inline_keyboard": []},
                },
            )

    def send_file(
        self,
        channel: MessagingChannel,
        chat_id: str,
        *,
        name: str,
        content_type: str,
        data: bytes,
        caption: str = "",
    ) -> None:
        """A photo (sendPhoto) when it is an image Telegram shows as one, else a document;
        a file over Telegram's upload limit is not sent (too_large)."""
        if len(data) > FILE_LIMIT:
            raise TelegramError(f"{name}: larger than the upload limit", too_large=True)
        photo = content_type in ("image/jpeg", "image/png") and len(data) <= PHOTO_LIMIT
        fields = {"chat_id": chat_id}
        if caption:
            fields["caption"] = caption[:1024]
        if photo:
            try:
                call(channel, "sendPhoto", fields, files={"photo": (name, data, content_type)})
                return
            except TelegramError as exc:
                if exc.auth or exc.retry:
                    raise
                # An image Telegram will not show as a photo (its sides): sent as a file.
        call(channel, "sendDocument", fields, files={"document": (name, data, content_type)})

    def fetch_media(self, channel: MessagingChannel, media: MediaRef, *, limit: int) -> bytes:
        remote = get_file(channel, media.ref)
        if remote.size is not None and remote.size > limit:
            raise TelegramError("file: too large", too_large=True)
        return download(channel, remote, limit=limit)

    def check(self, channel: MessagingChannel) -> str:
        me = call(channel, "getMe", {})
        return str(me.get("username") or "")[:64] if isinstance(me, dict) else ""


PLATFORM = Telegram()
