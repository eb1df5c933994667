from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from destek.tickets.choices import Priority, TicketStatus
from destek.tickets.models import Department

#: The statuses a public reply may leave a ticket in (the reply action enforces the same).
CANNED_STATUSES = [
    (TicketStatus.PENDING.value, pgettext_lazy("ticket status", "Awaiting customer")),
    (TicketStatus.OPEN.value, pgettext_lazy("ticket status", "In progress")),
    (TicketStatus.RESOLVED.value, pgettext_lazy("ticket status", "Resolved")),
]


class CannedReply(models.Model):
    """A prepared answer. Its body may name `{customer_name}`, `{ticket_number}`,
    `{agent_name}` and `{department}`; anything else in braces is left as written."""

    title = models.CharField(_("title"), max_length=100)
    body = models.TextField(
        _("text"),
        help_text=_("Placeholders: {customer_name}, {ticket_number}, {agent_name}, {department}."),
    )
    department = models.ForeignKey(
        Department,
        verbose_name=_("department"),
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="canned_replies",
        help_text=_("Empty: offered in every department."),
    )
    status = models.CharField(
        _("status after sending"),
        max_length=16,
        choices=CANNED_STATUSES,
        blank=True,
        help_text=_("Empty: awaiting the customer, as after any reply."),
    )
    priority = models.CharField(
        _("set priority"), max_length=16, choices=Priority.choices, blank=True
    )
    language = models.CharField(
        _("language"),
        max_length=8,
        choices=settings.LANGUAGES,
        blank=True,
        help_text=_(
            "Offered on tickets in this language (before the others); empty: in every language."
        ),
    )
    position = models.PositiveIntegerField(_("position"), default=0)

    class Meta:
        ordering = ["position", "title"]
        verbose_name = _("canned reply")
        verbose_name_plural = _("canned replies")

    def __str__(self) -> str:
        return self.title


#: How many views one agent may keep (their own, personal or shared).
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
