from __future__ import annotations

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DemoConfig(AppConfig):
    """The demo people and tickets (`destek demo`, `make run`) and the benchmark filler
    (`destek seed`). The top floor: it may import every app, and no app imports it."""

    name = "destek.demo"
    label = "demo"
    verbose_name = _("Demo")
