"""What the PostgreSQL benchmarks at a million tickets share (bench/reports.py and
bench/ticket_search.py): their paths, the note on the machine, a timestamped log line, the
environment of the `destek` commands they run, a timed command, and a fresh database."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
DESTEK = Path(sys.executable).parent / "destek"
PG_ADMIN_URL = "postgres://postgres@127.0.0.1:5432/postgres"
NOTE = (
    "Measured on a shared 2-core machine (other jobs may run beside it): compare runs on the "
    "same machine only, and treat differences under ~20% as noise."
)


def database_url(database: str) -> str:
    return f"postgres://postgres@127.0.0.1:5432/{database}"


def log(line: str) -> None:
    print(f"[{datetime.now(UTC):%H:%M:%S}] {line}", flush=True)


def environment(data_dir: Path, database: str) -> dict[str, str]:
    """This environment without its Destek settings, on `database`, logging warnings only."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("DESTEK_")}
    env.update(
        DESTEK_DATA_DIR=str(data_dir),
        DATABASE_URL=database_url(database),
        DJANGO_SETTINGS_MODULE="destek.settings",
        DESTEK_LOG_LEVEL="WARNING",
    )
    env.pop("REDIS_URL", None)
    return env


def timed(argv: list[str], env: dict[str, str]) -> float:
    """Run a command; the seconds it took."""
    started = time.monotonic()
    subprocess.run(argv, env=env, check=True, cwd=ROOT)
    return round(time.monotonic() - started, 1)


def fresh_database(database: str) -> None:
    """`database` dropped (with its connections) and made again, empty."""
    subprocess.run(
        ["psql", PG_ADMIN_URL, "-qc", f"DROP DATABASE IF EXISTS {database} WITH (FORCE)"],
        check=True,
    )
    subprocess.run(["psql", PG_ADMIN_URL, "-qc", f"CREATE DATABASE {database}"], check=True)
