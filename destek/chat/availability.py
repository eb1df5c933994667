"""Whether anyone can take a chat now, asked by the widget before the visitor types: the
widget must never look open when nobody is there.

Nobody is there when no agent of the department is online (a heartbeat within the last
DESTEK_CHAT_HEARTBEAT_SECONDS), when every online agent is at their limit of simultaneous
chats, or when the queue is at its maximum. The estimated wait is the average of the real
waits of the department's chats accepted in the last day (seed 000 shows "2 minutes")."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db.models import Count, Q
from django.utils import timezone

from destek.chat.choices import ChatState, Presence
from destek.chat.models import AgentPresence, Chat
from destek.tickets.models import Department

#: The waits the estimate averages: the most recent accepted chats of the last day.
RECENT_CHATS = 20


@dataclass(frozen=True)
class Availability:
    online: bool
    estimated_wait_seconds: int | None


def _setting(name: str, default: int) -> int:
    # The chat's own settings come with the chat actions (DESTEK_CHAT_*); until then, defaults.
    return int(getattr(settings, name, default))


def availability(department: Department | None) -> Availability:
    now = timezone.now()
    heartbeat = timedelta(seconds=_setting("DESTEK_CHAT_HEARTBEAT_SECONDS", 60))
    presences = AgentPresence.objects.filter(
        status=Presence.ONLINE, last_seen_at__gte=now - heartbeat, agent__is_active=True
    )
    waiting = Chat.objects.filter(state=ChatState.WAITING)
    recent = Chat.objects.filter(accepted_at__gte=now - timedelta(days=1))
    if department is not None:
        presences = presences.filter(agent__departments=department)
        waiting = waiting.filter(department=department)
        recent = recent.filter(department=department)
    default_limit = _setting("DESTEK_CHAT_MAX_PER_AGENT", 3)
    seats = 0
    for presence in presences.annotate(
        load=Count("agent__chats_served", filter=Q(agent__chats_served__state=ChatState.ACTIVE))
    ):
        limit = presence.max_chats if presence.max_chats is not None else default_limit
        seats += max(0, limit - presence.load)
    queue_max = _setting("DESTEK_CHAT_QUEUE_MAX", 50)
    online = seats > 0 and waiting.count() < queue_max
    if not online:
        return Availability(online=False, estimated_wait_seconds=None)
    waits = [
        (accepted - queued).total_seconds()
        for queued, accepted in recent.order_by("-accepted_at").values_list(
            "queued_at", "accepted_at"
        )[:RECENT_CHATS]
        if accepted is not None
    ]
    estimate = round(sum(waits) / len(waits)) if waits else None
    return Availability(online=True, estimated_wait_seconds=estimate)
