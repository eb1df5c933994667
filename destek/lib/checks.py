"""System checks for settings that would break Destek quietly at run time."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import Error, Info, register


@register()
def destek_settings_check(app_configs: Any = None, **kwargs: Any) -> list[Any]:
    problems: list[Any] = []
    engine = settings.DATABASES["default"]["ENGINE"]
    if engine not in ("django.db.backends.sqlite3", "django.db.backends.postgresql"):
        problems.append(
            Error(
                f"Unsupported database engine {engine}.",
                hint="Use SQLite (no DATABASE_URL) or PostgreSQL (DATABASE_URL=postgres://...).",
                id="destek.E001",
            )
        )
    if settings.REDIS_URL == "" and settings.DATABASES["default"]["ENGINE"].endswith("postgresql"):
        problems.append(
            Info(
                "PostgreSQL without REDIS_URL: the queue and cache stay on this machine.",
                hint="Set REDIS_URL when running web and worker processes on several machines.",
                id="destek.I001",
            )
        )
    return problems
