"""Merging a duplicate into the ticket that carries on."""

from __future__ import annotations

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from destek.lib.errors import ActionRefused
from destek.tickets import notifications, search_jobs
from destek.tickets.access import customer_visible_messages
from destek.tickets.actions._common import Actor, _event, _require_worker, _save
from destek.tickets.actions.status import _set_status
from destek.tickets.choices import CloseReason, EventKind, TicketStatus
from destek.tickets.models import Attachment, Message, Ticket, TicketCC, TicketFollower


def check_merge(source: Ticket, *, into: Ticket, actor: Actor) -> None:
    """Raise the refusal `merge` would give, changing nothing: the desk asks for confirmation
    only of a merge that can be done."""
    if source.pk == into.pk:
        raise ActionRefused("merge_into_itself", _("A ticket cannot be merged into itself."))
    _require_worker(actor, source)
    _require_worker(actor, into)
    if source.merged_into_id is not None or into.merged_into_id is not None:
        raise ActionRefused(
            "already_merged", _("One of the tickets is already merged."), status=409
        )
    if into.status == TicketStatus.CLOSED:
        raise ActionRefused(
            "merge_target_closed", _("Reopen the target ticket before merging into it."), status=409
        )
    if source.customer_id != into.customer_id:
        # So the target of a merge is always a ticket the merged one's customer may open.
        raise ActionRefused(
            "merge_customer_mismatch",
            _(
                "Only tickets of the same customer can be merged: the customer would see the "
                "other's conversation."
            ),
        )


def _carry_people(source: Ticket, into: Ticket) -> None:
    """Whoever was copied on the duplicate or followed it keeps hearing of the ticket it went
    into: its copied addresses (as many as `into` still has room for, never its own
    customer's) and its followers join `into`. The duplicate keeps its own."""
    present = TicketCC.objects.filter(ticket=into).values_list("address", flat=True)
    room = max(settings.DESTEK_CC_PER_TICKET - len(present), 0)
    carried = (
        TicketCC.objects.filter(ticket=source)
        .exclude(address__in=[*present, into.customer.email.lower()])
        .order_by("id")[:room]
    )
    TicketCC.objects.bulk_create(
        [
            TicketCC(
                ticket=into, address=cc.address, user_id=cc.user_id, added_by_id=cc.added_by_id
            )
            for cc in carried
        ],
        ignore_conflicts=True,
    )
    TicketFollower.objects.bulk_create(
        [
            TicketFollower(ticket=into, agent_id=agent_id)
            for agent_id in TicketFollower.objects.filter(ticket=source).values_list(
                "agent_id", flat=True
            )
        ],
        ignore_conflicts=True,
    )
    # The counts the mail paths read before they look for copies and followers.
    into.cc_count = TicketCC.objects.filter(ticket=into).count()
    into.follower_count = TicketFollower.objects.filter(ticket=into).count()


@transaction.atomic
def merge(source: Ticket, *, into: Ticket, actor: Actor) -> Ticket:
    """Merge duplicate `source` into `into`: its messages move, it closes as `duplicate`."""
    if source.pk == into.pk:
        raise ActionRefused("merge_into_itself", _("A ticket cannot be merged into itself."))
    # Lock in id order so two opposite merges cannot deadlock.
    first, second = sorted([source.pk, into.pk])
    locked = {
        t.pk: t
        for t in Ticket.objects.select_for_update(of=("self",))
        .select_related("department", "customer", "assignee")
        .filter(pk__in=[first, second])
        .order_by("pk")
    }
    source, into = locked[source.pk], locked[into.pk]
    check_merge(source, into=into, actor=actor)
    now = timezone.now()
    # Each moved message remembers the ticket it was written on (the first one, when it
    # moves again), so both tickets' threads can say where it came from and went.
    Message.objects.filter(ticket=source, merged_from__isnull=True).update(merged_from=source)
    # The public event counts only what the customer may see: internal notes and held mail
    # are not theirs to count.
    moved = customer_visible_messages(Message.objects.filter(ticket=source)).count()
    Message.objects.filter(ticket=source).update(ticket=into)
    Attachment.objects.filter(ticket=source).update(ticket=into)
    for name in ("last_customer_message_at", "last_agent_message_at", "first_response_at"):
        values = [v for v in (getattr(source, name), getattr(into, name)) if v is not None]
        if values:
            setattr(into, name, min(values) if name == "first_response_at" else max(values))
    _carry_people(source, into)
    into.updated_at = now
    _save(into)
    _event(
        into,
        actor,
        EventKind.MERGED,
        from_value=source.number,
        to_value=into.number,
        moved_messages=moved,
    )
    source.merged_into = into
    _event(source, actor, EventKind.MERGED, from_value=source.number, to_value=into.number)
    if source.status != TicketStatus.CLOSED:
        _set_status(source, actor, TicketStatus.CLOSED, now=now, close_reason=CloseReason.DUPLICATE)
    else:
        source.close_reason = CloseReason.DUPLICATE
    source.updated_at = now
    _save(source)
    notifications.ticket_merged(source, into)
    # The messages moved: each ticket is found by what it holds now.
    search_jobs.reindex_soon(source.pk)
    search_jobs.reindex_soon(into.pk)
    return into
