"""IMAP polling: the mailboxes an admin configures (`MailAccount`) fed into the inbound pipeline.

The contract: fetch the bytes without marking them read (BODY.PEEK), hand them to the pipeline
(`process_batch`, many messages in one transaction), and only after it returned (the tickets
are committed) mark the messages \\Seen or move them to the processed folder. A crash or a
dropped connection between the two leaves them unmarked; the next poll hands them over again
and the pipeline's dedupe (Message-ID, or a hash) answers "duplicate" without a second ticket.
So nothing is lost and nothing is stored twice.

- `TemporaryFailure` (the database is away): the message stays where it is, the batch stops,
  the account's `last_error` says why.
- `Unacceptable` (empty, over DESTEK_MAIL_MAX_MB): moved to DESTEK_IMAP_REFUSED_FOLDER (created
  when missing), or flagged when the server refuses that, so it never blocks the mailbox.
- TLS is required. With `use_tls` off the poll is refused unless the host is this machine
  (127.0.0.1, ::1, localhost): a password never crosses a network in plain text. Port 143
  means STARTTLS (required); any other port, TLS from the first byte.
- The password is the one entered in the admin (stored encrypted under a key derived from
  SECRET_KEY, never shown again), else read from the worker's environment, from the variable
  the account names (or its `_FILE` twin). Only variables starting with DESTEK_IMAP_ may be
  named, so an admin cannot make the worker send another secret (DESTEK_SECRET_KEY,
  DATABASE_URL) to a host of their choosing. It is never logged: imapclient redacts LOGIN,
  and errors carry only the server's answer.
"""

from __future__ import annotations

import ipaddress
import logging
import re
import ssl
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ImproperlyConfigured
from django.db.models import Q
from django.utils import timezone
from imapclient import IMAPClient
from imapclient.exceptions import IMAPClientError

from destek.lib.crypto import SecretUnreadable
from destek.lib.env import env_str
from destek.mail.actions import (
    BATCH_SIZE,
    Incoming,
    Outcome,
    TemporaryFailure,
    Unacceptable,
    process_batch,
)
from destek.mail.models import InboundStatus, MailAccount
from destek.tickets import config
from destek.tickets.models import Department

log = logging.getLogger(__name__)

SEEN = b"\\Seen"
DELETED = b"\\Deleted"
#: Set on a refused message when it cannot be moved away, so the next search skips it.
REFUSED_KEYWORD = b"$DestekRefused"
PASSWORD_PREFIX = "DESTEK_IMAP_"  # noqa: S105  (a prefix of variable names, not a secret)
#: Polls of one mailbox start at least this far apart (the periodic task runs every minute).
SPACING_SECONDS = 50
#: How long one poll may hold its mailbox before another worker may take it.
LEASE_SECONDS = 15 * 60
#: Messages fetched in one command hold at most this many bytes (a batch is in memory).
FETCH_MAX_BYTES = 64 * 1024 * 1024


class MailboxError(Exception):
    """The mailbox cannot be polled as configured (no password, plain text to another host)."""


@dataclass
class PollResult:
    account: str
    stored: int = 0
    ignored: int = 0
    quarantined: int = 0
    duplicates: int = 0
    refused: int = 0
    remaining: bool = False
    error: str = ""

    def describe(self) -> str:
        counts = (
            f"{self.account}: {self.stored} stored, {self.ignored} ignored, "
            f"{self.quarantined} quarantined, {self.refused} refused, "
            f"{self.duplicates} already processed"
        )
        if self.remaining:
            counts += "; more waiting for the next poll"
        return f"{counts}; error: {self.error}" if self.error else counts


# --- connecting ------------------------------------------------------------------------------


def password_of(account: MailAccount) -> str:
    """The password stored in the admin (encrypted), else the one in the environment variable
    the account names (or `<NAME>_FILE`)."""
    try:
        stored = account.stored_password()
    except SecretUnreadable:
        raise MailboxError(
            "the stored password cannot be read (the secret key changed since it was "
            "entered); enter it again in the admin"
        ) from None
    if stored:
        return stored
    name = account.password_env.strip()
    if not name:
        raise MailboxError("no password: enter it in the admin or name its variable")
    if name.endswith("_FILE"):  # the file variant is found by env_str on its own
        name = name[: -len("_FILE")]
    if not re.fullmatch(r"DESTEK_IMAP_[A-Z0-9_]+", name):
        raise MailboxError(
            f"the password variable must be named {PASSWORD_PREFIX}<SOMETHING>, not {name!r}"
        )
    try:
        password = env_str(name)
    except ImproperlyConfigured as exc:
        raise MailboxError(str(exc)) from exc
    if not password:
        raise MailboxError(f"{name} (or {name}_FILE) is not set in the worker's environment")
    return password


def is_loopback(host: str) -> bool:
    name = host.strip().strip("[]").lower().rstrip(".")
    if name in {"localhost", "ip6-localhost"}:
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def connect(account: MailAccount) -> IMAPClient:
    """A logged-in client, over TLS unless the account switched it off for this machine."""
    password = password_of(account)
    timeout = float(settings.DESTEK_IMAP_TIMEOUT)
    if account.use_tls:
        context = ssl.create_default_context(cafile=settings.DESTEK_IMAP_CA_FILE or None)
        if account.port == 143:
            client = IMAPClient(account.host, port=143, ssl=False, timeout=timeout)
            try:
                client.starttls(context)
            except Exception:
                _shutdown(client)
                raise
        else:
            client = IMAPClient(
                account.host, port=account.port, ssl=True, ssl_context=context, timeout=timeout
            )
    else:
        if not is_loopback(account.host):
            raise MailboxError(
                f"TLS is switched off for {account.host}: allowed only for a server on this "
                "machine (127.0.0.1, ::1, localhost); switch TLS on"
            )
        client = IMAPClient(account.host, port=account.port, ssl=False, timeout=timeout)
    try:
        client.login(account.username, password)
    except Exception:
        _shutdown(client)
        raise
    return client


def _shutdown(client: IMAPClient) -> None:
    try:
        client.logout()
    except Exception:  # the connection may already be gone; nothing is left to do on it
        with suppress(Exception):
            client.shutdown()


# --- one poll --------------------------------------------------------------------------------


def poll(account: MailAccount, *, batch: int | None = None) -> PollResult:
    """Hand up to `batch` waiting messages of one mailbox to the pipeline, marking each only
    after it was taken. Never raises for the mailbox's own faults: they end in `last_error`."""
    result = PollResult(account.name)
    limit = batch or settings.DESTEK_IMAP_BATCH
    client: IMAPClient | None = None
    try:
        client = connect(account)
        _drain(client, account, limit, result)
    except (MailboxError, IMAPClientError, OSError) as exc:
        # OSError covers refused and dropped connections, timeouts and TLS failures.
        result.error = f"{type(exc).__name__}: {exc}"
    except Exception as exc:  # a bug must not stop the other mailboxes from being polled
        log.exception("polling mailbox %s failed", account.name)
        result.error = f"{type(exc).__name__}: {exc}"
    finally:
        if client is not None:
            _shutdown(client)
    MailAccount.objects.filter(pk=account.pk).update(last_error=result.error[:2000])
    if result.error:
        log.warning("mailbox %s: %s", account.name, result.error)
    else:
        log.info("mailbox %s", result.describe())
    return result


def _drain(client: IMAPClient, account: MailAccount, limit: int, result: PollResult) -> None:
    client.select_folder(account.folder)
    if account.processed_folder:
        _ensure_folder(client, account.processed_folder)
        # Everything still here is waiting: processed mail has been moved away.
        criteria: list[Any] = ["NOT", "DELETED", "UNKEYWORD", REFUSED_KEYWORD]
    else:
        criteria = ["UNSEEN", "NOT", "DELETED", "UNKEYWORD", REFUSED_KEYWORD]
    waiting = sorted(client.search(criteria))
    result.remaining = len(waiting) > limit
    uids = waiting[:limit]
    if not uids:
        return
    department = _department(account)
    source = f"imap:{account.name}"[:100]
    max_bytes = settings.DESTEK_MAIL_MAX_MB * 1024 * 1024
    sizes = {
        uid: data.get(b"RFC822.SIZE") for uid, data in client.fetch(uids, ["RFC822.SIZE"]).items()
    }
    wanted: list[int] = []
    for uid in uids:
        size = sizes.get(uid)
        if size is None:
            continue  # expunged by someone else since the search
        if size > max_bytes:  # refused without downloading it
            _refuse(client, account, uid)
            result.refused += 1
            continue
        wanted.append(uid)
    for group in _groups(wanted, sizes):
        # BODY.PEEK[] leaves \Seen alone; RFC822 would mark the messages read before their
        # tickets exist, and a crash right then would lose them.
        fetched = client.fetch(group, ["BODY.PEEK[]"])
        present = [uid for uid in group if (fetched.get(uid) or {}).get(b"BODY[]") is not None]
        outcomes = process_batch(
            [Incoming(bytes(fetched[uid][b"BODY[]"]), source, department) for uid in present]
        )
        done: list[tuple[int, Outcome]] = []
        stopped: TemporaryFailure | None = None
        for uid, outcome in zip(present, outcomes, strict=False):
            if isinstance(outcome, Unacceptable):
                _refuse(client, account, uid)
                result.refused += 1
            elif isinstance(outcome, TemporaryFailure):
                stopped = outcome  # it and the rest stay in the mailbox
            else:
                done.append((uid, outcome))
        # Committed: only now are the messages marked or moved.
        _done(client, account, [uid for uid, _outcome in done])
        for _uid, outcome in done:
            if outcome.duplicate:
                result.duplicates += 1
            elif outcome.status == InboundStatus.STORED:
                result.stored += 1
            elif outcome.status == InboundStatus.QUARANTINED:
                result.quarantined += 1
            else:
                result.ignored += 1
        if stopped is not None:
            result.error = f"temporary failure, the message stays in the mailbox: {stopped}"
            return


def _groups(uids: list[int], sizes: dict[int, Any]) -> Iterator[list[int]]:
    """The messages in groups filed together (`process_batch`): at most `BATCH_SIZE` of
    them, and at most `FETCH_MAX_BYTES` fetched at once."""
    group: list[int] = []
    total = 0
    for uid in uids:
        size = int(sizes.get(uid) or 0)
        if group and (len(group) >= BATCH_SIZE or total + size > FETCH_MAX_BYTES):
            yield group
            group, total = [], 0
        group.append(uid)
        total += size
    if group:
        yield group


def _department(account: MailAccount) -> Department | None:
    if account.department_id is None:
        return None
    return config.department_by_id(account.department_id)


def _done(client: IMAPClient, account: MailAccount, uids: list[int]) -> None:
    if not uids:
        return
    if account.processed_folder:
        _move(client, uids, account.processed_folder)
    else:
        client.add_flags(uids, [SEEN])


def _move(client: IMAPClient, uids: list[int], folder: str) -> None:
    if client.has_capability("MOVE"):
        client.move(uids, folder)
        return
    # RFC 3501 without MOVE: a crash between COPY and EXPUNGE leaves a second copy in the
    # target folder, never a lost message (the pipeline's dedupe answers the next poll).
    client.copy(uids, folder)
    client.add_flags(uids, [DELETED])
    if client.has_capability("UIDPLUS"):
        client.uid_expunge(uids)
    else:
        client.expunge()


def _refuse(client: IMAPClient, account: MailAccount, uid: int) -> None:
    """Out of the way of the next poll: moved to the refused folder, or flagged."""
    try:
        folder = _refused_folder(client)
        _ensure_folder(client, folder)
        _move(client, [uid], folder)
    except IMAPClientError as exc:
        log.warning("mailbox %s: cannot move refused message %s: %s", account.name, uid, exc)
        client.add_flags([uid], [SEEN, REFUSED_KEYWORD])


def _refused_folder(client: IMAPClient) -> str:
    """DESTEK_IMAP_REFUSED_FOLDER with the server's hierarchy separator and personal prefix
    (Courier and Cyrus keep folders under `INBOX.`)."""
    path = settings.DESTEK_IMAP_REFUSED_FOLDER
    prefix, delimiter = "", "/"
    try:
        personal = client.namespace().personal
        if personal:
            prefix, delimiter = (_text(part) for part in personal[0])
    except IMAPClientError:
        pass
    name = path.replace("/", delimiter or "/")
    return name if not prefix or name.startswith(prefix) else prefix + name


def _text(value: Any) -> str:
    if value is None:
        return ""
    return value.decode() if isinstance(value, bytes) else str(value)


def _ensure_folder(client: IMAPClient, folder: str) -> None:
    if client.folder_exists(folder):
        return
    try:
        client.create_folder(folder)
        client.subscribe_folder(folder)
    except IMAPClientError:
        if not client.folder_exists(folder):  # another worker may have just created it
            raise


# --- claiming a mailbox ----------------------------------------------------------------------


@contextmanager
def _lease(account_id: int) -> Iterator[bool]:
    """One poller per mailbox at a time, across workers sharing the cache."""
    key = f"destek:mail:imap-poll:{account_id}"
    try:
        held = bool(cache.add(key, "1", LEASE_SECONDS))
    except Exception:
        # The cache is down: the conditional UPDATE below still spaces the polls, and a
        # second poller overlapping would only meet the pipeline's dedupe.
        held = True
    try:
        yield held
    finally:
        if held:
            with suppress(Exception):  # the cache is down: the lease expires on its own
                cache.delete(key)


def claim(account_id: int, *, force: bool = False) -> MailAccount | None:
    """The account when this worker may poll it now: a conditional UPDATE on `last_polled_at`,
    so of two workers running the periodic task at once only one polls. `force` (the
    management command) polls now and even a disabled account."""
    now = timezone.now()
    rows = MailAccount.objects.filter(pk=account_id)
    if not force:
        rows = rows.filter(enabled=True).filter(
            Q(last_polled_at__isnull=True)
            | Q(last_polled_at__lte=now - timedelta(seconds=SPACING_SECONDS))
        )
    if not rows.update(last_polled_at=now):
        return None
    return MailAccount.objects.get(pk=account_id)


def poll_account(account_id: int, *, force: bool = False) -> PollResult | None:
    """Claim one mailbox and poll it; None when another worker has it or it is not due."""
    with _lease(account_id) as held:
        if not held:
            return None
        account = claim(account_id, force=force)
        if account is None:
            return None
        return poll(account)
