"""The admin's configuration, read once per process and kept until someone changes it.

SLA policies and calendars, routing and intake rules, departments and our own addresses
change a few times a month and were read on every request: a third of a ticket's SQL
statements. Each process now keeps what it loaded under a name, tagged with the
configuration's version. A save or delete of a watched model bumps the version in the shared
cache (Redis in production; on one machine the data folder's file cache, which every process
there shares) once its transaction commits. The process that saved forgets its copies at once;
every other process asks the shared cache for the version at most every
`DESTEK_CONFIG_RECHECK_MS` milliseconds (1,000 by default), so it sees the change within that.

What a transaction loads after changing a watched model is not kept: it may be rolled back.
When the shared cache does not answer, nothing is kept and every read goes to the database,
which is slower but never stale. A bump lost to a shared-cache blip at the moment of a save
would leave other processes' copies in place, so no copy is kept longer than
`DESTEK_CONFIG_MAX_AGE_S` (300 by default) whatever the version says.

Values handed out are shared by the threads of a process: callers must not change them.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from django.conf import settings
from django.core.cache import cache
from django.db import connection, transaction
from django.db.models import Model
from django.db.models.signals import m2m_changed, post_delete, post_save

log = logging.getLogger(__name__)

VERSION_KEY = "destek:config:version"

T = TypeVar("T")


class _State:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.values: dict[str, tuple[int, float, Any]] = {}  # version, loaded at, value
        self.version: int | None = None
        self.checked_at = 0.0


_state = _State()


def _fresh_version() -> int:
    # A restarted Redis forgets the key: a new start value (not 1 again) keeps a process
    # that cached under an old number from mistaking it for the current one.
    return time.time_ns()


def _shared_version() -> int | None:
    try:
        version = cache.get(VERSION_KEY)
        if version is None:
            cache.add(VERSION_KEY, _fresh_version(), timeout=None)
            version = cache.get(VERSION_KEY)
    except Exception:
        log.warning("configuration cache: the shared cache does not answer", exc_info=True)
        return None
    return None if version is None else int(version)


def _current_version() -> int | None:
    """The configuration's version, asked of the shared cache at most once per recheck
    interval; None (nothing is kept) while the shared cache does not answer, which is asked
    again only after the interval too, so an outage costs one attempt and one log line per
    interval, not one per read."""
    now = time.monotonic()
    if (
        _state.checked_at == 0.0
        or now - _state.checked_at >= settings.DESTEK_CONFIG_RECHECK_MS / 1000
    ):
        version = _shared_version()
        with _state.lock:
            if version != _state.version:
                _state.values.clear()
            _state.version = version
            _state.checked_at = now
    return _state.version


def _changed_in_this_transaction() -> bool:
    """A watched model changed in the transaction under way: what it reads now may be
    rolled back, so it is not kept. The change's bump is then still waiting for the commit
    (a rollback, of the transaction or of the savepoint the change was made in, drops it)."""
    return connection.in_atomic_block and any(
        entry[1] is _bump for entry in connection.run_on_commit
    )


def cached(name: str, load: Callable[[], T]) -> T:
    """The value `load()` returns, kept under `name` until the configuration changes."""
    if _changed_in_this_transaction():
        return load()
    version = _current_version()
    if version is None:
        return load()
    kept = _state.values.get(name)
    now = time.monotonic()
    if kept is not None and kept[0] == version and now - kept[1] < settings.DESTEK_CONFIG_MAX_AGE_S:
        value: T = kept[2]
        return value
    value = load()
    with _state.lock:
        if _state.version == version:
            _state.values[name] = (version, now, value)
    return value


def _bump() -> None:
    try:
        try:
            cache.incr(VERSION_KEY)
        except ValueError:  # the key is gone (a restarted Redis): start from a new number
            cache.set(VERSION_KEY, _fresh_version(), timeout=None)
    except Exception:
        log.warning("configuration cache: the version was not bumped", exc_info=True)
    forget()


def changed() -> None:
    """The configuration changed (a watched model, or a bulk update that sends no signals):
    this process forgets its copies now, every process once the transaction commits."""
    forget()
    transaction.on_commit(_bump)


def forget() -> None:
    """Forget this process's copies (the next read loads again and asks for the version)."""
    with _state.lock:
        _state.values.clear()
        _state.version = None
        _state.checked_at = 0.0


Relevant = Callable[[Any, frozenset[str] | None], bool]


def watch(*models: type[Model], relevant: Relevant | None = None) -> None:
    """Any save or delete of these models changes the configuration. `relevant(instance,
    update_fields)` may say that a save does not (a sign-in updating a user's last login)."""

    def on_save(
        sender: Any, instance: Any, update_fields: Iterable[str] | None = None, **kw: Any
    ) -> None:
        fields = frozenset(update_fields) if update_fields is not None else None
        if relevant is None or relevant(instance, fields):
            changed()

    def on_other(sender: Any, **kw: Any) -> None:
        changed()

    for model in models:
        post_save.connect(
            on_save, sender=model, weak=False, dispatch_uid=f"config:{model._meta.label}:save"
        )
        post_delete.connect(
            on_other, sender=model, weak=False, dispatch_uid=f"config:{model._meta.label}:delete"
        )
        for field in model._meta.many_to_many:
            through = getattr(field.remote_field, "through", None)
            if through is not None:
                m2m_changed.connect(
                    on_other,
                    sender=through,
                    weak=False,
                    dispatch_uid=f"config:{model._meta.label}:{field.name}",
                )


def start_afresh() -> None:
    """Nothing kept (each test starts so: the test before it rolled its configuration back
    without a commit)."""
    forget()
