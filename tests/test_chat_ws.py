"""Live chat through real servers on loopback, with a real WebSocket client (`websockets`).

1. Production topology: a `destek ws` process (uvicorn) on PostgreSQL and Redis, this test as
   the web process writing the chat's events. `destek ws` is killed (SIGKILL) mid-chat while
   events keep coming, started again, and the client reconnects with the last number it saw:
   every event arrives exactly once, in order.
2. Embedded: `destek run` (one uvicorn process for pages, API and /ws/, SQLite, the channel
   layer in memory) serves the socket on the pages' own origin; events written by another
   process (as the worker's are) still reach it, from the database.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from channels.layers import channel_layers
from django.db import connection, connections, transaction
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import ClientConnection, connect

from destek.accounts.models import User
from destek.chat import access, events
from destek.chat.choices import EventType
from destek.chat.models import Chat
from destek.tickets.actions.intake import create_ticket
from destek.tickets.choices import Channel
from destek.tickets.models import Department

pytestmark = pytest.mark.slow

DESTEK = str(Path(sys.executable).parent / "destek")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for(condition: Callable[[], Any], seconds: float, what: str) -> Any:
    deadline = time.monotonic() + seconds
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() > deadline:
            pytest.fail(f"{what}: not within {seconds:.0f} s")
        time.sleep(0.1)


def answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def server_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    """Production settings (no DJANGO_SETTINGS_MODULE), a data folder of the test's own."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST", "DJANGO"))}
    env.update(
        {
            "DESTEK_DATA_DIR": str(tmp_path / "var"),
            "DESTEK_SECRET_KEY": "chat-ws-test-" + uuid.uuid4().hex,
            "HOST": "127.0.0.1",
            "DESTEK_LOG_LEVEL": "WARNING",
            "PYTHONUNBUFFERED": "1",
            **extra,
        }
    )
    return env


class Server:
    """One server process in its own process group, its output in a log file."""

    def __init__(self, argv: list[str], env: dict[str, str], folder: Path, name: str) -> None:
        self.argv, self.env, self.folder, self.name = argv, env, folder, name
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with open(self.folder / f"{self.name}.log", "ab") as log:
            self.process = subprocess.Popen(
                self.argv,
                env=self.env,
                cwd=self.folder,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def kill(self, how: int = signal.SIGKILL) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, how)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)

    def log(self) -> str:
        return (self.folder / f"{self.name}.log").read_text(errors="replace")


class Listener:
    """A client that keeps what it receives (in a thread), as a widget does."""

    def __init__(self, url: str) -> None:
        self.received: list[dict[str, Any]] = []
        self.lock = threading.Lock()
        self.stack = contextlib.ExitStack()
        self.socket: ClientConnection = self.stack.enter_context(connect(url, open_timeout=10))
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self) -> None:
        try:
            for frame in self.socket:
                event = json.loads(frame)
                if "seq" in event:
                    with self.lock:
                        self.received.append(event)
        except (ConnectionClosed, OSError):
            pass

    def seqs(self) -> list[int]:
        with self.lock:
            return [int(e["seq"]) for e in self.received]

    def last(self) -> int:
        seqs = self.seqs()
        return seqs[-1] if seqs else 0

    def gone(self) -> bool:
        return not self.thread.is_alive()

    def close(self) -> None:
        self.stack.close()
        self.thread.join(timeout=10)


def start_chat(customer: User) -> tuple[Chat, str]:
    ticket = create_ticket(
        customer=customer,
        subject="Chat",
        body="The printer prints blank pages.",
        channel=Channel.CHAT,
        department=Department.objects.get(slug="technical"),
    )
    raw, hashed = access.new_visitor_token()
    chat = Chat.objects.create(
        ticket=ticket, department=ticket.department, visitor=customer, visitor_token_hash=hashed
    )
    return chat, raw


def say(chat_id: int, body: str) -> int:
    with transaction.atomic():
        event = events.append(
            Chat.objects.get(pk=chat_id), EventType.MESSAGE, body=body, author="agent", name="A"
        )
    return event.seq


# --- 1. `destek ws` on PostgreSQL and Redis, killed mid-chat ------------------------------------


@pytest.fixture
def ws_server(
    transactional_db: None, tmp_path: Path, settings: Any
) -> Iterator[tuple[Server, int]]:
    database_url, redis_url = os.environ.get("DATABASE_URL", ""), os.environ.get("REDIS_URL", "")
    if not database_url.startswith("postgres") or not redis_url:
        pytest.skip("needs PostgreSQL (DATABASE_URL) and Redis (REDIS_URL)")
    # This test's process publishes as a web process does, under the prefix `destek ws`
    # listens to (its cache prefix, settings_base.py).
    prefix = f"chatws{uuid.uuid4().hex[:12]}"
    layer = settings.CHANNEL_LAYERS["default"]
    settings.CHANNEL_LAYERS = {"default": {**layer, "CONFIG": {**layer["CONFIG"]}}}
    settings.CHANNEL_LAYERS["default"]["CONFIG"]["prefix"] = f"{prefix}.ws."
    channel_layers.backends.clear()
    port = free_port()
    # The server reads the database the test writes: pytest-django's, committed.
    test_database = f"{database_url.rsplit('/', 1)[0]}/{connection.settings_dict['NAME']}"
    env = server_env(
        tmp_path,
        DATABASE_URL=test_database,
        REDIS_URL=redis_url,
        DESTEK_CACHE_PREFIX=prefix,
        DESTEK_WS_PORT=str(port),
        # The regular database check would hide a lost live event; this test wants to see
        # events come through Redis, and after a restart through the replay.
        DESTEK_CHAT_WS_CATCHUP_SECONDS="0",
    )
    server = Server([DESTEK, "ws"], env, tmp_path, "ws")
    try:
        yield server, port
    finally:
        server.kill(signal.SIGTERM)
        channel_layers.backends.clear()
        connections.close_all()


def test_killing_destek_ws_mid_chat_loses_and_duplicates_no_event(
    ws_server: tuple[Server, int], users: dict[str, User]
) -> None:
    server, port = ws_server
    chat, token = start_chat(users["customer"])
    url = f"ws://127.0.0.1:{port}/ws/chats/{chat.pk}?token={token}"

    def up() -> None:
        server.start()
        wait_for(lambda: answers(f"http://127.0.0.1:{port}/readyz"), 60, "destek ws")

    up()
    for n in range(1, 4):
        say(chat.pk, f"Before the socket {n}")
    visitor = Listener(f"{url}&after=0")
    wait_for(lambda: visitor.last() == 3, 10, "the replay of the first three")

    # A conversation goes on in its own thread (the web processes), before, during and after
    # the crash of `destek ws`.
    written: list[int] = []
    talking = threading.Event()
    talking.set()

    def talk() -> None:
        try:
            n = 0
            while talking.is_set():
                n += 1
                written.append(say(chat.pk, f"Live {n}"))
                time.sleep(0.05)
        finally:
            connections.close_all()

    writer = threading.Thread(target=talk)
    writer.start()
    try:
        wait_for(lambda: visitor.last() >= 15, 20, "live events through Redis")
        server.kill(signal.SIGKILL)
        wait_for(visitor.gone, 10, "the client noticing the crash")
        seen_before_crash = visitor.last()
        written_while_down = len(written)
        time.sleep(1)  # more events while nothing serves the socket
        assert len(written) > written_while_down
        up()
        again = Listener(f"{url}&after={seen_before_crash}")
        time.sleep(1)  # and more once it is back
    finally:
        talking.clear()
        writer.join(timeout=30)
    final = written[-1]
    wait_for(lambda: again.last() == final, 20, f"every event up to {final} after the restart")
    time.sleep(0.5)  # nothing after the last one, either
    visitor.close()
    again.close()

    received = visitor.seqs() + again.seqs()
    print(  # shown with -s
        f"{seen_before_crash} events heard before the crash, {written_while_down} written by "
        f"then, {final} in all; {len(again.seqs())} after reconnecting",
        flush=True,
    )
    assert received == list(range(1, final + 1)), "an event lost, repeated or out of order"
    bodies = [e["body"] for e in visitor.received + again.received]
    assert bodies[:3] == [f"Before the socket {n}" for n in (1, 2, 3)]
    assert bodies[3:] == [f"Live {n}" for n in range(1, final - 2)]
    # Live events came through the channel layer before the crash.
    assert seen_before_crash > 3
    # The server logged the sockets, not their token.
    assert "/ws/chats/" in server.log()
    assert token not in server.log()


# --- 2. `destek run`: one process, SQLite, the layer in memory --------------------------------


def shell(env: dict[str, str], folder: Path, code: str) -> str:
    done = subprocess.run(
        [DESTEK, "shell", "-c", code], env=env, cwd=folder, capture_output=True, timeout=120
    )
    assert done.returncode == 0, done.stderr.decode()
    return done.stdout.decode().strip()  # the last line is what the code printed


APPEND = """
from django.db import transaction
from destek.chat import events
from destek.chat.models import Chat
with transaction.atomic():
    e = events.append(Chat.objects.get(pk={chat}), "message", body={body!r}, author="agent")
print(e.seq)
"""

START = """
from destek.chat import access
from destek.chat.models import Chat
from destek.tickets.actions.intake import create_ticket
from destek.tickets.models import Department
from destek.accounts.models import User
customer = User.objects.get(email="customer@example.com")
ticket = create_ticket(customer=customer, subject="Chat", body="Hello", channel="chat",
                       department=Department.objects.get(slug="technical"))
raw, hashed = access.new_visitor_token()
chat = Chat.objects.create(ticket=ticket, department=ticket.department, visitor=customer,
                           visitor_token_hash=hashed)
print(chat.pk, raw)
"""


def test_make_run_serves_the_chat_socket_on_the_pages_own_origin(tmp_path: Path) -> None:
    port = free_port()
    env = server_env(tmp_path, PORT=str(port), DESTEK_DEMO="1", DESTEK_HUEY_NAME=f"ws{port}")
    for name in ("DATABASE_URL", "REDIS_URL"):
        env.pop(name, None)
    run = Server([DESTEK, "run"], env, tmp_path, "run")
    run.start()
    try:
        base = f"127.0.0.1:{port}"
        wait_for(lambda: answers(f"http://{base}/readyz"), 120, "destek run")
        wait_for(lambda: "Destek is running" in run.log(), 60, "the demo data")
        chat_id, token = shell(env, tmp_path, START).splitlines()[-1].split()
        shell(env, tmp_path, APPEND.format(chat=chat_id, body="Written before"))
        # A browser on a page of this server: its Origin is the server's own.
        url = f"ws://{base}/ws/chats/{chat_id}?token={token}&after=0"
        with connect(url, origin=f"http://{base}", open_timeout=10) as visitor:  # type: ignore[arg-type]
            first = json.loads(visitor.recv(timeout=10))
            assert (first["seq"], first["body"]) == (1, "Written before")
            # Written by another process (as the worker writes): the socket reads it from the
            # database within its regular check (2 s without Redis).
            shell(env, tmp_path, APPEND.format(chat=chat_id, body="Written elsewhere"))
            second = json.loads(visitor.recv(timeout=10))
            assert (second["seq"], second["body"]) == (2, "Written elsewhere")
        # Another site's page cannot open it.
        with (
            pytest.raises(InvalidStatus, match="403"),
            connect(url, origin="https://elsewhere.example", open_timeout=10),  # type: ignore[arg-type]
        ):
            pass
    finally:
        run.kill(signal.SIGINT)
