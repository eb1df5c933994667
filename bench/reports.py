"""Reports latency on PostgreSQL at a million tickets: each report API call and the desk's
reports page, as the admin (every department) and as an agent of one department.

    .venv/bin/python bench/reports.py                   # 1,000,000 tickets
    .venv/bin/python bench/reports.py --tickets 100000  # a smaller run
    .venv/bin/python bench/reports.py --reuse           # the database of the last run

The database (`destek_bench_reports`) is made with `destek migrate`, `destek demo` and
`destek seed` (which also sends surveys for the resolved tickets and answers a third of
them); with `--reuse` it is measured again as it is. Each call runs in process through
Django's test client after a warm-up, `--rounds` times (20 by default), over the last 30
days and over the last 365 (the longest period a report takes; a quarter of the rounds).
Reported: p50 and p95 in milliseconds and the statements per call.
Results: bench/results/reports-<UTC>.json and reports-latest.json.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

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

PG_DB = "destek_bench_reports"


def prepare(tickets: int, env: dict[str, str]) -> dict[str, Any]:
    fresh_database(PG_DB)
    log("migrate and demo")
    timed([str(DESTEK), "migrate", "-v0"], env)
    timed([str(DESTEK), "demo"], env)
    log(f"seed {tickets} tickets")
    seeded = timed([str(DESTEK), "seed", "--tickets", str(tickets), "--messages", "1"], env)
    subprocess.run(
        ["psql", database_url(PG_DB), "-qc", "VACUUM ANALYZE"],
        check=True,
    )
    return {"seed_s": seeded}


def calls(days: int) -> dict[str, str]:
    """What is measured: the API's report calls and the desk page (with one CSV)."""
    now = datetime.now(UTC)
    period = {"from": (now - timedelta(days=days)).isoformat(), "to": now.isoformat()}
    start = (now - timedelta(days=days - 1)).date().isoformat()
    page = {"start": start, "end": now.date().isoformat()}
    found = {
        f"api csat group_by={group}": "/api/v1/reports/csat?"
        + urlencode({**period, "group_by": group})
        for group in ("agent", "department", "channel")
    }
    found["api csat period=week"] = "/api/v1/reports/csat?" + urlencode(
        {**period, "period": "week"}
    )
    for group in ("agent", "department", "channel"):
        found[f"api sla group_by={group}"] = "/api/v1/reports/sla?" + urlencode(
            {**period, "group_by": group}
        )
    found["desk /desk/reports/"] = "/desk/reports/?" + urlencode(page)
    found["desk /desk/reports/ group_by=week"] = "/desk/reports/?" + urlencode(
        {**page, "group_by": "week"}
    )
    found["desk csv section=heatmap"] = "/desk/reports/?" + urlencode(
        {**page, "format": "csv", "section": "heatmap"}
    )
    return found


def measure(rounds: int, periods: list[int]) -> dict[str, Any]:
    import django

    django.setup()
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from destek.accounts.actions import issue_api_token
    from destek.accounts.models import User
    from destek.surveys.models import SurveyAnswer, SurveySent
    from destek.tickets.models import Ticket

    result: dict[str, Any] = {
        "tickets": Ticket.objects.count(),
        "survey_answers": SurveyAnswer.objects.count(),
        "surveys_sent": SurveySent.objects.count(),
    }
    for who, email in (
        ("admin, every department", "admin@example.com"),
        ("agent of one department", "agent@example.com"),
    ):
        user = User.objects.get(email=email)
        client = Client()
        client.force_login(user)
        bearer = {"Authorization": f"Bearer {issue_api_token(user)}"}
        for days in periods:
            for name, url in calls(days).items():
                headers = bearer if url.startswith("/api/") else {}
                response = client.get(url, headers=headers)  # warm-up, and a check
                assert response.status_code == 200, (url, response.content[:300])
                times: list[float] = []
                statements = 0
                # A year costs seconds a call: fewer rounds, or the run takes an hour.
                for _round in range(rounds if days <= 31 else max(5, rounds // 4)):
                    with CaptureQueriesContext(connection) as captured:
                        started = time.perf_counter()
                        client.get(url, headers=headers)
                        times.append(time.perf_counter() - started)
                    statements = max(statements, len(captured.captured_queries))
                ordered = sorted(times)
                entry = {
                    "p50_ms": round(statistics.median(ordered) * 1000, 1),
                    "p95_ms": round(ordered[max(0, int(len(ordered) * 0.95) - 1)] * 1000, 1),
                    "calls": len(times),
                    "statements": statements,
                }
                result.setdefault(who, {}).setdefault(f"last {days} days", {})[name] = entry
                log(f"  {who} · {days} days · {name}: {entry}")
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tickets", type=int, default=1_000_000)
    parser.add_argument("--reuse", action="store_true")
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--days", type=int, nargs="*", default=[30, 365])
    args = parser.parse_args()
    data = Path(os.environ.get("BENCH_REPORTS_DATA", "/tmp/destek-bench-reports"))
    data.mkdir(parents=True, exist_ok=True)
    env = environment(data, PG_DB)
    made = {} if args.reuse else prepare(args.tickets, env)
    os.environ.update(env)
    sys.path.insert(0, str(ROOT))
    result = {**made, **measure(args.rounds, args.days)}
    result.update(
        when=datetime.now(UTC).isoformat(timespec="seconds"), load=os.getloadavg(), note=NOTE
    )
    RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    for name in (f"reports-{stamp}.json", "reports-latest.json"):
        (RESULTS / name).write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    log(f"results: bench/results/reports-{stamp}.json")


if __name__ == "__main__":
    main()
