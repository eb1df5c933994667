"""Writing to the outbox. Callers are inside the transaction of the change they report.

The mails one change causes (the customer's confirmation and the agents' notices of a new
ticket) are written in one bulk insert and handed to the worker in one job (`batch`). Whether
an automatic mail may go (the caps per address, an address that bounces for good) is decided
by the worker when it sends (`destek.notify.jobs`), not here: a request writes rows and never
counts them."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import timedelta
from typing import Any, ParamSpec, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.conf import settings
from django.db import transaction
from django.db.models import Count, Q
from django.template import Context
from django.template.loader import get_template, render_to_string
from django.utils import timezone, translation

from destek.lib.dates import override_calendar
from destek.lib.text import strip_invisible
from destek.notify import tokens
from destek.notify.caps import WILL_BE_SENT, over_automatic_cap
from destek.notify.choices import MailKind, Transport
from destek.notify.jobs import deliver_many
from destek.notify.models import Delivery
from destek.notify.sms import sms_enabled
from destek.notify.threads import (
    Thread,
    answering_automatic_mail_from,
    answering_unverified_mail,
    thread_headers,
)

log = logging.getLogger(__name__)

P = ParamSpec("P")
R = TypeVar("R")

_paused: ContextVar[bool] = ContextVar("destek_outbox_paused", default=False)
_batch: ContextVar[_Batch | None] = ContextVar("destek_outbox_batch", default=None)


class _Batch:
    """Rows queued inside `batch()`, and the In-Reply-To each ticket's mail answers."""

    def __init__(self) -> None:
        self.rows: list[Delivery] = []
        self.replies_to: dict[int, dict[str, str]] = {}


@contextmanager
def batch() -> Iterator[None]:
    """Everything queued inside is inserted at the end in one statement and handed to the
    worker in one job once the transaction commits. Nested batches join the outer one."""
    if _batch.get() is not None:
        yield
        return
    current = _Batch()
    token = _batch.set(current)
    try:
        yield
    finally:
        _batch.reset(token)
    _write(current.rows)


def batched(function: Callable[P, R]) -> Callable[P, R]:
    """`function` runs inside one `batch()`."""

    @functools.wraps(function)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        with batch():
            return function(*args, **kwargs)

    return wrapper


def _write(rows: list[Delivery]) -> None:
    if not rows:
        return
    Delivery.objects.bulk_create(rows)
    ids = [row.pk for row in rows]
    mail = any(row.transport == Transport.EMAIL for row in rows)
    # robust: the rows are committed whatever happens to the queue; if Redis is down the
    # outbox sweep sends them later, and the customer's request must not fail for that.
    transaction.on_commit(lambda: deliver_many(ids, mail=mail), robust=True)


def _queue(row: Delivery) -> Delivery:
    current = _batch.get()
    if current is None:
        _write([row])
    else:
        current.rows.append(row)
    return row


def _thread_headers(thread: Thread) -> dict[str, str]:
    """The thread's headers, looked up once per ticket in a batch."""
    current = _batch.get()
    if current is None:
        return thread_headers(thread)
    if thread.ticket_id not in current.replies_to:
        current.replies_to[thread.ticket_id] = thread_headers(thread)
    return current.replies_to[thread.ticket_id]


@contextmanager
def outbox_paused() -> Iterator[None]:
    """Nothing is queued for mail or SMS inside this block: the demo's sample tickets are
    made through the real actions, but their customers are people nobody should write to."""
    token = _paused.set(True)
    try:
        yield
    finally:
        _paused.reset(token)


def outbox_is_paused() -> bool:
    """Inside `outbox_paused()`: callers that queue later (after commit, in a job) ask."""
    return _paused.get()


def render_text(name: str, context: Mapping[str, Any]) -> str:
    """Plain-text templates (subjects, text bodies) are rendered without HTML escaping."""
    template = get_template(name).template  # type: ignore[attr-defined]
    return str(template.render(Context(dict(context), autoescape=False)))


def zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def header_safe(value: str) -> str:
    """Customer-controlled text that ends up in a header: one line, no control characters."""
    return " ".join(strip_invisible(value).split())[:250]


class AutoSubmitted:
    """RFC 3834 `Auto-Submitted` values; HUMAN mails carry a person's words and no header."""

    GENERATED = "auto-generated"
    REPLIED = "auto-replied"
    HUMAN = ""


def over_security_cap(address: str, template: str) -> bool:
    """Security mail has its own limit per address and per kind of mail: automatic answers
    (which forged mail can provoke) never use it up, and a flood of one kind (sign-up attempts
    with someone's address) cannot hold back another (their password reset)."""
    now = timezone.now()
    counts = Delivery.objects.filter(
        recipient=address,
        kind=MailKind.SECURITY,
        template=template,
        created_at__gte=now - timedelta(days=1),
    ).aggregate(
        day=Count("pk"), hour=Count("pk", filter=Q(created_at__gte=now - timedelta(hours=1)))
    )
    return bool(
        counts["hour"] >= settings.DESTEK_SECURITY_MAIL_PER_HOUR
        or counts["day"] >= settings.DESTEK_SECURITY_MAIL_PER_DAY
    )


def queue_mail(
    *,
    to: str,
    template: str,
    context: Mapping[str, Any],
    language: str,
    time_zone: str = "UTC",
    calendar: str = "solar_hijri",
    thread: Thread | None = None,
    auto_submitted: str = AutoSubmitted.GENERATED,
    kind: str | None = None,
    headers: Mapping[str, str] | None = None,
) -> Delivery | None:
    """Render `notify/mail/<template>.{subject,txt,html}` in `language` and queue it.

    Rendering happens now, inside the caller's transaction, so the mail says what was true
    when the change was made, not when a worker got round to it. `kind` defaults to
    conversation for a person's words (never capped) and automatic otherwise; the caller
    marks security mail (MailKind.SECURITY), which has its own limit per address and kind.
    Returns None when a mail is over its cap (logged, not queued). `headers` are added to
    the mail's own (List-Unsubscribe of a mailing, say).
    """
    if _paused.get():
        return None
    automatic = auto_submitted != AutoSubmitted.HUMAN
    kind = kind or (MailKind.AUTOMATIC if automatic else MailKind.CONVERSATION)
    unverified = kind == MailKind.AUTOMATIC and answering_unverified_mail(to)
    if kind == MailKind.SECURITY:
        # Asked for by the person (a reset, a sign-up) or about their account (a new sign-in):
        # never held by the automatic caps or an earlier bounce, only by a limit of its own.
        if over_security_cap(to, template):
            log.warning("security mail %s to %s not queued: over its own cap", template, to)
            return None
    elif kind == MailKind.AUTOMATIC and answering_automatic_mail_from(to):
        # An auto-responder, a list or another helpdesk wrote: answering it automatically
        # is how mail loops start (RFC 3834). The caps and bounces are the worker's to check.
        log.info("automatic mail %s to %s not queued: it answers automatic mail", template, to)
        return None
    with (
        translation.override(language),
        timezone.override(zone(time_zone)),
        override_calendar(calendar),
    ):
        subject = render_text(f"notify/mail/{template}.subject.txt", context)
        text = render_text(f"notify/mail/{template}.txt", context)
        html = render_to_string(f"notify/mail/{template}.html", dict(context))
    extra = {name: header_safe(value) for name, value in (headers or {}).items()}
    sent_headers: dict[str, str] = {"Reply-To": settings.DESTEK_SUPPORT_ADDRESS, **extra}
    if thread is not None:
        sent_headers.update(_thread_headers(thread))
    if automatic:
        # RFC 3834: tells auto-responders on the other side not to answer us.
        sent_headers["Auto-Submitted"] = auto_submitted
        sent_headers["X-Auto-Response-Suppress"] = "All"
    subject = header_safe(subject)
    if thread is not None and f"[#{thread.number}]" not in subject:
        subject = f"[#{thread.number}] {subject}"
    return _queue(
        Delivery(
            template=template,
            recipient=to,
            language=language,
            subject=subject,
            body_text=text.strip() + "\n",
            body_html=html,
            headers=sent_headers,
            message_id=tokens.message_id(thread.number if thread else None, to),
            automatic=automatic,
            kind=kind,
            answers_unverified=unverified,
            ticket_id=thread.ticket_id if thread else None,
        )
    )


def queue_sms(
    *,
    to: str,
    template: str,
    context: Mapping[str, Any],
    language: str,
    thread: Thread | None = None,
    refuse_over_cap: bool = False,
) -> Delivery | None:
    """Render `notify/sms/<template>.txt` in `language` and queue it for the SMS gateway.

    `to` is an E.164 number. Every SMS is automatic (our words, not a person's) and counts
    against the number's caps, which the worker checks when it sends. A caller that must
    tell the person now (a one-time code) asks for `refuse_over_cap`: then None is returned
    when the number is over its cap. None also when SMS is off.
    """
    if _paused.get() or not sms_enabled():
        return None
    if refuse_over_cap and over_automatic_cap(to, counting=WILL_BE_SENT):
        log.warning("SMS %s to %s not queued: over the cap", template, to)
        return None
    with translation.override(language):
        text = " ".join(render_text(f"notify/sms/{template}.txt", context).split())
    return _queue(
        Delivery(
            transport=Transport.SMS,
            template=template,
            recipient=to,
            language=language,
            subject=text[:300],
            body_text=text,
            message_id=tokens.message_id(thread.number if thread else None, to),
            automatic=True,
            ticket_id=thread.ticket_id if thread else None,
        )
    )
