"""A/B of ticket creation over HTTP between two checkouts of Destek.

One PostgreSQL database (`ab_create`, dropped and made again, migrated and loaded with the demo
by checkout B), then `destek web` (2 workers) from checkout A and B in turn, alternating which
goes first, with 8 concurrent clients (one demo customer each) posting distinct tickets for
AB_SECONDS each round. Both checkouts need their `.venv` (`make install`).

    AB_A=/path/to/old/checkout AB_B=$(pwd) AB_ROUNDS=3 .venv/bin/python bench/ab_create.py

Loopback only; every loop is bounded by time. Later rounds run on a bigger database, so compare
A and B within a round, and read medians.
"""

import itertools
import os
import random
import signal
import statistics
import subprocess
import threading
import time

import httpx

CHECKOUTS = {"before": os.environ["AB_A"], "after": os.environ["AB_B"]}
DB = "postgres://postgres@127.0.0.1:5432/ab_create"
SECONDS = float(os.environ.get("AB_SECONDS", "25"))
ROUNDS = int(os.environ.get("AB_ROUNDS", "3"))
env = {k: v for k, v in os.environ.items() if not k.startswith("DESTEK_")}
env.update(
    HOST="127.0.0.1",
    DESTEK_WEB_WORKERS="2",
    DESTEK_DATA_DIR=os.environ.get("AB_DATA_DIR", "/tmp/destek-ab-data"),
    DATABASE_URL=DB,
    DESTEK_EMAIL_BACKEND="django.core.mail.backends.dummy.EmailBackend",
    DESTEK_HUEY_IMMEDIATE="0",
    DESTEK_LOG_LEVEL="WARNING",
    DESTEK_ALLOWED_HOSTS="127.0.0.1,localhost",
    DJANGO_SETTINGS_MODULE="destek.settings",
    DESTEK_TICKETS_PER_HOUR="1000000",
    DESTEK_MESSAGES_PER_HOUR="1000000",
    DESTEK_AUTOMAIL_PER_HOUR="1000000",
    DESTEK_AUTOMAIL_PER_DAY="1000000",
)
subprocess.run(
    [
        "psql",
        "postgres://postgres@127.0.0.1:5432/postgres",
        "-qc",
        "DROP DATABASE IF EXISTS ab_create",
        "-c",
        "CREATE DATABASE ab_create",
    ],
    check=True,
)
subprocess.run(
    [f"{CHECKOUTS['after']}/.venv/bin/destek", "migrate"], env=env, check=True, capture_output=True
)
subprocess.run(
    [f"{CHECKOUTS['after']}/.venv/bin/destek", "demo"], env=env, check=True, capture_output=True
)
CUSTOMERS = [
    "customer@example.com",
    "customer2@example.com",
    "vip@example.com",
    "nigar@example.com",
    "dmitri@example.com",
    "emma@example.com",
    "elif@example.com",
    "mehmet@example.com",
]
counter = itertools.count()
WORDS = [
    "printer",
    "invoice",
    "login",
    "mailbox",
    "backup",
    "domain",
    "certificate",
    "export",
    "upload",
    "report",
    "panel",
    "database",
]


def text(i):
    r = random.Random(i)
    return (
        f"{r.choice(WORDS).title()} {r.choice(WORDS)} fails on host{i}.az"
        f" code {r.randint(1000, 99999)}",
        f"Since {r.randint(1, 12)}:{r.randint(10, 59)} the {r.choice(WORDS)} shows error"
        f" {r.randint(100, 599)} for account {i}-{r.randint(1, 10**6)}.",
    )


results = {"before": [], "after": []}
for rnd in range(ROUNDS):
    for name in ["before", "after"] if rnd % 2 == 0 else ["after", "before"]:
        port = 8200 + rnd * 2 + (name == "after")
        e = dict(env, PORT=str(port))
        proc = subprocess.Popen(
            [f"{CHECKOUTS[name]}/.venv/bin/destek", "web"],
            env=e,
            cwd=CHECKOUTS[name],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        base = f"http://127.0.0.1:{port}"
        for _ in range(120):
            try:
                if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.5)
        tokens = [
            httpx.post(f"{base}/api/v1/auth/token", json={"email": c, "password": "demo"}).json()[
                "token"
            ]
            for c in CUSTOMERS
        ]
        done = []
        errors = []
        stop = time.monotonic() + SECONDS

        def client(tok, base=base, stop=stop, done=done, errors=errors):
            with httpx.Client(
                base_url=base, headers={"Authorization": f"Bearer {tok}"}, timeout=30
            ) as c:
                while time.monotonic() < stop:
                    s, b = text(next(counter))
                    r = c.post("/api/v1/tickets", json={"subject": s, "body": b})
                    (done if r.status_code == 201 else errors).append(r.status_code)

        ts = [threading.Thread(target=client, args=(t,)) for t in tokens]
        [t.start() for t in ts]
        [t.join() for t in ts]
        rate = len(done) / SECONDS
        results[name].append(rate)
        print(
            f"round {rnd} {name}: {rate:.1f} tickets/s, errors {len(errors)} {set(errors)}",
            flush=True,
        )
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait()
for n, v in results.items():
    print(n, "median", round(statistics.median(v), 1), [round(x, 1) for x in v])
