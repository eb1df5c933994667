"""The real topology on loopback: `destek web` and `destek worker` processes, a real SMTP peer.

A customer files a ticket over HTTP; the worker delivers the confirmation through SMTP. Runs
on SQLite, and on PostgreSQL with Huey on Redis when DATABASE_URL and REDIS_URL are set.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiosmtpd.controller import Controller

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Sink:
    def __init__(self) -> None:
        self.messages: list[Any] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(envelope)
        return "250 OK"


@pytest.fixture
def smtp() -> Iterator[tuple[Sink, int]]:
    sink = Sink()
    port = free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    yield sink, port
    controller.stop()


def fresh_postgres(url: str) -> str:
    """A database of its own for this run, so the servers never see the test database."""
    import psycopg

    name = f"destek_e2e_{os.getpid()}"
    base = url.rsplit("/", 1)[0]
    with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')
    return f"{base}/{name}"


@pytest.fixture
def stack(tmp_path: Path, smtp: tuple[Sink, int]) -> Iterator[dict[str, Any]]:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST", "DJANGO"))}
    env.update(
        {
            "DESTEK_DATA_DIR": str(tmp_path / "var"),
            "DESTEK_DEMO": "1",
            "DESTEK_SMTP_HOST": "127.0.0.1",
            "DESTEK_SMTP_PORT": str(smtp[1]),
            "DESTEK_HUEY_IMMEDIATE": "0",
            "DESTEK_HUEY_NAME": f"destek-e2e-{os.getpid()}",
            "HOST": "127.0.0.1",
            "PORT": str(port),
            "DESTEK_WEB_WORKERS": "1",
        }
    )
    if os.environ.get("DATABASE_URL"):
        env["DATABASE_URL"] = fresh_postgres(os.environ["DATABASE_URL"])
    destek = str(BIN / "destek")
    subprocess.run([destek, "migrate", "--noinput", "-v0"], env=env, check=True, cwd=tmp_path)
    subprocess.run([destek, "demo"], env=env, check=True, cwd=tmp_path, capture_output=True)
    processes = [
        subprocess.Popen([destek, "web"], env=env, cwd=tmp_path, start_new_session=True),
        subprocess.Popen(
            [destek, "worker", "--workers", "1"], env=env, cwd=tmp_path, start_new_session=True
        ),
    ]
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.3)
        else:
            pytest.fail("the web server did not come up in 60 s")
        yield {"base": base, "sink": smtp[0], "env": env}
    finally:
        for process in processes:
            os.killpg(process.pid, signal.SIGTERM)
        for process in processes:
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
        shutil.rmtree(tmp_path / "var", ignore_errors=True)


def wait_for(condition: Any, seconds: float = 60) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.25)
    return False


def test_a_ticket_filed_over_http_is_confirmed_by_mail_through_the_worker(
    stack: dict[str, Any],
) -> None:
    base, sink = stack["base"], stack["sink"]
    token = httpx.post(
        f"{base}/api/v1/auth/token", json={"email": "customer@example.com", "password": "demo"}
    ).json()["token"]
    headers = {"Authorization": f"Bearer {token}", "Accept-Language": "en"}
    response = httpx.post(
        f"{base}/api/v1/tickets",
        headers=headers,
        json={
            "subject": "Invoice page shows error 500",
            "body": "Since this morning the invoice page fails.",
        },
    )
    assert response.status_code == 201, response.text
    number = response.json()["number"]

    def confirmed() -> bool:
        return any(
            b"customer@example.com" in b"".join(m.rcpt_tos[0].encode().split())
            and f"#{number}".encode() in m.content
            for m in sink.messages
        )

    assert wait_for(confirmed), "the worker delivered no confirmation mail"
    assert wait_for(
        lambda: httpx.get(f"{base}/healthz").json()["worker_heartbeat_age_seconds"] is not None
    ), "the worker never reported a heartbeat"
    raw = next(m.content for m in sink.messages if f"#{number}".encode() in m.content)
    assert b"Auto-Submitted: auto-generated" in raw
