"""A stand-in for Meta's Graph API on loopback, for the WhatsApp Cloud API, Messenger and
Instagram: it answers the calls Destek makes the way Meta documents them (JSON bodies,
`{"error": {"code": ...}}` failures), records each call, checks the access token, and can be
told the token expired (code 190) or to fail (a 5xx)."""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from destek.messaging.tests.standin import form

VERSION = "v21.0"
TOKEN = "EAAGm0PX4ZCpsBAStandInAccessToken0123456789"
PHOTO_BYTES = b"\xff\xd8\xff\xe0" + b"a photo of the parcel" * 20
PDF_BYTES = b"%PDF-1.4 the invoice"
VOICE_BYTES = b"OggS a voice message"


@dataclass
class Call:
    method: str
    path: str
    data: dict[str, Any]
    authorization: str


@dataclass
class GraphApi:
    url: str = ""
    calls: list[Call] = field(default_factory=list)
    #: True: every call answers code 190 (the token expired or was revoked).
    token_expired: bool = False
    #: An HTTP status every call answers with instead of success (503: Meta is down).
    fail_with: int | None = None
    #: Media of inbound WhatsApp messages by id, and files of Messenger's CDN by name.
    media: dict[str, tuple[bytes, str]] = field(
        default_factory=lambda: {
            "wa-photo-1": (PHOTO_BYTES, "image/jpeg"),
            "wa-doc-1": (PDF_BYTES, "application/pdf"),
            "wa-voice-9": (VOICE_BYTES, "audio/ogg"),
        }
    )
    cdn: dict[str, tuple[bytes, str]] = field(
        default_factory=lambda: {"parcel.jpg": (PHOTO_BYTES, "image/jpeg")}
    )

    #: The user profiles of Messenger (page-scoped ids) and Instagram (Instagram-scoped ids):
    #: what `GET /{id}?fields=...` answers with, the fields asked for only.
    profiles: dict[str, dict[str, str]] = field(
        default_factory=lambda: {
            "7001002003": {"first_name": "Aysel", "last_name": "Məmmədova"},
            "17841455500001": {"name": "Leyla Həsənova", "username": "leyla.h"},
        }
    )
    #: True: profile calls answer as Meta does for a user who does not allow it (code 100).
    profiles_refused: bool = False

    def sent(self, path_end: str) -> list[dict[str, Any]]:
        return [c.data for c in self.calls if c.method == "POST" and c.path.endswith(path_end)]


def start() -> tuple[GraphApi, ThreadingHTTPServer]:
    api = GraphApi()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

        def _answer(self, status: int, body: Any, content_type: str = "application/json") -> None:
            data = body if isinstance(body, bytes) else json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _error(self, status: int, code: int, message: str, **extra: Any) -> None:
            error = {"message": message, "type": "OAuthException", "code": code, **extra}
            self._answer(status, {"error": {**error, "fbtrace_id": "AbCdEf"}})

        def _refused(self) -> bool:
            """The token check every Graph call makes, and the failures asked for."""
            if api.token_expired:
                self._error(401, 190, "Error validating access token: Session has expired")
                return True
            if self.headers.get("Authorization") != f"Bearer {TOKEN}":
                self._error(400, 190, "Invalid OAuth access token - Cannot parse access token")
                return True
            if api.fail_with:
                self._error(api.fail_with, 2, "Service temporarily unavailable", is_transient=True)
                return True
            return False

        def do_GET(self) -> None:
            parts = urlsplit(self.path)
            path = parts.path
            api.calls.append(
                Call("GET", path, {k: v[0] for k, v in parse_qs(parts.query).items()},
                     self.headers.get("Authorization", ""))
            )  # fmt: skip
            if path.startswith("/cdn/"):  # Messenger's attachment addresses: no token
                found = api.cdn.get(path.removeprefix("/cdn/"))
                if found is None:
                    self._answer(404, b"", "text/plain")
                else:
                    self._answer(200, found[0], found[1])
                return
            if self._refused():
                return
            if path.startswith("/media-files/"):
                media_id = path.removeprefix("/media-files/")
                data, content_type = api.media[media_id]
                self._answer(200, data, content_type)
                return
            object_id = path.removeprefix(f"/{VERSION}/")
            if object_id in api.media:
                data, content_type = api.media[object_id]
                self._answer(
                    200,
                    {
                        "messaging_product": "whatsapp",
                        "url": f"{api.url}/media-files/{object_id}",
                        "mime_type": content_type,
                        "sha256": "0" * 64,
                        "file_size": len(data),
                        "id": object_id,
                    },
                )
                return
            if not path.startswith(f"/{VERSION}/"):
                self._error(400, 2500, "Unknown path components")
                return
            fields = [f for f in parse_qs(parts.query).get("fields", [""])[0].split(",") if f]
            if object_id != "me" and set(fields) - {"id"}:
                person = api.profiles.get(object_id)
                if person is None or api.profiles_refused:
                    self._error(400, 100, "Unsupported get request", error_subcode=33)
                    return
                asked = {k: v for k, v in person.items() if k in fields}
                self._answer(200, {**asked, "id": object_id})
                return
            self._answer(200, {"id": "1234567890" if object_id == "me" else object_id})

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            data = form(self.headers.get("Content-Type", ""), self.rfile.read(length))
            path = urlsplit(self.path).path
            api.calls.append(Call("POST", path, data, self.headers.get("Authorization", "")))
            if self._refused():
                return
            if path.endswith("/media"):
                self._answer(200, {"id": f"uploaded-{len(api.calls)}"})
            elif path == f"/{VERSION}/me/messages":
                recipient = data["recipient"]
                if isinstance(recipient, str):
                    recipient = json.loads(recipient)
                self._answer(
                    200, {"recipient_id": recipient["id"], "message_id": f"m_{len(api.calls)}"}
                )
            elif path.endswith("/messages"):
                self._answer(
                    200,
                    {
                        "messaging_product": "whatsapp",
                        "contacts": [{"input": data.get("to"), "wa_id": data.get("to")}],
                        "messages": [{"id": f"wamid.sent{len(api.calls)}"}],
                    },
                )
            else:
                self._error(400, 100, "Unsupported post request")

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    api.url = f"http://127.0.0.1:{server.server_address[1]}"
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return api, server


def interactive(call: dict[str, Any]) -> dict[str, Any]:
    """The `interactive` object of a recorded WhatsApp message ({} for another kind)."""
    return dict(call.get("interactive") or {}) if call.get("type") == "interactive" else {}


def choices(call: dict[str, Any]) -> list[tuple[str, str]]:
    """The (payload, title) choices a recorded message offered: WhatsApp's reply buttons or
    list rows, Messenger's and Instagram's quick replies."""
    found = interactive(call)
    if found.get("type") == "button":
        return [(b["reply"]["id"], b["reply"]["title"]) for b in found["action"]["buttons"]]
    if found.get("type") == "list":
        rows = [row for section in found["action"]["sections"] for row in section["rows"]]
        return [(row["id"], row["title"]) for row in rows]
    message = call.get("message")
    if isinstance(message, dict):
        return [(q["payload"], q["title"]) for q in message.get("quick_replies") or []]
    return []


def wa_reply(payload: str, title: str, *, list_row: bool, sender: str, message_id: str) -> Any:
    """The webhook's message when a WhatsApp user picks a list row or presses a reply button."""
    kind = "list_reply" if list_row else "button_reply"
    return {
        "from": sender,
        "id": message_id,
        "timestamp": "1700000000",
        "type": "interactive",
        "interactive": {"type": kind, kind: {"id": payload, "title": title}},
    }


def quick_reply(payload: str, title: str, *, mid: str) -> dict[str, Any]:
    """The webhook's `message` when a Messenger or Instagram user taps a quick reply."""
    return {"mid": mid, "text": title, "quick_reply": {"payload": payload}}
