from __future__ import annotations

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class KbConfig(AppConfig):
    name = "destek.kb"
    label = "kb"
    verbose_name = _("Knowledge base")

    def ready(self) -> None:
        from django.db.models.signals import post_delete

        from destek.kb import jobs  # noqa: F401  (registers the deflection sweep)
        from destek.kb.actions import unindex
        from destek.kb.models import Translation

        # However a translation goes (the admin, a cascade from its article, a queryset), its
        # FTS5 row goes with it.
        post_delete.connect(unindex, sender=Translation, dispatch_uid="kb-unindex")
