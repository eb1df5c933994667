"""Reading for the desk: the queue's counts, a ticket's neighbours in the queue order, its
history with the agents named, and the articles the ticket page offers to link."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.db.models import Count, Field, Q
from django.utils.encoding import iri_to_uri

from destek.accounts.models import User
from destek.kb.search import search, visible
from destek.tickets.access import agent_department_ids
from destek.tickets.choices import ACTIVE_STATUSES, EventKind, TicketStatus
from destek.tickets.clocks import CLOCKS, Schedules, shown_clock
from destek.tickets.models import Ticket, TicketEvent


def history(ticket: Ticket) -> list[TicketEvent]:
    """The ticket's history, oldest first. Assignee changes are recorded by the agents'
    addresses; they are named here (`before`, `after` on those entries), in one statement and
    only when the history has such changes. An address no longer anyone's stays as recorded."""
    events = list(TicketEvent.objects.filter(ticket=ticket).select_related("actor").order_by("id"))
    addresses = {
        value
        for event in events
        if event.kind == EventKind.ASSIGNEE
        for value in (event.from_value, event.to_value)
        if value
    }
    if not addresses:
        return events
    names = {user.email: user.display_name for user in User.objects.filter(email__in=addresses)}
    for event in events:
        if event.kind == EventKind.ASSIGNEE:
            event.before = names.get(event.from_value, event.from_value)  # type: ignore[attr-defined]
            event.after = names.get(event.to_value, event.to_value)  # type: ignore[attr-defined]
    return events


def ticket_clocks(ticket: Ticket, *, now: datetime) -> dict[str, dict[str, Any]] | None:
    """The service-level clocks the ticket page shows: each clock's due instant, the business
    minutes left (negative once past due), and whether it runs now.

    Read from what the ticket keeps, not recomputed from its history: every message, status
    change and policy or calendar change refreshes the due instants on the ticket
    (`tickets.clocks.refresh`), and the queue and the sweep work with those same instants.
    The page then reads no events or messages for its clocks, only the policy's calendar to
    count business minutes in.
    """
    if ticket.sla_policy_id is None:
        return None
    schedules = Schedules()
    policy = next((p for p in schedules.policies() if p.pk == ticket.sla_policy_id), None)
    if policy is None:  # disabled since; the recomputation after that change is under way
        return None
    try:
        schedule = schedules.get(policy.calendar_id)
    except ValueError:  # a calendar that cannot be read: no clocks rather than no page
        return None
    finished = ticket.status in (TicketStatus.RESOLVED, TicketStatus.CLOSED)
    # A clock that has done its job stops; the next response's due instant is empty whenever
    # no customer message awaits an answer, and any clock's while it is paused.
    return {
        name: shown_clock(
            ticket,
            name,
            getattr(ticket, f"{name}_due"),
            done=finished or (name == "first_response" and ticket.first_response_at is not None),
            schedule=schedule,
            now=now,
        )
        for name in CLOCKS
    }


#: How long the queue's counts may be stale. See `queue_counts`.
COUNTS_TTL_SECONDS = 10

#: The statuses counted: the working ones and `resolved`, which the timer closes within days.
COUNTED_STATUSES = (*ACTIVE_STATUSES, TicketStatus.RESOLVED)


#: Part of every counts key: a new generation makes every agent's cached counts unreachable.
COUNTS_GENERATION = "desk:counts:generation"


def forget_queue_counts() -> None:
    """After the desk changed tickets (a bulk change, an action on a ticket page): every
    agent's next queue counts afresh. One key for all agents, since a change in one
    department shows in the counts of everyone who works there, and admins see all."""
    cache.add(COUNTS_GENERATION, 0, timeout=None)
    try:
        cache.incr(COUNTS_GENERATION)
    except ValueError:  # evicted between the two calls
        cache.set(COUNTS_GENERATION, 1, timeout=None)


def queue_counts(user: User, *, now: datetime) -> dict[str, int]:
    """How many tickets each queue filter shows, for the agent's departments.

    Why this stays fast at a million tickets: one aggregate query, not one COUNT(*) per
    filter, and only over tickets still being worked (new, open, pending, resolved) of the
    agent's departments; the (department, status, -id) index finds them without reading
    the closed ones, which are nearly all of a large table and are therefore never counted.
    The result is cached for a few seconds per agent and set of departments (the `mine`
    count is personal), so an agent paging or several tabs polling cost one query per
    interval; counts may lag a change made elsewhere (a new ticket, a mail) by that long,
    which a glance at a queue tolerates. A change made in the desk itself calls
    `forget_queue_counts`, so the queue the agent returns to never contradicts its list.
    """
    departments = "all" if user.is_admin else ",".join(map(str, sorted(agent_department_ids(user))))
    generation = cache.get(COUNTS_GENERATION, 0)
    key = f"desk:counts:{generation}:{user.pk}:{departments}"
    cached = cache.get(key)
    if cached is not None:
        return dict(cached)
    active = Q(status__in=ACTIVE_STATUSES)
    aggregates: dict[str, Any] = {
        "all": Count("pk", filter=active),
        "mine": Count("pk", filter=active & Q(assignee_id=user.pk)),
        "unassigned": Count("pk", filter=active & Q(assignee__isnull=True)),
        "hour": Count(
            "pk",
            filter=active & Q(queue_due__gt=now, queue_due__lte=now + timedelta(hours=1)),
        ),
        "breached": Count("pk", filter=active & Q(queue_due__lte=now)),
        "vip": Count("pk", filter=active & Q(customer_vip=True)),
    }
    for status in COUNTED_STATUSES:
        aggregates[f"status_{status}"] = Count("pk", filter=Q(status=status))
    counts = (
        Ticket.objects.visible_to(user)
        .filter(status__in=COUNTED_STATUSES)
        .order_by()
        .aggregate(**aggregates)
    )
    cache.set(key, counts, COUNTS_TTL_SECONDS)
    return counts


def _column(name: str) -> str:
    """A ticket column as the SQL of `visible_to` names it: "table"."column"."""
    field = Ticket._meta.get_field(name)
    if not isinstance(field, Field) or not field.column:
        raise ValueError(name)
    quote = connection.ops.quote_name
    return f"{quote(Ticket._meta.db_table)}.{quote(field.column)}"


def queue_neighbours(user: User, ticket: Ticket) -> tuple[int | None, int | None]:
    """The previous and next ticket numbers around `ticket` in the default queue (active
    tickets of the agent's departments, in queue order), in one statement.

    The queue's keyset condition "after (due, rank, vip, id)" is an OR that no index range
    expresses; read as one range scan it walks every active ticket of the same due instant,
    and thousands of pending tickets share the far-future one. So each side is split into
    its pieces, nearest first: the same due, priority and VIP with a later id; the same due
    and priority, VIP after non-VIP; the same due with a lower priority; a later due. Each
    piece is an index range of the partial index on active tickets in queue order
    (`ticket_dept_active_queue_idx`, or `ticket_active_queue_idx` for admins), read for one
    row, and the first piece that has one holds the neighbour. A closed ticket keeps its
    place in that order (it has none of its own in the queue), so its neighbours are the
    active tickets around where it would be.

    The pieces are appended as SQL to what the one door (`visible_to`) compiles: built as
    seven ORM subqueries they cost more to compile than PostgreSQL takes to run them.
    """
    active = Ticket.objects.visible_to(user).filter(status__in=ACTIVE_STATUSES)
    door, door_params = active.order_by().values("number").query.sql_with_params()
    if " WHERE " not in door:  # never: the status filter is always there
        raise ValueError(door)
    due_c, rank_c, vip_c, id_c = (
        _column(name) for name in ("queue_due", "priority_rank", "customer_vip", "id")
    )
    due = connection.ops.adapt_datetimefield_value(ticket.queue_due)
    rank, vip, pk = ticket.priority_rank, ticket.customer_vip, ticket.pk
    after: list[tuple[str, list[Any]]] = [
        (f"{due_c} = %s AND {rank_c} = %s AND {vip_c} = %s AND {id_c} > %s", [due, rank, vip, pk]),
        *(
            [(f"{due_c} = %s AND {rank_c} = %s AND {vip_c} = %s", [due, rank, False])]
            if vip
            else []
        ),
        (f"{due_c} = %s AND {rank_c} < %s", [due, rank]),
        (f"{due_c} > %s", [due]),
    ]
    before: list[tuple[str, list[Any]]] = [
        (f"{due_c} = %s AND {rank_c} = %s AND {vip_c} = %s AND {id_c} < %s", [due, rank, vip, pk]),
        *([] if vip else [(f"{due_c} = %s AND {rank_c} = %s AND {vip_c} = %s", [due, rank, True])]),
        (f"{due_c} = %s AND {rank_c} > %s", [due, rank]),
        (f"{due_c} < %s", [due]),
    ]
    forwards = f"{due_c} ASC, {rank_c} DESC, {vip_c} DESC, {id_c} ASC"
    backwards = f"{due_c} DESC, {rank_c} ASC, {vip_c} ASC, {id_c} DESC"
    columns, params = [], []
    for pieces, order in ((after, forwards), (before, backwards)):
        for condition, values in pieces:
            columns.append(f"({door} AND {condition} ORDER BY {order} LIMIT 1)")
            params += [*door_params, *values]
    with connection.cursor() as cursor:
        cursor.execute("SELECT " + ", ".join(columns), params)
        row = cursor.fetchone()
    nearest_after, nearest_before = row[: len(after)], row[len(after) :]
    following = next((number for number in nearest_after if number is not None), None)
    previous = next((number for number in nearest_before if number is not None), None)
    return previous, following


#: The ticket page lists at most this many: a help centre of thousands would bloat the menu.
LINKS_MAX = 30


def article_links(language: str, subject: str = "") -> list[dict[str, str]]:
    """Title and absolute address of articles a customer can read in `language`: those that
    match the ticket's subject first, then the rest in the help centre's order, at most
    LINKS_MAX (the help centre's own search finds any other). A search costs a dozen
    statements, so the ticket page asks for these only when the agent opens its menu."""
    matching = [hit.translation for hit in search(subject, language, limit=10)] if subject else []
    rest = (
        visible()
        .filter(language=language)
        .exclude(pk__in=[t.pk for t in matching])
        .order_by("article__section__position", "article__position", "title")
        .select_related(None)
        .only("title", "slug")[: LINKS_MAX - len(matching)]
    )
    links = []
    for t in [*matching, *rest]:
        address = f"{settings.BASE_URL}/kb/{language}/{t.slug}/"
        # `url` is what a reply inserts (safe in any mail client); `shown` is what the agent
        # reads, in the article's own letters instead of percent escapes.
        links.append({"title": t.title, "url": iri_to_uri(address), "shown": address})
    return links
