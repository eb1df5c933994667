"""Reading for the desk: canned replies as the agent will send them, the queue's counts and
a ticket's neighbours in the queue order."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any

from django.core.cache import cache
from django.db.models import Case, Count, Q, QuerySet, Value, When

from destek.accounts.models import User
from destek.desk.models import CannedReply
from destek.tickets.access import agent_department_ids
from destek.tickets.choices import ACTIVE_STATUSES, TicketStatus
from destek.tickets.models import Ticket

PLACEHOLDER = re.compile(r"\{(customer_name|ticket_number|agent_name|department)\}")


def render_canned(body: str, *, ticket: Ticket, agent: User) -> str:
    """Fill the known placeholders with plain text. Not `str.format`: a body written in the
    admin must not reach attributes (`{x.__class__}`) or fail on other braces."""
    values = {
        "customer_name": ticket.customer.display_name,
        "ticket_number": ticket.display_number,
        "agent_name": agent.display_name,
        "department": ticket.department.display_name(ticket.language),
    }
    return PLACEHOLDER.sub(lambda match: values[match.group(1)], body)


def canned_replies_for(ticket: Ticket) -> QuerySet[CannedReply]:
    """The global ones and those of the ticket's department, in the ticket's language first,
    then those for every language; replies in other languages are not offered."""
    return (
        CannedReply.objects.filter(
            Q(department__isnull=True) | Q(department_id=ticket.department_id),
            language__in=["", ticket.language],
        )
        .annotate(
            other_language=Case(When(language=ticket.language, then=Value(0)), default=Value(1))
        )
        .order_by("other_language", "position", "title")
    )


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


QUEUE_ORDER = ("queue_due", "-priority_rank", "-customer_vip", "pk")


def queue_neighbours(user: User, ticket: Ticket) -> tuple[int | None, int | None]:
    """The previous and next ticket numbers around `ticket` in the default queue (active
    tickets of the agent's departments, in queue order). The same keyset condition as the
    queue's next page, each with a plain range on `queue_due` too so the planner starts the
    queue index at the ticket: two one-row lookups, costing what a queue page costs."""
    qs = Ticket.objects.visible_to(user).filter(status__in=ACTIVE_STATUSES)
    due, rank, vip, pk = ticket.queue_due, ticket.priority_rank, ticket.customer_vip, ticket.pk
    after = (
        Q(queue_due__gt=due)
        | Q(queue_due=due, priority_rank__lt=rank)
        | Q(queue_due=due, priority_rank=rank, customer_vip__lt=vip)
        | Q(queue_due=due, priority_rank=rank, customer_vip=vip, pk__gt=pk)
    )
    before = (
        Q(queue_due__lt=due)
        | Q(queue_due=due, priority_rank__gt=rank)
        | Q(queue_due=due, priority_rank=rank, customer_vip__gt=vip)
        | Q(queue_due=due, priority_rank=rank, customer_vip=vip, pk__lt=pk)
    )
    following = (
        qs.filter(after, queue_due__gte=due)
        .order_by(*QUEUE_ORDER)
        .values_list("number", flat=True)
        .first()
    )
    reverse = ("-queue_due", "priority_rank", "customer_vip", "-pk")
    previous = (
        qs.filter(before, queue_due__lte=due)
        .order_by(*reverse)
        .values_list("number", flat=True)
        .first()
    )
    return previous, following
