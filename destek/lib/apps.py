from __future__ import annotations

from django.apps import AppConfig


class LibConfig(AppConfig):
    name = "destek.lib"
    label = "destek_lib"

    def ready(self) -> None:
        from destek.lib import checks, jobs, turkic  # noqa: F401  (registers checks and tasks)

        turkic.install()  # "İstifadəçilər", not "Istifadəçilər", in Azerbaijani and Turkish
