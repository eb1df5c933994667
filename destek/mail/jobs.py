"""Worker tasks of inbound mail: polling the IMAP mailboxes, the retention of raw messages."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.utils import timezone
from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task

from destek.mail.models import InboundMessage, InboundStatus, MailAccount

BATCH = 1000


def purge_raw_mail_now() -> int:
    """Raw messages older than DESTEK_MAIL_RAW_DAYS are deleted with their rows, except those
    kept on purpose (quarantined, or with a refused attachment) and those still unprocessed.
    Safe to run twice: each row is deleted at most once, its file after it."""
    cutoff = timezone.now() - timedelta(days=settings.DESTEK_MAIL_RAW_DAYS)
    old = InboundMessage.objects.filter(received_at__lt=cutoff, keep=False).exclude(
        status__in=[InboundStatus.RECEIVED, InboundStatus.QUARANTINED]
    )
    removed = 0
    for inbound in old.only("pk", "raw")[:BATCH]:
        deleted, _ = InboundMessage.objects.filter(pk=inbound.pk, keep=False).delete()
        if deleted and inbound.raw:
            inbound.raw.storage.delete(inbound.raw.name)
            removed += 1
    return removed


@db_periodic_task(crontab(minute="23", hour="3"))
def purge_raw_mail() -> int:
    return purge_raw_mail_now()


@db_periodic_task(crontab(minute="*"))
def poll_mailboxes() -> int:
    """Every enabled mailbox, each as its own job: a slow server delays only itself."""
    ids = list(MailAccount.objects.filter(enabled=True).values_list("pk", flat=True))
    for account_id in ids:
        poll_mailbox(account_id)
    return len(ids)


@db_task(retries=0)
def poll_mailbox(account_id: int) -> str:
    """Safe to run twice: a mailbox claimed by another worker, or polled under a minute ago,
    is left alone; the next minute's run retries what failed."""
    from destek.mail.imap import poll_account

    result = poll_account(account_id)
    return "skipped" if result is None else result.describe()
