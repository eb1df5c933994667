"""Worker tasks of inbound mail: the spool of piped mail, polling the IMAP mailboxes, the
retention of raw messages."""

from __future__ import annotations

import logging
import threading
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.db import close_old_connections
from django.utils import timezone
from huey import crontab
from huey.contrib.djhuey import HUEY, db_periodic_task, db_task

from destek.lib.storage import sweep_orphans
from destek.mail import spool
from destek.mail.actions import (
    BATCH_SIZE,
    Incoming,
    Outcome,
    TemporaryFailure,
    Unacceptable,
    process_batch,
)
from destek.mail.imap import poll_account
from destek.mail.models import InboundMessage, InboundStatus, MailAccount

BATCH = 1000
#: How often the worker looks into the spool for piped mail (a directory listing: cheap).
SPOOL_POLL_SECONDS = 1.0
#: ... and after a temporary failure (the database away, the disk full).
SPOOL_BACKOFF_SECONDS = 30.0

log = logging.getLogger(__name__)


def drain_mail_spool_now(limit: int = BATCH) -> list[Outcome]:
    """File the mail `destek ingest-email` spooled, oldest first.

    Each file is claimed by an atomic rename (two workers never file one message), and removed
    only once the pipeline has committed it: a stored ticket, an ignored mail or a quarantine.
    Claimed files are filed in batches (`process_batch`): one transaction for many.
    A worker that dies half-way leaves its claim, which `spool.reclaim` hands back after a few
    minutes; the pipeline's dedupe makes the second run find the first one's ticket.
    """
    return _drain(limit)[0]


def _drain(limit: int) -> tuple[list[Outcome], bool]:
    """The outcomes, and whether it stopped on a temporary failure (the database is away)."""
    root = Path(settings.DESTEK_MAIL_SPOOL_DIR)
    outcomes: list[Outcome] = []
    names = spool.waiting(root)[:limit]
    for start in range(0, len(names), BATCH_SIZE):
        claimed: list[tuple[str, Path]] = []
        mails: list[Incoming] = []
        for name in names[start : start + BATCH_SIZE]:
            path = spool.claim(root, name)
            if path is None:  # another worker took it
                continue
            try:
                raw = path.read_bytes()
            except OSError:  # the claim stays and is taken again later
                log.exception("spooled mail %s could not be read", name)
                continue
            claimed.append((name, path))
            mails.append(Incoming(raw, spool.source_of(name)))
        try:
            results = process_batch(mails)
        except Exception:
            # A fault outside the pipeline: the claims stay and are taken again later.
            log.exception("spooled mail could not be filed yet")
            continue
        for (name, path), result in zip(claimed, results, strict=False):
            if isinstance(result, Unacceptable):  # over a size limit lowered since it was spooled
                log.warning("spooled mail %s refused: %s", name, result)
                spool.refuse(root, path)
            elif isinstance(result, TemporaryFailure):
                # The database is away or the disk full: this claim stays and is taken again
                # in a few minutes; the rest waits in new/.
                log.warning("spooled mail %s waits: %s", name, result)
                for _name, untried in claimed[len(results) :]:
                    spool.release(root, untried)
                return outcomes, True
            else:
                spool.finish(path)  # committed: a ticket, an ignored mail or a quarantine
                outcomes.append(result)
    return outcomes, False


@db_periodic_task(crontab(minute="*"))
def drain_mail_spool() -> int:
    """Each minute: take back stale claims, then file what waits (the watcher below files it
    within a second; this is the safety net when the watcher is not running)."""
    spool.reclaim(Path(settings.DESTEK_MAIL_SPOOL_DIR))
    return len(drain_mail_spool_now())


_watcher_started = threading.Lock()


def _watch_spool(stop: threading.Event) -> None:
    root = Path(settings.DESTEK_MAIL_SPOOL_DIR)
    pause = SPOOL_POLL_SECONDS
    while not stop.wait(pause):
        pause = SPOOL_POLL_SECONDS
        try:
            if spool.waiting(root) and _drain(BATCH)[1]:
                pause = SPOOL_BACKOFF_SECONDS  # the database is away: not one claim a second
        except Exception:
            log.exception("the mail spool watcher failed; it looks again in a moment")
            pause = SPOOL_BACKOFF_SECONDS
        finally:
            close_old_connections()


@HUEY.on_startup()
def start_spool_watcher() -> None:
    """One thread per worker process looks into the spool every second, so piped mail
    becomes a ticket about a second after the mail server handed it over."""
    if not _watcher_started.acquire(blocking=False):
        return  # every worker thread runs the start-up hooks; one watcher is enough
    thread = threading.Thread(
        target=_watch_spool, args=(threading.Event(),), name="mail-spool", daemon=True
    )
    thread.start()


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


def sweep_raw_mail_files_now() -> int:
    """Raw mail files that no inbound message names, older than a day (cut off by a full disk
    or a crash before their row was saved), and temporary files older than an hour."""
    return sweep_orphans(
        settings.MEDIA_ROOT,
        "mail/raw",
        lambda names: InboundMessage.objects.filter(raw__in=names).values_list("raw", flat=True),
    )


@db_periodic_task(crontab(minute="53", hour="4"))
def sweep_raw_mail_files() -> int:
    return sweep_raw_mail_files_now()


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
    result = poll_account(account_id)
    return "skipped" if result is None else result.describe()
