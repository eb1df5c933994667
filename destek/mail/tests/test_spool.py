"""`destek ingest-email` into the spool, and the worker filing the spool: a mail server hands a
message over in milliseconds, and it still becomes exactly one ticket."""

from __future__ import annotations

import errno
import io
import os
import subprocess
import sys
import time
from email import policy
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path
from typing import Any

import pytest

from destek.mail import spool
from destek.mail.jobs import drain_mail_spool, drain_mail_spool_now
from destek.mail.models import InboundMessage
from destek.tickets.models import Ticket

REPO = Path(__file__).resolve().parents[3]


def message(subject: str = "Ödəniş keçmir") -> bytes:
    msg = EmailMessage()
    msg["From"] = "Leyla Həsənova <leyla@example.org>"
    msg["To"] = "support@destek.localhost"
    msg["Subject"] = subject
    msg["Message-ID"] = make_msgid(domain="example.org")
    msg.set_content("Salam, kartla ödəniş edəndə xəta verir.")
    return msg.as_bytes(policy=policy.SMTP)


@pytest.fixture
def spool_dir(settings: Any, tmp_path: Path) -> Path:
    settings.DESTEK_MAIL_SPOOL_DIR = tmp_path / "spool"
    return Path(settings.DESTEK_MAIL_SPOOL_DIR)


def ingest_email(
    raw: bytes, spool_at: Path, *extra: str, **env: str
) -> subprocess.CompletedProcess[bytes]:
    """The real command, as a mail server runs it: its own process, the message on stdin."""
    environment = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("PYTEST", "DJANGO", "DESTEK_")) and k != "DATABASE_URL"
    }
    environment.update({"DESTEK_MAIL_SPOOL_DIR": str(spool_at), **env})
    return subprocess.run(
        [sys.executable, *extra, "-m", "destek.cli", "ingest-email"],
        input=raw,
        env=environment,
        cwd=REPO,
        capture_output=True,
        timeout=60,
    )


def files_in(root: Path) -> list[str]:
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())


def test_a_piped_message_is_accepted_then_the_worker_files_exactly_one_ticket(
    demo: None, spool_dir: Path, run_job: Any
) -> None:
    done = ingest_email(message("Kart ödənişi"), spool_dir)
    assert done.returncode == 0, done.stderr.decode()
    assert done.stdout.decode().startswith("accepted: ")
    assert len(spool.waiting(spool_dir)) == 1

    [outcome] = run_job(drain_mail_spool_now)

    ticket = Ticket.objects.get(number=outcome.ticket_number)
    assert ticket.subject == "Kart ödənişi"
    assert Ticket.objects.filter(subject="Kart ödənişi").count() == 1
    assert InboundMessage.objects.get().source == "pipe:pipe"
    assert files_in(spool_dir) == []  # removed once the ticket was committed
    assert run_job(drain_mail_spool.call_local) == 0


def test_ingest_email_does_not_start_django(tmp_path: Path) -> None:
    done = ingest_email(message(), tmp_path / "spool", "-X", "importtime")
    assert done.returncode == 0, done.stderr.decode()
    imported = [line.rsplit("|", 1)[-1].strip() for line in done.stderr.decode().splitlines()]
    assert "destek.mail.spool" in imported
    assert not [name for name in imported if name.startswith("django")]


def test_the_same_message_piped_twice_becomes_one_ticket(
    demo: None, spool_dir: Path, run_job: Any
) -> None:
    raw = message("Eyni məktub")
    assert ingest_email(raw, spool_dir).returncode == 0
    assert ingest_email(raw, spool_dir).returncode == 0

    first, second = run_job(drain_mail_spool_now)

    assert second.duplicate and second.ticket_number == first.ticket_number
    assert Ticket.objects.filter(subject="Eyni məktub").count() == 1
    assert files_in(spool_dir) == []


def test_an_unwritable_spool_exits_75_and_leaves_nothing_half_written(tmp_path: Path) -> None:
    blocked = tmp_path / "spool"
    blocked.mkdir()
    (blocked / "tmp").write_text("a file where the directory should be")
    done = ingest_email(message(), blocked)
    assert done.returncode == 75
    assert b"try again later" in done.stderr
    assert files_in(blocked) == ["tmp"]


def test_a_full_disk_while_spooling_exits_75_and_removes_the_partial_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DESTEK_MAIL_SPOOL_DIR", str(tmp_path / "spool"))

    def full(fd: int, data: Any) -> int:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "write", full)
    out, err = io.StringIO(), io.StringIO()
    code = spool.accept(io.BytesIO(message()), out, err)
    monkeypatch.undo()
    assert code == 75
    assert "No space left on device" in err.getvalue()
    assert files_in(tmp_path / "spool") == []


def test_empty_input_exits_65_so_the_mail_server_bounces_it(tmp_path: Path) -> None:
    done = ingest_email(b"  \r\n", tmp_path / "spool")
    assert done.returncode == 65
    assert b"refused: empty message" in done.stderr
    assert not (tmp_path / "spool").exists() or files_in(tmp_path / "spool") == []


def test_a_message_over_the_size_limit_exits_65(tmp_path: Path) -> None:
    raw = message() + b"x" * (1024 * 1024)
    done = ingest_email(raw, tmp_path / "spool", DESTEK_MAIL_MAX_MB="1")
    assert done.returncode == 65
    assert b"larger than 1 MB" in done.stderr


def test_a_crashed_workers_claim_is_taken_again_and_filed_once(
    demo: None, spool_dir: Path, run_job: Any
) -> None:
    spool.write(message("Yarımçıq qalan"), spool_dir)
    [name] = spool.waiting(spool_dir)
    claimed = spool.claim(spool_dir, name)  # a worker takes it, then dies
    assert claimed is not None
    assert run_job(drain_mail_spool_now) == []  # nobody else touches a fresh claim

    long_ago = time.time() - spool.RECLAIM_AFTER_SECONDS - 60
    os.utime(claimed, (long_ago, long_ago))
    assert run_job(drain_mail_spool.call_local) == 1

    assert Ticket.objects.filter(subject="Yarımçıq qalan").count() == 1
    assert files_in(spool_dir) == []


def test_two_workers_never_claim_the_same_message(tmp_path: Path) -> None:
    spool.write(message(), tmp_path)
    [name] = spool.waiting(tmp_path)
    assert spool.claim(tmp_path, name) is not None
    assert spool.claim(tmp_path, name) is None


def test_a_full_disk_keeps_the_message_in_the_spool_and_leaves_no_partial_raw_file(
    demo: None, spool_dir: Path, run_job: Any, monkeypatch: pytest.MonkeyPatch, settings: Any
) -> None:
    spool.write(message("Sonra"), spool_dir)

    def full(*args: Any, **kwargs: Any) -> Any:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "write", full)  # the raw mail cannot be stored: a full disk
    assert run_job(drain_mail_spool_now) == []
    monkeypatch.undo()

    assert not InboundMessage.objects.exists()
    assert not Path(settings.MEDIA_ROOT).exists() or files_in(Path(settings.MEDIA_ROOT)) == []
    [claimed] = files_in(spool_dir)
    assert claimed.startswith("cur/")  # kept, and taken again after RECLAIM_AFTER_SECONDS
    spool.reclaim(spool_dir, older_than=-1)
    [outcome] = run_job(drain_mail_spool_now)
    assert Ticket.objects.get(number=outcome.ticket_number).subject == "Sonra"
