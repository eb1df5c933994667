"""Where Destek keeps its files, and the few limits read before Django starts.

One definition for both the settings and `destek ingest-email`, which must not start Django
(a mail server runs it once per message): standard library only.
"""

from __future__ import annotations

from pathlib import Path

from destek.lib.env import env_int, env_str


def data_dir() -> Path:
    """DESTEK_DATA_DIR, or ./var; an empty value means the default too, never the current
    directory by accident."""
    return Path(env_str("DESTEK_DATA_DIR") or str(Path.cwd() / "var")).resolve()


def mail_spool_dir() -> Path:
    """DESTEK_MAIL_SPOOL_DIR, or <data>/spool/mail: inbound mail waiting for the worker."""
    value = env_str("DESTEK_MAIL_SPOOL_DIR")
    return Path(value).resolve() if value else data_dir() / "spool" / "mail"


def mail_max_mb() -> int:
    """DESTEK_MAIL_MAX_MB: the largest inbound message accepted (bigger ones bounce)."""
    return env_int("DESTEK_MAIL_MAX_MB", 60, minimum=1)
