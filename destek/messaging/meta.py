"""Facebook Messenger and Instagram messaging as platforms (platform.py): both speak the
Messenger Platform's webhook ("messaging" items) and Send API (POST /me/messages with the
page's token); they differ in the webhook's object and the longest text."""

from __future__ import annotations

import json
import mimetypes
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from destek.lib.text import strip_invisible
from destek.messaging import graph
from destek.messaging.models import MessagingChannel
from destek.messaging.platform import BadEvent, Inbound, MediaRef

#: Attachment types fetched as files, with their placeholder and the type assumed when the
#: address does not say.
FILE_TYPES = {
    "image": ("photo", "image/jpeg"),
    "video": ("video", "video/mp4"),
    "audio": ("audio", "audio/mpeg"),
    "file": ("document", "application/octet-stream"),
}
PLACEHOLDER_TYPES = {"location": "location", "sticker": "sticker", "reaction": "reaction"}


def _timestamp(value: Any) -> datetime | None:
    try:
        return datetime.fromtimestamp(int(value) / 1000, tz=UTC)
    except (TypeError, ValueError, OverflowError):
        return None


class MetaMessaging:
    def __init__(
        self, webhook_object: str, text_limit: int, files_by_upload: bool, profile_fields: str
    ) -> None:
        self.webhook_object = webhook_object
        self.text_limit = text_limit
        self.files_by_upload = files_by_upload
        self.profile_fields = profile_fields

    def events(self, payload: Any) -> list[tuple[str, dict[str, Any]]]:
        """Each message, edit or postback of the batch under its mid; echoes of the page's
        own messages, deliveries and reads are not kept."""
        if not isinstance(payload, dict) or payload.get("object") != self.webhook_object:
            raise BadEvent(f"not a {self.webhook_object} event")
        found: list[tuple[str, dict[str, Any]]] = []
        for entry in payload.get("entry") or []:
            for item in (entry or {}).get("messaging") or []:
                if not isinstance(item, dict):
                    continue
                message = item.get("message") or {}
                postback = item.get("postback") or {}
                edit = item.get("message_edit") or {}
                if message.get("mid") and not message.get("is_echo"):
                    found.append((str(message["mid"])[:100], item))
                elif postback:
                    # An older postback has no mid: who pressed it, and when.
                    sender = (item.get("sender") or {}).get("id")
                    mid = postback.get("mid") or f"postback:{sender}:{item.get('timestamp')}"
                    found.append((str(mid)[:100], item))
                elif edit.get("mid"):
                    found.append((f"{edit['mid']}:{edit.get('num_edit', 1)}"[:100], item))
        return found

    def parse(self, channel: MessagingChannel, payload: dict[str, Any]) -> Inbound | None:
        sender = str((payload.get("sender") or {}).get("id") or "")
        if not sender or sender == channel.account_id:
            return None
        recipient = str((payload.get("recipient") or {}).get("id") or "")
        if self.webhook_object == "page" and recipient and recipient != channel.account_id:
            # Another page of the same Meta app (its signature is as good): not this channel's.
            return None
        message = payload.get("message") or {}
        postback = payload.get("postback") or {}
        edit = payload.get("message_edit") or {}
        mid = str(message.get("mid") or postback.get("mid") or edit.get("mid") or "")
        inbound = Inbound(
            external_id=mid,
            user_id=sender,
            chat_id=sender,
            sent_at=_timestamp(payload.get("timestamp")),
            is_edit=bool(edit),
            reply_to=str((message.get("reply_to") or {}).get("mid") or ""),
        )
        text = str(message.get("text") or postback.get("title") or edit.get("text") or "")
        pressed = (message.get("quick_reply") or {}).get("payload") or postback.get("payload")
        inbound.button = str(pressed or "")[:256]
        for number, attachment in enumerate(message.get("attachments") or []):
            kind = str((attachment or {}).get("type") or "")
            body = attachment.get("payload") or {}
            if kind == "image" and body.get("sticker_id"):
                kind = "sticker"
            if kind in FILE_TYPES and body.get("url"):
                placeholder, assumed = FILE_TYPES[kind]
                inbound.placeholders.append(placeholder)
                url = str(body["url"])
                path = urlsplit(url).path
                name = path.rsplit("/", 1)[-1] or f"{kind}-{number + 1}"
                content_type = mimetypes.guess_type(path)[0] or assumed
                inbound.media.append(MediaRef(url, name[:200], content_type))
            elif kind in PLACEHOLDER_TYPES:
                inbound.placeholders.append(PLACEHOLDER_TYPES[kind])
                coordinates = body.get("coordinates") or {}
                if coordinates:
                    inbound.details.append(f"{coordinates.get('lat')}, {coordinates.get('long')}")
            else:
                inbound.placeholders.append("share")
        inbound.text = strip_invisible(text).strip()
        return inbound

    def send_text(self, channel: MessagingChannel, chat_id: str, text: str) -> str:
        answer = graph.call(
            channel,
            "POST",
            "me/messages",
            json={
                "recipient": {"id": chat_id},
                "messaging_type": "RESPONSE",
                "message": {"text": text},
            },
        )
        return str(answer.get("message_id") or "")

    def send_buttons(
        self, channel: MessagingChannel, chat_id: str, text: str, buttons: list[tuple[str, str]]
    ) -> str:
        """Quick replies under the text (up to 13; a title up to 20 characters)."""
        replies = [
            {"content_type": "text", "title": title[:20], "payload": payload}
            for payload, title in buttons[:13]
        ]
        answer = graph.call(
            channel,
            "POST",
            "me/messages",
            json={
                "recipient": {"id": chat_id},
                "messaging_type": "RESPONSE",
                "message": {"text": text[: self.text_limit], "quick_replies": replies},
            },
        )
        return str(answer.get("message_id") or "")

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
        """Messenger: uploaded with the message (multipart `filedata`). Instagram takes
        files only by a public address, which Destek does not give: refused."""
        if not self.files_by_upload:
            raise graph.GraphError("Instagram takes files only by a public address")
        kind = "image" if content_type.startswith("image/") else "file"
        message = {"attachment": {"type": kind, "payload": {"is_reusable": False}}}
        graph.call(
            channel,
            "POST",
            "me/messages",
            data={
                "recipient": json.dumps({"id": chat_id}),
                "messaging_type": "RESPONSE",
                "message": json.dumps(message),
            },
            files={"filedata": (name, data, content_type)},
        )
        if caption:
            self.send_text(channel, chat_id, caption)

    def fetch_media(self, channel: MessagingChannel, media: MediaRef, *, limit: int) -> bytes:
        # The attachment's address is Meta's CDN, signed in itself: no token goes there.
        data, _type = graph.download(channel, media.ref, limit=limit, with_token=False)
        return data

    def check(self, channel: MessagingChannel) -> str:
        graph.call(channel, "GET", "me", params={"fields": "id"})
        return ""

    def profile(self, channel: MessagingChannel, user_id: str) -> tuple[str, str]:
        """The user's name and username, which the webhook does not carry: Messenger's
        `GET /{psid}?fields=first_name,last_name`, Instagram's `GET /{igsid}?fields=name,
        username`. GraphError when Meta does not tell (the user's settings, a token's rights)."""
        if not user_id.isdigit():  # Meta's ids are digits: nothing else goes into the path
            raise graph.GraphError("profile: not a user id")
        found = graph.call(channel, "GET", user_id, params={"fields": self.profile_fields})
        words = [found.get("name"), found.get("first_name"), found.get("last_name")]
        name = " ".join(" ".join(strip_invisible(str(w)).split()) for w in words if w)[:200]
        username = strip_invisible(str(found.get("username") or "")).strip().lstrip("@")[:100]
        return name, username


MESSENGER = MetaMessaging("page", 2000, files_by_upload=True, profile_fields="first_name,last_name")
INSTAGRAM = MetaMessaging("instagram", 1000, files_by_upload=False, profile_fields="name,username")
