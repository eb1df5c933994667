"""Whether anyone can take a chat now, asked by the widget before the visitor types: the
widget must never look open when nobody is there.

It asks the same question `chat.actions.start_chat` asks (`chat.queue.is_open_for`): the chat
calendar is open, an agent of the department is online (a fresh heartbeat) with room for
another chat, and the line is not at its maximum. The estimated wait is the department's
typical real wait (the median of its last accepted chats) times the place a new chat would
take; None without history."""

from __future__ import annotations

from dataclasses import dataclass

from django.utils import timezone

from destek.chat import queue
from destek.tickets import config as tickets_config
from destek.tickets.models import Department


@dataclass(frozen=True)
class Availability:
    online: bool
    estimated_wait_seconds: int | None


def availability(department: Department | None) -> Availability:
    department = department or tickets_config.default_department()
    if department is None:
        return Availability(online=False, estimated_wait_seconds=None)
    if not queue.is_open_for(department.pk, timezone.now()):
        return Availability(online=False, estimated_wait_seconds=None)
    typical = queue.typical_wait_seconds(department.pk)
    place = queue.waiting(department.pk).count() + 1
    estimate = None if typical is None else round(typical * place)
    return Availability(online=True, estimated_wait_seconds=estimate)
