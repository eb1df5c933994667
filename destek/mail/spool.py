"""The inbound mail spool: `destek ingest-email` writes, the worker files.

A mail server runs `destek ingest-email` once per message. Starting Django for each one took
1.5-1.8 s, so a burst of mail queued up at the mail server. The command now only makes the
message durable and exits; the worker turns it into a ticket a moment later. Standard library
only: nothing here may import Django (`python -X importtime -m destek.cli ingest-email` shows it).

The directory is a maildir of its own (DESTEK_MAIL_SPOOL_DIR, by default <data>/spool/mail):

    tmp/   being written: a crash or a full disk leaves only files here, never in new/
    new/   complete and durable (written, fsynced, renamed, directory fsynced): waiting
    cur/   claimed by a worker (an atomic rename, so two workers never take the same file)
    refused/  what the worker could never accept (over the size limit since); kept for a look

Exit codes (sysexits, as mail servers read them): 0 once the message is durable in new/; 75
(EX_TEMPFAIL) when it could not be made durable (a full disk, no permission), so the mail
server tries again later and nothing half-written stays; 65 (EX_DATAERR) when it cannot be
accepted at all (empty, over DESTEK_MAIL_MAX_MB), so it bounces.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Iterator
from pathlib import Path

from destek.lib.paths import mail_max_mb, mail_spool_dir

EX_OK = 0
EX_DATAERR = 65
EX_TEMPFAIL = 75

#: A claimed file whose worker has not finished it in this time is taken again (the worker
#: died, or the database was away): the pipeline's dedupe makes a second run safe.
RECLAIM_AFTER_SECONDS = 300
#: Files left in tmp/ by a writer that died half-way.
TMP_MAX_AGE_SECONDS = 3600

_CHUNK = 1 << 20

TYPE_CHECKING = False  # `typing` alone costs milliseconds at every start
if TYPE_CHECKING:
    from typing import BinaryIO, TextIO


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _unique_name(source: str) -> str:
    """time.pid.random.host: unique across processes and machines sharing the directory."""
    host = os.uname().nodename.replace("/", "-").replace(".", "-")[:40] or "host"
    label = "".join(c if c.isalnum() or c in "-_" else "-" for c in source)[:40] or "pipe"
    return f"{time.time_ns()}.{os.getpid()}.{os.urandom(6).hex()}.{host}.{label}.eml"


def source_of(name: str) -> str:
    """The adapter a spool file came from, as the pipeline records it."""
    parts = name.split(".")
    return f"pipe:{parts[4]}" if len(parts) >= 6 else "pipe"


def ensure_dirs(root: Path) -> None:
    for sub in ("tmp", "new", "cur"):
        (root / sub).mkdir(parents=True, exist_ok=True)


def write(raw: bytes, root: Path, *, source: str = "pipe") -> Path:
    """Make `raw` durable in new/ and return its path; raise OSError with nothing left behind."""
    ensure_dirs(root)
    name = _unique_name(source)
    temporary = root / "tmp" / name
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o640)
    try:
        try:
            view = memoryview(raw)
            while view:
                written = os.write(fd, view[:_CHUNK])
                view = view[written:]
            os.fsync(fd)
        finally:
            os.close(fd)
        final = root / "new" / name
        os.rename(temporary, final)
        _fsync_dir(root / "new")
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
    return final


def accept(stream: BinaryIO, out: TextIO, err: TextIO, *, source: str = "pipe") -> int:
    """`destek ingest-email`: one message from `stream` into the spool; a sysexits code."""
    try:
        limit = mail_max_mb() * 1024 * 1024
        root = mail_spool_dir()
    except Exception as exc:  # a malformed setting: the mail server keeps the message
        print(f"temporary failure, try again later: {exc}", file=err)
        return EX_TEMPFAIL
    try:
        raw = stream.read(limit + 1)
    except OSError as exc:
        print(f"temporary failure, try again later: {exc}", file=err)
        return EX_TEMPFAIL
    if not raw.strip():
        print("refused: empty message", file=err)
        return EX_DATAERR
    if len(raw) > limit:
        print(f"refused: larger than {mail_max_mb()} MB", file=err)
        return EX_DATAERR
    try:
        path = write(raw, root, source=source)
    except OSError as exc:
        print(f"temporary failure, try again later: {exc.strerror or exc}", file=err)
        return EX_TEMPFAIL
    print(f"accepted: {path.name} (the worker files it as a ticket)", file=out)
    return EX_OK


# --- the worker's side -------------------------------------------------------------------------


def waiting(root: Path) -> list[str]:
    """Names in new/, oldest first (names start with the time they were written)."""
    try:
        return sorted(entry.name for entry in os.scandir(root / "new") if entry.is_file())
    except FileNotFoundError:
        return []


def claim(root: Path, name: str) -> Path | None:
    """Take one waiting file for this worker: None when another worker took it first."""
    (root / "cur").mkdir(parents=True, exist_ok=True)
    claimed = root / "cur" / name
    try:
        os.rename(root / "new" / name, claimed)
    except FileNotFoundError:
        return None
    os.utime(claimed)  # the claim's time: what `reclaim` measures
    return claimed


def finish(path: Path) -> None:
    """The message is committed: its spool file goes."""
    with contextlib.suppress(FileNotFoundError):
        path.unlink()


def release(root: Path, path: Path) -> None:
    """A claimed message this worker did not try after all: back to new/ for the next look."""
    with contextlib.suppress(FileNotFoundError):
        os.rename(path, root / "new" / path.name)


def refuse(root: Path, path: Path) -> None:
    """A message the pipeline can never accept: kept aside for an administrator."""
    (root / "refused").mkdir(parents=True, exist_ok=True)
    with contextlib.suppress(FileNotFoundError):
        os.rename(path, root / "refused" / path.name)


def reclaim(root: Path, *, older_than: float = RECLAIM_AFTER_SECONDS) -> int:
    """Claims older than `older_than` seconds go back to new/ (their worker died, or the
    database was away); files a dead writer left in tmp/ for an hour are removed."""
    now = time.time()
    moved = 0
    for entry in _entries(root / "cur"):
        if now - entry.stat().st_mtime > older_than:
            with contextlib.suppress(FileNotFoundError):
                os.rename(entry.path, root / "new" / entry.name)
                moved += 1
    for entry in _entries(root / "tmp"):
        if now - entry.stat().st_mtime > TMP_MAX_AGE_SECONDS:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(entry.path)
    return moved


def _entries(directory: Path) -> Iterator[os.DirEntry[str]]:
    try:
        with os.scandir(directory) as entries:
            yield from [entry for entry in entries if entry.is_file()]
    except FileNotFoundError:
        return
