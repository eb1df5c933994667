"""The chat's clockwork: offers that ran out go to the next agent, agents whose desk went
quiet go offline, and waiting visitors hear when their place in the line changed. Every job
takes ids, re-reads its rows and is safe to run twice."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db.models import Q
from django.utils import timezone
from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task

from destek.chat import actions, queue
from destek.chat.choices import ChatState, Presence
from destek.chat.models import AgentPresence, Chat


@db_task()
def offer_expires(chat_id: int) -> None:
    """Scheduled when an offer is made: still not accepted, it goes to the next agent."""
    actions.reoffer(chat_id)


def _schedule_expiry(chat_id: int) -> None:
    offer_expires.schedule((chat_id,), delay=settings.DESTEK_CHAT_OFFER_SECONDS + 1)


actions.offer_made.append(_schedule_expiry)


@db_task()
def tell_positions(department_id: int) -> None:
    """Waiting visitors of the department hear their new places (after an accept, an end or
    a transfer); safe to run twice: only a changed place is told."""
    actions.tell_positions(department_id)


def _tell_positions_later(department_id: int) -> None:
    tell_positions(department_id)


actions.positions_changed.append(_tell_positions_later)


@db_periodic_task(crontab(minute="*"))
def sweep_chats() -> None:
    sweep()


def sweep() -> None:
    now = timezone.now()
    stale = AgentPresence.objects.filter(
        status=Presence.ONLINE, last_seen_at__lt=queue.heartbeat_cutoff(now)
    ).values_list("agent_id", flat=True)
    for agent_id in list(stale):
        actions.went_offline(agent_id, now=now)
    expired = now - timedelta(seconds=settings.DESTEK_CHAT_OFFER_SECONDS)
    due = Chat.objects.filter(state=ChatState.WAITING).filter(
        Q(offered_to__isnull=True) | Q(offered_at__lte=expired)
    )
    for chat_id, offered_to in list(due.values_list("pk", "offered_to_id")):
        actions.reoffer(chat_id, now=now, force=offered_to is None)
    departments = (
        Chat.objects.filter(state=ChatState.WAITING)
        .values_list("department_id", flat=True)
        .distinct()
    )
    for department_id in list(departments):
        actions.tell_positions(department_id)
