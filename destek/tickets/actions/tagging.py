"""A ticket's tags, and the mark in its history that several changes came as one macro."""

from __future__ import annotations

from collections.abc import Iterable

from django.db import transaction
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext_lazy as _

from destek.lib.errors import ActionRefused
from destek.tickets import search_jobs
from destek.tickets.actions._common import Actor, _event, _lock, _require_worker
from destek.tickets.choices import EventKind
from destek.tickets.models import Tag, Ticket

TAG_MAX = 50


def tag_names(text: str | Iterable[str]) -> list[str]:
    """Tag names as they are stored: lower case, words joined by hyphens, letters of every
    script kept (`slugify(allow_unicode=True)`), each once, in the order given. Accepts a
    comma-separated string or a list."""
    items = text.split(",") if isinstance(text, str) else list(text)
    names: list[str] = []
    for item in items:
        name = slugify(str(item), allow_unicode=True)[:TAG_MAX]
        if name and name not in names:
            names.append(name)
    return names


@transaction.atomic
def change_tags(
    ticket: Ticket, *, actor: Actor, add: Iterable[str] = (), remove: Iterable[str] = ()
) -> Ticket:
    """Add and remove tags; one history entry naming what was added and removed, none when
    nothing changed. A tag both added and removed is refused: the wish is unclear."""
    ticket = _lock(ticket)
    _require_worker(actor, ticket)
    adding, removing = tag_names(add), tag_names(remove)
    if set(adding) & set(removing):
        raise ActionRefused(
            "tag_added_and_removed", _("A tag cannot be added and removed at once.")
        )
    current = set(ticket.tags.values_list("name", flat=True))
    added = [name for name in adding if name not in current]
    removed = [name for name in removing if name in current]
    if not added and not removed:
        return ticket
    if added:
        ticket.tags.add(*[Tag.objects.get_or_create(name=name)[0] for name in added])
    if removed:
        ticket.tags.remove(*Tag.objects.filter(name__in=removed))
    _event(
        ticket,
        actor,
        EventKind.TAGS,
        from_value=", ".join(removed),
        to_value=", ".join(added),
        public=False,
        added=added,
        removed=removed,
    )
    Ticket.objects.filter(pk=ticket.pk).update(updated_at=timezone.now())
    search_jobs.reindex_soon(ticket.pk)  # tags are found by search
    return ticket


@transaction.atomic
def record_macro(ticket: Ticket, *, actor: Actor, name: str, macro_id: int) -> None:
    """The history entry that says the changes after it came from one macro. Written by the
    macro's action in the same transaction as those changes, so it never stands alone."""
    ticket = _lock(ticket)
    _require_worker(actor, ticket)
    _event(ticket, actor, EventKind.MACRO, to_value=name, public=False, macro=macro_id)
