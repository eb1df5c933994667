"""Production settings: everything of `destek.settings_base`, plus what only a real install
does to the disk: the data directory, and on one machine a random secret key kept in it.

`destek` (the CLI), wsgi, asgi and manage.py load this module; the tests load
`destek.settings_test`."""

from __future__ import annotations

import os
import secrets

from destek.settings_base import *
from destek.settings_base import DATA_DIR, SECRET_KEY

DATA_DIR.mkdir(parents=True, exist_ok=True)

if not SECRET_KEY:
    # One machine (embedded): a random key kept under DATA_DIR. Several machines must share
    # one key, so production sets DESTEK_SECRET_KEY (or DESTEK_SECRET_KEY_FILE).
    _key_file = DATA_DIR / "secret_key"
    if not _key_file.exists():
        _key_file.write_text(secrets.token_urlsafe(50), encoding="utf-8")
        _key_file.chmod(0o600)
    SECRET_KEY = _key_file.read_text(encoding="utf-8").strip()

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "destek.settings")
