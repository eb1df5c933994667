from __future__ import annotations

import uuid

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class StatusLookup(models.Model):
    """A one-time code that opens a read-only view of one ticket without signing in.

    Only made when the number and the address belong together, and the code only goes to
    that address; the page answers the same either way, so it tells a guesser nothing.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    ticket = models.ForeignKey("tickets.Ticket", on_delete=models.CASCADE, related_name="+")
    email = models.EmailField()
    code_hash = models.CharField(max_length=64)
    expires_at = models.DateTimeField()
    attempts = models.PositiveSmallIntegerField(default=0)
    verified_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("status lookup")
        verbose_name_plural = _("status lookups")

    def __str__(self) -> str:
        return str(self.id)
