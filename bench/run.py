"""Destek benchmark: ticket creation and the agent queue through the real API, on SQLite and
PostgreSQL, with the production web server (`destek web`: granian, WSGI) on loopback; then the
production topology (PostgreSQL and Redis): creation at 16 clients, inbound mail in one process,
and the desk at 1,000,000 tickets with the time `destek seed` takes to get there.

    .venv/bin/python bench/run.py            # everything (see bench/README.md for the time)
    .venv/bin/python bench/run.py --quick    # smaller counts; no 1,000,000-ticket database
    .venv/bin/python bench/run.py --only sqlite
    .venv/bin/python bench/run.py --only big --big 1000000 --big-fresh

Every loop is bounded (a request count and a time limit), every address is 127.0.0.1, and every
server is stopped (its whole process group) whatever happens. Results go to
bench/results/<UTC timestamp>.json and bench/results/latest.json; see bench/README.md.

`run.py inprocess ...` is the same file run inside Django (a subprocess with the benchmark's
environment): it creates the benchmark customers and counts SQL queries per request.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import random
import re
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
BIN = Path(sys.executable).parent
DESTEK = BIN / "destek"
HOST = "127.0.0.1"
PG_PORT = 5432
PG_ADMIN_URL = f"postgres://postgres@{HOST}:{PG_PORT}/postgres"
PG_BENCH_DB = "destek_bench"
REDIS_PORT = 6379
# A Redis database the benchmark may empty: FLUSHDB before and after the production run.
REDIS_BENCH_URL = os.environ.get("BENCH_REDIS_URL", f"redis://{HOST}:{REDIS_PORT}/14")
SUPPORT_ADDRESS = "support@destek.localhost"
AGENT = "agent@example.com"
PASSWORD = "demo"  # noqa: S105  (the demo users' published password)
BENCH_CUSTOMER = "bench-customer-{:02d}@example.test"
# Per-customer and per-address limits would refuse (429) or skip (no mail) most of the
# benchmark's traffic: 8 customers file hundreds of tickets a minute. Raised, not removed, so
# that their checks still cost what they cost.
RAISED_LIMITS = {
    "DESTEK_TICKETS_PER_HOUR": "1000000",
    "DESTEK_MESSAGES_PER_HOUR": "1000000",
    "DESTEK_AUTOMAIL_PER_HOUR": "1000000",
    "DESTEK_AUTOMAIL_PER_DAY": "1000000",
    "DESTEK_MAIL_PER_SENDER_PER_HOUR": "1000000",
}
NOTE = (
    "Measured on a shared, noisy machine (other jobs run beside it): compare runs on the same "
    "machine only, and treat differences under ~20% as noise."
)


@dataclass
class Plan:
    clients: int
    create_requests: int
    create_seconds: float
    tiers: list[int]
    list_requests: int
    deep_pages: int
    server_workers: int
    # The production topology (PostgreSQL + Redis): creation in rounds, the median reported.
    prod_clients: int
    prod_rounds: int
    prod_requests: int  # per round
    prod_seconds: float  # per round
    mail_count: int
    mail_seconds: float
    # The desk at a large size (0: skipped), on a database kept between runs.
    big: int
    big_requests: int
    big_seconds: float  # per page


def plan_for(args: argparse.Namespace) -> Plan:
    quick = args.quick
    return Plan(
        clients=args.clients,
        create_requests=300 if quick else 1500,
        create_seconds=30.0,
        tiers=[2_000, 10_000] if quick else [10_000, 100_000],
        list_requests=300,
        deep_pages=20,
        server_workers=args.workers,
        prod_clients=args.prod_clients,
        prod_rounds=1 if quick else 3,
        prod_requests=500 if quick else 3000,
        prod_seconds=10.0 if quick else 20.0,
        mail_count=200 if quick else 1000,
        mail_seconds=30.0 if quick else 60.0,
        big=args.big if args.big is not None else (0 if quick else 1_000_000),
        big_requests=200,
        big_seconds=60.0,
    )


# --- helpers --------------------------------------------------------------------------------


def log(line: str) -> None:
    print(line, flush=True)


def percentile(values: list[float], p: float) -> float | None:
    """Nearest-rank percentile; None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(p / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


def ms(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds * 1000, 2)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def port_open(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.settimeout(1.0)
        return s.connect_ex((HOST, port)) == 0


def run_destek(env: dict[str, str], *args: str, timeout: float = 3600) -> float:
    """Run a `destek` command with the benchmark's environment; return its wall time."""
    started = time.monotonic()
    result = subprocess.run(
        [str(DESTEK), *args],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"destek {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
    return time.monotonic() - started


def inprocess(env: dict[str, str], *args: str) -> Any:
    """Run `run.py inprocess ...` inside Django with `env`; return its JSON answer."""
    result = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), "inprocess", *args],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"inprocess {' '.join(args)} failed:\n{result.stderr}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def base_env(
    data_dir: Path,
    port: int,
    workers: int,
    database_url: str | None,
    redis_url: str | None = None,
) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("DESTEK_") and k not in ("DATABASE_URL", "REDIS_URL")
    }
    env.update(
        PORT=str(port),
        HOST=HOST,
        DESTEK_WEB_WORKERS=str(workers),
        DESTEK_DATA_DIR=str(data_dir),
        DESTEK_EMAIL_BACKEND="django.core.mail.backends.dummy.EmailBackend",
        DESTEK_HUEY_IMMEDIATE="0",
        DESTEK_LOG_LEVEL="WARNING",
        DESTEK_ALLOWED_HOSTS=f"{HOST},localhost,testserver",
        DJANGO_SETTINGS_MODULE="destek.settings",
        PYTHONUNBUFFERED="1",
    )
    env.update(RAISED_LIMITS)
    if database_url:
        env["DATABASE_URL"] = database_url
    if redis_url:
        # Cache and queue on Redis, as in production; jobs are queued there, no worker runs.
        env.update(REDIS_URL=redis_url, DESTEK_HUEY_NAME="destek-bench")
    return env


def pg_url(name: str) -> str:
    return f"postgres://postgres@{HOST}:{PG_PORT}/{name}"


def recreate_postgres_database(name: str = PG_BENCH_DB) -> str:
    import psycopg

    with psycopg.connect(PG_ADMIN_URL, autocommit=True, connect_timeout=5) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {name}")
        row = conn.execute("SHOW server_version").fetchone()
    return str(row[0]) if row else "?"


def postgres_database_note(name: str) -> str | None:
    """The comment on database `name` (None: no such database, "": no comment)."""
    import psycopg

    with psycopg.connect(PG_ADMIN_URL, autocommit=True, connect_timeout=5) as conn:
        row = conn.execute(
            "SELECT coalesce(shobj_description(oid, 'pg_database'), '') FROM pg_database"
            " WHERE datname = %s",
            [name],
        ).fetchone()
    return None if row is None else str(row[0])


def redis_flush(url: str) -> None:
    import redis

    client = redis.Redis.from_url(url, socket_timeout=5)
    try:
        client.flushdb()
    finally:
        client.close()


def postgres_analyze(database_url: str) -> None:
    """After a bulk load, as autovacuum would shortly do on its own."""
    import psycopg

    with psycopg.connect(database_url, autocommit=True, connect_timeout=5) as conn:
        conn.execute("ANALYZE")


@contextlib.contextmanager
def server(env: dict[str, str], log_path: Path) -> Iterator[str]:
    """`destek web` in its own process group; stopped with the whole group on exit."""
    base = f"http://{HOST}:{env['PORT']}"
    with log_path.open("wb") as out:
        proc = subprocess.Popen(
            [str(DESTEK), "web"],
            env=env,
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            deadline = time.monotonic() + 90
            while True:
                if proc.poll() is not None:
                    raise RuntimeError(
                        f"server exited with {proc.returncode}:\n"
                        + log_path.read_text(errors="replace")[-3000:]
                    )
                try:
                    if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError(
                        "server did not answer /healthz within 90 s:\n"
                        + log_path.read_text(errors="replace")[-3000:]
                    )
                time.sleep(0.25)
            yield base
        finally:
            stop_group(proc)


def stop_group(proc: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
    # Workers may outlive the main process for a moment; make sure none is left.
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)


def token(base: str, email: str) -> str:
    response = httpx.post(
        f"{base}/api/v1/auth/token", json={"email": email, "password": PASSWORD}, timeout=30
    )
    response.raise_for_status()
    return str(response.json()["token"])


# --- what the benchmark customers write -----------------------------------------------------
# Each ticket gets its own subject and body: the intake rules refuse near-duplicates of the
# same customer's open tickets, so the combinations must rarely meet twice.

COMPONENTS = (
    "Webmail",
    "Control panel",
    "DNS zone editor",
    "SSL certificate",
    "FTP account",
    "Nightly database backup",
    "Invoice page",
    "Card payment form",
    "Mailbox quota",
    "Company website",
    "API key page",
    "VPS console",
    "Domain transfer",
    "SMS gateway",
    "Cron job",
    "PHP version switch",
    "Password reset link",
    "Two-factor login",
)
SYMPTOMS = (
    "returns error 500",
    "times out after login",
    "shows a blank page",
    "rejects my password",
    "is extremely slow",
    "stopped working after the update",
    "shows the wrong amount",
    "does not save changes",
    "sends duplicate emails",
    "cannot be renewed",
    "redirects in a loop",
    "reports a disk quota error",
    "logs me out every minute",
)
SENTENCES = (
    "It started at {h:02d}:{m:02d} today and happens on every attempt.",
    "We changed nothing on our side since order {n} was delivered.",
    "Our accountant needs this fixed before the invoice {n} is due.",
    "The browser console shows a request to /api/{w} failing with status {s}.",
    "I tried Firefox and Chrome on two computers, same result.",
    "About {k} of our staff are affected, the others can still work.",
    "Clearing the cache and cookies did not help.",
    "The error mentions reference code {n}-{k}.",
    "Last week the same thing happened and it went away after an hour.",
    "Our customers are calling us about it, so it is hurting sales.",
    "We are on the business plan, contract {n}.",
    "The problem appeared right after the maintenance window on day {k}.",
    "A screenshot would show the message in red at the top of the page.",
    "Only the mailbox {w}@ourcompany.az is affected.",
    "Could you tell me whether this is a known outage?",
    "The log line says: worker {k} exited with code {s}.",
    "We need this for the audit on {h:02d}.{m:02d}.",
    "It works from the office network but not from mobile data.",
)
WORDS = ("sales", "billing", "orders", "reports", "sync", "export", "hr", "stock", "crm")


def ticket_text(rng: random.Random) -> dict[str, str]:
    host = f"{rng.choice(WORDS)}{rng.randint(1, 9999)}.az"
    subject = f"{rng.choice(COMPONENTS)} {rng.choice(SYMPTOMS)} on {host}"
    values = {
        "h": rng.randint(0, 23),
        "m": rng.randint(0, 59),
        "n": rng.randint(10000, 999999),
        "k": rng.randint(2, 40),
        "s": rng.choice((500, 502, 503, 504, 403)),
        "w": rng.choice(WORDS),
    }
    body = " ".join(s.format(**values) for s in rng.sample(SENTENCES, 4))
    return {"subject": subject, "body": body}


# --- measurements ---------------------------------------------------------------------------


@dataclass
class Timings:
    latencies: list[float] = field(default_factory=list)
    codes: Counter[str] = field(default_factory=Counter)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, seconds: float, code: str) -> None:
        with self.lock:
            self.latencies.append(seconds)
            self.codes[code] += 1


def measure_creation(base: str, tokens: list[str], requests: int, seconds: float) -> dict[str, Any]:
    """One thread per token POSTs distinct tickets until `requests` or `seconds` run out."""
    clients = len(tokens)
    timings = Timings()
    issued = 0
    issued_lock = threading.Lock()
    ready = threading.Barrier(clients + 1)
    deadline = [0.0]

    def take() -> bool:
        nonlocal issued
        with issued_lock:
            if issued >= requests or time.monotonic() > deadline[0]:
                return False
            issued += 1
            return True

    def client(index: int) -> None:
        rng = random.Random(f"{index}-{time.time_ns()}")
        headers = {"Authorization": f"Bearer {tokens[index]}", "Accept-Language": "en"}
        with httpx.Client(base_url=base, headers=headers, timeout=60) as http:
            http.get("/api/v1/auth/me")  # warm the connection and the worker
            ready.wait()
            while take():
                started = time.perf_counter()
                try:
                    response = http.post("/api/v1/tickets", json=ticket_text(rng))
                    code = str(response.status_code)
                    if response.status_code == 422:
                        code = f"422 {response.json().get('code')}"
                except httpx.HTTPError as exc:
                    code = type(exc).__name__
                timings.add(time.perf_counter() - started, code)

    threads = [threading.Thread(target=client, args=(i,), daemon=True) for i in range(clients)]
    for t in threads:
        t.start()
    # The deadline is set before the clients are released: they read it on their first take().
    deadline[0] = time.monotonic() + 120 + seconds
    ready.wait(timeout=120)
    started = time.monotonic()
    deadline[0] = started + seconds
    cpu_before = time.process_time()
    for t in threads:
        t.join(timeout=seconds + 120)
    elapsed = time.monotonic() - started
    client_cpu = time.process_time() - cpu_before
    ok = timings.codes.get("201", 0)
    # Latencies of every request, refused ones included: they are work the server did.
    latencies = timings.latencies
    return {
        "clients": clients,
        "requests": sum(timings.codes.values()),
        "created": ok,
        "errors": sum(n for c, n in timings.codes.items() if c != "201"),
        "status_codes": dict(timings.codes),
        "seconds": round(elapsed, 2),
        "tickets_per_second": round(ok / elapsed, 1) if elapsed else None,
        "p50_ms": ms(percentile(latencies, 50)),
        "p95_ms": ms(percentile(latencies, 95)),
        "p99_ms": ms(percentile(latencies, 99)),
        # The clients share the machine's cores with the server and the database.
        "client_cpu_seconds": round(client_cpu, 2),
        "_latencies": latencies,  # for the caller to pool rounds; not written out
    }


def measure_ceiling(base: str, tokens: list[str], path: str, seconds: float) -> dict[str, Any]:
    """The same clients GETting `path` as fast as the server answers: what this machine and
    server carry for a request that writes nothing, the ceiling creation is read against."""
    clients = len(tokens)
    timings = Timings()
    ready = threading.Barrier(clients + 1)
    deadline = [time.monotonic() + 120 + seconds]

    def client(index: int) -> None:
        headers = {"Authorization": f"Bearer {tokens[index]}", "Accept-Language": "en"}
        with httpx.Client(base_url=base, headers=headers, timeout=60) as http:
            http.get(path)
            ready.wait()
            while time.monotonic() < deadline[0]:
                started = time.perf_counter()
                try:
                    code = str(http.get(path).status_code)
                except httpx.HTTPError as exc:
                    code = type(exc).__name__
                timings.add(time.perf_counter() - started, code)

    threads = [threading.Thread(target=client, args=(i,), daemon=True) for i in range(clients)]
    for t in threads:
        t.start()
    ready.wait(timeout=120)
    started = time.monotonic()
    deadline[0] = started + seconds
    for t in threads:
        t.join(timeout=seconds + 120)
    elapsed = time.monotonic() - started
    ok = timings.codes.get("200", 0)
    return {
        "path": path,
        "clients": clients,
        "requests_per_second": round(ok / elapsed, 1) if elapsed else None,
        "errors": sum(n for c, n in timings.codes.items() if c != "200"),
        "p50_ms": ms(percentile(timings.latencies, 50)),
        "p95_ms": ms(percentile(timings.latencies, 95)),
    }


def measure_list(
    http: httpx.Client, path: str | list[str], count: int, seconds: float = 180.0
) -> dict[str, Any]:
    """`count` sequential GETs of `path` (or of the paths in turn) after a short warm-up,
    stopping early when `seconds` have passed."""
    paths = [path] if isinstance(path, str) else path
    for i in range(10):
        http.get(paths[i % len(paths)])
    latencies: list[float] = []
    codes: Counter[str] = Counter()
    deadline = time.monotonic() + seconds
    for i in range(count):
        if time.monotonic() > deadline:
            break
        started = time.perf_counter()
        try:
            response = http.get(paths[i % len(paths)])
            codes[str(response.status_code)] += 1
        except httpx.HTTPError as exc:
            codes[type(exc).__name__] += 1
        latencies.append(time.perf_counter() - started)
    return {
        "requests": len(latencies),
        "errors": sum(n for c, n in codes.items() if c != "200"),
        "status_codes": dict(codes),
        "p50_ms": ms(percentile(latencies, 50)),
        "p95_ms": ms(percentile(latencies, 95)),
        "p99_ms": ms(percentile(latencies, 99)),
    }


def page_client(base: str, email: str) -> httpx.Client:
    """A browser-like session: signed in through the sign-in form, CSRF cookie and all."""
    http = httpx.Client(base_url=base, headers={"Accept-Language": "en"}, timeout=60)
    http.get("/sign-in/")
    answer = http.post(
        "/sign-in/",
        data={
            "email": email,
            "password": PASSWORD,
            "csrfmiddlewaretoken": http.cookies.get("csrftoken", ""),
        },
    )
    if answer.status_code != 302:
        raise RuntimeError(f"sign-in as {email} failed: {answer.status_code}")
    return http


def page_paths(targets: dict[str, Any]) -> dict[str, tuple[str, str]]:
    """Each measured page: who looks at it, and its path."""
    return {
        "desk_queue": (AGENT, "/desk/"),
        "desk_ticket": (AGENT, f"/desk/tickets/{targets['agent_ticket']}/"),
        "portal_tickets": (targets["customer"], "/my/tickets/"),
        "portal_ticket": (targets["customer"], f"/my/tickets/{targets['customer_ticket']}/"),
    }


def measure_pages(base: str, targets: dict[str, Any], count: int) -> dict[str, Any]:
    """The HTML pages people use every day, rendered by the real server, sequentially."""
    pages: dict[str, Any] = {}
    sessions: dict[str, httpx.Client] = {}
    try:
        for page, (email, path) in page_paths(targets).items():
            if email not in sessions:
                sessions[email] = page_client(base, email)
            pages[page] = measure_list(sessions[email], path, count)
    finally:
        for session in sessions.values():
            session.close()
    return pages


def deep_cursor(http: httpx.Client, pages: int) -> tuple[str | None, int]:
    """Follow next_cursor `pages` pages in; return that cursor and how deep it is."""
    cursor: str | None = None
    depth = 0
    for _ in range(pages):
        params = {"limit": "50", **({"cursor": cursor} if cursor else {})}
        response = http.get("/api/v1/tickets", params=params)
        response.raise_for_status()
        following = response.json()["next_cursor"]
        if not following:
            break
        cursor, depth = following, depth + 1
    return cursor, depth


def bench_database(
    name: str, plan: Plan, database_url: str | None, seed_messages: int
) -> dict[str, Any]:
    result: dict[str, Any] = {"database": name}
    with tempfile.TemporaryDirectory(prefix=f"destek-bench-{name}-") as tmp:
        data_dir = Path(tmp)
        env = base_env(data_dir, free_port(), plan.server_workers, database_url)
        log(f"[{name}] migrate and demo data")
        run_destek(env, "migrate", "--noinput", "-v0")
        run_destek(env, "demo")
        emails = inprocess(env, "customers", str(plan.clients))
        with server(env, data_dir / "server.log") as base:
            log(f"[{name}] server up at {base} ({plan.server_workers} granian workers)")
            tokens = [token(base, email) for email in emails]
            log(
                f"[{name}] creating tickets: {plan.clients} clients, "
                f"{plan.create_requests} requests or {plan.create_seconds:.0f} s"
            )
            creation = measure_creation(base, tokens, plan.create_requests, plan.create_seconds)
            del creation["_latencies"]
            counted = inprocess(env, "create-queries")
            creation["queries_per_request"] = counted["queries"]
            creation["sql"] = counted["sql"]
            result["create"] = creation
            log(
                f"[{name}]   {creation['tickets_per_second']} tickets/s, "
                f"p50 {creation['p50_ms']} ms, p99 {creation['p99_ms']} ms, "
                f"errors {creation['errors']}"
            )

            agent = token(base, AGENT)
            headers = {"Authorization": f"Bearer {agent}", "Accept-Language": "en"}
            result["queue"] = []
            seeded = 0
            with httpx.Client(base_url=base, headers=headers, timeout=60) as http:
                for tier in plan.tiers:
                    adding = tier - seeded
                    log(f"[{name}] seeding {adding:,} tickets ({seed_messages} messages each)")
                    seconds = run_destek(
                        env,
                        "seed",
                        "--tickets",
                        str(adding),
                        "--messages",
                        str(seed_messages),
                        "-v0",
                    )
                    seeded = tier
                    if database_url:
                        postgres_analyze(database_url)
                    cursor, depth = deep_cursor(http, plan.deep_pages)
                    first_path = "/api/v1/tickets?limit=50"
                    deep_path = f"{first_path}&cursor={cursor}" if cursor else first_path
                    row: dict[str, Any] = {
                        "seeded_tickets": tier,
                        "seed_added": adding,
                        "seed_seconds": round(seconds, 1),
                        "seed_tickets_per_second": round(adding / seconds),
                        "first_page": measure_list(http, first_path, plan.list_requests),
                        "deep_page": measure_list(http, deep_path, plan.list_requests),
                        "deep_page_depth": depth,
                    }
                    counts = inprocess(env, "list-queries", cursor or "")
                    row["first_page"]["queries_per_request"] = counts["first"]
                    row["first_page"]["sql"] = counts["first_sql"]
                    row["deep_page"]["queries_per_request"] = counts["deep"]
                    row["tickets_in_database"] = counts["tickets"]
                    row["agent_visible_tickets"] = counts["visible"]
                    targets = inprocess(env, "page-targets")
                    row["pages"] = measure_pages(base, targets, plan.list_requests)
                    for page, queries in inprocess(
                        env, "page-queries", json.dumps(page_paths(targets))
                    ).items():
                        row["pages"][page]["queries_per_request"] = queries
                    row["page_targets"] = targets
                    result["queue"].append(row)
                    log(
                        f"[{name}]   @{tier:,}: seed {seconds:.1f} s; first page p50 "
                        f"{row['first_page']['p50_ms']} ms; deep page (page {depth + 1}) p50 "
                        f"{row['deep_page']['p50_ms']} ms"
                    )
                    for page, figures in row["pages"].items():
                        log(f"[{name}]   @{tier:,}: {page} p50 {figures['p50_ms']} ms")
    return result


# --- the production topology: PostgreSQL and Redis ------------------------------------------


def median(values: list[float]) -> float | None:
    return round(statistics.median(values), 1) if values else None


def bench_production(plan: Plan, database: str, redis_url: str) -> dict[str, Any]:
    """Creation at `plan.prod_clients` clients in rounds through `destek web`, then inbound
    mail in one process, on a fresh PostgreSQL database with the cache and queue on Redis."""
    result: dict[str, Any] = {"database": database, "redis": redis_url}
    recreate_postgres_database(database)
    redis_flush(redis_url)
    try:
        with tempfile.TemporaryDirectory(prefix="destek-bench-production-") as tmp:
            data_dir = Path(tmp)
            env = base_env(data_dir, free_port(), plan.server_workers, pg_url(database), redis_url)
            log(f"[production] migrate and demo data ({database}, {redis_url})")
            run_destek(env, "migrate", "--noinput", "-v0")
            run_destek(env, "demo")
            emails = inprocess(env, "customers", str(plan.prod_clients))
            rounds: list[dict[str, Any]] = []
            with server(env, data_dir / "server.log") as base:
                tokens = [token(base, email) for email in emails]
                for i in range(plan.prod_rounds):
                    log(
                        f"[production] creation round {i + 1}/{plan.prod_rounds}: "
                        f"{plan.prod_clients} clients, {plan.prod_requests} requests or "
                        f"{plan.prod_seconds:.0f} s"
                    )
                    rounds.append(
                        measure_creation(base, tokens, plan.prod_requests, plan.prod_seconds)
                    )
                # What the same clients get from requests that write nothing: `/livez` is
                # answered before Django's views, `/api/v1/auth/me` is the lightest
                # authenticated API call (a token lookup and a small JSON answer).
                ceilings = [
                    measure_ceiling(base, tokens, path, plan.prod_seconds / 2)
                    for path in ("/livez", "/api/v1/auth/me")
                ]
            latencies = [x for r in rounds for x in r.pop("_latencies")]
            counted = inprocess(env, "create-queries")
            result["create"] = {
                "clients": plan.prod_clients,
                "rounds": rounds,
                "requests": sum(r["requests"] for r in rounds),
                "errors": sum(r["errors"] for r in rounds),
                "tickets_per_second": median([r["tickets_per_second"] or 0.0 for r in rounds]),
                "p50_ms": ms(percentile(latencies, 50)),
                "p95_ms": ms(percentile(latencies, 95)),
                "p99_ms": ms(percentile(latencies, 99)),
                "queries_per_request": counted["queries"],
                "sql": counted["sql"],
            }
            result["ceilings"] = ceilings
            c = result["create"]
            for ceiling in ceilings:
                log(
                    f"[production]   ceiling {ceiling['path']}: "
                    f"{ceiling['requests_per_second']} requests/s, p50 {ceiling['p50_ms']} ms"
                )
            log(
                f"[production]   {c['tickets_per_second']} tickets/s (median of "
                f"{len(rounds)}), p50 {c['p50_ms']} ms, p95 {c['p95_ms']} ms, "
                f"{c['queries_per_request']} statements, errors {c['errors']}"
            )
            log(f"[production] inbound mail: {plan.mail_count} or {plan.mail_seconds:.0f} s")
            mail = inprocess(env, "mail", str(plan.mail_count), str(plan.mail_seconds))
            result["mail"] = mail
            log(
                f"[production]   {mail['mails_per_second']} mails/s, p50 {mail['p50_ms']} ms, "
                f"p95 {mail['p95_ms']} ms, {mail['queries_per_mail']} statements per mail"
            )
    finally:
        redis_flush(redis_url)
    return result


def count_tickets(database_url: str) -> int:
    import psycopg

    with psycopg.connect(database_url, autocommit=True, connect_timeout=5) as conn:
        row = conn.execute("SELECT count(*) FROM tickets_ticket").fetchone()
    return int(row[0]) if row else 0


def seed_big(env: dict[str, str], database: str, size: int, fresh: bool) -> dict[str, Any]:
    """Bring `database` to `size` tickets: reuse it when it has them, grow it when it has
    fewer, make it afresh when it is missing or `fresh`. A seed's timing is kept as the
    database's comment, so a later run that reuses it can say what it cost."""
    import psycopg
    from psycopg import sql

    note = postgres_database_note(database)
    if fresh or note is None:
        log(f"[big] creating {database}")
        recreate_postgres_database(database)
        run_destek(env, "migrate", "--noinput", "-v0")
        inprocess(env, "customers", "8")  # as bench/side/alone.sh does
        have = 0
    else:
        run_destek(env, "migrate", "--noinput", "-v0")  # made by an older checkout, maybe
        have = count_tickets(env["DATABASE_URL"])
    adding = size - have
    if adding <= 0:
        log(f"[big] reusing {database} ({have:,} tickets; --big-fresh seeds it again)")
        with contextlib.suppress(ValueError):
            note = json.loads(note or "")
        return {"this_run": False, "tickets_in_database": have, "earlier_seed": note or None}
    log(f"[big] seeding {adding:,} tickets (3 messages each) into {database} (had {have:,})")
    seconds = run_destek(
        env,
        "seed",
        "--tickets",
        str(adding),
        "--messages",
        "3",
        "--customers",
        "1000",
        "-v0",
        timeout=3600,
    )
    started = time.monotonic()
    with psycopg.connect(env["DATABASE_URL"], autocommit=True, connect_timeout=5) as conn:
        conn.execute("VACUUM ANALYZE")
    record = {
        "had": have,
        "added": adding,
        "seed_seconds": round(seconds, 1),
        "seed_tickets_per_second": round(adding / seconds),
        "vacuum_analyze_seconds": round(time.monotonic() - started, 1),
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "git_commit": machine_info(None)["git_commit"],
    }
    with psycopg.connect(PG_ADMIN_URL, autocommit=True, connect_timeout=5) as conn:
        conn.execute(
            sql.SQL("COMMENT ON DATABASE {} IS {}").format(
                sql.Identifier(database), sql.Literal(json.dumps(record))
            )
        )
    log(f"[big]   seeded in {seconds:.1f} s, VACUUM ANALYZE {record['vacuum_analyze_seconds']} s")
    return {"this_run": True, "tickets_in_database": size} | record


def bench_big(plan: Plan, database: str, redis_url: str, fresh: bool) -> dict[str, Any]:
    """The desk at `plan.big` tickets, served by `destek web` on PostgreSQL and Redis."""
    result: dict[str, Any] = {"database": database, "tickets": plan.big}
    redis_flush(redis_url)
    try:
        with tempfile.TemporaryDirectory(prefix="destek-bench-big-") as tmp:
            data_dir = Path(tmp)
            env = base_env(data_dir, free_port(), plan.server_workers, pg_url(database), redis_url)
            result["seed"] = seed_big(env, database, plan.big, fresh)
            targets = inprocess(env, "big-targets")
            result["targets"] = targets
            paths: dict[str, str | list[str]] = {
                "desk_queue": "/desk/",
                "desk_ticket": f"/desk/tickets/{targets['agent_ticket']}/",
                "desk_ticket_spread": [f"/desk/tickets/{n}/" for n in targets["spread"]],
            }
            pages: dict[str, Any] = {}
            with (
                server(env, data_dir / "server.log") as base,
                contextlib.closing(page_client(base, AGENT)) as http,
            ):
                for page, path in paths.items():
                    log(f"[big] {page}: {plan.big_requests} requests or {plan.big_seconds:.0f} s")
                    pages[page] = measure_list(http, path, plan.big_requests, plan.big_seconds)
                    log(f"[big]   p50 {pages[page]['p50_ms']} ms, p95 {pages[page]['p95_ms']} ms")
            middle = targets["spread"][len(targets["spread"]) // 2]
            counted = inprocess(
                env,
                "page-queries",
                json.dumps(
                    {
                        "desk_queue": [AGENT, paths["desk_queue"]],
                        "desk_ticket": [AGENT, paths["desk_ticket"]],
                        "desk_ticket_spread": [AGENT, f"/desk/tickets/{middle}/"],
                    }
                ),
            )
            for page, queries in counted.items():
                pages[page]["queries_per_request"] = queries
            result["pages"] = pages
    finally:
        redis_flush(redis_url)
    return result


# --- in-process helpers (run inside Django by `run.py inprocess ...`) -----------------------


def inprocess_main(args: list[str]) -> None:
    import django

    django.setup()
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from destek.accounts.actions import issue_api_token
    from destek.accounts.choices import Role
    from destek.accounts.models import User
    from destek.tickets.models import Ticket

    def count(method: str, path: str, user: Any, data: Any = None) -> dict[str, Any]:
        client = Client()
        headers = {"Authorization": f"Bearer {issue_api_token(user)}", "Accept-Language": "en"}
        kwargs: dict[str, Any] = {"headers": headers}
        if data is not None:
            kwargs.update(data=json.dumps(data), content_type="application/json")
        # Once to warm up (the token's first use writes last_used_at), then counted.
        getattr(client, method)(path, **kwargs)
        if data is not None:
            kwargs["data"] = json.dumps(ticket_text(random.Random()))
        with CaptureQueriesContext(connection) as ctx:
            response = getattr(client, method)(path, **kwargs)
        assert response.status_code in (200, 201), response.content[:500]
        return {
            "queries": len(ctx.captured_queries),
            "sql": [q["sql"][:300] for q in ctx.captured_queries],
        }

    command = args[0]
    if command == "customers":
        wanted = int(args[1])
        hashed = User(email="x@example.test")
        hashed.set_password(PASSWORD)
        emails = []
        for i in range(wanted):
            email = BENCH_CUSTOMER.format(i)
            user = User.objects.filter(email=email).first() or User(
                email=email, full_name=f"Bench Customer {i}", role=Role.CUSTOMER, language="en"
            )
            user.password = hashed.password
            user.save()
            emails.append(email)
        answer: Any = emails
    elif command == "create-queries":
        customer = User.objects.get(email=BENCH_CUSTOMER.format(0))
        text = ticket_text(random.Random())
        answer = count("post", "/api/v1/tickets", customer, text)
    elif command == "list-queries":
        agent = User.objects.get(email=AGENT)
        cursor = args[1] if len(args) > 1 else ""
        first = count("get", "/api/v1/tickets?limit=50", agent)
        deep = count("get", f"/api/v1/tickets?limit=50&cursor={cursor}", agent) if cursor else first
        answer = {
            "first": first["queries"],
            "deep": deep["queries"],
            "first_sql": first["sql"],
            "tickets": Ticket.objects.count(),
            "visible": Ticket.objects.visible_to(agent).count(),
        }
    elif command == "page-targets":
        # The newest ticket in the agent's queue, and a seeded customer with many tickets,
        # given the published demo password so the benchmark can sign in as them.
        agent = User.objects.get(email=AGENT)
        agent_ticket = (
            Ticket.objects.visible_to(agent).order_by("-pk").values_list("number", flat=True)[0]
        )
        seeded = (
            Ticket.objects.filter(customer__email__startswith="seed-customer-")
            .select_related("customer")
            .latest("pk")
            .customer
        )
        seeded.set_password(PASSWORD)
        seeded.save(update_fields=["password"])
        answer = {
            "agent_ticket": agent_ticket,
            "customer": seeded.email,
            "customer_tickets": Ticket.objects.filter(customer=seeded).count(),
            "customer_ticket": Ticket.objects.filter(customer=seeded)
            .order_by("-pk")
            .values_list("number", flat=True)[0],
        }
    elif command == "page-queries":
        paths = json.loads(args[1])  # {page: [email, path]}
        answer = {}
        for page, (email, path) in paths.items():
            client = Client(headers={"Accept-Language": "en"})
            client.force_login(User.objects.get(email=email))
            client.get(path)
            with CaptureQueriesContext(connection) as ctx:
                response = client.get(path)
            assert response.status_code == 200, (path, response.status_code)
            answer[page] = len(ctx.captured_queries)
    elif command == "big-targets":
        # The agent's newest ticket, and tickets spread evenly over all they can see (old,
        # closed ones included: a link or a search leads there too).
        agent = User.objects.get(email=AGENT)
        visible = Ticket.objects.visible_to(agent)
        newest = visible.order_by("-pk").values_list("pk", "number")[0]
        oldest = visible.order_by("pk").values_list("pk", flat=True)[0]
        spread = []
        for i in range(SPREAD):
            at = oldest + (newest[0] - oldest) * i // (SPREAD - 1)
            number = (
                visible.filter(pk__gte=at).order_by("pk").values_list("number", flat=True).first()
            )
            if number is not None:
                spread.append(number)
        answer = {
            "agent_ticket": newest[1],
            "spread": spread,
            "tickets": Ticket.objects.count(),
        }
    elif command == "mail":
        answer = measure_mail(int(args[1]), float(args[2]))
    else:
        raise SystemExit(f"unknown inprocess command {command!r}")
    print(json.dumps(answer))


SPREAD = 30  # desk ticket pages across the agent's tickets, visited in turn


def mail_corpus(count: int, replies_to: list[tuple[str, int]], seed: str) -> list[bytes]:
    """Inbound mail as it arrives: in every ten, seven new tickets in plain text, two with an
    HTML alternative, and one customer's reply to one of their tickets ([#number] in the
    subject, how Destek threads a reply whose headers it did not make). New tickets come from
    new senders (each registers a customer), with distinct texts."""
    from email.message import EmailMessage
    from email.utils import format_datetime, make_msgid

    rng = random.Random(seed)
    now = datetime.now(UTC)
    mails = []
    for i in range(count):
        text = ticket_text(rng)
        message = EmailMessage()
        message["To"] = SUPPORT_ADDRESS
        message["Date"] = format_datetime(now)
        message["Message-ID"] = make_msgid(domain="example.org")
        kind = i % 10
        if kind == 9 and replies_to:
            email, number = replies_to[i % len(replies_to)]
            message["From"] = f"Customer <{email}>"
            message["Subject"] = f"Re: [#{number}] {text['subject']}"
            message.set_content(f"Any news on this one?\n\n> {text['body'][:200]}\n")
        else:
            message["From"] = f"Customer {i} <sender{i}-{seed}@example.org>"
            message["Subject"] = text["subject"]
            message.set_content(f"Hello,\n\n{text['body']}\n\nRegards,\nCustomer {i}\n")
            if kind in (7, 8):
                message.add_alternative(
                    f"<html><body><p>Hello,</p><p>{text['body']}</p></body></html>",
                    subtype="html",
                )
        mails.append(bytes(message))
    return mails


def measure_mail(count: int, seconds: float) -> dict[str, Any]:
    """`process_message` over generated mail in this process, one after another: up to `count`
    mails or `seconds`, after ten to warm up; then twenty more with their SQL counted."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from destek.mail.actions import process_message
    from destek.tickets.models import Ticket

    warm, counted = 10, 20
    recent = [
        (t.customer.email, t.number)
        for t in Ticket.objects.select_related("customer").order_by("-pk")[:20]
    ]
    mails = mail_corpus(warm + count + counted, recent, f"{time.time_ns()}")
    for raw in mails[:warm]:
        process_message(raw, "bench")
    latencies: list[float] = []
    outcomes: Counter[str] = Counter()
    deadline = time.monotonic() + seconds
    started, cpu_before = time.perf_counter(), time.process_time()
    for raw in mails[warm : warm + count]:
        if time.monotonic() > deadline:
            break
        begun = time.perf_counter()
        outcome = process_message(raw, "bench")
        latencies.append(time.perf_counter() - begun)
        outcomes[f"{outcome.status}: {outcome.reason}" if outcome.reason else outcome.status] += 1
    elapsed = time.perf_counter() - started
    cpu = time.process_time() - cpu_before
    statements: dict[str, list[int]] = {"new": [], "reply": []}
    sql: list[str] = []
    for i, raw in enumerate(mails[warm + count :]):
        with CaptureQueriesContext(connection) as ctx:
            process_message(raw, "bench")
        # The same mix as above: the tenth of every ten is a reply.
        statements["reply" if (warm + count + i) % 10 == 9 else "new"].append(
            len(ctx.captured_queries)
        )
        if not sql:
            sql = [q["sql"][:300] for q in ctx.captured_queries]
    every = statements["new"] + statements["reply"]
    return {
        "mails": len(latencies),
        "seconds": round(elapsed, 2),
        "mails_per_second": round(len(latencies) / elapsed, 1) if elapsed else None,
        "p50_ms": ms(percentile(latencies, 50)),
        "p95_ms": ms(percentile(latencies, 95)),
        "p99_ms": ms(percentile(latencies, 99)),
        "cpu_ms_per_mail": round(cpu / len(latencies) * 1000, 2) if latencies else None,
        "outcomes": dict(outcomes),
        "queries_per_mail": round(sum(every) / len(every), 1) if every else None,
        "queries_by_kind": {k: max(v) for k, v in statements.items() if v},
        "sql": sql,
    }


# --- machine, table, files ------------------------------------------------------------------


def machine_info(pg_version: str | None) -> dict[str, Any]:
    def version(package: str) -> str | None:
        try:
            return metadata.version(package)
        except metadata.PackageNotFoundError:
            return None

    cpu_model = None
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu_model = line.split(":", 1)[1].strip()
                break
    memory = None
    with contextlib.suppress(OSError, ValueError, IndexError):
        memory = Path("/proc/meminfo").read_text().splitlines()[0].split()[1] + " kB"
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    ).stdout.strip()
    dirty = bool(
        subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=False,
        ).stdout.strip()
    )
    return {
        "cpu_count": os.cpu_count(),
        "cpu_model": cpu_model,
        "memory": memory,
        "platform": platform.platform(),
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "postgresql": pg_version,
        "django": version("django"),
        "django_ninja": version("django-ninja"),
        "granian": version("granian"),
        "psycopg": version("psycopg"),
        "git_commit": commit + ("-dirty" if dirty else ""),
    }


def fmt(value: Any, unit: str = "") -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:,.1f}{unit}"
    if isinstance(value, int):
        return f"{value:,}{unit}"
    return f"{value}{unit}"


def table(results: dict[str, Any]) -> str:
    header = (
        "database",
        "measurement",
        "result",
        "p50 ms",
        "p95 ms",
        "p99 ms",
        "errors",
        "queries",
    )
    rows: list[tuple[str, ...]] = []
    for name, r in results["databases"].items():
        if "skipped" in r:
            rows.append((name, f"skipped: {r['skipped']}", "", "", "", "", "", ""))
            continue
        if "failed" in r:
            rows.append((name, f"FAILED: {r['failed'][:60]}", "", "", "", "", "", ""))
            continue
        c = r["create"]
        rows.append(
            (
                name,
                f"create ({c['clients']} clients, {c['requests']} req)",
                fmt(c["tickets_per_second"], " tickets/s"),
                fmt(c["p50_ms"]),
                fmt(c["p95_ms"]),
                fmt(c["p99_ms"]),
                fmt(c["errors"]),
                fmt(c["queries_per_request"]),
            )
        )
        for q in r["queue"]:
            n = q["seeded_tickets"]
            rows.append(
                (
                    name,
                    f"seed +{q['seed_added']:,} to {n:,}",
                    f"{q['seed_seconds']} s ({q['seed_tickets_per_second']:,}/s)",
                    "",
                    "",
                    "",
                    "",
                    "",
                )
            )
            for key, label in (
                ("first_page", "queue first page"),
                ("deep_page", f"queue page {q['deep_page_depth'] + 1}"),
            ):
                p = q[key]
                rows.append(
                    (
                        name,
                        f"{label} @ {n:,}",
                        "",
                        fmt(p["p50_ms"]),
                        fmt(p["p95_ms"]),
                        fmt(p["p99_ms"]),
                        fmt(p["errors"]),
                        fmt(p["queries_per_request"]),
                    )
                )
            for page, p in q.get("pages", {}).items():
                rows.append(
                    (
                        name,
                        f"page {page} @ {n:,}",
                        "",
                        fmt(p["p50_ms"]),
                        fmt(p["p95_ms"]),
                        fmt(p["p99_ms"]),
                        fmt(p["errors"]),
                        fmt(p.get("queries_per_request")),
                    )
                )
    rows.extend(production_rows(results.get("production")))
    rows.extend(big_rows(results.get("big")))
    widths = [max(len(row[i]) for row in (header, *rows)) for i in range(len(header))]
    lines = [
        "  ".join(
            cell.ljust(w) if i < 2 else cell.rjust(w)
            for i, (cell, w) in enumerate(zip(row, widths, strict=True))
        )
        for row in (header, *rows)
    ]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def part_note(name: str, part: dict[str, Any] | None) -> list[tuple[str, ...]]:
    if part is None:
        return []
    for key, label in (("skipped", "skipped"), ("failed", "FAILED")):
        if key in part:
            return [(name, f"{label}: {part[key][:60]}", "", "", "", "", "", "")]
    return []


def production_rows(part: dict[str, Any] | None) -> list[tuple[str, ...]]:
    name = "postgres+redis"
    if part is None or part_note(name, part):
        return part_note(name, part)
    c, m = part["create"], part["mail"]
    return [
        (
            name,
            f"create ({c['clients']} clients, {len(c['rounds'])} rounds, {c['requests']} req)",
            fmt(c["tickets_per_second"], " tickets/s"),
            fmt(c["p50_ms"]),
            fmt(c["p95_ms"]),
            fmt(c["p99_ms"]),
            fmt(c["errors"]),
            fmt(c["queries_per_request"]),
        ),
        *(
            (
                name,
                f"ceiling: GET {x['path']} ({x['clients']} clients, writes nothing)",
                fmt(x["requests_per_second"], " req/s"),
                fmt(x["p50_ms"]),
                fmt(x["p95_ms"]),
                "",
                fmt(x["errors"]),
                "",
            )
            for x in part.get("ceilings", [])
        ),
        (
            name,
            f"inbound mail, one process ({m['mails']} mails)",
            fmt(m["mails_per_second"], " mails/s"),
            fmt(m["p50_ms"]),
            fmt(m["p95_ms"]),
            fmt(m["p99_ms"]),
            "",
            fmt(m["queries_per_mail"]),
        ),
    ]


def big_rows(part: dict[str, Any] | None) -> list[tuple[str, ...]]:
    name = "postgres+redis"
    if part is None or part_note(name, part):
        return part_note(name, part)
    n, seed = part["tickets"], part["seed"]
    if seed["this_run"]:
        seeded = f"{seed['seed_seconds']} s (+{seed['vacuum_analyze_seconds']} s VACUUM ANALYZE)"
        label = f"seed +{seed['added']:,} to {n:,}"
    else:
        earlier = seed.get("earlier_seed") or {}
        took = earlier.get("seed_seconds") if isinstance(earlier, dict) else None
        seeded = f"reused (seeded earlier in {took} s)" if took else "reused"
        label = f"seed {n:,}"
    rows: list[tuple[str, ...]] = [(name, label, seeded, "", "", "", "", "")]
    for page, p in part["pages"].items():
        rows.append(
            (
                name,
                f"page {page} @ {n:,}",
                "",
                fmt(p["p50_ms"]),
                fmt(p["p95_ms"]),
                fmt(p["p99_ms"]),
                fmt(p["errors"]),
                fmt(p.get("queries_per_request")),
            )
        )
    return rows


def write_results(results: dict[str, Any]) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    path = RESULTS / f"{stamp}.json"
    text = json.dumps(results, indent=2, ensure_ascii=False) + "\n"
    for target in (path, RESULTS / "latest.json"):
        partial = target.with_suffix(".json.tmp")
        partial.write_text(text, encoding="utf-8")
        partial.replace(target)
    return path


SECTIONS = ("sqlite", "postgres", "production", "big")


def database_name(value: str) -> str:
    if not re.fullmatch(r"[a-z_][a-z0-9_]{0,62}", value):
        raise argparse.ArgumentTypeError("lower-case letters, digits and _ only")
    return value


def redis_port(url: str) -> int:
    return urlsplit(url).port or REDIS_PORT


def postgres_version() -> str:
    import psycopg

    with psycopg.connect(PG_ADMIN_URL, autocommit=True, connect_timeout=5) as conn:
        row = conn.execute("SHOW server_version").fetchone()
    return str(row[0]) if row else "?"


def main(argv: list[str]) -> int:
    if argv[:1] == ["inprocess"]:
        inprocess_main(argv[1:])
        return 0
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="smaller counts for a fast run")
    parser.add_argument(
        "--only",
        choices=SECTIONS,
        help="one part only: a database's creation and queue, the production topology "
        "(creation at --prod-clients, inbound mail), or the desk at --big tickets",
    )
    parser.add_argument("--clients", type=int, default=8, help="concurrent creating clients")
    parser.add_argument("--messages", type=int, default=3, help="messages per seeded ticket")
    parser.add_argument("--workers", type=int, default=2, help="granian worker processes")
    parser.add_argument(
        "--prod-clients", type=int, default=16, help="creating clients on PostgreSQL + Redis"
    )
    parser.add_argument(
        "--pg-db",
        type=database_name,
        default=PG_BENCH_DB,
        help=f"PostgreSQL database (default {PG_BENCH_DB}; the production run uses NAME_prod)",
    )
    parser.add_argument(
        "--redis",
        default=REDIS_BENCH_URL,
        help="a Redis database the benchmark may empty (default $BENCH_REDIS_URL or "
        f"{REDIS_BENCH_URL})",
    )
    parser.add_argument(
        "--big",
        type=int,
        default=None,
        help="tickets for the desk at a large size (default 1,000,000; --quick: 0, skipped)",
    )
    parser.add_argument(
        "--big-db",
        type=database_name,
        default=None,
        help="database for it, kept and reused between runs (default NAME_<big>)",
    )
    parser.add_argument(
        "--big-fresh",
        action="store_true",
        help="make that database afresh and time `destek seed` even when it exists",
    )
    args = parser.parse_args(argv)
    plan = plan_for(args)
    started = datetime.now(UTC)
    load_at_start = [round(x, 2) for x in os.getloadavg()]
    sections = [args.only] if args.only else list(SECTIONS)

    pg_version: str | None = None
    databases: dict[str, Any] = {}
    names = [name for name in sections if name in ("sqlite", "postgres")]
    for name in names:
        database_url = None
        if name == "postgres":
            if not port_open(PG_PORT):
                note = f"nothing listens on {HOST}:{PG_PORT}"
                log(f"[postgres] skipped: {note}")
                databases[name] = {"skipped": note}
                continue
            pg_version = recreate_postgres_database(args.pg_db)
            database_url = pg_url(args.pg_db)
        try:
            databases[name] = bench_database(name, plan, database_url, args.messages)
        except Exception as exc:  # report the other database even when one fails
            log(f"[{name}] FAILED: {exc}")
            databases[name] = {"failed": str(exc)[:4000]}

    parts: dict[str, Any] = {}
    missing = [
        f"nothing listens on {HOST}:{port}"
        for port in (PG_PORT, redis_port(args.redis))
        if not port_open(port)
    ]
    for part in ("production", "big"):
        if part not in sections:
            continue
        if missing:
            log(f"[{part}] skipped: {'; '.join(missing)}")
            parts[part] = {"skipped": "; ".join(missing)}
            continue
        if part == "big" and not plan.big:
            parts[part] = {"skipped": "--big 0"}
            continue
        try:
            if part == "production":
                parts[part] = bench_production(plan, f"{args.pg_db}_prod", args.redis)
            else:
                database = args.big_db or f"{args.pg_db}_{plan.big}"
                parts[part] = bench_big(plan, database, args.redis, args.big_fresh)
        except Exception as exc:  # report the rest even when one part fails
            log(f"[{part}] FAILED: {exc}")
            parts[part] = {"failed": str(exc)[:4000]}
    if parts and pg_version is None and not missing:
        pg_version = postgres_version()

    results = {
        "started_at": started.isoformat(),
        "finished_at": datetime.now(UTC).isoformat(),
        "quick": args.quick,
        "note": NOTE,
        "plan": plan.__dict__,
        "server": f"destek web (granian WSGI, {plan.server_workers} workers) on {HOST}",
        "server_environment": RAISED_LIMITS
        | {k: v for k, v in os.environ.items() if k.startswith("GRANIAN_")},
        "method": (
            "Creation: concurrent httpx clients, one customer each, POST /api/v1/tickets with "
            "distinct subjects and bodies; failures are counted and their latencies included. "
            "Queue: GET /api/v1/tickets?limit=50 as agent@example.com (Technical), sequential, "
            "after 10 warm-up requests; the deep page is the cursor reached by following "
            "next_cursor. Pages: GET of the desk queue and a desk ticket page as the agent, and "
            "of My tickets and a ticket page as a seeded customer, each in a session signed in "
            "through the sign-in form, sequential, after 10 warm-ups. Tickets come from "
            "`destek seed` (customer-first threads, 180 days); "
            "on PostgreSQL ANALYZE runs after each seed. Query counts come from the Django test "
            "client in a separate process against the same database, on a second request. "
            "Production: `destek web` on PostgreSQL with Redis as cache and queue (no worker "
            "runs), creation in rounds, the median round's tickets/s and the latencies of all "
            "rounds. Inbound mail: process_message() over generated .eml bytes in one process "
            "(7 in 10 new plain-text tickets, 2 with HTML, 1 a reply), sequential after 10 "
            "warm-ups. Big: the desk queue and ticket pages at --big tickets (`destek seed`, "
            "then VACUUM ANALYZE; the database is reused between runs), signed in as the agent."
        ),
        "machine": machine_info(pg_version)
        | {
            "load_average_at_start": load_at_start,
            "load_average_at_end": [round(x, 2) for x in os.getloadavg()],
        },
        "databases": databases,
        **parts,
    }
    path = write_results(results)
    log("")
    log(table(results))
    log("")
    log(NOTE)
    log(f"Results: {path.relative_to(ROOT)} and bench/results/latest.json")
    return 1 if any("failed" in r for r in (*databases.values(), *parts.values())) else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
