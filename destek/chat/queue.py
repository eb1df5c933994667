"""The waiting line: who is served next, where a visitor stands and how long they may wait,
which agent a waiting chat is offered to, and whether anyone is there at all.

Serving order: VIP first, then higher priority, then who has waited longest. The estimate is
honest or absent: the median of the department's recent real waits times the position, and
None when there is no history to go by.
"""

from __future__ import annotations

import logging
import statistics
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from destek.chat import events
from destek.chat.choices import ChatState, EventType, Presence
from destek.chat.models import AgentPresence, Chat, ChatEvent
from destek.sla.engine import is_working_time
from destek.sla.models import Calendar
from destek.tickets.clocks import Schedules

log = logging.getLogger(__name__)

SERVING_ORDER = ("-vip", "-priority_rank", "queued_at", "id")


def in_serving_order(chats: QuerySet[Chat]) -> QuerySet[Chat]:
    return chats.order_by(*SERVING_ORDER)


def waiting(department_id: int) -> QuerySet[Chat]:
    """The department's waiting chats, next served first."""
    return in_serving_order(
        Chat.objects.filter(state=ChatState.WAITING, department_id=department_id)
    )


def position(chat: Chat) -> int | None:
    """1 for the next chat served in its department; None once it is no longer waiting."""
    if chat.state != ChatState.WAITING:
        return None
    ahead = Q(vip__gt=chat.vip)
    ahead |= Q(vip=chat.vip, priority_rank__gt=chat.priority_rank)
    ahead |= Q(vip=chat.vip, priority_rank=chat.priority_rank, queued_at__lt=chat.queued_at)
    ahead |= Q(
        vip=chat.vip, priority_rank=chat.priority_rank, queued_at=chat.queued_at, id__lt=chat.pk
    )
    others = Chat.objects.filter(state=ChatState.WAITING, department_id=chat.department_id)
    return others.filter(ahead).count() + 1


def typical_wait_seconds(department_id: int) -> float | None:
    """The median wait of the department's last accepted chats; None without history."""
    rows = (
        Chat.objects.filter(department_id=department_id, accepted_at__isnull=False)
        .order_by("-accepted_at")
        .values_list("queued_at", "accepted_at")[: settings.DESTEK_CHAT_WAIT_SAMPLE]
    )
    waits = [(accepted - queued).total_seconds() for queued, accepted in rows if accepted]
    if not waits:
        return None
    return max(0.0, statistics.median(waits))


def estimated_wait_seconds(chat: Chat, place: int | None) -> int | None:
    if place is None:
        return None
    typical = typical_wait_seconds(chat.department_id)
    if typical is None:
        return None
    return round(typical * place)


# --- presence and capacity --------------------------------------------------------------------


def heartbeat_cutoff(now: datetime | None = None) -> datetime:
    """Agents not heard from since this instant count as offline."""
    return (now or timezone.now()) - timedelta(seconds=settings.DESTEK_CHAT_HEARTBEAT_SECONDS)


@dataclass(frozen=True)
class Available:
    agent_id: int
    load: int  # active chats and open offers
    limit: int
    idle_since: datetime


def agents_on_duty(department_id: int, now: datetime | None = None) -> list[Available]:
    """The department's agents online now (a fresh heartbeat), with their load and limit,
    least loaded first, ties to who has waited longest for a chat."""
    rows = (
        AgentPresence.objects.filter(
            status=Presence.ONLINE,
            last_seen_at__gte=heartbeat_cutoff(now),
            agent__is_active=True,
            agent__membership__department_id=department_id,
        )
        .annotate(
            active=Count(
                "agent__chats_served",
                filter=Q(agent__chats_served__state=ChatState.ACTIVE),
                distinct=True,
            ),
            offered=Count(
                "agent__chats_offered",
                filter=Q(agent__chats_offered__state=ChatState.WAITING),
                distinct=True,
            ),
        )
        .values_list("agent_id", "active", "offered", "max_chats", "idle_since")
    )
    default = settings.DESTEK_CHAT_MAX_PER_AGENT
    found = [
        Available(agent_id, active + offered, default if limit is None else limit, idle)
        for agent_id, active, offered, limit, idle in rows
    ]
    found.sort(key=lambda a: (a.load, a.idle_since, a.agent_id))
    return found


def free_agents(department_id: int, now: datetime | None = None) -> list[Available]:
    return [a for a in agents_on_duty(department_id, now) if a.load < a.limit]


def calendar_open(now: datetime | None = None) -> bool:
    """Whether the chat calendar (DESTEK_CHAT_CALENDAR) is open; no calendar: always."""
    name = settings.DESTEK_CHAT_CALENDAR
    if not name:
        return True
    calendar_id = Calendar.objects.filter(name=name).values_list("pk", flat=True).first()
    if calendar_id is None:
        log.warning("DESTEK_CHAT_CALENDAR=%r names no calendar: chat is open", name)
        return True
    return is_working_time(Schedules().get(calendar_id), now or timezone.now())


def is_open_for(department_id: int, now: datetime | None = None) -> bool:
    """Someone can answer a new chat now: the calendar is open, an agent of the department is
    online with room for another chat, and the line is not over its maximum."""
    if not calendar_open(now):
        return False
    if not free_agents(department_id, now):
        return False
    return waiting(department_id).count() < settings.DESTEK_CHAT_MAX_QUEUE


# --- offers -----------------------------------------------------------------------------------


def offer(chat: Chat, now: datetime | None = None) -> int | None:
    """Offer a waiting chat to the least-loaded free agent of its department who has not had
    it yet; once every free agent has had it, the round starts again. The caller holds the
    chat's row lock. Returns the agent's id, or None when nobody is free (it stays queued)."""
    now = now or timezone.now()
    declined = set(chat.declined_by)
    if chat.offered_to_id is not None:
        declined.add(chat.offered_to_id)
    free = free_agents(chat.department_id, now)
    candidates = [a for a in free if a.agent_id not in declined]
    if not candidates and free:
        # Everyone had it: go round again, the last one who had it last.
        declined = set()
        candidates = [a for a in free if a.agent_id != chat.offered_to_id] or free
    chosen = candidates[0].agent_id if candidates else None
    chat.declined_by = sorted(declined)
    chat.offered_to_id = chosen
    chat.offered_at = now if chosen is not None else None
    chat.save(update_fields=["declined_by", "offered_to", "offered_at"])
    if chosen is not None:
        touch_idle_since(chosen, now)
    return chosen


def touch_idle_since(agent_id: int, now: datetime) -> None:
    """The agent last had a chat at `now` (ties between equally loaded agents go to who has
    waited longest). Written after the change commits, in its own statement: the change's
    transaction then holds no agent's row, so offers and accepts of different chats never
    wait on each other in a circle (seen as deadlocks with a thousand chats waiting)."""

    def write() -> None:
        AgentPresence.objects.filter(agent_id=agent_id).update(idle_since=now)

    transaction.on_commit(write, robust=True)


def offer_expired(chat: Chat, now: datetime | None = None) -> bool:
    now = now or timezone.now()
    if chat.state != ChatState.WAITING or chat.offered_at is None:
        return False
    return chat.offered_at <= now - timedelta(seconds=settings.DESTEK_CHAT_OFFER_SECONDS)


# --- telling the waiting visitors where they stand -----------------------------------------------


def last_told_position(chat: Chat) -> object:
    """The position in the chat's latest `queue` event; a marker when it has none."""
    data = (
        ChatEvent.objects.filter(chat=chat, type=EventType.QUEUE)
        .order_by("-seq")
        .values_list("data", flat=True)
        .first()
    )
    return data.get("position") if isinstance(data, dict) else _NEVER


_NEVER = object()


def tell_position(chat: Chat, *, always: bool = False) -> None:
    """Append a `queue` event when the chat's position changed since it was last told
    (`always`: the first one, when it joins the line)."""
    place = position(chat)
    if not always and last_told_position(chat) == place:
        return
    events.append(
        chat,
        EventType.QUEUE,
        position=place,
        estimated_wait_seconds=estimated_wait_seconds(chat, place),
    )
