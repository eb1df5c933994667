"""A stand-in for the Telegram Bot API on loopback: it answers the methods Destek calls the
way Telegram documents them (uploads by sendPhoto/sendDocument as multipart/form-data, files
of photos, voice notes and videos through getFile), records every call with its files, and
can be told to refuse the token or fail, always or once per method."""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from email.parser import BytesParser
from email.policy import default as default_policy
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

PHOTO_BYTES = b"\xff\xd8\xff\xe0" + b"a photo of a broken screen" * 20
VOICE_BYTES = b"OggS\x00\x02" + b"a voice note about the invoice" * 20
#: What the stand-in says when told to fail with a status.
DESCRIPTIONS = {
    401: "Unauthorized",
    400: "Bad Request: PHOTO_INVALID_DIMENSIONS",
    403: "Forbidden: bot was blocked by the user",
}
VIDEO_BYTES = b"\x00\x00\x00\x18ftypmp42" + b"a video of the error" * 20


@dataclass
class BotApi:
    url: str = ""
    calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    #: An HTTP status every method answers with instead of success (401: a revoked token).
    fail_with: int | None = None
    #: The files getFile knows, by file id: their path and bytes. Any other id is the photo.
    remote: dict[str, tuple[str, bytes]] = field(
        default_factory=lambda: {
            "voice1": ("voice/file_8.oga", VOICE_BYTES),
            "video1": ("videos/file_9.mp4", VIDEO_BYTES),
            "note1": ("video_notes/file_10.mp4", VIDEO_BYTES),
        }
    )
    #: Methods that fail once with an HTTP status (then succeed): {"sendDocument": 502}.
    fail_once: dict[str, int] = field(default_factory=dict)
    #: Methods whose answer waits until their event is set (a slow API), and the event set
    #: when such a call has arrived.
    held: dict[str, threading.Event] = field(default_factory=dict)
    arrived: threading.Event = field(default_factory=threading.Event)

    def sent(self, method: str) -> list[dict[str, Any]]:
        return [data for name, data in self.calls if name == method]

    def file(self, file_id: str) -> tuple[str, bytes]:
        return self.remote.get(file_id, ("photos/file_7.jpg", PHOTO_BYTES))

    def by_path(self, path: str) -> bytes | None:
        return next((data for known, data in self.remote.values() if known == path), None) or (
            PHOTO_BYTES if path == "photos/file_7.jpg" else None
        )


def form(content_type: str, raw: bytes) -> dict[str, Any]:
    """A call's fields: JSON, or multipart/form-data (an upload: a file's field is a dict
    of its `filename`, `content_type` and `data`)."""
    if not content_type.startswith("multipart/form-data"):
        return dict(json.loads(raw or b"{}"))
    head = f"Content-Type: {content_type}\r\n\r\n".encode()
    message = BytesParser(policy=default_policy).parsebytes(head + raw)
    fields: dict[str, Any] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        body = part.get_payload(decode=True)
        if part.get_filename():
            fields[str(name)] = {
                "filename": part.get_filename(),
                "content_type": part.get_content_type(),
                "data": body,
            }
        else:
            fields[str(name)] = body.decode() if isinstance(body, bytes) else str(body)
    return fields


def start() -> tuple[BotApi, ThreadingHTTPServer]:
    api = BotApi()

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

        def do_GET(self) -> None:
            # /file/bot<token>/<file_path>
            parts = self.path.split("/", 3)
            data = api.by_path(parts[3]) if len(parts) == 4 and parts[1] == "file" else None
            if data is not None:
                self._answer(200, data, "application/octet-stream")
            else:
                self._answer(404, {"ok": False, "description": "Not Found"})

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            data = form(self.headers.get("Content-Type", ""), self.rfile.read(length))
            method = self.path.rsplit("/", 1)[-1]
            api.calls.append((method, data))
            gate = api.held.get(method)
            if gate is not None:
                api.arrived.set()
                gate.wait(3)
            failing = api.fail_with or api.fail_once.pop(method, None)
            if failing:
                description = DESCRIPTIONS.get(failing, "Bad Gateway")
                self._answer(failing, {"ok": False, "description": description})
                return
            sent = {
                "message_id": len(api.calls),
                "date": 1700000000,
                "chat": {"id": data.get("chat_id"), "type": "private"},
            }
            if method == "getFile":
                path, content = api.file(data["file_id"])
                result: Any = {
                    "file_id": data["file_id"],
                    "file_unique_id": "u" + data["file_id"],
                    "file_size": len(content),
                    "file_path": path,
                }
            elif method == "sendMessage":
                result = {**sent, "text": data["text"]}
            elif method == "sendPhoto":
                photo = {"file_id": "p", "file_unique_id": "p", "width": 1, "height": 1}
                result = {**sent, "photo": [photo]}
            elif method == "sendDocument":
                upload = data.get("document") or {}
                document = {"file_id": "d", "file_unique_id": "d"}
                result = {**sent, "document": {**document, "file_name": upload.get("filename")}}
            elif method == "getMe":
                result = {
                    "id": 1, "is_bot": True, "first_name": "Destek", "username": "allin_support_bot"
                }  # fmt: skip
            else:
                result = True
            self._answer(200, {"ok": True, "result": result})

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    api.url = f"http://127.0.0.1:{server.server_address[1]}"
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return api, server


def keyboard(call: dict[str, Any]) -> list[dict[str, Any]]:
    """The inline keyboard's buttons of a recorded sendMessage, row after row."""
    rows = (call.get("reply_markup") or {}).get("inline_keyboard") or []
    return [button for row in rows for button in row]


def button_press(
    data: str, *, update_id: int, user_id: int = 5551, message_id: int = 1, language: str = "en"
) -> dict[str, Any]:
    """The update Telegram posts when a user presses an inline keyboard's button."""
    person = {"id": user_id, "is_bot": False, "first_name": "Aysel", "language_code": language}
    return {
        "update_id": update_id,
        "callback_query": {
            "id": f"cb{update_id}",
            "from": person,
            "chat_instance": "-4242",
            "message": {
                "message_id": message_id,
                "date": 1700000000,
                "chat": {"id": user_id, "type": "private", "first_name": "Aysel"},
                "from": {"id": 1, "is_bot": True, "first_name": "Destek"},
                "text": "…",
            },
            "data": data,
        },
    }
