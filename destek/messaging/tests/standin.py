"""A stand-in for the Telegram Bot API on loopback: it answers the methods Destek calls the
way Telegram documents them, records every call, and can be told to refuse the token or fail."""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from email.parser import BytesParser
from email.policy import default as default_policy
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

PHOTO_BYTES = b"\xff\xd8\xff\xe0" + b"a photo of a broken screen" * 20


@dataclass
class BotApi:
    url: str = ""
    calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    #: An HTTP status every method answers with instead of success (401: a revoked token).
    fail_with: int | None = None
    files: dict[str, bytes] = field(default_factory=lambda: {"photos/file_7.jpg": PHOTO_BYTES})

    def sent(self, method: str) -> list[dict[str, Any]]:
        return [data for name, data in self.calls if name == method]


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
            if len(parts) == 4 and parts[1] == "file" and parts[3] in api.files:
                self._answer(200, api.files[parts[3]], "image/jpeg")
            else:
                self._answer(404, {"ok": False, "description": "Not Found"})

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            data = form(self.headers.get("Content-Type", ""), self.rfile.read(length))
            method = self.path.rsplit("/", 1)[-1]
            api.calls.append((method, data))
            if api.fail_with:
                description = "Unauthorized" if api.fail_with == 401 else "Bad Gateway"
                self._answer(api.fail_with, {"ok": False, "description": description})
                return
            if method == "getFile":
                result: Any = {
                    "file_id": data["file_id"],
                    "file_unique_id": "u7",
                    "file_size": len(PHOTO_BYTES),
                    "file_path": "photos/file_7.jpg",
                }
            elif method == "sendMessage":
                result = {
                    "message_id": len(api.calls),
                    "date": 1700000000,
                    "chat": {"id": data["chat_id"], "type": "private"},
                    "text": data["text"],
                }
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
