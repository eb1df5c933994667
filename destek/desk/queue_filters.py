"""The queue's address read once: its filters, search words and sort, checked, and turned into
one condition and one order. The queue page, a saved view's link and a saved view's count all
go through here, so a filter means the same thing in each.

A value that is not one of ours (a mangled link, a saved view edited in the database) is left
out and named in `ignored`, so the page says what it did not apply instead of failing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from django.db.models import (
    Case,
    Exists,
    Expression,
    F,
    IntegerField,
    OrderBy,
    OuterRef,
    Q,
    Value,
    When,
)
from django.utils.translation import gettext_lazy as _

from destek.accounts.models import User
from destek.tickets import search as ticket_search
from destek.tickets.actions import tag_names
from destek.tickets.choices import ACTIVE_STATUSES, Priority, TicketStatus
from destek.tickets.models import Ticket

#: The filters a queue address (and so a saved view) may carry, beside `q` and `sort`.
FILTERS = ("status", "who", "priority", "vip", "due", "department", "tag")

_STATUS_ORDER = [s.value for s in TicketStatus]

#: Sort keys by the column they name; each ends with the id so equal values keep one order.
#: `due` is the queue's own order (breached first, nearest due, priority, VIP), the default.
_COLUMNS: dict[str, tuple[Any, ...]] = {
    "number": ("number",),
    "subject": ("subject", "id"),
    "customer": ("customer__full_name", "customer__email", "id"),
    "status": (
        Case(
            *(When(status=s, then=Value(i)) for i, s in enumerate(_STATUS_ORDER)),
            default=Value(len(_STATUS_ORDER)),
            output_field=IntegerField(),
        ),
        "id",
    ),
    "priority": ("priority_rank", "id"),
    "department": ("department__name", "id"),
    "assignee": ("assignee__full_name", "assignee__email", "id"),
    "updated": ("updated_at", "id"),
}
SORTS = (*_COLUMNS, "due")

#: The parameters as a message names them when one was left out.
_LABELS = {
    "status": _("status"),
    "who": _("assignee"),
    "priority": _("priority"),
    "vip": "VIP",
    "due": _("due"),
    "department": _("department"),
    "tag": _("tag"),
    "q": _("search"),
    "sort": _("sort"),
}


def ignored_names(names: tuple[str, ...]) -> str:
    """The parameters left out, named in the reader's language (others as they were sent)."""
    return ", ".join(str(_LABELS.get(name, name)) for name in names)


@dataclass(frozen=True)
class QueueQuery:
    filters: dict[str, str] = field(default_factory=dict)  # only those set, all checked
    q: str = ""
    sort: str = ""  # "" is the queue's order; a column name, "-" in front for descending
    ignored: tuple[str, ...] = ()  # the parameters left out, by name

    @property
    def status(self) -> str:
        """`active` unless chosen; a search looks at every status unless one is chosen."""
        return self.filters.get("status", "any" if self.q else "active")

    @property
    def sort_column(self) -> str:
        return self.sort.lstrip("-") or "due"

    @property
    def descending(self) -> bool:
        return self.sort.startswith("-")

    def params(self, **changes: str) -> dict[str, str]:
        """The address's parameters, with `changes` (an empty value removes one)."""
        params = {**self.filters}
        if self.q:
            params["q"] = self.q
        if self.sort:
            params["sort"] = self.sort
        params.update(changes)
        return {key: value for key, value in params.items() if value}

    def saved(self) -> dict[str, str]:
        """What a saved view keeps as its filters: the filters and the search words."""
        return self.params(sort="")

    def url(self, **changes: str) -> str:
        params = self.params(**changes)
        return "?" + urlencode(params) if params else "?"


def _valid(key: str, value: str) -> bool:
    if key == "status":
        return value in ("active", "any", *TicketStatus.values)
    if key == "who":
        return value in ("mine", "unassigned")
    if key == "priority":
        return value in Priority.values
    if key == "vip":
        return value == "1"
    if key == "due":
        return value in ("hour", "breached")
    if key == "department":
        return value.isascii() and value.isdigit() and len(value) <= 9
    if key == "tag":  # a tag's name as stored (tickets.actions.tag_names)
        return tag_names(value) == [value]
    return False


def read_query(params: Mapping[str, Any], *, strict: bool = False) -> QueueQuery:
    """The queue query in `params` (a request's GET, or a saved view's filters and sort).

    With `strict`, keys that are none of ours are reported too (a saved view holds nothing
    else); an address may carry others (a cursor, a page, a tracking tag) and keeps quiet.
    """
    ignored: list[str] = []
    filters: dict[str, str] = {}
    for key in FILTERS:
        value = params.get(key)
        if value in (None, ""):
            continue
        if isinstance(value, str) and _valid(key, value):
            filters[key] = value
        else:
            ignored.append(key)
    q = params.get("q", "")
    if not isinstance(q, str):
        ignored.append("q")
        q = ""
    sort = params.get("sort", "")
    if not isinstance(sort, str) or sort.lstrip("-") not in SORTS or sort.count("-") > 1:
        if sort:
            ignored.append("sort")
        sort = ""
    if sort == "due":  # the default, said explicitly
        sort = ""
    if strict:
        ignored += sorted(str(key) for key in params if key not in (*FILTERS, "q", "sort"))
    return QueueQuery(filters, ticket_search.clean_query(q), sort, tuple(ignored))


def condition(query: QueueQuery, user: User, *, now: datetime) -> Q:
    """The tickets `query` picks among those the reader may see (the caller starts from
    `Ticket.objects.visible_to(reader)`: a filter can narrow the reader's tickets, never
    widen them). The search words are not part of it: see `tickets.search`."""
    f = query.filters
    where = Q()
    if query.status == "active":
        where &= Q(status__in=ACTIVE_STATUSES)
    elif query.status in TicketStatus.values:
        where &= Q(status=query.status)
    if f.get("who") == "mine":
        where &= Q(assignee_id=user.pk)
    elif f.get("who") == "unassigned":
        where &= Q(assignee__isnull=True)
    if "priority" in f:
        where &= Q(priority=f["priority"])
    if f.get("vip") == "1":
        where &= Q(customer_vip=True)
    if f.get("due") == "hour":
        where &= Q(queue_due__gt=now, queue_due__lte=now + timedelta(hours=1))
    elif f.get("due") == "breached":
        where &= Q(queue_due__lte=now)
    if "department" in f:
        where &= Q(department_id=int(f["department"]))
    if "tag" in f:
        # EXISTS, not a join: the views' counts are one aggregate over the tickets, and a
        # join on tags would count a ticket once per tag.
        where &= Q(
            Exists(Ticket.tags.through.objects.filter(ticket_id=OuterRef("pk"), tag__name=f["tag"]))
        )
    return where


def countable(query: QueueQuery) -> bool:
    """Whether a view's count is shown. Not for search words (a search ranks a few hundred
    candidates; it does not count) nor for views that include closed tickets: counts are
    read only over tickets still being worked, which an index finds without reading the
    closed ones that make up most of a large table."""
    return not query.q and query.status not in ("any", TicketStatus.CLOSED)


def ordering(query: QueueQuery) -> list[Any]:
    """The `order_by` for a chosen column; `[]` for the queue's own order (`queue_page`)."""
    column = query.sort_column
    if column == "due":
        return (
            [] if not query.descending else ["-queue_due", "priority_rank", "customer_vip", "-id"]
        )
    order: list[Any] = []
    for key in _COLUMNS[column]:
        expression: Expression | F = F(key) if isinstance(key, str) else key
        # Missing names (no assignee) last either way round.
        last = True if isinstance(key, str) and key.startswith("assignee__") else None
        order.append(OrderBy(expression, descending=query.descending, nulls_last=last))
    return order
