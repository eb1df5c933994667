"""Saved views: the ones an agent may open, their counts, and the actions that keep them.

Who sees a view: its creator, and, when it is shared with a department, the agents of that
department (admins see every shared view). Who changes it: its creator, and admins for a
shared one. What it shows is never decided here: its filters run through the reader's own
access to tickets (`Ticket.objects.visible_to`), so a view shared with a department the
reader has left, or a filter naming one, shows nothing of it.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from django.core.cache import cache
from django.db import transaction
from django.db.models import Count, Max, Q, QuerySet
from django.urls import reverse
from django.utils.translation import gettext as _

from destek.accounts.models import User
from destek.desk.models import VIEWS_MAX, SavedView
from destek.desk.queue_filters import QueueQuery, condition, countable, read_query
from destek.desk.selectors import COUNTED_STATUSES, COUNTS_GENERATION
from destek.lib.errors import ActionRefused
from destek.tickets.access import agent_department_ids
from destek.tickets.models import Department, Ticket

#: How long view counts may be stale; `forget_queue_counts` drops them at once after a
#: change made in the desk.
VIEW_COUNTS_TTL_SECONDS = 30


def views_for(user: User) -> QuerySet[SavedView]:
    """Every view `user` may open: their own and those shared with their departments."""
    shared = Q(department__isnull=False)
    if not user.is_admin:
        shared &= Q(department_id__in=agent_department_ids(user))
    return SavedView.objects.filter(Q(owner=user) | shared).order_by(
        "department_id", "position", "id"
    )


def may_change(user: User, view: SavedView) -> bool:
    return view.owner_id == user.pk or (user.is_admin and view.department_id is not None)


def access_view(user: User, view_id: int | str, *, change: bool = False) -> SavedView:
    """The view `view_id` if `user` may open it (and, with `change`, change it); raises
    SavedView.DoesNotExist otherwise: not yours and not there look the same."""
    try:
        pk = int(view_id)
    except (TypeError, ValueError):
        raise SavedView.DoesNotExist from None
    view = views_for(user).select_related("department").get(pk=pk)
    if change and not may_change(user, view):
        raise SavedView.DoesNotExist
    return view


def view_query(view: SavedView) -> QueueQuery:
    """A view's filters and sort as the queue reads them; anything not ours is left out and
    named in `ignored`."""
    stored: dict[str, Any] = view.filters if isinstance(view.filters, dict) else {"?": ""}
    return read_query({**stored, "sort": view.sort}, strict=True)


def view_url(view: SavedView, query: QueueQuery | None = None) -> str:
    """The queue's address for a view: its parameters in the open (a bookmark keeps them)
    and the view's id, which marks it as the one being looked at."""
    params = (query or view_query(view)).params(view=str(view.pk))
    return reverse("desk:queue") + "?" + urlencode(params)


@dataclass(frozen=True)
class ListedView:
    view: SavedView
    url: str
    count: int | None  # None: not counted (search words, or closed tickets included)
    mine: bool
    changeable: bool


def listed_views(user: User, *, now: datetime) -> list[ListedView]:
    """The side panel: the reader's views with their counts, in two statements at most (the
    views, then one aggregate for all their counts unless cached)."""
    views = list(views_for(user).select_related("department"))
    queries = {view.pk: view_query(view) for view in views}
    counts = view_counts(user, {pk: q for pk, q in queries.items() if countable(q)}, now=now)
    return [
        ListedView(
            view,
            view_url(view, queries[view.pk]),
            counts.get(view.pk),
            view.owner_id == user.pk,
            may_change(user, view),
        )
        for view in views
    ]


def view_counts(user: User, queries: dict[int, QueueQuery], *, now: datetime) -> dict[int, int]:
    """How many tickets each view shows the reader, in ONE aggregate query over the tickets
    the reader may see that are still being worked (the same set and index as the queue's
    counts), cached briefly per reader and set of views.

    The key holds the counts' generation (moved by `forget_queue_counts`), the reader's
    departments and a digest of the views' filters, so renaming keeps the cache and changing a
    filter or a membership does not read stale numbers. The minute is part of it too: the
    due-within-an-hour and breached filters move with the clock.
    """
    if not queries:
        return {}
    departments = "all" if user.is_admin else ",".join(map(str, sorted(agent_department_ids(user))))
    digest = hashlib.sha256(
        json.dumps(sorted((pk, q.filters) for pk, q in queries.items()), sort_keys=True).encode()
    ).hexdigest()[:16]
    generation = cache.get(COUNTS_GENERATION, 0)
    key = f"desk:views:{generation}:{user.pk}:{departments}:{digest}:{now:%Y%m%d%H%M}"
    cached = cache.get(key)
    if cached is not None:
        return {int(pk): count for pk, count in cached.items()}
    aggregates = {
        f"v{pk}": Count("pk", filter=condition(query, user, now=now))
        for pk, query in queries.items()
    }
    row = (
        Ticket.objects.visible_to(user)
        .filter(status__in=COUNTED_STATUSES)
        .order_by()
        .aggregate(**aggregates)
    )
    counts = {pk: int(row[f"v{pk}"] or 0) for pk in queries}
    cache.set(key, {str(pk): count for pk, count in counts.items()}, VIEW_COUNTS_TTL_SECONDS)
    return counts


def shareable_departments(user: User) -> QuerySet[Department]:
    """The departments an agent may share a view with: their own (admins: any)."""
    departments = Department.objects.order_by("name")
    if not user.is_admin:
        departments = departments.filter(pk__in=agent_department_ids(user))
    return departments


# --- actions --------------------------------------------------------------------------------


def _refuse_department(user: User, department: Department | None) -> None:
    if department is not None and not shareable_departments(user).filter(pk=department.pk).exists():
        raise ActionRefused(
            "view_department", _("You can share a view only with a department you work in.")
        )


@transaction.atomic
def save_view(
    user: User, *, name: str, query: QueueQuery, department: Department | None
) -> SavedView:
    """A new view with the queue's current filters, search words and sort, last in its list."""
    if not (user.is_agent or user.is_admin):
        raise ActionRefused("view_not_agent", _("Only agents keep views."))
    _refuse_department(user, department)
    # The count is read under a lock on the agent's row, so two quick saves cannot pass it.
    User.objects.select_for_update().filter(pk=user.pk).first()
    if SavedView.objects.filter(owner=user).count() >= VIEWS_MAX:
        raise ActionRefused(
            "views_too_many",
            _("You already have {limit} views. Delete one to save another.").format(
                limit=VIEWS_MAX
            ),
        )
    last = SavedView.objects.filter(owner=user).aggregate(last=Max("position"))["last"]
    return SavedView.objects.create(
        owner=user,
        name=name.strip(),
        department=department,
        filters=query.saved(),
        sort=query.sort,
        position=0 if last is None else last + 1,
    )


@transaction.atomic
def change_view(
    user: User, view: SavedView, *, name: str, department: Department | None
) -> SavedView:
    """A new name, or shared differently. `view` came from `access_view(..., change=True)`."""
    if department != view.department:
        _refuse_department(user, department)
    view.name = name.strip()
    view.department = department
    view.save(update_fields=["name", "department"])
    return view


@transaction.atomic
def move_view(user: User, view: SavedView, *, up: bool) -> None:
    """One place up or down among the views listed with it (the reader's own, or those of
    the same department); the list is renumbered so equal positions cannot stall a move."""
    siblings = list(
        views_for(user)
        .filter(department=view.department)
        .filter(Q(owner=user) if view.department_id is None else Q())
        .select_for_update()
    )
    index = next(i for i, v in enumerate(siblings) if v.pk == view.pk)
    other = index - 1 if up else index + 1
    if not 0 <= other < len(siblings):
        return
    siblings[index], siblings[other] = siblings[other], siblings[index]
    for position, sibling in enumerate(siblings):
        if sibling.position != position:
            sibling.position = position
            sibling.save(update_fields=["position"])


@transaction.atomic
def delete_view(user: User, view: SavedView) -> None:
    view.delete()
