# Only what Destek uses of huey 2.x; see stubs/README.md.
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import ParamSpec, TypeVar

from huey import Huey, PeriodicTaskWrapper, TaskWrapper

_P = ParamSpec("_P")
_R = TypeVar("_R")

HUEY: Huey

def db_task(
    retries: int = ...,
    retry_delay: float = ...,
    retry_backoff: float = ...,
    priority: int | None = ...,
    context: bool = ...,
    name: str | None = ...,
    expires: float | timedelta | datetime | None = ...,
    timeout: float | None = ...,
) -> Callable[[Callable[_P, _R]], TaskWrapper[_P, _R]]: ...
def db_periodic_task(
    validate_datetime: Callable[[datetime], bool],
    retries: int = ...,
    retry_delay: float = ...,
    retry_backoff: float = ...,
    priority: int | None = ...,
    context: bool = ...,
    name: str | None = ...,
    expires: float | timedelta | datetime | None = ...,
    timeout: float | None = ...,
) -> Callable[[Callable[_P, _R]], PeriodicTaskWrapper[_P, _R]]: ...
