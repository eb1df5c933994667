"""The inbound mail pipeline: one message in, stored in a ticket, ignored on purpose or
quarantined, and never lost.

Every adapter hands raw bytes to `process_message` (the SMTP/LMTP listener, one message at a
time) or to `process_batch` (the spool of piped mail and IMAP polling, many at a time). The
steps, in order: keep the raw bytes → dedupe → bounces → loop and auto-reply guard → sender →
threading → the ticket actions → attachments.

The raw bytes are written to storage first and made durable. Everything after that runs in one
transaction, which ends by inserting the message's record with what became of it; a batch runs
many messages in one transaction. Nothing is acknowledged to the adapter (the mail server, the
IMAP server, the spool) before that commit, so a crash or a database failure half-way leaves
no ticket and no record, and the adapter, which still has the message, hands it over again.
A fault in the steps rolls them back and records the message as quarantined, with its raw
bytes and the error, for an admin to look at and retry; in a batch, the others are then filed
one at a time, so the fault stays with its own message.
"""

from __future__ import annotations

import email.utils
import functools
import hashlib
import logging
import re
import traceback
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import (
    DatabaseError,
    IntegrityError,
    InterfaceError,
    OperationalError,
    connection,
    transaction,
)
from django.db.models import Q, Subquery
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from destek.accounts.choices import Role
from destek.accounts.models import ContactAddress, User, new_customer_number, normalize_email
from destek.lib import config_cache
from destek.lib.errors import ActionRefused
from destek.lib.language import choose_language
from destek.mail import authres, guards, tokens
from destek.mail.language import guess_language
from destek.mail.models import InboundMessage, InboundStatus, MailAccount
from destek.mail.parse import ParsedMessage, Part, Unparseable, cap_parts, parse_message
from destek.notify.actions import AutoSubmitted, queue_mail
from destek.notify.models import Delivery, FailingAddress
from destek.notify.threads import Thread, answering
from destek.tickets import actions as ticket_actions
from destek.tickets import config
from destek.tickets.access import access_ticket
from destek.tickets.choices import AuthorKind, Channel, Verification
from destek.tickets.models import Attachment, Department, Message, Ticket
from destek.tickets.notifications import portal_link

log = logging.getLogger(__name__)

#: Automatic messages that never open or continue a ticket.
SILENT = {
    "own-address",
    "own-message",
    "loop",
    "daemon",
    "null-sender",
    "report",
    "out-of-office",
}

#: Messages filed in one transaction by `process_batch` at most. A batch holds the row locks
#: of the tickets and customers it touched until it commits: 50 mails are a fraction of a
#: second, and one commit (one flush of the database log) instead of fifty.
BATCH_SIZE = 50
#: Raw messages of a batch written to storage at once: their flushes to disk overlap.
RAW_WRITERS = 8


class Unacceptable(Exception):
    """The bytes cannot be accepted at all (empty, over the size limit): the sender's mail
    server should bounce it (pipe exit 65, SMTP 552/554)."""


class TemporaryFailure(Exception):
    """Nothing was filed (the database is away, the disk is full): the adapter keeps the
    message and hands it over again later (pipe exit 75, SMTP 451, IMAP leaves it unread)."""


@dataclass(frozen=True)
class Outcome:
    status: str  # an InboundStatus value
    reason: str = ""
    ticket_number: int | None = None
    inbound_id: int | None = None
    duplicate: bool = False

    def describe(self) -> str:
        """One line for the pipe's standard output and the logs."""
        if self.status == InboundStatus.STORED:
            return f"stored #{self.ticket_number}" + (" (duplicate)" if self.duplicate else "")
        return f"{self.status}: {self.reason}" + (" (duplicate)" if self.duplicate else "")


@dataclass(frozen=True)
class Incoming:
    """One message as an adapter hands it over: the bytes, where they came from (`pipe`,
    `imap:<mailbox>`, `smtp`) and the department a mailbox files new tickets in."""

    raw: bytes
    source: str
    department: Department | None = None


#: What `process_batch` answers for each message.
Result = Outcome | Unacceptable | TemporaryFailure

_SURROGATES = re.compile("[\ud800-\udfff]")


def _scrubbed(value: str) -> str:
    """Text the database can store: lone surrogates (undecodable bytes a parser escaped)
    become U+FFFD."""
    return _SURROGATES.sub("\ufffd", value)


def scrub(parsed: ParsedMessage) -> ParsedMessage:
    """The parsed message with every text field storable as UTF-8."""
    return replace(
        parsed,
        message_id=_scrubbed(parsed.message_id),
        in_reply_to=tuple(_scrubbed(v) for v in parsed.in_reply_to),
        references=tuple(_scrubbed(v) for v in parsed.references),
        subject=_scrubbed(parsed.subject),
        sender=replace(
            parsed.sender, email=_scrubbed(parsed.sender.email), name=_scrubbed(parsed.sender.name)
        ),
        text=_scrubbed(parsed.text),
        quoted=_scrubbed(parsed.quoted),
        html=_scrubbed(parsed.html),
        parts=tuple(replace(p, filename=_scrubbed(p.filename)) for p in parsed.parts),
    )


# --- one message, many messages ----------------------------------------------------------------


def process_message(raw: bytes, source: str, *, department: Department | None = None) -> Outcome:
    """Take one message from an adapter. Raises `Unacceptable` or `TemporaryFailure`; every
    other problem ends in quarantine with the raw bytes and the error."""
    kept = _read(Incoming(raw, source, department))
    _store_raw(kept)
    return _file_alone(kept)


def process_batch(mails: Sequence[Incoming]) -> list[Result]:
    """Take many messages from an adapter with few round trips: their raw bytes are written
    at once, then up to `BATCH_SIZE` of them are filed in one transaction.

    Each message still gets its own result, in order: an `Outcome` (stored, ignored,
    quarantined, or a duplicate), `Unacceptable` (refuse it), or `TemporaryFailure`, after
    which the rest are not tried: the list is then shorter than `mails`, and the adapter keeps
    the messages it has no result for. When one message fails inside a batch, the batch is
    rolled back and its messages are filed one at a time, so only that one is quarantined.
    """
    results: list[Result] = []
    for start in range(0, len(mails), BATCH_SIZE):
        chunk = mails[start : start + BATCH_SIZE]
        done = _file_batch(chunk)
        results.extend(done)
        if len(done) < len(chunk) or (done and isinstance(done[-1], TemporaryFailure)):
            break
    return results


@dataclass
class _Kept:
    """A message read and on its way: its record (not saved yet) and what the parser made of
    it (None, and why in `error`, when it could not)."""

    incoming: Incoming
    parsed: ParsedMessage | None
    error: str
    row: InboundMessage


def _read(incoming: Incoming) -> _Kept:
    raw = incoming.raw
    if not raw.strip():
        raise Unacceptable("empty message")
    if len(raw) > settings.DESTEK_MAIL_MAX_MB * 1024 * 1024:
        raise Unacceptable(f"larger than {settings.DESTEK_MAIL_MAX_MB} MB")
    parsed: ParsedMessage | None
    try:
        parsed = scrub(parse_message(raw))
        error = ""
    except Unparseable as exc:
        parsed, error = None, f"unparseable: {exc}"
    except Exception:  # a parser bug must not lose the message
        parsed, error = None, traceback.format_exc(limit=20)
    row = InboundMessage(
        source=incoming.source[:100],
        dedupe_key=_dedupe_key(raw, parsed),
        rfc_message_id=(parsed.message_id if parsed else "")[:300],
        size=len(raw),
        # Lower case (the parser's): the sender cap counts the records by this address.
        sender=(parsed.sender.email if parsed else "")[:254],
        subject=(parsed.subject if parsed else "")[:300],
    )
    return _Kept(incoming, parsed, error, row)


def _store_raw(kept: _Kept) -> None:
    """The raw bytes, written and flushed to disk before the transaction that names them."""
    try:
        kept.row.raw.save("message.eml", ContentFile(kept.incoming.raw), save=False)
    except OSError as exc:  # a full disk: nothing is kept, the adapter tries again later
        raise TemporaryFailure(str(exc)) from exc


def _store_raw_all(kept: list[_Kept]) -> list[TemporaryFailure | None]:
    """`_store_raw` for many messages at once: each file is still flushed before it counts,
    but the flushes overlap (a quarter of the time of one after the other, measured here)."""

    def store(one: _Kept) -> TemporaryFailure | None:
        try:
            _store_raw(one)
        except TemporaryFailure as exc:
            return exc
        return None

    if len(kept) < 2:
        return [store(one) for one in kept]
    with ThreadPoolExecutor(min(RAW_WRITERS, len(kept)), thread_name_prefix="raw-mail") as pool:
        return list(pool.map(store, kept))


def _forget_raw(kept: _Kept) -> None:
    """This delivery's copy of the raw bytes, when no record will name it."""
    if kept.row.raw.name:
        try:
            kept.row.raw.storage.delete(kept.row.raw.name)
        except OSError:  # left for the sweep of files no record names
            log.warning("raw mail file %s not removed", kept.row.raw.name, exc_info=True)


def _fresh(row: InboundMessage) -> InboundMessage:
    """The record ready to be inserted again after a rolled-back attempt gave it an id."""
    row.pk = None
    row._state.adding = True
    return row


class _Seen(Exception):
    """The message was filed before: its record's id."""

    def __init__(self, pk: int) -> None:
        super().__init__(pk)
        self.pk = pk


class _Raced(Exception):
    """Another delivery registered the sender, or filed this very message, at the same moment
    and committed first: the transaction is rolled back and starts again, and then sees it."""


class _AlreadyDone(Exception):
    """Another delivery of the same message finished it first."""


def _file_alone(kept: _Kept) -> Outcome:
    """One message in a transaction of its own."""
    if kept.parsed is None:
        return _quarantine_new(kept, kept.error)
    for _attempt in range(2):
        try:
            with transaction.atomic():
                return _take(kept, kept.parsed)
        except _Seen as seen:
            return _again(kept, seen.pk)
        except _Raced:
            continue
        except TemporaryFailure:
            _wait(kept)
            raise  # no room for the attachments: tried again later
        except (OperationalError, InterfaceError) as exc:
            # Other database errors (integrity, data) would fail the same way every time: they
            # are quarantined like any other fault instead of being retried for ever.
            _wait(kept)
            raise TemporaryFailure(str(exc)) from exc
        except Exception:
            log.exception("inbound message from %s quarantined", kept.row.sender)
            return _quarantine_new(kept, traceback.format_exc(limit=20))
    return _quarantine_new(kept, "another delivery raced this one twice")


def _file_batch(chunk: Sequence[Incoming]) -> list[Result]:
    read: list[_Kept | Unacceptable] = []
    for incoming in chunk:
        try:
            read.append(_read(incoming))
        except Unacceptable as exc:
            read.append(exc)
    kept = [item for item in read if isinstance(item, _Kept)]
    failures = dict(zip(map(id, kept), _store_raw_all(kept), strict=True))
    todo: list[_Kept | Unacceptable] = []
    stopped: TemporaryFailure | None = None
    for item in read:
        failure = failures.get(id(item))
        if stopped is not None:
            if failure is None and isinstance(item, _Kept):
                _forget_raw(item)  # not tried: the adapter hands it over again
        elif failure is not None:
            stopped = failure
        else:
            todo.append(item)
    filed = _take_all([item for item in todo if isinstance(item, _Kept)])
    results: list[Result] = []
    for position, item in enumerate(todo):
        if isinstance(item, Unacceptable):
            results.append(item)
            continue
        try:
            if filed is None:
                results.append(_file_alone(item))
                continue
            done = filed[id(item)]
            results.append(done if isinstance(done, Outcome) else _again(item, done))
        except TemporaryFailure as exc:
            results.append(exc)
            for rest in todo[position + 1 :]:
                if isinstance(rest, _Kept):
                    _forget_raw(rest)
            return results
    if stopped is not None:
        results.append(stopped)
    return results


def _take_all(kept: list[_Kept]) -> dict[int, Outcome | int] | None:
    """The messages filed in one transaction: an outcome each, or the id of the record of
    a message filed before (`_again` looks at it after the commit). None when the batch was
    rolled back: then each is filed on its own."""
    done: dict[int, Outcome | int] = {}
    if not kept:
        return done
    try:
        with transaction.atomic():
            for one in kept:
                if one.parsed is None:
                    done[id(one)] = _quarantine_new(one, one.error)
                    continue
                try:
                    done[id(one)] = _take(one, one.parsed)
                except _Seen as seen:  # raised before it wrote anything
                    done[id(one)] = seen.pk
    except Exception as exc:
        cause = exc.__cause__ or exc
        log.warning(
            "a batch of %d inbound messages was rolled back (%s: %s); filing them one at a time",
            len(kept),
            type(cause).__name__,
            str(cause)[:300],
        )
        return None
    return done


def _take(kept: _Kept, parsed: ParsedMessage) -> Outcome:
    """The steps for a message, and its record, inside the caller's transaction. Raises
    `_Seen`, before writing anything, when the message was filed before."""
    sender = normalize_email(parsed.sender.email)
    known = _known(kept.row.dedupe_key, sender)
    if known.seen is not None:
        raise _Seen(known.seen)
    filed = _route(parsed, kept.incoming.raw, sender, known, kept.incoming.department)
    row = _fresh(kept.row)
    row.status, row.reason, row.error = filed.status, filed.reason, ""
    row.ticket = filed.ticket
    # An expression for a new ticket's first message: the database fills it in.
    row.message_id = filed.message_ref()
    row.authentication, row.keep = filed.authentication, filed.keep
    row.attempts, row.processed_at = 1, timezone.now()
    try:
        row.save(force_insert=True)
    except IntegrityError as exc:  # the same message, filed by another delivery just now
        raise _Raced from exc
    return Outcome(
        status=filed.status,
        reason=filed.reason,
        ticket_number=filed.ticket.number if filed.ticket is not None else None,
        inbound_id=row.pk,
    )


def _again(kept: _Kept, pk: int) -> Outcome:
    """A message filed before: the same bytes, or the same Message-ID, sender and body."""
    _forget_raw(kept)  # the first delivery's record keeps its own copy
    earlier = InboundMessage.objects.get(pk=pk)
    if earlier.status == InboundStatus.RECEIVED and kept.parsed is not None:
        # Left waiting by a temporary failure: this delivery files it.
        return run(earlier, kept.parsed, kept.incoming.raw, department=kept.incoming.department)
    return _outcome(earlier, duplicate=True)


def _wait(kept: _Kept) -> None:
    """After a temporary failure the message is recorded as waiting, when the database takes
    it: an admin sees it, and the adapter's next delivery (or the admin's retry) files it."""
    row = _fresh(kept.row)
    row.status, row.reason, row.ticket, row.message = InboundStatus.RECEIVED, "", None, None
    row.authentication, row.keep, row.attempts, row.processed_at = "", False, 1, None
    try:
        with transaction.atomic():
            row.save(force_insert=True)
    except DatabaseError:  # the database is away (or a record exists): the adapter has it
        _forget_raw(kept)


def _quarantine_new(kept: _Kept, error: str) -> Outcome:
    """A message the steps failed on, recorded with its raw bytes and the error."""
    row = _fresh(kept.row)
    row.status, row.reason, row.error = InboundStatus.QUARANTINED, "error", error[:20000]
    row.ticket, row.message, row.authentication = None, None, ""
    row.keep, row.attempts, row.processed_at = True, 1, timezone.now()
    try:
        with transaction.atomic():
            row.save(force_insert=True)
            _alert_admins(row)
    except IntegrityError:
        # Delivered twice at the same moment: the other copy won.
        _forget_raw(kept)
        return _outcome(InboundMessage.objects.get(dedupe_key=row.dedupe_key), duplicate=True)
    return _outcome(row)


def run(
    inbound: InboundMessage,
    parsed: ParsedMessage,
    raw: bytes,
    *,
    department: Department | None = None,
) -> Outcome:
    """File a message whose record exists and waits (`received`): an admin's retry, or a
    delivery after a temporary failure. In one transaction, so a failure half-way leaves no
    ticket."""
    InboundMessage.objects.filter(pk=inbound.pk).update(attempts=inbound.attempts + 1)
    for _attempt in range(2):
        try:
            with transaction.atomic():
                # Two deliveries of one message at once: the second waits here for the first
                # and then finds it done, instead of filing the message a second time.
                current = (
                    InboundMessage.objects.select_for_update()
                    .filter(pk=inbound.pk)
                    .values_list("status", flat=True)
                    .first()
                )
                if current != InboundStatus.RECEIVED:
                    raise _AlreadyDone
                sender = normalize_email(parsed.sender.email)
                filed = _route(parsed, raw, sender, _known(None, sender), department)
                changes: dict[str, Any] = {"keep": True} if filed.keep else {}
                InboundMessage.objects.filter(pk=inbound.pk).update(
                    status=filed.status,
                    reason=filed.reason,
                    ticket=filed.ticket,
                    message=filed.message_ref(),
                    authentication=filed.authentication,
                    error="",
                    processed_at=timezone.now(),
                    **changes,
                )
        except _AlreadyDone:
            inbound.refresh_from_db()
            return _outcome(inbound, duplicate=True)
        except _Raced:
            continue
        except TemporaryFailure:
            raise  # no room for the attachments: the row stays `received` and is tried again
        except (OperationalError, InterfaceError) as exc:
            # The row stays `received`: the mail server's retry (or an admin) runs it again.
            raise TemporaryFailure(str(exc)) from exc
        except Exception:
            log.exception("inbound message %s quarantined", inbound.pk)
            return _quarantine(inbound, traceback.format_exc(limit=20))
        return Outcome(
            status=filed.status,
            reason=filed.reason,
            ticket_number=filed.ticket.number if filed.ticket is not None else None,
            inbound_id=inbound.pk,
        )
    return _quarantine(inbound, "another delivery raced this one twice")


def retry(inbound: InboundMessage) -> Outcome:
    """An admin runs a quarantined (or stuck) message through the pipeline again."""
    with inbound.raw.open("rb") as handle:
        raw = handle.read()
    try:
        parsed = scrub(parse_message(raw))
    except Unparseable as exc:
        return _quarantine(inbound, f"unparseable: {exc}")
    InboundMessage.objects.filter(pk=inbound.pk).update(status=InboundStatus.RECEIVED)
    inbound.refresh_from_db()
    return run(inbound, parsed, raw)


# --- dedupe ----------------------------------------------------------------------------------


def _body_bytes(raw: bytes) -> bytes:
    """The bytes after the header block, line ends and trailing blanks made alike: what two
    deliveries of one message share even when their transport headers differ."""
    normal = raw.replace(b"\r\n", b"\n")
    _head, _sep, body = normal.partition(b"\n\n")
    return body.rstrip()


def _dedupe_key(raw: bytes, parsed: ParsedMessage | None) -> str:
    """The same message delivered twice (an IMAP retry, a second attempt by the sending server,
    the same mail through two mailboxes) has one key. A Message-ID alone is not enough: anyone
    can reuse one (it is in every reply's References), and a stranger sending it first would
    silence the real mail. So the key is the Message-ID together with the sender and the body,
    which a stranger cannot know before the real mail arrives."""
    if parsed is not None and parsed.message_id:
        digest = hashlib.sha256()
        for piece in (parsed.message_id.encode(), normalize_email(parsed.sender.email).encode()):
            digest.update(piece + b"\0")
        digest.update(_body_bytes(raw))
        return "mid:" + digest.hexdigest()
    return "sha256:" + hashlib.sha256(raw).hexdigest()


def _quarantine(inbound: InboundMessage, error: str) -> Outcome:
    InboundMessage.objects.filter(pk=inbound.pk).update(
        status=InboundStatus.QUARANTINED,
        reason="error",
        error=error[:20000],
        keep=True,
        processed_at=timezone.now(),
    )
    inbound.refresh_from_db()
    _alert_admins(inbound)
    return _outcome(inbound)


def _alert_admins(inbound: InboundMessage) -> None:
    for admin in User.objects.filter(role=Role.ADMIN, is_active=True).order_by("pk"):
        queue_mail(
            to=admin.email,
            template="mail_quarantined",
            context={
                "sender": inbound.sender,
                "subject": inbound.subject,
                "reason": inbound.error.strip().splitlines()[-1][:300] if inbound.error else "",
                "link": f"{settings.BASE_URL}/admin/mail/inboundmessage/{inbound.pk}/change/",
            },
            language=admin.language,
            time_zone=admin.time_zone,
        )


def _outcome(inbound: InboundMessage, *, duplicate: bool = False) -> Outcome:
    number = None
    if inbound.ticket_id is not None:
        number = Ticket.objects.filter(pk=inbound.ticket_id).values_list("number", flat=True)[0]
    return Outcome(
        status=inbound.status,
        reason=inbound.reason,
        ticket_number=number,
        inbound_id=inbound.pk,
        duplicate=duplicate,
    )


# --- what the database knows before the steps ------------------------------------------------


@dataclass(frozen=True)
class _Known:
    """What the database knows about a message and its sender before the steps run."""

    seen: int | None = None  # the record of the same message, filed before
    recent: int = 0  # the sender's mails stored in the last hour (the sender cap)
    failing: bool = False  # the address is marked as bouncing
    account: User | None = None  # the account with this address
    contact_owner: User | None = None  # else the account that verified it as a contact address
    free_number: str = ""  # a customer number nobody has, for a new customer ("": none found)


def _known(key: str | None, sender: str) -> _Known:
    """Dedupe, the sender cap, the bounce mark, the sender's account and a free customer
    number for a new one, in one statement.

    They were six statements (the account was read twice, and the bounce mark deleted whether
    there was one or not), each an index look-up: the round trips were what cost. The
    accounts (none; the one with this address; the owner of a verified contact address with
    it) are joined to one row of the other answers, so the row is there even when there is no
    account. `key` None: no dedupe (the record exists)."""
    since = timezone.now() - timedelta(hours=1)
    candidates = [new_customer_number() for _ in range(NUMBER_CANDIDATES)]
    params = [
        key,
        sender,
        connection.ops.adapt_datetimefield_value(since),
        sender,
        *candidates,
        sender,
        sender,
    ]
    rows: list[Any] = list(User.objects.raw(_known_sql(), params))
    people = [row for row in rows if row.pk is not None]
    return _Known(
        seen=rows[0].mail_seen,
        recent=rows[0].mail_recent,
        failing=rows[0].mail_failing is not None,
        account=next((row for row in people if row.email == sender), None),
        contact_owner=next((row for row in people if row.email != sender), None),
        free_number=rows[0].mail_free_number or "",
    )


#: Customer numbers are random, seven digits: with n customers one is taken with probability
#: n / 9,000,000, one in nine at a million. A taken number fails the INSERT, and without a
#: savepoint that rolls back the whole transaction (a batch of fifty mails): so the look-up
#: also finds a free one among a few drawn at random.
NUMBER_CANDIDATES = 3


@functools.cache
def _known_sql() -> str:
    """The statement of `_known`; plain SQL (SQLite and PostgreSQL), the tables' names from
    the models. Made once: building it with the ORM on every mail cost more than running it."""
    inbound = InboundMessage._meta.db_table
    failing = FailingAddress._meta.db_table
    accounts = User._meta.db_table
    contacts = ContactAddress._meta.db_table
    stored = InboundStatus.STORED.value
    candidates = " UNION ALL ".join(["SELECT %s AS number"] * NUMBER_CANDIDATES)
    # Table names and a status of ours only go into the text; every value is a parameter.
    return (
        f"SELECT account.*,"  # noqa: S608
        f" (SELECT id FROM {inbound} WHERE dedupe_key = %s) AS mail_seen,"
        # Written as the partial index `inbound_sender_stored_idx` is, so the planner takes it
        # even before the table's statistics know the last hour's mail (a burst of mail).
        f" (SELECT COUNT(*) FROM {inbound}"
        f"  WHERE sender = %s AND status = '{stored}' AND received_at >= %s) AS mail_recent,"
        f" (SELECT id FROM {failing} WHERE email = %s) AS mail_failing,"
        f" (SELECT number FROM ({candidates}) AS candidate WHERE NOT EXISTS ("
        f"   SELECT 1 FROM {accounts} WHERE customer_number = candidate.number)"
        f"  LIMIT 1) AS mail_free_number"
        f" FROM (SELECT 1) AS one LEFT JOIN ("
        f"  SELECT * FROM {accounts} WHERE email = %s OR id = ("
        f"   SELECT user_id FROM {contacts} WHERE email = %s AND verified_at IS NOT NULL"
        f"   ORDER BY id LIMIT 1)"
        f" ) AS account ON 1 = 1"
    )


# --- the steps -------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Filed:
    """What became of a message, and where it went."""

    status: str  # an InboundStatus value
    reason: str = ""
    ticket: Ticket | None = None
    #: The message it became; None with a ticket: the ticket's first (a new ticket).
    message: Message | None = None
    authentication: str = ""  # what our mail server said about the sender
    keep: bool = False  # keep the raw message past the retention period

    def message_ref(self) -> int | Subquery | None:
        """The message's id for its record, or an expression the database fills in."""
        if self.message is not None:
            return self.message.pk
        return _first_message(self.ticket) if self.ticket is not None else None


def _first_message(ticket: Ticket) -> Subquery:
    """A new ticket's message, as an expression: the one message its customer wrote so far."""
    return Subquery(
        Message.objects.filter(ticket=ticket, author_kind=AuthorKind.CUSTOMER)
        .order_by("pk")
        .values("pk")[:1]
    )


def _route(
    parsed: ParsedMessage,
    raw: bytes,
    sender: str,
    known: _Known,
    department: Department | None,
) -> _Filed:
    # Read only as far as the parser read: all 10,000 parts of a mail cost 30 s here.
    bounce = guards.bounce_info(parsed, cap_parts(raw, settings.DESTEK_MAIL_MAX_PARTS)[0])
    if bounce is not None:
        _mark_failing(bounce, raw)
        return _Filed(InboundStatus.IGNORED, "bounce")
    # Our own Message-IDs are recognised by their form, not by the domain alone: people at
    # the support address's domain (agents, colleagues) have mail clients that use it too.
    reasons = guards.automatic_reasons(
        parsed, own_addresses=own_addresses(), own_message_id_domain=""
    )
    if tokens.is_ours(parsed.message_id):
        reasons.insert(0, "own-message")
    silent = [reason for reason in reasons if reason in SILENT]
    if silent:
        return _Filed(InboundStatus.IGNORED, silent[0])
    automatic = bool(reasons)
    if not sender or "@" not in sender:
        return _Filed(InboundStatus.IGNORED, "no-sender")
    if known.recent >= settings.DESTEK_MAIL_PER_SENDER_PER_HOUR:
        return _Filed(InboundStatus.IGNORED, "sender-cap")

    ids = [*parsed.in_reply_to, *parsed.references]
    token = tokens.from_ids(ids, sender)
    account = known.account
    if account is not None and account.is_agent:
        if automatic:  # an agent's out-of-office is never an answer to the customer
            return _Filed(InboundStatus.IGNORED, "agent-automatic")
        return _agent_mail(account, token, parsed)

    if known.failing:
        # A person writing from an address proves it receives mail again.
        FailingAddress.objects.filter(email=sender).delete()
    customer, registered = _customer_for(sender, parsed, known)
    if customer is None:
        return _Filed(InboundStatus.IGNORED, "inactive-sender")
    # What our mail server said about the sender (SPF, DKIM, DMARC): mail not proven to come
    # from its From: is never added to a thread as the customer without their confirmation.
    found = authres.verdict(raw, sender)
    unverified = authres.unverified(found)
    stored, refused = _store_parts(customer, parsed.parts)
    keep = bool(refused or parsed.capped or len(parsed.parts) > MAX_FILES)
    ticket = _thread(parsed, token, customer, sender)
    language = customer.language
    body = _body(parsed, language)
    with answering(
        parsed.message_id,
        automatic_from=sender if automatic else "",
        unverified_for=_addresses_of(customer, sender) if unverified else (),
    ):
        try:
            if ticket is not None and authres.needs_confirmation(found):
                held = _hold(ticket, customer, sender, parsed, body, stored, registered)
                return _Filed(
                    InboundStatus.STORED,
                    "held-unverified",
                    held.ticket,
                    held,
                    authentication=found.value,
                    keep=keep,
                )
            filed, message = _file(ticket, customer, parsed, body, stored, department, registered)
        except ActionRefused as refusal:
            # The stored files stay unattached; the daily purge removes them with their files.
            if not automatic:
                _answer_refusal(sender, customer, parsed, refusal)
            return _Filed(
                InboundStatus.IGNORED, refusal.code[:64], authentication=found.value, keep=keep
            )
        _describe_message(
            filed,
            message,
            quoted=parsed.quoted,
            email_from="" if registered else sender,
            verification=Verification.UNVERIFIED if unverified else Verification.NONE,
        )
        if refused and not automatic:
            _answer_refused_files(
                sender, customer, filed, refused, f"{parsed.subject}\n{parsed.text}"
            )
        if parsed.capped and not automatic:
            _answer_parts_skipped(sender, customer, filed, f"{parsed.subject}\n{parsed.text}")
    return _Filed(InboundStatus.STORED, "", filed, message, authentication=found.value, keep=keep)


def _describe_message(
    ticket: Ticket, message: Message | None, *, quoted: str, email_from: str, verification: str
) -> None:
    """What the ticket actions do not know about a mailed message: the history it quoted, the
    address it came from when that is not the account's, and whether its sender was verified.
    Nothing is written when all are empty (their defaults), as for most new mail."""
    changes = {
        name: value
        for name, value in (
            ("quoted", quoted),
            ("email_from", email_from),
            ("verification", verification),
        )
        if value
    }
    if not changes:
        return
    if message is not None:
        Message.objects.filter(pk=message.pk).update(**changes)
    else:  # a new ticket: its customer has written only this message so far
        Message.objects.filter(ticket=ticket, author_kind=AuthorKind.CUSTOMER).update(**changes)


def _addresses_of(customer: User, sender: str) -> set[str]:
    """Where automatic answers about this customer's mail may go: every one of them counts
    against the tighter cap when the mail was not authenticated."""
    verified = ContactAddress.objects.filter(user=customer, verified_at__isnull=False)
    return {sender, customer.email, *verified.values_list("email", flat=True)}


def _hold(
    ticket: Ticket,
    customer: User,
    sender: str,
    parsed: ParsedMessage,
    body: str,
    stored: list[Attachment],
    registered: bool,
) -> Message:
    """Mail in the customer's name that their provider did not vouch for: kept on the ticket
    for agents, hidden from the customer, and the address it claims is asked to confirm it."""
    message = ticket_actions.hold_message(
        ticket, author=customer, body=body, attachments=stored, cc_address=sender
    )
    _describe_message(
        message.ticket,
        message,
        quoted=parsed.quoted,
        email_from="" if registered else sender,
        verification="",  # the action marked it held
    )
    queue_mail(
        to=sender,
        template="mail_confirm",
        context={
            "number": f"#{message.ticket.number}",
            "subject": parsed.subject or message.ticket.subject,
            "address": sender,
            "link": settings.BASE_URL
            + reverse("portal:confirm_mail", args=[tokens.confirm_token(message.pk)]),
            "days": settings.DESTEK_MAIL_CONFIRM_DAYS,
        },
        language=choose_language(f"{parsed.subject}\n{parsed.text}", account=customer.language),
        time_zone=customer.time_zone,
        calendar=customer.calendar,
        thread=Thread.of(message.ticket),
        auto_submitted=AutoSubmitted.REPLIED,
    )
    return message


def held_message(token: str) -> Message | None:
    """The held (or already confirmed) message a confirmation link names, while it is good."""
    pk = tokens.held_message_of(token)
    if pk is None:
        return None
    return (
        Message.objects.filter(
            pk=pk,
            author_kind=AuthorKind.CUSTOMER,
            author__is_active=True,
            verification__in=[Verification.PENDING, Verification.CONFIRMED],
        )
        .select_related("ticket", "author")
        .first()
    )


def confirm_held_mail(token: str) -> Message:
    """The customer confirms, from the link we mailed to the address, that they sent a held
    message: it becomes their message and changes what their reply would have changed. After
    the reopen window a new ticket, linked to the old one, carries their words."""
    message = held_message(token)
    if message is None or message.author is None:
        raise ActionRefused(
            "invalid_link",
            _("This link is invalid or has expired. If you sent the message, send it again."),
            status=404,
        )
    try:
        return ticket_actions.confirm_held_message(message)
    except ActionRefused as refusal:
        if refusal.code != "reopen_window_expired":
            raise
    return _confirm_as_follow_up(message, message.author)


@transaction.atomic
def _confirm_as_follow_up(message: Message, customer: User) -> Message:
    held = Message.objects.select_for_update().get(pk=message.pk)
    if held.verification != Verification.PENDING:
        return held
    Message.objects.filter(pk=held.pk).update(verification=Verification.CONFIRMED)
    old = message.ticket
    created = ticket_actions.create_ticket(
        customer=customer,
        subject=old.subject,
        body=held.body,
        channel=Channel.EMAIL,
        department=old.department,
        language=old.language or customer.language,
        # A copied person's words become a ticket of their own, naming nobody else's.
        related_to=old if old.customer_id == customer.pk else None,
    )
    return created.messages.earliest("id")


def _file(
    ticket: Ticket | None,
    customer: User,
    parsed: ParsedMessage,
    body: str,
    stored: list[Attachment],
    department: Department | None,
    registered: bool,
) -> tuple[Ticket, Message | None]:
    """Add to the ticket the mail continues, or file a new one: the ticket it ended in, and
    the message (None for a new ticket: its first, which `_first_message` finds)."""
    if ticket is None:
        return _new_ticket(customer, parsed, body, stored, department, registered), None
    try:
        message = ticket_actions.add_message(
            ticket,
            author=customer,
            body=body,
            channel=Channel.EMAIL,
            attachments=stored,
            # From an address copied on the ticket: a public message of that person.
            cc_address=normalize_email(parsed.sender.email),
        )
    except ActionRefused as refusal:
        if refusal.code != "reopen_window_expired":
            raise
    else:
        return message.ticket, message  # the ticket a merge sent it to
    # Too late to reopen: a new ticket, linked to the old one when it is the customer's (a
    # copied person's new ticket is theirs alone, and names nobody else's).
    related_to = ticket if ticket.customer_id == customer.pk else None
    created = _new_ticket(
        customer, parsed, body, stored, department, registered, related_to=related_to
    )
    return created, None


def own_addresses() -> set[str]:
    """Our own addresses: mail from them is our own coming back."""
    own = set(config_cache.cached("mail:own_addresses", _configured_addresses))
    own.add(normalize_email(settings.DESTEK_SUPPORT_ADDRESS))
    own.add(normalize_email(email.utils.parseaddr(settings.DEFAULT_FROM_EMAIL)[1]))
    return own


def _configured_addresses() -> frozenset[str]:
    """The departments' addresses and the mailboxes we poll, read once per process until an
    admin changes a department or a mailbox (`destek.mail.apps` watches them)."""
    mailboxes = MailAccount.objects.values_list("username", flat=True)
    return frozenset(
        {
            *config.department_addresses(),
            *(normalize_email(name) for name in mailboxes if "@" in name),
        }
    )


def _returned_to(raw: bytes) -> set[str]:
    """The addresses the mails quoted in a bounce were sent to, by their Message-IDs: a bounce
    counts only for an address we really mailed, proven by a Message-ID nobody else knows."""
    domain = re.escape(settings.DESTEK_SUPPORT_ADDRESS.rsplit("@", 1)[-1].lower().encode())
    found = re.findall(
        rb"destek\.[0-9a-f]{16}(?:\.t\d{1,15}\.[0-9a-f]{20})?@" + domain, raw, re.IGNORECASE
    )
    ids = {f"<{value.decode().lower()}>" for value in found[:200]}
    if not ids:
        return set()
    return {
        normalize_email(recipient)
        for recipient in Delivery.objects.filter(message_id__in=ids).values_list(
            "recipient", flat=True
        )
    }


def _mark_failing(bounce: guards.Bounce, raw: bytes) -> None:
    """Anyone can send a delivery report naming any address; marking a stranger's address
    failing would stop their password resets and security mail. So only addresses the
    report proves we mailed are marked."""
    now = timezone.now()
    ours = _returned_to(raw)
    for address in bounce.recipients:
        email = normalize_email(address)
        if not email or "@" not in email or email not in ours:
            continue
        failing, _created = FailingAddress.objects.get_or_create(
            email=email, defaults={"first_failed_at": now}
        )
        failing.bounces += 1
        failing.permanent = failing.permanent or bounce.permanent
        failing.status = bounce.status[:20]
        failing.diagnostic = bounce.diagnostic[:2000]
        failing.last_failed_at = now
        failing.save()


def _customer_for(sender: str, parsed: ParsedMessage, known: _Known) -> tuple[User | None, bool]:
    """The customer a sender is, and whether this is the account's registered address.

    A registered account by its address, or the account a verified contact address belongs
    to; an unknown address becomes a customer who has not verified it (they can claim the
    account later by signing up or resetting the password).
    """
    if known.account is not None:
        return (known.account if known.account.is_active else None), True
    owner = known.contact_owner
    if owner is not None:
        return (owner if owner.is_active else None), False
    text = f"{parsed.subject}\n{parsed.text}"
    customer = User(
        email=sender,
        full_name=" ".join(parsed.sender.name.split())[:200],
        role=Role.CUSTOMER,
        language=guess_language(text),
        email_verified_at=None,
        customer_number=known.free_number or None,  # None: drawn on save, maybe taken
    )
    customer.set_unusable_password()
    try:
        customer.save(force_insert=True)
    except IntegrityError as exc:
        # Two mails from a new address at once, and the other registered it first (or a
        # customer number collided): the transaction starts again and finds the account.
        raise _Raced from exc
    return customer, True


def _thread(
    parsed: ParsedMessage, token: tokens.Token | None, customer: User, sender: str
) -> Ticket | None:
    """The ticket this message continues, if its sender takes part in it.

    Our signed token first, then a signed plus-address, then the thread root in References,
    then In-Reply-To and References (our mails' Message-IDs, the customer's earlier mails),
    then `[#123456]` in the subject. Only the ticket's customer, or an address copied on it
    (`sender`), may add to it: anyone else starts a ticket of their own. Each step is read
    only when the ones before found nothing: a reply to our mail costs one look-up.
    """
    recipients = [a.email for a in (*parsed.to, *parsed.cc)] + list(parsed.delivered_to)
    ids = [*parsed.in_reply_to, *parsed.references]
    named = [
        number
        for number in (
            token.ticket_number if token is not None else None,
            tokens.from_plus_address(recipients),
            tokens.from_root(ids),
        )
        if number is not None
    ]
    ticket = _customers_ticket(named, customer, sender)
    if ticket is None and ids:
        ticket = _ticket_of_ids(ids, customer, sender)
    subject_number = tokens.from_subject(parsed.subject)
    if ticket is None and subject_number is not None:
        ticket = _customers_ticket([subject_number], customer, sender)
    return ticket


def _takes_part(customer: User, sender: str, prefix: str = "") -> Q:
    """A ticket whose customer this is, or on which the sender's address is copied."""
    return Q(**{f"{prefix}customer": customer}) | Q(**{f"{prefix}cc_addresses__address": sender})


def _customers_ticket(numbers: list[int], customer: User, sender: str) -> Ticket | None:
    """The first of these tickets that is the customer's, or that `sender` is copied on."""
    if not numbers:
        return None
    tickets = Ticket.objects.filter(_takes_part(customer, sender), number__in=numbers)
    found = {t.number: t for t in tickets.distinct()}
    return next((found[number] for number in numbers if number in found), None)


def _ticket_of_ids(ids: list[str], customer: User, sender: str) -> Ticket | None:
    """The ticket a Message-ID names that the customer takes part in: our latest mail about
    it, else their own latest mail filed in it."""
    wrapped = [f"<{value}>" for value in ids[:50]]
    ours = (
        Delivery.objects.filter(_takes_part(customer, sender, "ticket__"), message_id__in=wrapped)
        .select_related("ticket")
        .order_by("-pk")
        .first()
    )
    if ours is not None:
        return ours.ticket
    theirs = (
        InboundMessage.objects.filter(
            _takes_part(customer, sender, "ticket__"), rfc_message_id__in=ids[:50]
        )
        .select_related("ticket")
        .order_by("-pk")
        .first()
    )
    return theirs.ticket if theirs is not None else None


def _body(parsed: ParsedMessage, language: str) -> str:
    text = parsed.text.strip()
    if text:
        return text
    with translation.override(language):
        if parsed.parts:
            return _("(The message had no text, only attachments.)")
        return _("(The message had no text.)")


def _subject(parsed: ParsedMessage, body: str) -> str:
    subject = " ".join(parsed.subject.split())
    if subject:
        return subject[:250]
    first = next((line.strip() for line in body.splitlines() if line.strip()), "")
    return first[:80] or "—"


def _new_ticket(
    customer: User,
    parsed: ParsedMessage,
    body: str,
    stored: list[Attachment],
    department: Department | None,
    registered: bool,
    *,
    related_to: Ticket | None = None,
) -> Ticket:
    return ticket_actions.create_ticket(
        customer=customer,
        subject=_subject(parsed, body),
        body=body,
        channel=Channel.EMAIL,
        department=department,
        # No language: the mail's own words when clear, else the account's (one rule).
        related_to=related_to,
        attachments=stored,
        # Mail from a verified contact address is answered there.
        notify_address="" if registered else normalize_email(parsed.sender.email),
    )


def _agent_mail(agent: User, token: tokens.Token | None, parsed: ParsedMessage) -> _Filed:
    """An agent answers a notification by mail: only with the token we signed for that very
    address does it post, as a reply or, after the note marker, as an internal note."""
    if token is None or not token.for_sender:
        return _Filed(InboundStatus.IGNORED, "agent-without-token")
    try:
        ticket = access_ticket(agent, token.ticket_number)
    except Ticket.DoesNotExist:
        return _Filed(InboundStatus.IGNORED, "agent-not-allowed")
    text = parsed.text.strip()
    marker = settings.DESTEK_MAIL_NOTE_MARKER
    internal = bool(marker) and text.lower().startswith(marker.lower())
    if internal:
        text = text[len(marker) :].strip()
    stored, _refused = _store_parts(agent, parsed.parts)
    try:
        message = ticket_actions.add_message(
            ticket,
            author=agent,
            body=text or _body(parsed, agent.language),
            internal=internal,
            channel=Channel.EMAIL,
            attachments=stored,
        )
    except ActionRefused as refusal:
        return _Filed(InboundStatus.IGNORED, refusal.code[:64])
    _describe_message(message.ticket, message, quoted=parsed.quoted, email_from="", verification="")
    return _Filed(InboundStatus.STORED, "", message.ticket, message)


# --- attachments -----------------------------------------------------------------------------


#: Files attached from one mail at most.
MAX_FILES = 100


def _store_parts(user: User, parts: tuple[Part, ...]) -> tuple[list[Attachment], list[Part]]:
    """Each file through the one upload action; files over the limit are refused (the ticket is
    still filed, and the sender is told which)."""
    stored: list[Attachment] = []
    refused: list[Part] = []
    if len(parts) > MAX_FILES:
        # Thousands of tiny parts would be thousands of files; the raw message keeps them all.
        log.warning("%d parts in one mail: only the first %d are attached", len(parts), MAX_FILES)
        parts = parts[:MAX_FILES]
    for part in parts:
        upload = SimpleUploadedFile(
            part.filename or "attachment",
            part.payload,
            content_type=part.content_type or "application/octet-stream",
        )
        try:
            stored.append(ticket_actions.store_upload(user, upload))
        except ActionRefused as refusal:
            if refusal.code == "storage_unavailable":
                # A full disk is not the sender's fault: the adapter tries again later.
                raise TemporaryFailure("no room to store the attachments") from refusal
            refused.append(part)
    return stored, refused


# --- automatic answers -----------------------------------------------------------------------


def _answer_refusal(
    sender: str, customer: User, parsed: ParsedMessage, refusal: ActionRefused
) -> None:
    # The customer's own words decide when they are clear; "Salam" alone is not, and then
    # the account's language answers (a new sender's account has the guess from their mail).
    language = choose_language(f"{parsed.subject}\n{parsed.text}", account=customer.language)
    with translation.override(language):
        why = str(refusal.detail)
    queue_mail(
        to=sender,
        template="mail_refused",
        context={"subject": parsed.subject, "why": why},
        language=language,
        time_zone=customer.time_zone,
        auto_submitted=AutoSubmitted.REPLIED,
    )


def _answer_refused_files(
    sender: str, customer: User, ticket: Ticket, parts: list[Part], text: str
) -> None:
    queue_mail(
        to=sender,
        template="mail_files_refused",
        context={
            "number": f"#{ticket.number}",
            "files": [part.filename or "attachment" for part in parts],
            "mb": settings.DESTEK_MAX_ATTACHMENT_MB,
            "link": portal_link(ticket),
        },
        language=choose_language(text, account=customer.language),
        time_zone=customer.time_zone,
        thread=Thread.of(ticket),
        auto_submitted=AutoSubmitted.REPLIED,
    )


def _answer_parts_skipped(sender: str, customer: User, ticket: Ticket, text: str) -> None:
    """More parts (or deeper nesting) than the parser reads: the ticket has what came before
    the cap, the raw message keeps everything, and the sender hears what was not read."""
    queue_mail(
        to=sender,
        template="mail_parts_skipped",
        context={
            "number": f"#{ticket.number}",
            "max_parts": settings.DESTEK_MAIL_MAX_PARTS,
            "max_depth": settings.DESTEK_MAIL_MAX_DEPTH,
            "link": portal_link(ticket),
        },
        # The same language as the other answers to this mail: its text's, else the account's.
        language=choose_language(text, account=customer.language),
        time_zone=customer.time_zone,
        calendar=customer.calendar,
        thread=Thread.of(ticket),
        auto_submitted=AutoSubmitted.REPLIED,
    )
