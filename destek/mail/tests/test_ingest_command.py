"""`destek ingest-email` as a mail server runs it: the console script in its own process, one
message on standard input, the answer in the exit code (sysexits); then `destek
drain-mail-spool` files the spool as the worker does."""

from __future__ import annotations

import os
import subprocess
import sys
from email import policy
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow  # real processes: several seconds of Django start-ups

DESTEK = str(Path(sys.executable).parent / "destek")


@pytest.fixture(scope="module")
def environment(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """A migrated SQLite database of its own, with the demo data, in a temporary
    DESTEK_DATA_DIR."""
    data = tmp_path_factory.mktemp("ingest")
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("PYTEST", "DJANGO", "DESTEK_"))
        and k not in {"DATABASE_URL", "REDIS_URL"}
    }
    env.update(
        {
            "DESTEK_DATA_DIR": str(data / "var"),
            "DESTEK_EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend",
            "DESTEK_HUEY_NAME": f"destek-ingest-{os.getpid()}",
        }
    )
    subprocess.run([DESTEK, "migrate", "--noinput", "-v0"], env=env, cwd=data, check=True)
    # The demo's departments: a new ticket needs one to land in.
    subprocess.run([DESTEK, "demo"], env=env, cwd=data, check=True, capture_output=True)
    return env


def ingest(env: dict[str, str], raw: bytes) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [DESTEK, "ingest-email"], input=raw, env=env, capture_output=True, timeout=120
    )


def drain(env: dict[str, str]) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([DESTEK, "drain-mail-spool"], env=env, capture_output=True, timeout=120)


def message() -> bytes:
    msg = EmailMessage()
    msg["From"] = "Leyla Həsənova <leyla@example.org>"
    msg["To"] = "support@destek.localhost"
    msg["Subject"] = "Ödəniş keçmir"
    msg["Message-ID"] = make_msgid(domain="example.org")
    # Each message its own text: the same text twice within a day is refused as a duplicate.
    msg.set_content("Salam, kartla ödəniş edəndə xəta verir: {}.".format(msg["Message-ID"]))
    return msg.as_bytes(policy=policy.SMTP)


def test_a_message_on_stdin_is_accepted_and_the_worker_files_one_ticket(
    environment: dict[str, str],
) -> None:
    done = ingest(environment, message())
    assert done.returncode == 0, done.stderr.decode()
    assert done.stdout.decode().startswith("accepted: ")
    filed = drain(environment)
    assert filed.returncode == 0, filed.stderr.decode()
    [line] = filed.stdout.decode().splitlines()
    assert line.startswith("stored #")
    assert line.split("#", 1)[1].isdigit()
    assert drain(environment).stdout == b""  # the spool is empty: nothing is filed twice


def test_the_same_message_piped_twice_is_stored_once(environment: dict[str, str]) -> None:
    raw = message()
    first, second = ingest(environment, raw), ingest(environment, raw)
    assert first.returncode == second.returncode == 0
    stored, duplicate = drain(environment).stdout.decode().splitlines()
    assert duplicate == stored + " (duplicate)"


def test_empty_input_exits_65_so_the_mail_server_bounces_it(environment: dict[str, str]) -> None:
    done = ingest(environment, b"")
    assert done.returncode == 65
    assert b"refused" in done.stderr


def test_an_unreachable_database_keeps_the_message_in_the_spool_for_later(
    environment: dict[str, str],
) -> None:
    env = {**environment, "DATABASE_URL": "postgres://postgres@127.0.0.1:1/x"}
    assert ingest(env, message()).returncode == 0  # the pipe never needs the database
    assert drain(env).stdout == b""
    # Claimed by the failed run: taken again only after a few minutes (here: at once).
    assert drain(environment).stdout == b""
    reclaimed = subprocess.run(
        [DESTEK, "drain-mail-spool", "--reclaim"], env=environment, capture_output=True
    )
    assert reclaimed.stdout.decode().startswith("stored #")
