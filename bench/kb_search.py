"""Knowledge-base search latency at 10,000 articles, on SQLite and on PostgreSQL.

    .venv/bin/python bench/kb_search.py                 # 10,000 articles, both databases
    .venv/bin/python bench/kb_search.py --articles 2000 --only sqlite

Each database starts empty (a temporary DESTEK_DATA_DIR; PostgreSQL as `destek_bench_kb`,
dropped and created again). The demo articles are loaded, then synthetic articles written
through the import action (`import_translations`: the same rendering and analysis as
`save_translation`, in bulk; five languages each) from the demo's own sentences, so the
vocabulary and the index look like a real help centre's. Then every query of
the relevance set (tests/relevance/*.json) runs through `destek.kb.search.search` in process,
sequentially, after a warm-up: p50 and p95, and the top-3 share of the relevance set at that
size. Results go to bench/results/kb-search-latest.json.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
PG_ADMIN_URL = "postgres://postgres@127.0.0.1:5432/postgres"
PG_DB = "destek_bench_kb"
NOTE = (
    "Measured on a shared, noisy machine (other jobs run beside it): compare runs on the same "
    "machine only, and treat differences under ~20% as noise."
)


def inner(articles: int) -> dict[str, Any]:
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection, transaction

    from destek.kb.actions import import_translations, load_content
    from destek.kb.models import Article, Section, Translation
    from destek.kb.search import search

    call_command("migrate", verbosity=0)
    call_command("demo", verbosity=0)
    load_content()
    demo = list(Translation.objects.select_related("article"))
    sentences: dict[str, list[str]] = {}
    for translation in demo:
        parts = re.split(r"(?<=[.!?؟])\s+|\n+", translation.body)
        sentences.setdefault(translation.language, []).extend(
            p.strip() for p in parts if len(p.split()) > 4 and not p.startswith("!video")
        )
    sections = list(Section.objects.all())
    rng = random.Random(7)
    started = time.perf_counter()
    existing = Article.objects.count()
    for start in range(existing, articles, 500):
        with transaction.atomic():
            made = Article.objects.bulk_create(
                [
                    Article(key=f"bench-{n}", section=rng.choice(sections), status="published")
                    for n in range(start, min(start + 500, articles))
                ]
            )
            rows = []
            for article in made:
                for language, pool in sentences.items():
                    # Words of a random sentence, not a copy of a demo title: the real
                    # articles should not compete with hundreds of clones of their own title.
                    words = rng.choice(pool).split()
                    start_at = rng.randrange(max(1, len(words) - 5))
                    title = " ".join(words[start_at : start_at + rng.randint(3, 6)])
                    body = "\n\n".join(rng.sample(pool, k=min(6, len(pool))))
                    rows.append((article, language, title, body))
            import_translations(rows)
    fill_seconds = time.perf_counter() - started
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")

    cases = [
        case
        for path in sorted((ROOT / "destek/kb/tests/relevance").glob("*.json"))
        for case in json.loads(path.read_text(encoding="utf-8"))
    ]
    for case in cases[:20]:
        search(case["query"], case["lang"], limit=5)
    latencies: list[float] = []
    found = 0
    for _round in range(3):
        for case in cases:
            began = time.perf_counter()
            hits = search(case["query"], case["lang"], limit=5)
            latencies.append((time.perf_counter() - began) * 1000)
            if _round == 0 and case["expected"] in [h.translation.article.key for h in hits[:3]]:
                found += 1
    latencies.sort()
    return {
        "database": connection.vendor,
        "articles": Article.objects.count(),
        "translations": Translation.objects.count(),
        "fill_seconds": round(fill_seconds, 1),
        "queries": len(latencies),
        "p50_ms": round(statistics.median(latencies), 2),
        "p95_ms": round(latencies[int(len(latencies) * 0.95) - 1], 2),
        "max_ms": round(latencies[-1], 2),
        "top3_share": round(found / max(len(cases), 1), 3),
        "cases": len(cases),
    }


def run_one(name: str, articles: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix=f"destek-kb-bench-{name}-") as tmp:
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("DESTEK_")},
            "DESTEK_DATA_DIR": tmp,
            "DJANGO_SETTINGS_MODULE": "destek.settings",
            "DESTEK_SECRET_KEY": "bench-only-not-secret",
        }
        env.pop("DATABASE_URL", None)
        if name == "postgres":
            import psycopg

            with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
                conn.execute(f"DROP DATABASE IF EXISTS {PG_DB}")
                conn.execute(f"CREATE DATABASE {PG_DB}")
            env["DATABASE_URL"] = f"postgres://postgres@127.0.0.1:5432/{PG_DB}"
        out = subprocess.run(
            [sys.executable, __file__, "--inner", "--articles", str(articles)],
            env=env,
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=False,
            timeout=3600,
        )
        if out.returncode != 0:
            return {"database": name, "failed": out.stderr[-3000:]}
        return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--articles", type=int, default=10_000)
    parser.add_argument("--only", choices=("sqlite", "postgres"))
    parser.add_argument("--inner", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.inner:
        print(json.dumps(inner(args.articles)))
        return 0
    names = [args.only] if args.only else ["sqlite", "postgres"]
    results = {
        "started_at": datetime.now(UTC).isoformat(),
        "note": NOTE,
        "method": __doc__.split("\n\n", 2)[2].strip(),
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "databases": [run_one(name, args.articles) for name in names],
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "kb-search-latest.json").write_text(json.dumps(results, indent=2) + "\n")
    for row in results["databases"]:
        print(json.dumps(row))
    return 0 if all("failed" not in row for row in results["databases"]) else 1


if __name__ == "__main__":
    sys.exit(main())
