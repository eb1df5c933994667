"""Reading tickets: customer-facing labels and the keyset-paginated lists."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.core import signing
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from destek.accounts.models import User
from destek.lib.dates import format_deadline
from destek.lib.errors import ActionRefused
from destek.tickets.choices import CloseReason, TicketStatus
from destek.tickets.models import Ticket, TicketCC, TicketFollower


def customer_status_label(ticket: Ticket) -> str:
    """What the customer reads, in the words the seeds use (Jino, Pinco, the SMS panel).

    Where the conversation stands matters more to a customer than the internal state: a new
    or open ticket whose last word is the customer's is "awaiting operator reply"; once an
    agent has opened a new ticket it is "seen, under review".
    """
    status = ticket.status
    if ticket.merged_into_id is not None and ticket.merged_into is not None:
        return pgettext("customer status", "Merged into #{number}").format(
            number=ticket.merged_into.number
        )
    if status == TicketStatus.CLOSED:
        if ticket.close_reason == CloseReason.NO_REPLY:
            return pgettext("customer status", "Closed without a reply")
        return pgettext("customer status", "Closed")
    if status == TicketStatus.RESOLVED:
        return pgettext("customer status", "Resolved")
    if status == TicketStatus.PENDING:
        return pgettext("customer status", "Awaiting your reply")
    if status == TicketStatus.NEW:
        if ticket.first_seen_at is not None:
            return pgettext("customer status", "Seen, under review")
        return pgettext("customer status", "Awaiting operator reply")
    customer_spoke_last = ticket.last_customer_message_at is not None and (
        ticket.last_agent_message_at is None
        or ticket.last_customer_message_at > ticket.last_agent_message_at
    )
    if customer_spoke_last:
        return pgettext("customer status", "Awaiting operator reply")
    return pgettext("customer status", "In progress")


def expected_answer_at(ticket: Ticket) -> datetime | None:
    """When the customer can expect our next word: the first response, or the next one
    after their last message; nothing while we wait for them or after the ticket is done."""
    if ticket.status not in (TicketStatus.NEW, TicketStatus.OPEN):
        return None
    if ticket.first_response_at is None:
        return ticket.first_response_due
    return ticket.next_response_due


def expected_answer_text(ticket: Ticket) -> str | None:
    """ "We will answer by Monday 30 November, 12:30", in the active language and the
    customer's own time zone."""
    when = expected_answer_at(ticket)
    if when is None:
        return None
    local = timezone.localtime(when, zone_of(ticket.customer.time_zone))
    with timezone.override(local.tzinfo):
        return _("We will answer by {when}.").format(when=format_deadline(local))


def zone_of(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


@dataclass
class Page:
    items: list[Any]
    next_cursor: str | None


#: Cursors are signed: a cursor is only ever one this server handed out, so nothing a caller
#: types reaches the JSON parser (a deeply nested array once raised RecursionError) or the
#: database (an id past 64 bits). Its shape is checked again after the signature.
CURSOR_SALT = "destek.tickets.cursor"
_CURSOR_MAX = 300
_BIG = 2**63 - 1


def _invalid_cursor() -> ActionRefused:
    return ActionRefused("invalid_cursor", _("The cursor is not valid."), status=400)


def _sign_cursor(value: list[Any]) -> str:
    return signing.dumps(value, salt=CURSOR_SALT)


def _unsign_cursor(cursor: str) -> list[Any]:
    if not isinstance(cursor, str) or len(cursor) > _CURSOR_MAX or not cursor.isascii():
        raise _invalid_cursor()
    try:
        value = signing.loads(cursor, salt=CURSOR_SALT)
    except (signing.BadSignature, ValueError, RecursionError):
        raise _invalid_cursor() from None
    if not isinstance(value, list):
        raise _invalid_cursor()
    return value


def _small_int(value: Any) -> int:
    if type(value) is not int or not 0 <= value <= _BIG:
        raise _invalid_cursor()
    return value


def encode_cursor(last_id: int) -> str:
    return _sign_cursor(["i", last_id])


def decode_cursor(cursor: str) -> int:
    value = _unsign_cursor(cursor)
    if len(value) != 2 or value[0] != "i":
        raise _invalid_cursor()
    return _small_int(value[1])


def keyset_page(qs: QuerySet[Any], *, cursor: str | None, limit: int) -> Page:
    """Newest first by id; the cursor is the last id seen, so a page costs one index range
    scan however deep the caller has paged (no OFFSET)."""
    if cursor:
        qs = qs.filter(pk__lt=decode_cursor(cursor))
    rows = list(qs.order_by("-pk")[: limit + 1])
    more = len(rows) > limit
    rows = rows[:limit]
    return Page(rows, encode_cursor(rows[-1].pk) if more and rows else None)


def _queue_key(ticket: Ticket) -> list[Any]:
    return [ticket.queue_due.isoformat(), ticket.priority_rank, ticket.customer_vip, ticket.pk]


def queue_page(qs: QuerySet[Any], *, cursor: str | None, limit: int) -> Page:
    """The agents' order: breached first, then the nearest due instant, then priority, VIP
    customers before others. Keyset over (queue_due, -priority_rank, -customer_vip, id), the
    columns of one index, so a deep page costs what the first one does: the cursor's
    condition carries a plain range on `queue_due` too, which the index scan starts from
    (without it PostgreSQL reads the index from its first row and filters up to the page)."""
    order = ["queue_due", "-priority_rank", "-customer_vip", "pk"]
    if cursor:
        due_raw, rank, vip, pk = _decode_queue_cursor(cursor)
        due = datetime.fromisoformat(due_raw)
        qs = qs.filter(
            Q(queue_due__gt=due)
            | Q(queue_due=due, priority_rank__lt=rank)
            | Q(queue_due=due, priority_rank=rank, customer_vip__lt=vip)
            | Q(queue_due=due, priority_rank=rank, customer_vip=vip, pk__gt=pk),
            queue_due__gte=due,
        )
    rows = list(qs.order_by(*order)[: limit + 1])
    more = len(rows) > limit
    rows = rows[:limit]
    next_cursor = None
    if more and rows:
        next_cursor = _sign_cursor(["q", *_queue_key(rows[-1])])
    return Page(rows, next_cursor)


def _decode_queue_cursor(cursor: str) -> tuple[str, int, bool, int]:
    value = _unsign_cursor(cursor)
    if len(value) != 5 or value[0] != "q":
        raise _invalid_cursor()
    _tag, due, rank, vip, pk = value
    if not isinstance(due, str) or len(due) > 40 or type(vip) is not bool:
        raise _invalid_cursor()
    if type(rank) is not int or not -_BIG <= rank <= _BIG:
        raise _invalid_cursor()
    try:
        instant = datetime.fromisoformat(due)
        if instant.tzinfo is None:
            raise ValueError(due)
        return instant.astimezone(UTC).isoformat(), rank, vip, _small_int(pk)
    except (ValueError, OverflowError):
        raise _invalid_cursor() from None


def upload_limits() -> dict[str, int]:
    """The attachment limit, for the pages' own check before uploading (the upload action
    enforces it)."""
    from django.conf import settings

    mb = settings.DESTEK_MAX_ATTACHMENT_MB
    return {"max_mb": mb, "max_bytes": mb * 1024 * 1024}


def ticket_people(ticket: Ticket, agent: User) -> dict[str, Any]:
    """Who else takes part in a ticket, for its desk page: the addresses copied on it, the
    agents who follow it, and whether `agent` is one of them. One statement each, none when
    the ticket's counts say there is nobody."""
    followers = (
        list(TicketFollower.objects.filter(ticket=ticket).select_related("agent").order_by("pk"))
        if ticket.follower_count
        else []
    )
    ccs = list(TicketCC.objects.filter(ticket=ticket).order_by("pk")) if ticket.cc_count else []
    return {
        "ccs": ccs,
        "followers": followers,
        "following": any(follower.agent_id == agent.pk for follower in followers),
    }
