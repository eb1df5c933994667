from __future__ import annotations

from django.apps import AppConfig


class LibConfig(AppConfig):
    name = "destek.lib"
    label = "destek_lib"

    def ready(self) -> None:
        from destek.lib import checks, jobs  # noqa: F401  (registers checks and tasks)
