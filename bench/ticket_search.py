"""Ticket search latency on PostgreSQL at a million tickets (issue 14's goal: p95 at most
100 ms for one- and two-word queries in each language).

    .venv/bin/python bench/ticket_search.py                   # 1,000,000 tickets, 3 messages each
    .venv/bin/python bench/ticket_search.py --tickets 100000  # a smaller run
    .venv/bin/python bench/ticket_search.py --reuse           # the database of the last run

The database (`destek_bench_search`) is made with `destek migrate`, `destek demo`, `destek seed`
(tickets in the five languages, from the seed's own texts) and `destek search_index`; with
`--reuse` an existing one is searched again as it is. Queries are words of the seed's own
subjects and bodies, one and two words per language, run in process through
`destek.tickets.search.search` as an agent of one department and as the admin (every
department), sequentially after a warm-up. Reported: p50 and p95 per language and kind, the
statements per search, and how long seeding and indexing took.
Results: bench/results/ticket-search-<UTC>.json and ticket-search-latest.json.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pg_bench import (  # bench/ is the script's folder, first on sys.path
    DESTEK,
    NOTE,
    RESULTS,
    ROOT,
    database_url,
    environment,
    fresh_database,
    log,
    timed,
)

PG_DB = "destek_bench_search"


def prepare(tickets: int, env: dict[str, str]) -> dict[str, Any]:
    fresh_database(PG_DB)
    made: dict[str, Any] = {}
    log("migrate and demo")
    timed([str(DESTEK), "migrate", "-v0"], env)
    timed([str(DESTEK), "demo"], env)
    log(f"seed {tickets} tickets")
    made["seed_s"] = timed(
        [str(DESTEK), "seed", "--tickets", str(tickets), "--messages", "3", "-v0"], env
    )
    analyze()  # the seed leaves no statistics: the planner would read every message per batch
    log("index them")
    made["index_s"] = timed([str(DESTEK), "search_index"], env)
    analyze()
    return made


def analyze() -> None:
    subprocess.run(
        ["psql", database_url(PG_DB), "-qc", "VACUUM ANALYZE"],
        check=True,
    )


def queries(rng: random.Random) -> dict[str, dict[str, list[str]]]:
    from destek.demo.seed_texts import TEXTS
    from destek.lib.text import words

    found: dict[str, dict[str, list[str]]] = {}
    for language, texts in TEXTS.items():
        vocabulary = sorted(
            {w for text in (*texts.subjects, *texts.bodies) for w in words(text) if len(w) >= 4}
        )
        one = rng.sample(vocabulary, min(12, len(vocabulary)))
        two = [" ".join(rng.sample(vocabulary, 2)) for _ in range(12)]
        found[language] = {"one word": one, "two words": two}
    return found


def measure(rounds: int) -> dict[str, Any]:
    import django

    django.setup()
    from django.db import connection, reset_queries
    from django.test.utils import CaptureQueriesContext

    from destek.accounts.models import User
    from destek.tickets import search
    from destek.tickets.models import Ticket

    rng = random.Random(14)
    asked = queries(rng)
    agent = User.objects.get(email="agent@example.com")
    admin = User.objects.get(email="admin@example.com")
    result: dict[str, Any] = {"tickets": Ticket.objects.count()}
    for who, user in (("agent of one department", agent), ("admin, every department", admin)):
        for language, kinds in asked.items():
            for kind, texts in kinds.items():
                for text in texts[:3]:  # warm-up
                    search.search(user, text)
                times: list[float] = []
                hits: list[int] = []
                statements = 0
                for _round in range(rounds):
                    for text in texts:
                        reset_queries()
                        with CaptureQueriesContext(connection) as captured:
                            started = time.perf_counter()
                            found = search.search(user, text)
                            times.append(time.perf_counter() - started)
                        statements = max(statements, len(captured.captured_queries))
                        hits.append(len(found))
                ordered = sorted(times)
                result.setdefault(who, {}).setdefault(language, {})[kind] = {
                    "p50_ms": round(statistics.median(ordered) * 1000, 1),
                    "p95_ms": round(ordered[int(len(ordered) * 0.95) - 1] * 1000, 1),
                    "searches": len(times),
                    "median_results": statistics.median(hits),
                    "statements": statements,
                }
                log(f"  {who} · {language} · {kind}: {result[who][language][kind]}")
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tickets", type=int, default=1_000_000)
    parser.add_argument("--reuse", action="store_true")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    data = Path(os.environ.get("BENCH_SEARCH_DATA", "/tmp/destek-bench-search"))
    data.mkdir(parents=True, exist_ok=True)
    env = environment(data, PG_DB)
    made = {} if args.reuse else prepare(args.tickets, env)
    os.environ.update(env)
    sys.path.insert(0, str(ROOT))
    result = {**made, **measure(args.rounds)}
    result.update(
        when=datetime.now(UTC).isoformat(timespec="seconds"), load=os.getloadavg(), note=NOTE
    )
    RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    for name in (f"ticket-search-{stamp}.json", "ticket-search-latest.json"):
        (RESULTS / name).write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    log(f"results: bench/results/ticket-search-{stamp}.json")


if __name__ == "__main__":
    main()
