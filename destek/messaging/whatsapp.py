"""The WhatsApp Cloud API as a platform (platform.py): the webhook's messages read into
`Inbound` messages, and sends from the channel's phone number through the Graph API."""

from __future__ import annotations

import mimetypes
from datetime import UTC, datetime
from typing import Any

from destek.lib.text import strip_invisible
from destek.messaging import graph, texts
from destek.messaging.models import MessagingChannel
from destek.messaging.platform import BadEvent, Inbound, MediaRef

TEXT_LIMIT = 4096
#: The message types whose file is fetched, with the placeholder shown when there is no text.
MEDIA_TYPES = {
    "image": "photo",
    "document": "document",
    "audio": "audio",
    "video": "video",
}


def _timestamp(value: Any) -> datetime | None:
    try:
        return datetime.fromtimestamp(int(value), tz=UTC)
    except (TypeError, ValueError, OverflowError):
        return None


class WhatsApp:
    text_limit = TEXT_LIMIT

    def events(self, payload: Any) -> list[tuple[str, dict[str, Any]]]:
        """Each message of the batch, under its wamid, with its number's metadata and the
        sender's profile; statuses (sent, delivered, read) are not kept."""
        if not isinstance(payload, dict) or payload.get("object") != "whatsapp_business_account":
            raise BadEvent("not a WhatsApp Business Account event")
        found: list[tuple[str, dict[str, Any]]] = []
        for entry in payload.get("entry") or []:
            for change in (entry or {}).get("changes") or []:
                value = (change or {}).get("value") or {}
                if not isinstance(value, dict) or change.get("field") != "messages":
                    continue
                profiles = {
                    str(c.get("wa_id")): c
                    for c in value.get("contacts") or []
                    if isinstance(c, dict)
                }
                for message in value.get("messages") or []:
                    if not isinstance(message, dict) or not message.get("id"):
                        continue
                    sender = str(message.get("from") or "")
                    found.append(
                        (
                            str(message["id"])[:100],
                            {
                                "metadata": value.get("metadata") or {},
                                "contact": profiles.get(sender) or {},
                                "message": message,
                            },
                        )
                    )
        return found

    def parse(self, channel: MessagingChannel, payload: dict[str, Any]) -> Inbound | None:
        message = payload.get("message") or {}
        number = str((payload.get("metadata") or {}).get("phone_number_id") or "")
        if channel.account_id and number and number != channel.account_id:
            return None  # another number of the same app: not this channel's
        sender = str(message.get("from") or "")
        if not sender:
            return None
        kind = str(message.get("type") or "")
        found = message.get(kind)
        body: dict[str, Any] = found if isinstance(found, dict) else {}
        inbound = Inbound(
            external_id=str(message.get("id")),
            user_id=sender,
            chat_id=sender,
            name=" ".join(
                strip_invisible(
                    str((payload.get("contact") or {}).get("profile", {}).get("name") or "")
                ).split()
            )[:200],
            reply_to=str((message.get("context") or {}).get("id") or ""),
            sent_at=_timestamp(message.get("timestamp")),
        )
        text = ""
        if kind == "text":
            text = str(body.get("body") or "")
        elif kind in MEDIA_TYPES or kind == "sticker":
            text = str(body.get("caption") or "")
            voice = kind == "audio" and body.get("voice")
            inbound.placeholders.append(
                "voice" if voice else "sticker" if kind == "sticker" else MEDIA_TYPES[kind]
            )
            if kind != "sticker" and body.get("id"):
                content_type = str(body.get("mime_type") or "application/octet-stream").split(";")[
                    0
                ]
                extension = mimetypes.guess_extension(content_type) or ""
                name = str(body.get("filename") or f"{kind}-{sender}{extension}")
                inbound.media.append(MediaRef(str(body["id"]), name[:200], content_type))
        elif kind == "location":
            inbound.placeholders.append("location")
            place = " ".join(str(body.get(k) or "") for k in ("name", "address")).strip()
            if place:
                inbound.details.append(place)
            inbound.details.append(f"{body.get('latitude')}, {body.get('longitude')}")
        elif kind == "contacts":
            inbound.placeholders.append("contact")
            for card in message.get("contacts") or []:
                name = str((card.get("name") or {}).get("formatted_name") or "")
                phones = ", ".join(str(p.get("phone") or "") for p in card.get("phones") or [])
                inbound.details.append(": ".join(part for part in (name, phones) if part))
        elif kind == "reaction":
            inbound.placeholders.append("reaction")
            if body.get("emoji"):
                inbound.details.append(str(body["emoji"]))
        elif kind == "button":
            text = str(body.get("text") or "")
        elif kind == "interactive":
            reply = body.get("button_reply") or body.get("list_reply") or {}
            text = str(reply.get("title") or "")
            inbound.button = str(reply.get("id") or "")[:256]
        inbound.text = strip_invisible(text).strip()
        return inbound

    def send_text(self, channel: MessagingChannel, chat_id: str, text: str) -> str:
        return self._message(channel, chat_id, {"type": "text", "text": {"body": text}})

    def send_buttons(
        self, channel: MessagingChannel, chat_id: str, text: str, buttons: list[tuple[str, str]]
    ) -> str:
        """Up to three choices as reply buttons; more (a 1-5 score) as a list message, which
        WhatsApp opens with a button of its own (up to ten rows)."""
        body = {"text": text[:1024]}
        if len(buttons) <= 3:
            replies = [
                {"type": "reply", "reply": {"id": payload, "title": title[:20]}}
                for payload, title in buttons
            ]
            interactive = {"type": "button", "body": body, "action": {"buttons": replies}}
        else:
            rows = [{"id": payload, "title": title[:24]} for payload, title in buttons[:10]]
            action = {"button": str(texts.CHOOSE)[:20], "sections": [{"rows": rows}]}
            interactive = {"type": "list", "body": body, "action": action}
        return self._message(channel, chat_id, {"type": "interactive", "interactive": interactive})

    def send_template(
        self, channel: MessagingChannel, chat_id: str, name: str, language: str
    ) -> None:
        """An approved message template (the only thing WhatsApp takes outside 24 hours)."""
        template = {"name": name, "language": {"code": language}}
        self._message(channel, chat_id, {"type": "template", "template": template})

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
        """Uploaded to the number's media first, then sent as an image or a document."""
        uploaded = graph.call(
            channel,
            "POST",
            f"{channel.account_id}/media",
            data={"messaging_product": "whatsapp", "type": content_type},
            files={"file": (name, data, content_type)},
        )
        media_id = str(uploaded.get("id") or "")
        if not media_id:
            raise graph.GraphError("POST media: no id")
        kind = "image" if content_type in ("image/jpeg", "image/png") else "document"
        media: dict[str, Any] = {"id": media_id}
        if caption:
            media["caption"] = caption[:1024]
        if kind == "document":
            media["filename"] = name
        self._message(channel, chat_id, {"type": kind, kind: media})

    def _message(self, channel: MessagingChannel, chat_id: str, body: dict[str, Any]) -> str:
        """Send one message; its wamid (`messages[0].id`), "" when the answer has none."""
        answer = graph.call(
            channel,
            "POST",
            f"{channel.account_id}/messages",
            json={
                "messaging_product": "whatsapp",
                "recipient_type": "individual",
                "to": chat_id,
                **body,
            },
        )
        messages = answer.get("messages")
        first = messages[0] if isinstance(messages, list) and messages else {}
        return str(first.get("id") or "") if isinstance(first, dict) else ""

    def fetch_media(self, channel: MessagingChannel, media: MediaRef, *, limit: int) -> bytes:
        """GET /{media-id} says where the file is; it is fetched from there with the token."""
        found = graph.call(channel, "GET", media.ref)
        size = found.get("file_size")
        if isinstance(size, int) and size > limit:
            raise graph.GraphError("media: too large", too_large=True)
        data, _type = graph.download(channel, str(found.get("url") or ""), limit=limit)
        return data

    def check(self, channel: MessagingChannel) -> str:
        graph.call(channel, "GET", channel.account_id, params={"fields": "id"})
        return ""


PLATFORM = WhatsApp()
