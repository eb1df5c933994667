"""Live chat in the production topology: `destek web` (granian) and `destek ws` (uvicorn) on
PostgreSQL with Redis as the channel layer, one `destek worker`, all on loopback.

    .venv/bin/python bench/chat.py                     # 1,000 visitors, 300 messages/s target
    CHAT_VISITORS=200 CHAT_RATE=100 CHAT_SECONDS=10 .venv/bin/python bench/chat.py

What it measures:
- held connections: CHAT_VISITORS visitors start a chat each (POST /api/v1/chats) and keep a
  WebSocket open on it (`/ws/chats/{id}?token=`); the ws process's memory before and after,
  per idle connection;
- delivery: agents accept CHAT_SERVED of those chats and listen on their sockets; the visitors
  of the served chats POST messages at CHAT_RATE a second for CHAT_SECONDS; each message is
  timed from the start of its POST to its `message` event on the agent's socket (end to end:
  HTTP, the ticket action's commit, the channel layer, the socket). Reported: messages
  delivered per second, p50 / p95 / p99, and what did not arrive.

Every loop is bounded by a count and a time limit; every server is stopped with its process
group. Results: bench/results/chat-<UTC timestamp>.json and bench/results/chat-latest.json.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import websockets

sys.path.insert(0, str(Path(__file__).resolve().parent))
from run import HOST, free_port, stop_group  # bench/run.py, beside this file

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
DESTEK = Path(sys.executable).parent / "destek"
PG_ADMIN_URL = f"postgres://postgres@{HOST}:5432/postgres"
DATABASE = "destek_bench_chat"
REDIS_URL = os.environ.get("BENCH_REDIS_URL", f"redis://{HOST}:6379/14")
VISITORS = int(os.environ.get("CHAT_VISITORS", "1000"))
SERVED = int(os.environ.get("CHAT_SERVED", "60"))
RATE = float(os.environ.get("CHAT_RATE", "300"))
SECONDS = float(os.environ.get("CHAT_SECONDS", "20"))
AGENTS = ("agent@example.com", "admin@example.com")
PASSWORD = "demo"  # noqa: S105  (the demo users' published password)
NOTE = (
    "Measured on a shared 2-core machine where the load generator, PostgreSQL, Redis and every "
    "Destek process share the cores: compare runs on the same machine only."
)


def log(line: str) -> None:
    print(f"[{datetime.now(UTC):%H:%M:%S}] {line}", flush=True)


def percentile(values: list[float], p: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(len(ordered) * p / 100))] * 1000, 1)


def rss_mib(pid: int) -> float:
    """Resident memory of a process and its children (uvicorn runs in the child)."""
    total = 0
    pids = [pid]
    with contextlib.suppress(FileNotFoundError):
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        pids += [int(c) for c in children]
    for p in pids:
        with contextlib.suppress(FileNotFoundError):
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
    return round(total / 1024, 1)


def environment(data_dir: Path, web_port: int, ws_port: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DESTEK_")}
    env.update(
        HOST=HOST,
        PORT=str(web_port),
        DESTEK_WS_PORT=str(ws_port),
        DESTEK_WEB_WORKERS="2",
        DESTEK_DATA_DIR=str(data_dir),
        DATABASE_URL=f"postgres://postgres@{HOST}:5432/{DATABASE}",
        REDIS_URL=REDIS_URL,
        DESTEK_HUEY_NAME="destek-bench-chat",
        DESTEK_EMAIL_BACKEND="django.core.mail.backends.dummy.EmailBackend",
        DESTEK_LOG_LEVEL="WARNING",
        DESTEK_ALLOWED_HOSTS=f"{HOST},localhost",
        DJANGO_SETTINGS_MODULE="destek.settings",
        PYTHONUNBUFFERED="1",
        # Many visitors from one address, many chats per agent: limits raised, not removed.
        DESTEK_CHAT_MAX_PER_AGENT="10000",
        DESTEK_CHAT_MAX_QUEUE="100000",
        DESTEK_CHAT_STARTS_PER_HOUR="1000000",
        DESTEK_CHAT_STARTS_PER_IP_HOUR="1000000",
        DESTEK_CHAT_MESSAGES_PER_MINUTE="1000000",
        DESTEK_CHAT_MESSAGES_PER_IP_MINUTE="1000000",
        DESTEK_CHAT_SOCKETS_PER_ADDRESS="1000000",
        DESTEK_TICKETS_PER_HOUR="1000000",
        DESTEK_MESSAGES_PER_HOUR="1000000",
    )
    return env


@contextlib.contextmanager
def process(
    argv: list[str], env: dict[str, str], log_path: Path
) -> Iterator[subprocess.Popen[bytes]]:
    with log_path.open("wb") as out:
        proc = subprocess.Popen(
            argv, env=env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
        try:
            yield proc
        finally:
            stop_group(proc)


def wait_until(check: Any, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with contextlib.suppress(Exception):
            if check():
                return
        time.sleep(0.25)
    raise RuntimeError(f"{what} did not answer within {seconds:.0f} s")


async def start_chats(base: str, count: int) -> list[dict[str, Any]]:
    """`count` anonymous visitors start a chat each, 16 at a time."""
    chats: list[dict[str, Any]] = []
    failures: dict[str, int] = {}
    limit = asyncio.Semaphore(16)

    async def one(http: httpx.AsyncClient, i: int) -> None:
        async with limit:
            answer = await http.post(
                "/api/v1/chats",
                json={
                    "body": f"Visitor {i}: my invoice {100000 + i} shows the wrong VAT rate.",
                    "name": f"Visitor {i}",
                    "email": f"visitor{i}@bench.example",
                    "department": "technical",
                },
            )
            if answer.status_code == 201:
                chats.append(answer.json())
            else:
                failures[str(answer.status_code)] = failures.get(str(answer.status_code), 0) + 1

    async with httpx.AsyncClient(base_url=base, timeout=60) as http:
        await asyncio.gather(*(one(http, i) for i in range(count)))
    if failures:
        log(f"  chats refused: {failures}")
    return chats


async def run(base: str, ws_base: str, ws_pid: int) -> dict[str, Any]:
    result: dict[str, Any] = {"visitors": VISITORS, "served": SERVED, "rate": RATE}
    async with httpx.AsyncClient(base_url=base, timeout=60) as http:
        tokens = []
        for email in AGENTS:
            answer = await http.post(
                "/api/v1/auth/token", json={"email": email, "password": PASSWORD}
            )
            answer.raise_for_status()
            tokens.append(answer.json()["token"])
            presence = await http.put(
                "/api/v1/agents/me/presence",
                json={"status": "online"},
                headers={"Authorization": f"Bearer {tokens[-1]}"},
            )
            presence.raise_for_status()

    started = time.monotonic()
    chats = await start_chats(base, VISITORS)
    result["chats_started"] = len(chats)
    result["chat_start_per_second"] = round(len(chats) / (time.monotonic() - started), 1)
    log(f"  {len(chats)} chats started, {result['chat_start_per_second']}/s")

    idle = rss_mib(ws_pid)
    sockets = []
    for chat in chats:
        url = f"{ws_base}/ws/chats/{chat['id']}?token={chat['visitor_token']}&after=0"
        sockets.append(await websockets.connect(url, open_timeout=30, max_queue=None))
    await asyncio.sleep(2)
    held = rss_mib(ws_pid)
    result["connections_held"] = sum(1 for s in sockets if s.state.name == "OPEN")
    result["ws_rss_mib_before"] = idle
    result["ws_rss_mib_after"] = held
    result["kib_per_connection"] = round((held - idle) * 1024 / max(1, len(sockets)), 1)
    log(f"  {result['connections_held']} sockets held; ws {idle} → {held} MiB")

    # Agents accept the first SERVED chats and listen on them.
    served = chats[:SERVED]
    sent_at: dict[str, float] = {}
    latencies: list[float] = []
    listeners = []
    async with httpx.AsyncClient(base_url=base, timeout=60) as http:
        for token in tokens:  # the heartbeat: agents not heard from for a minute go offline
            await http.put(
                "/api/v1/agents/me/presence",
                json={"status": "online"},
                headers={"Authorization": f"Bearer {token}"},
            )
        for i, chat in enumerate(served):
            token = tokens[i % len(tokens)]
            answer = await http.post(
                f"/api/v1/chats/{chat['id']}/accept", headers={"Authorization": f"Bearer {token}"}
            )
            answer.raise_for_status()
            last = 0
            events = await http.get(
                f"/api/v1/chats/{chat['id']}/events",
                headers={"Authorization": f"Bearer {token}"},
            )
            if events.status_code == 200 and events.json()["events"]:
                last = events.json()["events"][-1]["seq"]
            url = f"{ws_base}/ws/chats/{chat['id']}?token={token}&after={last}"
            listeners.append(await websockets.connect(url, open_timeout=30, max_queue=None))

    async def listen(ws: Any) -> None:
        with contextlib.suppress(Exception):
            async for frame in ws:
                event = json.loads(frame)
                if event.get("type") == "message" and event.get("author") == "visitor":
                    mark = str(event.get("body", "")).rsplit("#", 1)[-1]
                    if mark in sent_at:
                        latencies.append(time.monotonic() - sent_at.pop(mark))

    listening = [asyncio.create_task(listen(ws)) for ws in listeners]
    failures: dict[str, int] = {}
    posted = 0
    limit = asyncio.Semaphore(64)

    async def post(http: httpx.AsyncClient, chat: dict[str, Any], n: int) -> None:
        nonlocal posted
        async with limit:
            mark = f"m{n}"
            sent_at[mark] = time.monotonic()
            try:
                answer = await http.post(
                    f"/api/v1/chats/{chat['id']}/messages",
                    json={"body": f"Still broken, attempt {n} #{mark}"},
                    headers={"X-Chat-Token": chat["visitor_token"]},
                )
                code = str(answer.status_code)
            except httpx.HTTPError as exc:
                code = type(exc).__name__
            if code == "201":
                posted += 1
            else:
                sent_at.pop(mark, None)
                failures[code] = failures.get(code, 0) + 1

    log(f"  sending at {RATE:.0f}/s for {SECONDS:.0f} s to {len(served)} served chats")
    tasks = []
    async with httpx.AsyncClient(base_url=base, timeout=60) as http:
        begin = time.monotonic()
        n = 0
        while (now := time.monotonic()) - begin < SECONDS:
            due = int((now - begin) * RATE)
            while n < due:
                tasks.append(asyncio.create_task(post(http, served[n % len(served)], n)))
                n += 1
            await asyncio.sleep(0.002)
        await asyncio.gather(*tasks)
        sending = time.monotonic() - begin
    await asyncio.sleep(3)  # the last events in flight
    for task in listening:
        task.cancel()
    for ws in [*sockets, *listeners]:
        with contextlib.suppress(Exception):
            await ws.close()
    result.update(
        messages_offered=n,
        messages_accepted=posted,
        refused=failures,
        delivered=len(latencies),
        lost=posted - len(latencies),
        seconds=round(sending, 2),
        delivered_per_second=round(len(latencies) / sending, 1),
        p50_ms=percentile(latencies, 50),
        p95_ms=percentile(latencies, 95),
        p99_ms=percentile(latencies, 99),
    )
    return result


def main() -> None:
    subprocess.run(
        [
            "psql",
            PG_ADMIN_URL,
            "-qc",
            f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)",
            "-c",
            f"CREATE DATABASE {DATABASE}",
        ],
        check=True,
    )
    with tempfile.TemporaryDirectory(prefix="destek-bench-chat-") as tmp:
        data = Path(tmp)
        web_port, ws_port = free_port(), free_port()
        env = environment(data, web_port, ws_port)
        subprocess.run(["redis-cli", "-u", REDIS_URL, "FLUSHDB"], check=False, capture_output=True)
        log("migrate and demo data")
        subprocess.run([DESTEK, "migrate", "-v0"], env=env, check=True, capture_output=True)
        subprocess.run([DESTEK, "demo"], env=env, check=True, capture_output=True)
        base, ws_base = f"http://{HOST}:{web_port}", f"ws://{HOST}:{ws_port}"
        with (
            process([str(DESTEK), "web"], env, data / "web.log"),
            process([str(DESTEK), "ws"], env, data / "ws.log") as ws,
            process([str(DESTEK), "worker"], env, data / "worker.log"),
        ):
            wait_until(lambda: httpx.get(f"{base}/livez", timeout=2).status_code == 200, 90, "web")
            wait_until(
                lambda: socket.create_connection((HOST, ws_port), 1).close() is None, 90, "ws"
            )
            try:
                result = asyncio.run(run(base, ws_base, ws.pid))
            except Exception:
                for name in ("web", "ws", "worker"):
                    tail = (data / f"{name}.log").read_text(errors="replace")[-3000:]
                    print(f"--- {name}.log ---\n{tail}", file=sys.stderr)
                raise
            result["ws_log_tail"] = (data / "ws.log").read_text(errors="replace")[-1500:]
        subprocess.run(["redis-cli", "-u", REDIS_URL, "FLUSHDB"], check=False, capture_output=True)
    result.update(
        when=datetime.now(UTC).isoformat(timespec="seconds"),
        load=os.getloadavg(),
        note=NOTE,
    )
    RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    for name in (f"chat-{stamp}.json", "chat-latest.json"):
        (RESULTS / name).write_text(json.dumps(result, indent=2) + "\n")
    shown = {k: v for k, v in result.items() if k != "ws_log_tail"}
    print(json.dumps(shown, indent=2))
    log(f"results: bench/results/chat-{stamp}.json")


if __name__ == "__main__":
    main()
