"""Publishing chat events on the channel layer, the fast way for open sockets to hear of them.

The database is the truth (events.py): an event is stored in the transaction of its change and
published here only after that commits. Publishing never raises into the caller: with the layer
away (Redis down), the request that wrote the event still succeeds, and every socket catches up
from the database on its next check or reconnect (consumers.py).

Groups (names are the channel layer's; `chat.event` and the others are message types that
consumers.py handles):

- `chat.<chat id>`: every event of one chat, `{"type": "chat.event", "event": <event JSON>}`;
  each socket of `/ws/chats/<id>` (visitor and agents) is in it.
- `chat.department.<department id>`: the waiting list of a department changed (a chat queued,
  was assigned, ended), `{"type": "inbox.change", "chat": <id>, "change": <event type>}`;
  for the agents' live inbox (`/ws/inbox`).
- `chat.agent.<user id>`: something for one agent only (an offer), sent with `notify_agent`,
  `{"type": "inbox.change", "chat": <id>, "change": <what>}`; also joined by `/ws/inbox`.
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import InMemoryChannelLayer, get_channel_layer
from django.db import transaction

from destek.chat import events
from destek.chat.choices import EventType
from destek.chat.models import Chat

logger = logging.getLogger(__name__)

#: Event types that change a department's waiting list.
WAITING_LIST_CHANGES = {EventType.QUEUE, EventType.ASSIGNED, EventType.ENDED}

#: How long a publish may hold up the request that caused it (seconds).
PUBLISH_TIMEOUT = 2.0


def chat_group(chat_id: int) -> str:
    return f"chat.{chat_id}"


def department_group(department_id: int) -> str:
    return f"chat.department.{department_id}"


def agent_group(agent_id: int) -> str:
    return f"chat.agent.{agent_id}"


def register() -> None:
    """Publish every committed chat event (ChatConfig.ready)."""
    if publish_event not in events.publishers:
        events.publishers.append(publish_event)


def publish_event(chat_id: int, event: dict[str, Any]) -> None:
    """events.publishers: the event to the chat's sockets, and a waiting-list change to its
    department's agents."""
    send(chat_group(chat_id), {"type": "chat.event", "event": event})
    if event.get("type") in WAITING_LIST_CHANGES:
        department_id = Chat.objects.filter(pk=chat_id).values_list("department_id", flat=True)
        for found in department_id:
            send(
                department_group(found),
                {"type": "inbox.change", "chat": chat_id, "change": event["type"]},
            )


def notify_agent(agent_id: int, chat_id: int, change: str) -> None:
    """Tell one agent's open inboxes about a chat (an offer), once the transaction commits."""
    message = {"type": "inbox.change", "chat": chat_id, "change": change}
    transaction.on_commit(lambda: send(agent_group(agent_id), message), robust=True)


def send(group: str, message: dict[str, Any]) -> None:
    """group_send that never raises: a failure is logged, and the sockets catch up from the
    database instead."""
    try:
        layer = get_channel_layer()
        if layer is None:
            return
        if isinstance(layer, InMemoryChannelLayer):
            # In memory, only this process's sockets can hear, and only on the server's own
            # event loop: async_to_sync goes back to it from a request's thread (`make run`).
            # With no socket open here (a worker, a test), there is nothing to do.
            if layer.groups:
                async_to_sync(layer.group_send)(group, message)
            return
        future = asyncio.run_coroutine_threadsafe(
            layer.group_send(group, message), _publishing_loop()
        )
        try:
            future.result(timeout=PUBLISH_TIMEOUT)
        except TimeoutError:
            future.cancel()
            raise
    except Exception:
        logger.warning("Chat event not published to %s (sockets catch up)", group, exc_info=True)


# One event loop per process, in a thread of its own, for publishing from synchronous code (web
# requests, jobs). async_to_sync would start a loop, and so a new Redis connection, per event.
_loop: asyncio.AbstractEventLoop | None = None
_loop_pid = 0
_loop_lock = threading.Lock()


def _publishing_loop() -> asyncio.AbstractEventLoop:
    global _loop, _loop_pid
    with _loop_lock:
        if _loop is None or _loop_pid != os.getpid():  # a forked child starts its own
            loop = asyncio.new_event_loop()
            threading.Thread(
                target=loop.run_forever, name="destek-chat-publisher", daemon=True
            ).start()
            _loop, _loop_pid = loop, os.getpid()
        return _loop
