"""Business-time engine benchmark: how fast `destek.sla.engine` adds and counts working minutes.

    .venv/bin/python bench/sla_engine.py             # 1,000,000 operations per run, 3 runs
    .venv/bin/python bench/sla_engine.py --ops 100000

Two schedules: the Baku office (Asia/Baku, Monday to Friday 09:00-18:00, Azerbaijan's public
holidays of 2025-2028) and 24/7 in Asia/Baku. Starts are seeded random instants over
2026-2027, amounts whole minutes in [1, 3 * 540] (up to three working days). Each run makes
`--ops` calls by cycling through 100,000 prepared (start, minutes) pairs; the rate reported
is the median of the runs. Counting is timed on the same starts and the instants adding gave.
The year caches are filled before timing (their cost, paid once per schedule and local year,
is reported apart).

Bounded: every run also stops after `--max-seconds`. Prints one line per measurement and
writes bench/results/sla-engine-latest.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from importlib import metadata
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from destek.sla.engine import (  # noqa: E402  (after making the checkout importable)
    Schedule,
    add_business_minutes,
    business_minutes_between,
    holiday_dates,
)

RESULT_FILE = ROOT / "bench" / "results" / "sla-engine-latest.json"
PAIRS = 100_000
SEED = 20260101
FIRST = datetime(2026, 1, 1, tzinfo=UTC)
SPAN_SECONDS = int((datetime(2028, 1, 1, tzinfo=UTC) - FIRST).total_seconds())
OFFICE = 9 * 60, 18 * 60
US_PER_SECOND = 10**6


def baku_office() -> Schedule:
    return Schedule.build(
        "Asia/Baku",
        dict.fromkeys(range(5), (OFFICE,)),
        closed=holiday_dates("AZ", range(2025, 2029)),
    )


def prepared_pairs() -> list[tuple[datetime, int]]:
    rng = random.Random(SEED)
    return [
        (
            FIRST
            + timedelta(
                seconds=rng.randrange(SPAN_SECONDS), microseconds=rng.randrange(US_PER_SECOND)
            ),
            rng.randint(1, 3 * 540),
        )
        for _ in range(PAIRS)
    ]


def timed_runs(
    call: Callable[[int], object], ops: int, runs: int, max_seconds: float
) -> dict[str, Any]:
    """Call `call(i)` for i = 0..ops-1 `runs` times; rates in calls per second."""
    rates = []
    for _ in range(runs):
        done = 0
        began = time.perf_counter()
        deadline = began + max_seconds
        while done < ops:
            batch = min(10_000, ops - done)
            for i in range(done, done + batch):
                call(i)
            done += batch
            if time.perf_counter() > deadline:
                break
        rates.append(done / (time.perf_counter() - began))
    return {
        "median_per_s": round(statistics.median(rates)),
        "runs_per_s": [round(rate) for rate in rates],
    }


def measure(name: str, schedule: Schedule, args: argparse.Namespace) -> dict[str, Any]:
    pairs = prepared_pairs()
    began = time.perf_counter()
    dues = [add_business_minutes(schedule, start, minutes) for start, minutes in pairs]
    first_pass = time.perf_counter() - began
    for (start, minutes), due in zip(pairs[:1000], dues[:1000], strict=True):
        counted = business_minutes_between(schedule, start, due)
        if abs(counted - minutes) > 1e-6:
            raise SystemExit(f"{name}: counting {start} to {due} gave {counted}, not {minutes}")

    def add(i: int) -> object:
        start, minutes = pairs[i % PAIRS]
        return add_business_minutes(schedule, start, minutes)

    def count(i: int) -> object:
        j = i % PAIRS
        return business_minutes_between(schedule, pairs[j][0], dues[j])

    adds = timed_runs(add, args.ops, args.runs, args.max_seconds)
    counts = timed_runs(count, args.ops, args.runs, args.max_seconds)
    print(
        f"{name:<28} add {adds['median_per_s']:>10,}/s   between {counts['median_per_s']:>10,}/s"
        f"   (first {PAIRS:,} adds incl. year caches: {first_pass:.2f} s)"
    )
    return {
        "add": adds,
        "between": counts,
        "first_pass_seconds": round(first_pass, 3),
        "cached_years": sorted(schedule._years),
    }


def machine() -> dict[str, Any]:
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=False
        ).stdout.strip()
    except OSError:
        commit = ""
    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "load_average": os.getloadavg(),
        "holidays": metadata.version("holidays"),
        "git_commit": commit,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ops", type=int, default=1_000_000, help="calls per run")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--max-seconds", type=float, default=60.0, help="cap on each run")
    args = parser.parse_args()

    print(f"sla engine: {args.ops:,} calls per run, median of {args.runs} runs")
    results = {
        "baku_office": measure("Baku office + AZ holidays", baku_office(), args),
        "always": measure("24/7 (Asia/Baku)", Schedule.always("Asia/Baku"), args),
    }
    RESULT_FILE.parent.mkdir(parents=True, exist_ok=True)
    RESULT_FILE.write_text(
        json.dumps(
            {
                "benchmark": "sla-engine",
                "finished_at": datetime.now(UTC).isoformat(timespec="seconds"),
                "ops_per_run": args.ops,
                "runs": args.runs,
                "minutes": [1, 3 * 540],
                "starts": ["2026-01-01", "2028-01-01"],
                "results": results,
                "machine": machine(),
            },
            indent=2,
        )
        + "\n"
    )
    print(f"written to {RESULT_FILE.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
