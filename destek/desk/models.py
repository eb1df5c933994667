"""The desk's own table: saved views. (Canned replies became macros: `destek.automation`.)"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from destek.tickets.models import Department

#: Saved views an agent may have.
VIEWS_MAX = 50


class SavedView(models.Model):
    """A queue an agent named: the queue's filters, search words and sort as its address
    would carry them. Personal when `department` is empty; otherwise shared with the agents
    of that department. Whatever it holds, it is read through the reader's own access to
    tickets (`desk.queue_filters`), never through its creator's."""

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        on_delete=models.CASCADE,
        related_name="saved_views",
    )
    name = models.CharField(_("name"), max_length=80)
    department = models.ForeignKey(
        Department,
        verbose_name=_("shared with"),
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="saved_views",
    )
    #: The queue's query parameters (`status`, `who`, `priority`, `vip`, `due`, `department`,
    #: `q`), strings only, checked when saved and again when read.
    filters = models.JSONField(_("filters"), default=dict, blank=True)
    sort = models.CharField(_("sort"), max_length=20, blank=True)
    position = models.PositiveIntegerField(_("position"), default=0)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        ordering = ["position", "id"]
        verbose_name = _("saved view")
        verbose_name_plural = _("saved views")
        indexes = [
            models.Index(fields=["owner", "position"], name="savedview_owner_idx"),
            models.Index(fields=["department", "position"], name="savedview_department_idx"),
        ]

    def __str__(self) -> str:
        return self.name
