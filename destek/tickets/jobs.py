"""Periodic ticket work: the timer that closes what nobody answers."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db.models import Q
from django.utils import timezone
from huey import crontab
from huey.contrib.djhuey import db_periodic_task

from destek.lib.storage import sweep_orphans
from destek.tickets import actions
from destek.tickets.choices import TicketStatus
from destek.tickets.models import Attachment, Ticket

BATCH = 500


def due_for_auto_close() -> list[int]:
    now = timezone.now()
    pending_limit = now - timedelta(days=settings.DESTEK_PENDING_AUTO_CLOSE_DAYS)
    resolved_limit = now - timedelta(days=settings.DESTEK_RESOLVED_AUTO_CLOSE_DAYS)
    # Uses the (status, status_changed_at) index: two range scans, no table walk.
    return list(
        Ticket.objects.filter(
            Q(status=TicketStatus.PENDING, status_changed_at__lt=pending_limit)
            | Q(status=TicketStatus.RESOLVED, status_changed_at__lt=resolved_limit)
        )
        .order_by("status_changed_at")
        .values_list("pk", flat=True)[:BATCH]
    )


def auto_close_now() -> int:
    """Close every ticket past its limit, in batches, one transaction per ticket."""
    closed = 0
    while True:
        ids = due_for_auto_close()
        batch_closed = sum(actions.auto_close(ticket_id) for ticket_id in ids)
        closed += batch_closed
        if len(ids) < BATCH or batch_closed == 0:
            return closed


@db_periodic_task(crontab(minute="*/5"))
def auto_close_sweep() -> int:
    return auto_close_now()


def purge_orphan_uploads_now() -> int:
    """Uploads never attached to a message within a day are deleted with their files."""
    cutoff = timezone.now() - timedelta(days=1)
    removed = 0
    for upload in Attachment.objects.filter(message__isnull=True, created_at__lt=cutoff)[:BATCH]:
        # Row first, and only while still unattached: a message may claim it this instant.
        deleted, _ = Attachment.objects.filter(pk=upload.pk, message__isnull=True).delete()
        if deleted:
            upload.file.storage.delete(upload.file.name)
            removed += 1
    return removed


@db_periodic_task(crontab(minute="17"))
def purge_orphan_uploads() -> int:
    return purge_orphan_uploads_now()


def sweep_attachment_files_now() -> int:
    """Files under attachments/ that no attachment row names, older than a day (an upload cut
    off by a full disk or a crash), and temporary files older than an hour."""
    return sweep_orphans(
        settings.MEDIA_ROOT,
        "attachments",
        lambda names: Attachment.objects.filter(file__in=names).values_list("file", flat=True),
    )


@db_periodic_task(crontab(minute="41", hour="4"))
def sweep_attachment_files() -> int:
    return sweep_attachment_files_now()
