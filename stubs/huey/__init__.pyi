# Only what Destek uses of huey 2.x; see stubs/README.md.
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Generic, ParamSpec, TypeVar

_P = ParamSpec("_P")
_R = TypeVar("_R")
_F = TypeVar("_F", bound=Callable[..., object])

def crontab(
    minute: str = ...,
    hour: str = ...,
    day: str = ...,
    month: str = ...,
    day_of_week: str = ...,
    strict: bool = ...,
) -> Callable[[datetime], bool]: ...

class Result(Generic[_R]):
    id: str
    def get(
        self,
        blocking: bool = ...,
        timeout: float | None = ...,
        backoff: float = ...,
        max_delay: float = ...,
        revoke_on_timeout: bool = ...,
        preserve: bool = ...,
    ) -> _R | None: ...

class Task:
    id: str
    args: tuple[object, ...]
    kwargs: dict[str, object]

class PeriodicTask(Task):
    def validate_datetime(self, timestamp: datetime) -> bool: ...

class TaskWrapper(Generic[_P, _R]):
    """Calling it enqueues the function (or runs it at once when `immediate`)."""

    task_class: type[Task]
    def __call__(self, *args: _P.args, **kwargs: _P.kwargs) -> Result[_R]: ...
    def call_local(self, *args: _P.args, **kwargs: _P.kwargs) -> _R: ...
    def schedule(
        self,
        args: tuple[object, ...] | None = ...,
        kwargs: dict[str, object] | None = ...,
        eta: datetime | None = ...,
        delay: float | timedelta | None = ...,
        priority: int | None = ...,
        retries: int | None = ...,
        retry_delay: float | None = ...,
        expires: float | timedelta | datetime | None = ...,
        id: str | None = ...,
    ) -> Result[_R]: ...

class PeriodicTaskWrapper(TaskWrapper[_P, _R]):
    task_class: type[PeriodicTask]

class Huey:
    name: str
    immediate: bool
    def pending_count(self) -> int: ...
    def on_startup(self, name: str | None = ...) -> Callable[[_F], _F]: ...

class RedisHuey(Huey): ...
class SqliteHuey(Huey): ...
