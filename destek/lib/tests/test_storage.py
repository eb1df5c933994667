"""Files are written whole or not at all, and files nobody owns do not stay for ever."""

from __future__ import annotations

import errno
import os
import time
from pathlib import Path
from typing import Any

import pytest
from django.core.files.base import ContentFile

from destek.lib.storage import DurableFileSystemStorage, sweep_orphans


def files_in(root: Path) -> list[str]:
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())


def test_a_full_disk_half_way_through_a_file_leaves_nothing_behind(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    storage = DurableFileSystemStorage(location=tmp_path)
    real_write = os.write
    calls = []

    def fills_up(fd: int, data: Any) -> int:
        calls.append(len(data))
        if len(calls) > 1:  # the first chunk fits, the second finds the disk full
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real_write(fd, data)

    monkeypatch.setattr(os, "write", fills_up)
    big = ContentFile(b"x" * (3 * 64 * 1024), name="big.bin")  # several chunks
    with pytest.raises(OSError, match="No space left"):
        storage.save("attachments/2026/12/big.bin", big)
    monkeypatch.undo()
    assert files_in(tmp_path) == []


def test_a_file_is_saved_whole_under_its_name_and_never_over_another(tmp_path: Path) -> None:
    storage = DurableFileSystemStorage(location=tmp_path)
    first = storage.save("mail/raw/a.eml", ContentFile(b"first"))
    second = storage.save("mail/raw/a.eml", ContentFile(b"second"))
    assert first == "mail/raw/a.eml" and second != first
    assert (tmp_path / first).read_bytes() == b"first"
    assert (tmp_path / second).read_bytes() == b"second"
    assert files_in(tmp_path) == sorted([first, second])  # no temporary file left


def test_the_sweep_removes_old_orphans_and_stale_temporary_files_only(tmp_path: Path) -> None:
    now = time.time()

    def make(name: str, age_hours: float) -> None:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"x")
        os.utime(path, (now - age_hours * 3600, now - age_hours * 3600))

    make("attachments/2026/11/orphan.bin", 25)
    make("attachments/2026/11/owned.bin", 25)
    make("attachments/2026/12/young.bin", 2)
    make("attachments/2026/12/.cut.bin.tmp-1a2b", 2)
    make("attachments/2026/12/.fresh.bin.tmp-3c4d", 0.1)
    make("kb/2026/11/other-app.pdf", 48)

    removed = sweep_orphans(
        tmp_path, "attachments", lambda names: [n for n in names if n.endswith("owned.bin")]
    )

    assert removed == 2
    assert files_in(tmp_path) == [
        "attachments/2026/11/owned.bin",
        "attachments/2026/12/.fresh.bin.tmp-3c4d",
        "attachments/2026/12/young.bin",
        "kb/2026/11/other-app.pdf",
    ]
