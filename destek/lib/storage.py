"""File storage that never leaves half-written files, and the sweep for files nobody owns.

Django's FileSystemStorage writes straight into the final name: a full disk mid-upload left a
truncated attachment or raw mail that no row pointed to and no purge ever removed, and the disk
stayed full. Here every file is written under a temporary name next to its final one, fsynced,
and only then linked into place; on any failure the temporary file is removed and the error
goes up (the actions turn it into a clear message).
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import secrets
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

from django.core.files.storage import FileSystemStorage

log = logging.getLogger(__name__)

#: Marks a file still being written: `<name>.tmp-<random>`, hidden (a leading dot).
TMP_MARK = ".tmp-"
#: Files without a row are removed once older than this (a row is saved right after its file).
ORPHAN_AGE_SECONDS = 24 * 3600
#: Temporary files a crashed writer left behind.
TMP_AGE_SECONDS = 3600
#: Errors of file systems that cannot hard-link (some network and FUSE file systems).
_NO_LINKS = {errno.EPERM, errno.EOPNOTSUPP, errno.ENOTSUP, errno.EMLINK, errno.EXDEV}


def _fsync_dir(directory: str) -> None:
    with contextlib.suppress(OSError):  # not every file system lets a directory be opened
        fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


class DurableFileSystemStorage(FileSystemStorage):
    """FileSystemStorage whose `save` is all or nothing (see the module's docstring)."""

    def _save(self, name: str, content: Any) -> str:
        full_path = self.path(name)
        directory = os.path.dirname(full_path)
        if self.directory_permissions_mode is not None:
            old_umask = os.umask(0o777 & ~self.directory_permissions_mode)
            try:
                os.makedirs(directory, self.directory_permissions_mode, exist_ok=True)
            finally:
                os.umask(old_umask)
        else:
            os.makedirs(directory, exist_ok=True)
        temporary = os.path.join(
            directory, f".{os.path.basename(full_path)}{TMP_MARK}{secrets.token_hex(6)}"
        )
        try:
            self._write(temporary, content)
            while True:
                try:
                    _place(temporary, full_path)
                    break
                except FileExistsError:
                    # Another upload took the name since `get_available_name`: pick again.
                    name = self.get_available_name(name)
                    full_path = self.path(name)
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(temporary)
        _fsync_dir(directory)
        return str(name).replace("\\", "/")

    def _write(self, temporary: str, content: Any) -> None:
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
        fd = os.open(temporary, flags, 0o666)
        try:
            if hasattr(content, "seek"):
                with contextlib.suppress(Exception):
                    content.seek(0)
            for chunk in content.chunks():
                data = chunk.encode("utf-8") if isinstance(chunk, str) else chunk
                view = memoryview(data)
                while view:
                    written = os.write(fd, view)
                    view = view[written:]
            os.fsync(fd)
        finally:
            os.close(fd)
        if self.file_permissions_mode is not None:
            os.chmod(temporary, self.file_permissions_mode)


def _place(temporary: str, final: str) -> None:
    """Give the written file its name, never over another file (FileExistsError then)."""
    try:
        os.link(temporary, final)
    except FileExistsError:
        raise
    except OSError as exc:
        if exc.errno not in _NO_LINKS:
            raise
        if os.path.exists(final):
            raise FileExistsError(errno.EEXIST, "exists", final) from exc
        os.rename(temporary, final)


# --- the sweep --------------------------------------------------------------------------------


def _files(root: Path) -> Iterator[tuple[str, float]]:
    for directory, _dirs, names in os.walk(root):
        for name in names:
            path = os.path.join(directory, name)
            with contextlib.suppress(FileNotFoundError):
                yield path, os.stat(path).st_mtime


def sweep_orphans(
    media_root: Path | str,
    prefix: str,
    referenced: Callable[[list[str]], Iterable[str]],
    *,
    batch: int = 500,
    now: float | None = None,
) -> int:
    """Remove files under `media_root/prefix` that no row names (`referenced` returns, of the
    storage names given, those a row holds) once older than a day, and temporary files older
    than an hour. Returns how many files went. Safe to run twice, or in two workers."""
    root = Path(media_root)
    now = time.time() if now is None else now
    removed = 0
    pending: list[tuple[str, str]] = []  # (storage name, path)

    def settle() -> int:
        names = [name for name, _path in pending]
        kept = set(referenced(names))
        gone = 0
        for name, path in pending:
            if name not in kept:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(path)
                    gone += 1
                    log.info("removed %s: no row refers to it", name)
        pending.clear()
        return gone

    for path, mtime in _files(root / prefix):
        age = now - mtime
        if TMP_MARK in os.path.basename(path):
            if age > TMP_AGE_SECONDS:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(path)
                    removed += 1
            continue
        if age <= ORPHAN_AGE_SECONDS:
            continue
        pending.append((Path(path).relative_to(root).as_posix(), path))
        if len(pending) >= batch:
            removed += settle()
    if pending:
        removed += settle()
    return removed
