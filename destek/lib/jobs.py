from __future__ import annotations

from huey import crontab
from huey.contrib.djhuey import HUEY, db_periodic_task

from destek.lib.health import beat


@db_periodic_task(crontab(minute="*"))
def heartbeat() -> None:
    beat()


@HUEY.on_startup()
def heartbeat_on_start() -> None:
    beat()
