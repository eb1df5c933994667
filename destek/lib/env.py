"""Typed settings from the environment that fail loudly.

Every variable Destek reads is listed in `.env.example`. A value that does not parse raises
`ImproperlyConfigured` at start-up naming the variable, instead of silently falling back.
A `NAME_FILE` variable (Docker/Kubernetes secrets) is read in place of `NAME` when set.

Only the standard library is imported here (Django only when a value is wrong): `destek
ingest-email` reads its settings through these helpers without starting Django.
"""

from __future__ import annotations

import os
from pathlib import Path

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def _wrong(message: str) -> Exception:
    """ImproperlyConfigured, with Django imported only now."""
    from django.core.exceptions import ImproperlyConfigured

    return ImproperlyConfigured(message)


def _raw(name: str) -> str | None:
    file_name = os.environ.get(f"{name}_FILE")
    if file_name:
        try:
            return Path(file_name).read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise _wrong(f"{name}_FILE={file_name!r} cannot be read: {exc}") from exc
    return os.environ.get(name)


def env_str(name: str, default: str = "") -> str:
    value = _raw(name)
    return default if value is None else value


def env_bool(name: str, default: bool = False) -> bool:
    value = _raw(name)
    if value is None:
        return default
    lowered = value.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise _wrong(f"{name}={value!r} is not a boolean (use 1/0, true/false).")


def env_int(name: str, default: int, *, minimum: int | None = None) -> int:
    value = _raw(name)
    if value is None or value.strip() == "":
        return default
    try:
        number = int(value)
    except ValueError:
        raise _wrong(f"{name}={value!r} is not an integer.") from None
    if minimum is not None and number < minimum:
        raise _wrong(f"{name}={number} is below the minimum {minimum}.")
    return number


def env_list(name: str, default: list[str] | None = None) -> list[str]:
    value = _raw(name)
    if value is None:
        return list(default or [])
    return [item.strip() for item in value.split(",") if item.strip()]


def env_pairs(name: str) -> dict[str, str]:
    """`name=value` pairs separated by commas, e.g. `shop=s3cr3t,blog=0th3r`: each name once,
    neither part empty (a value may contain `=`)."""
    pairs: dict[str, str] = {}
    for item in env_list(name):
        key, sep, value = item.partition("=")
        key, value = key.strip(), value.strip()
        if not sep or not key or not value:
            raise _wrong(f"{name}: {key or item!r} is not a name=value pair.")
        if key in pairs:
            raise _wrong(f"{name}: {key!r} is given twice.")
        pairs[key] = value
    return pairs
