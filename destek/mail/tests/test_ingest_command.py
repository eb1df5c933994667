"""`destek ingest-email` as a mail server runs it: the console script in its own process, one
message on standard input, the answer in the exit code (sysexits)."""

from __future__ import annotations

import os
import subprocess
import sys
from email import policy
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow  # real processes: about ten seconds of Django start-ups

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


def message() -> bytes:
    msg = EmailMessage()
    msg["From"] = "Leyla Həsənova <leyla@example.org>"
    msg["To"] = "support@destek.localhost"
    msg["Subject"] = "Ödəniş keçmir"
    msg["Message-ID"] = make_msgid(domain="example.org")
    msg.set_content("Salam, kartla ödəniş edəndə xəta verir.")
    return msg.as_bytes(policy=policy.SMTP)


def test_a_message_on_stdin_prints_its_ticket_number_and_exits_0(
    environment: dict[str, str],
) -> None:
    done = ingest(environment, message())
    assert done.returncode == 0, done.stderr.decode()
    assert done.stdout.decode().strip().startswith("stored #")
    number = done.stdout.decode().split("#", 1)[1].split()[0]
    assert number.isdigit()


def test_the_same_message_piped_twice_is_stored_once(environment: dict[str, str]) -> None:
    raw = message()
    first, second = ingest(environment, raw), ingest(environment, raw)
    assert first.returncode == second.returncode == 0
    assert second.stdout.decode().strip() == first.stdout.decode().strip() + " (duplicate)"


def test_empty_input_exits_65_so_the_mail_server_bounces_it(environment: dict[str, str]) -> None:
    done = ingest(environment, b"")
    assert done.returncode == 65
    assert b"refused" in done.stderr


def test_an_unreachable_database_exits_75_so_the_mail_server_retries(
    environment: dict[str, str],
) -> None:
    env = {**environment, "DATABASE_URL": "postgres://postgres@127.0.0.1:1/x"}
    done = ingest(env, message())
    assert done.returncode == 75, done.stderr.decode()
    assert b"try again later" in done.stderr
