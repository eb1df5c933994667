"""A small SMS gateway on loopback for the tests: records each request, answers as told."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit


@dataclass
class Received:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Gateway:
    url: str = ""
    requests: list[Received] = field(default_factory=list)
    #: Statuses to answer with, first in first out; 200 once they run out.
    statuses: list[int] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def answer(self, *statuses: int) -> None:
        with self.lock:
            self.statuses.extend(statuses)

    def texts(self) -> list[str]:
        return [str(r.json()["text"]) for r in self.requests]

    def to(self, number: str) -> list[Received]:
        return [r for r in self.requests if r.json().get("to") == number]


def _handler(gateway: Gateway) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            parts = urlsplit(self.path)
            with gateway.lock:
                gateway.requests.append(
                    Received(
                        method=self.command,
                        path=parts.path,
                        query=dict(parse_qsl(parts.query)),
                        headers={k.lower(): v for k, v in self.headers.items()},
                        body=self.rfile.read(length),
                    )
                )
                status = gateway.statuses.pop(0) if gateway.statuses else 200
            payload = json.dumps({"ok": 200 <= status < 300}).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        do_GET = do_POST = do_PUT = _serve

        def log_message(self, format: str, *args: Any) -> None:
            pass  # quiet test output

    return Handler


@contextmanager
def running_gateway(settings: Any) -> Iterator[Gateway]:
    """Serve on 127.0.0.1 only (a free port), point the settings at it, stop afterwards."""
    gateway = Gateway()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(gateway))
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    host, port = server.server_address[:2]
    assert host == "127.0.0.1"
    gateway.url = f"http://127.0.0.1:{port}/send"
    settings.DESTEK_SMS_GATEWAY_URL = gateway.url
    settings.DESTEK_SMS_GATEWAY_METHOD = "POST"
    settings.DESTEK_SMS_GATEWAY_BODY = '{"to": "{to}", "text": "{text}"}'
    settings.DESTEK_SMS_GATEWAY_AUTH_HEADER = "Authorization: Bearer test-token"
    settings.DESTEK_SMS_SENDER = "Destek"
    settings.DESTEK_SMS_TIMEOUT = 5
    try:
        yield gateway
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
