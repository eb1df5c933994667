"""The ticket socket, `/ws/tickets/<number>?tab=<the page's presence id>`: live collision
warnings on the desk's ticket page (desk/presence.py keeps who is there).

Agents only, through the same door as the page (`access_ticket`, and agents' pages only); the
session of the signed-in agent or an API token, as the chat sockets take them. Anyone else is
closed with the chat sockets' codes: 4404 not found (or not yours: customers, strangers),
4400 a malformed tab, 4429 too many sockets from one address.

While it is open, the page counts as viewing the ticket (the socket renews it every
HEARTBEAT_SECONDS, and asks the door again then); its close counts as leaving. Frames:

- from the page: `{"type": "typing", "box": "reply" | "note"}` (heard at most once a second),
  `{"type": "ping"}` (answered by `{"type": "pong"}`);
- to the page: `{"type": "presence"}` whenever who is on the ticket may have changed: a hint
  to read it again (`GET desk:presence`), where it is rendered in the reader's language.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from destek.accounts.models import User
from destek.chat.consumers import (
    CLOSE_BAD_REQUEST,
    CLOSE_NOT_FOUND,
    CLOSE_TOO_MANY,
    AddressCap,
    Credentials,
    credentials_of,
    holder,
)
from destek.desk import presence
from destek.tickets.access import access_ticket
from destek.tickets.models import Ticket

logger = logging.getLogger(__name__)

TYPING_EVERY = 1.0


@dataclass(frozen=True)
class Opened:
    ticket_id: int
    user: User


def open_ticket(number: int, credentials: Credentials) -> Opened | None:
    """The door for the socket: the ticket and its agent, or None for anyone else."""
    user = holder(credentials)
    if user is None or not user.is_agent:
        return None
    try:
        found = access_ticket(user, number)
    except Ticket.DoesNotExist:
        return None
    return Opened(found.pk, user)


def record(opened: Opened, tab: str, state: str) -> bool:
    return presence.record(opened.ticket_id, opened.user, tab, state)


class TicketConsumer(AddressCap, AsyncJsonWebsocketConsumer):  # type: ignore[misc]
    opened: Opened | None = None
    credentials: Credentials
    tab = ""
    number = 0
    last_typing = 0.0
    beating: asyncio.Task[None] | None = None
    typing_ends: asyncio.Task[None] | None = None

    async def connect(self) -> None:
        if not self.take_place(self.scope):
            await self.refuse(CLOSE_TOO_MANY)
            return
        query = parse_qs(self.scope.get("query_string", b"").decode("latin-1"))
        tab = (query.get("tab") or [""])[-1]
        if not presence.valid_tab(tab):
            await self.refuse(CLOSE_BAD_REQUEST)
            return
        self.credentials = credentials_of(self.scope, query)
        self.number = int(self.scope["url_route"]["kwargs"]["number"])
        opened = await database_sync_to_async(open_ticket)(self.number, self.credentials)
        if opened is None:
            await self.refuse(CLOSE_NOT_FOUND)
            return
        self.opened, self.tab = opened, tab
        try:
            await self.channel_layer.group_add(
                presence.ticket_group(opened.ticket_id), self.channel_name
            )
        except Exception:
            # The layer is away (Redis down): the page still learns from its thread poll.
            logger.warning("Ticket socket without live presence (channel layer)", exc_info=True)
        await self.accept()
        await self.mark(presence.VIEWING)
        self.beating = asyncio.create_task(self.beat())

    async def refuse(self, code: int) -> None:
        # Accepted, then closed with a code, as the chat sockets do: the page can tell "not
        # for you" (fall back to polling, stop retrying) from a network failure.
        await self.accept()
        await self.close(code=code)

    async def disconnect(self, code: int) -> None:
        self.give_place()
        for task in (self.beating, self.typing_ends):
            if task is not None:
                task.cancel()
        if self.opened is None:
            return
        opened, self.opened = self.opened, None
        with contextlib.suppress(Exception):  # the cache or the layer may be away
            if await database_sync_to_async(record)(opened, self.tab, presence.GONE):
                await self.tell(opened.ticket_id)
        with contextlib.suppress(Exception):
            await self.channel_layer.group_discard(
                presence.ticket_group(opened.ticket_id), self.channel_name
            )

    async def mark(self, state: str) -> None:
        if self.opened is None:
            return
        try:
            changed = await database_sync_to_async(record)(self.opened, self.tab, state)
        except Exception:
            logger.warning("Presence not recorded", exc_info=True)
            return
        if changed:
            await self.tell(self.opened.ticket_id)

    async def tell(self, ticket_id: int) -> None:
        with contextlib.suppress(Exception):
            await self.channel_layer.group_send(
                presence.ticket_group(ticket_id), {"type": "presence.changed"}
            )

    async def beat(self) -> None:
        """Renew the page's presence, and ask the door again: an agent moved out of the
        ticket's department, or signed out, stops being shown and stops hearing."""
        while self.opened is not None:
            await asyncio.sleep(presence.HEARTBEAT_SECONDS)
            still = await database_sync_to_async(open_ticket)(self.number, self.credentials)
            if still is None:
                await self.close(code=CLOSE_NOT_FOUND)
                return
            self.opened = still
            await self.mark(presence.VIEWING)

    async def typing_over(self, ticket_id: int) -> None:
        """Typing shows for TYPING_SECONDS after the last keystroke: then the others hear it
        stopped."""
        await asyncio.sleep(presence.TYPING_SECONDS + 0.2)
        await self.tell(ticket_id)

    # --- frames -----------------------------------------------------------------------------

    async def presence_changed(self, message: dict[str, Any]) -> None:
        await self.send_json({"type": "presence"})

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        if self.opened is None or not isinstance(content, dict):
            return
        kind = content.get("type")
        if kind == "ping":
            await self.send_json({"type": "pong"})
        elif kind == "typing" and content.get("box") in presence.TYPING_BOXES:
            now = time.monotonic()
            if now - self.last_typing < TYPING_EVERY:
                return
            self.last_typing = now
            await self.mark(str(content["box"]))
            if self.typing_ends is not None:
                self.typing_ends.cancel()
            self.typing_ends = asyncio.create_task(self.typing_over(self.opened.ticket_id))

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        if text_data is None:
            return
        try:
            content = await self.decode_json(text_data)
        except ValueError:
            return
        await self.receive_json(content)
