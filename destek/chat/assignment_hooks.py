"""What chat tells ticket assignment (`automation.assignment`, a floor below): each agent's
active chats, which weigh in the least-loaded count, and who is online now."""

from __future__ import annotations

from collections.abc import Collection

from django.db.models import Count

from destek.chat.choices import ChatState, Presence
from destek.chat.models import AgentPresence, Chat
from destek.chat.queue import heartbeat_cutoff


def active_chats(agent_ids: Collection[int]) -> dict[int, int]:
    rows = (
        Chat.objects.filter(agent_id__in=list(agent_ids), state=ChatState.ACTIVE)
        .values_list("agent_id")
        .order_by()
        .annotate(n=Count("id"))
        .values_list("agent_id", "n")
    )
    return {agent_id: n for agent_id, n in rows if agent_id is not None}


def online(agent_ids: Collection[int]) -> set[int]:
    return set(
        AgentPresence.objects.filter(
            agent_id__in=list(agent_ids),
            status=Presence.ONLINE,
            last_seen_at__gte=heartbeat_cutoff(),
        ).values_list("agent_id", flat=True)
    )


def register() -> None:
    from destek.automation.assignment import register_chat

    register_chat(active_chats=active_chats, online=online)
