"""Test settings: everything of `destek.settings_base`, with what the suite needs instead of
production's choices. pytest loads this module (`DJANGO_SETTINGS_MODULE` in pyproject.toml),
and so does mypy's django-stubs plugin.

Environment overrides still apply: DATABASE_URL runs the suite on PostgreSQL, REDIS_URL puts
Huey on Redis for the end-to-end test, DESTEK_TEST_REAL_CACHE=1 keeps the configured cache.
Tests that start real `destek` processes drop DJANGO_SETTINGS_MODULE from their environment,
so those processes run on the production settings."""

from __future__ import annotations

import copy
import os
import tempfile
from pathlib import Path
from typing import Any, cast

from destek.lib.env import env_bool, env_int, env_str
from destek.settings_base import *

TESTING = True

SECRET_KEY = SECRET_KEY or "django-insecure-destek-tests-only-0123456789abcdefghijklmnopqrstuvwxyz"

# Tests never serve collected static files.
MIDDLEWARE = [m for m in MIDDLEWARE if m != "whitenoise.middleware.WhiteNoiseMiddleware"]
STORAGES = {
    **STORAGES,
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

if not DATABASE_URL:
    DATABASES = copy.deepcopy(DATABASES)
    # A file, not shared-cache memory: tests then see SQLite's real locking (WAL, busy
    # timeout), as concurrent requests do in production.
    DATABASES["default"]["TEST"] = {
        "NAME": str(Path(tempfile.gettempdir()) / f"destek-test-{os.getpid()}.sqlite3")
    }
    # Durability is not under test: skip fsync.
    DATABASES["default"]["OPTIONS"]["init_command"] = DATABASES["default"]["OPTIONS"][
        "init_command"
    ].replace("synchronous=NORMAL", "synchronous=OFF")

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

if not env_bool("DESTEK_TEST_REAL_CACHE"):
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# Queued work runs inline: one test covers publish and consume.
HUEY_IMMEDIATE = env_bool("DESTEK_HUEY_IMMEDIATE", True)
HUEY = {**HUEY, "immediate": HUEY_IMMEDIATE}

EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"

if REDIS_URL:
    # Redis pub/sub channels are not per database: parallel test processes, whose chats share
    # ids, each listen under a prefix of their own.
    CHANNEL_LAYERS = copy.deepcopy(CHANNEL_LAYERS)
    CHANNEL_LAYERS["default"]["CONFIG"]["prefix"] += f"test{os.getpid()}."

DESTEK_OUTBOX_JOURNAL_DIR = Path(
    env_str("DESTEK_OUTBOX_JOURNAL_DIR")
    or str(Path(tempfile.gettempdir()) / f"destek-test-journal-{os.getpid()}")
)
# Durability of the journal is not under test: tests skip fsync, as they do for SQLite.
DESTEK_OUTBOX_JOURNAL_FSYNC = False

LOGGING = {
    **LOGGING,
    "loggers": {
        **cast(dict[str, Any], LOGGING["loggers"]),
        "huey": {"level": "WARNING", "propagate": False},
    },
}

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "destek.settings_test")

# Searched tickets are indexed once the change commits, not seconds later.
DESTEK_SEARCH_DELAY_SECONDS = env_int("DESTEK_SEARCH_DELAY_SECONDS", 0, minimum=0)
