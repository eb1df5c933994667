"""The WebSocket side of live chat: `/ws/chats/<id>?token=<visitor or API token>&after=<seq>`.

The contract with a client: after connecting it receives, as JSON text frames, every event of
the chat numbered above `after`, then each new one as it happens, in order and each once. A
client that loses the connection reconnects with the last number it saw. Frames without a
"seq" (`{"type": "pong"}`) are answers, not events.

Who may connect is decided by the one door (access.py): the chat's visitor token, or an API
token or signed-in session of someone the door lets in. Anyone else is closed with code 4404
and reads nothing, whether the chat exists or not. Close codes: 4400 a malformed `after`, 4404
not found (or not yours), 4429 too many sockets open from the client's address.

Frames a client may send: `{"type": "typing"}` (stored as an event at most once per 3 s per
connection), `{"type": "seen", "up_to": <seq>}`, `{"type": "ping"}` (answered by a pong after
catching up from the database). Anything else is ignored.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections import Counter
from dataclasses import dataclass
from importlib import import_module
from types import SimpleNamespace
from typing import Any
from urllib.parse import parse_qs

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer, AsyncWebsocketConsumer
from django.conf import settings
from django.contrib import auth
from django.utils.crypto import constant_time_compare

from destek.accounts.actions import user_for_token
from destek.accounts.models import User
from destek.chat import access, client_frames, events, realtime
from destek.chat.choices import AuthorRole
from destek.chat.models import Chat
from destek.lib.ratelimit import client_ip
from destek.tickets.models import Department, agent_department_ids

logger = logging.getLogger(__name__)

CLOSE_BAD_REQUEST = 4400
CLOSE_NOT_FOUND = 4404
CLOSE_TOO_MANY = 4429

#: Open chat and inbox sockets of this process, per client address (the cap, below).
open_by_address: Counter[str] = Counter()


def address_of(scope: dict[str, Any]) -> str:
    """The client's address, as `client_ip` reads it for pages (behind the trusted proxies,
    the hop they reported)."""
    client = scope.get("client") or ("", 0)
    meta = {"REMOTE_ADDR": str(client[0])}
    for name, value in scope.get("headers", []):
        if name == b"x-forwarded-for":
            meta["HTTP_X_FORWARDED_FOR"] = value.decode("latin-1")
    return client_ip(SimpleNamespace(META=meta))


class AddressCap:
    """At most DESTEK_CHAT_SOCKETS_PER_ADDRESS open sockets per client address in one ws
    process: one address opening thousands cannot take the memory every visitor shares."""

    address = ""

    def take_place(self, scope: dict[str, Any]) -> bool:
        address = address_of(scope)
        if open_by_address[address] >= settings.DESTEK_CHAT_SOCKETS_PER_ADDRESS:
            return False
        open_by_address[address] += 1
        self.address = address
        return True

    def give_place(self) -> None:
        if self.address:
            open_by_address[self.address] -= 1
            if open_by_address[self.address] <= 0:
                del open_by_address[self.address]
            self.address = ""


#: Events read from the database per query while catching up.
CATCH_UP_BATCH = 200
TYPING_EVERY = 3.0
SEEN_EVERY = 1.0
PING_EVERY = 1.0


@dataclass(frozen=True)
class Credentials:
    """What a socket was opened with, kept to ask the door again later (a revoked token or a
    deactivated account stops reading at the next check)."""

    token: str
    user_id: int | None  # from the session
    session_key: str = ""


def holder(credentials: Credentials) -> User | None:
    """Who holds the socket, asked again at every check: the API token's user, or the
    session's while it still signs them in (a sign-out, or a password changed elsewhere,
    ends it); None for anyone else."""
    if credentials.token:
        return user_for_token(credentials.token)
    if credentials.user_id is None or not credentials.session_key:
        return None
    session = import_module(settings.SESSION_ENGINE).SessionStore(credentials.session_key)
    if str(session.get(auth.SESSION_KEY, "")) != str(credentials.user_id):
        return None
    user = User.objects.filter(pk=credentials.user_id, is_active=True).first()
    if user is None or not constant_time_compare(
        session.get(auth.HASH_SESSION_KEY, ""), user.get_session_auth_hash()
    ):
        return None
    return user


def credentials_of(scope: dict[str, Any], query: dict[str, list[str]]) -> Credentials:
    token = (query.get("token") or [""])[-1]
    user = scope.get("user")
    session = scope.get("session")
    if user is None or not user.is_authenticated or session is None:
        return Credentials(token=token, user_id=None)
    return Credentials(token=token, user_id=user.pk, session_key=session.session_key or "")


@dataclass(frozen=True)
class Opened:
    chat_id: int
    role: str  # AuthorRole of whoever holds this socket


def open_chat(chat_id: int, credentials: Credentials) -> Opened | None:
    """The door for a socket: the chat and the holder's role, or None for anyone else."""
    token = credentials.token
    try:
        if token.startswith(access.TOKEN_PREFIX):
            chat = access.chat_for_visitor(chat_id, token)
            return Opened(chat.pk, AuthorRole.VISITOR)
        user = holder(credentials)
        if user is None:
            return None
        chat = access.chat_for_user(chat_id, user)
    except Chat.DoesNotExist:
        return None
    role = AuthorRole.VISITOR if chat.visitor_id == user.pk else AuthorRole.AGENT
    return Opened(chat.pk, role)


def stored_after(chat_id: int, seq: int) -> list[dict[str, Any]]:
    chat = Chat(pk=chat_id)
    return events.after(chat, seq, limit=CATCH_UP_BATCH)


class ChatConsumer(AddressCap, AsyncJsonWebsocketConsumer):  # type: ignore[misc]
    """One open socket on one chat (see the module's docstring for the contract)."""

    opened: Opened | None = None
    credentials: Credentials
    last_sent = 0
    last_typing = 0.0
    last_seen_frame = 0.0
    last_ping = 0.0
    checker: asyncio.Task[None] | None = None

    async def connect(self) -> None:
        self.lock = asyncio.Lock()
        if not self.take_place(self.scope):
            await self.refuse(CLOSE_TOO_MANY)
            return
        query = parse_qs(self.scope.get("query_string", b"").decode("latin-1"))
        after_text = (query.get("after") or ["0"])[-1] or "0"
        if not after_text.isascii() or not after_text.isdigit() or len(after_text) > 10:
            await self.refuse(CLOSE_BAD_REQUEST)
            return
        self.credentials = credentials_of(self.scope, query)
        chat_id = int(self.scope["url_route"]["kwargs"]["chat_id"])
        opened = await database_sync_to_async(open_chat)(chat_id, self.credentials)
        if opened is None:
            await self.refuse(CLOSE_NOT_FOUND)
            return
        self.opened = opened
        # In the group first, then the stored events: an event committed in between is heard
        # live as well as read, and sent once (`deliver` skips what was sent).
        try:
            await self.channel_layer.group_add(
                realtime.chat_group(opened.chat_id), self.channel_name
            )
        except Exception:
            # The layer is away (Redis down): the socket still serves, from the database, on
            # its regular check and on the client's ping.
            logger.warning("Chat socket without live events (channel layer)", exc_info=True)
        await self.accept()
        self.last_sent = int(after_text)
        await self.catch_up()
        if settings.CHAT_WS_CATCHUP_SECONDS:
            self.checker = asyncio.create_task(self.check_regularly())

    async def refuse(self, code: int) -> None:
        # Accepted, then closed with a code: a client can tell "not for you" (stop retrying)
        # from a network failure (retry). Nothing of the chat has been read.
        await self.accept()
        await self.close(code=code)

    async def disconnect(self, code: int) -> None:
        self.give_place()
        if self.checker is not None:
            self.checker.cancel()
        if self.opened is not None:
            with contextlib.suppress(Exception):  # the layer may be away; the socket is gone
                await self.channel_layer.group_discard(
                    realtime.chat_group(self.opened.chat_id), self.channel_name
                )

    # --- events to the client ---------------------------------------------------------------

    async def chat_event(self, message: dict[str, Any]) -> None:
        """An event heard on the channel layer (realtime.publish_event)."""
        event = message["event"]
        seq = int(event["seq"])
        async with self.lock:
            if seq <= self.last_sent:
                return  # sent already (read while catching up, or heard twice)
            if seq == self.last_sent + 1:
                await self.send_event(event)
                return
        # A gap: events the layer did not bring (published while Redis was away, or by a
        # process it does not reach). The database has them all, this one included.
        await self.catch_up()

    async def catch_up(self) -> None:
        if self.opened is None:
            return
        async with self.lock:
            while True:
                rows = await database_sync_to_async(stored_after)(
                    self.opened.chat_id, self.last_sent
                )
                for event in rows:
                    await self.send_event(event)
                if len(rows) < CATCH_UP_BATCH:
                    return

    async def send_event(self, event: dict[str, Any]) -> None:
        await self.send_json(event)
        self.last_sent = int(event["seq"])

    async def check_regularly(self) -> None:
        """Ask the door again and read what the layer may not have brought, every few
        seconds (settings.CHAT_WS_CATCHUP_SECONDS, on average)."""
        assert self.opened is not None
        while True:
            # Spread over ±50%: sockets opened together (a page reload for everyone, a
            # restart) must not all read the database in the same instant every period.
            spread = random.uniform(0.5, 1.5)
            await asyncio.sleep(settings.CHAT_WS_CATCHUP_SECONDS * spread)
            still = await database_sync_to_async(open_chat)(self.opened.chat_id, self.credentials)
            if still is None:
                await self.close(code=CLOSE_NOT_FOUND)
                return
            await self.catch_up()

    # --- frames from the client -------------------------------------------------------------

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        if self.opened is None or not isinstance(content, dict):
            return
        kind = content.get("type")
        now = time.monotonic()
        if kind == "ping":
            # Reading the database answers at most one ping a second; more are only ponged.
            if now - self.last_ping >= PING_EVERY:
                self.last_ping = now
                await self.catch_up()
            await self.send_json({"type": "pong"})
        elif kind == "typing":
            if now - self.last_typing >= TYPING_EVERY:
                self.last_typing = now
                await database_sync_to_async(client_frames.typing)(
                    self.opened.chat_id, self.opened.role
                )
        elif kind == "seen":
            up_to = content.get("up_to")
            wellformed = isinstance(up_to, int) and not isinstance(up_to, bool) and up_to > 0
            if wellformed and now - self.last_seen_frame >= SEEN_EVERY:
                self.last_seen_frame = now
                await database_sync_to_async(client_frames.seen)(
                    self.opened.chat_id, self.opened.role, up_to
                )

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        # A frame that is not JSON is ignored rather than closing the socket with an error.
        if text_data is None:
            return
        try:
            content = await self.decode_json(text_data)
        except ValueError:
            return
        await self.receive_json(content)


def inbox_groups(credentials: Credentials) -> list[str] | None:
    """The groups an agent's inbox listens to (their departments' waiting lists, admins: all,
    and their own offers), or None for anyone who is not an agent."""
    user = holder(credentials)
    if user is None or not (user.is_agent or user.is_admin):
        return None
    departments = (
        list(Department.objects.values_list("pk", flat=True))
        if user.is_admin
        else agent_department_ids(user)
    )
    return [
        *(realtime.department_group(pk) for pk in departments),
        realtime.agent_group(user.pk),
    ]


class InboxConsumer(AddressCap, AsyncJsonWebsocketConsumer):  # type: ignore[misc]
    """`/ws/inbox?token=<API token>` (or an agent's session): a frame
    `{"type": "inbox.change", "chat": <id>, "change": <what>}` whenever a waiting list of the
    agent's departments changes or a chat is offered to them; the inbox then reloads it
    (`GET /api/v1/chats?state=waiting`). A hint to reload, so nothing is lost when one is
    missed: reload on (re)connecting too."""

    groups_joined: list[str]

    async def connect(self) -> None:
        self.groups_joined = []
        if not self.take_place(self.scope):
            await self.accept()
            await self.close(code=CLOSE_TOO_MANY)
            return
        query = parse_qs(self.scope.get("query_string", b"").decode("latin-1"))
        credentials = credentials_of(self.scope, query)
        groups = await database_sync_to_async(inbox_groups)(credentials)
        await self.accept()
        if groups is None:
            await self.close(code=CLOSE_NOT_FOUND)
            return
        for group in groups:
            await self.channel_layer.group_add(group, self.channel_name)
        self.groups_joined = groups

    async def disconnect(self, code: int) -> None:
        self.give_place()
        for group in self.groups_joined:
            with contextlib.suppress(Exception):
                await self.channel_layer.group_discard(group, self.channel_name)

    async def inbox_change(self, message: dict[str, Any]) -> None:
        await self.send_json(
            {"type": "inbox.change", "chat": message["chat"], "change": message["change"]}
        )

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        if isinstance(content, dict) and content.get("type") == "ping":
            await self.send_json({"type": "pong"})


class RefuseConsumer(AsyncWebsocketConsumer):  # type: ignore[misc]
    """Any other path under /ws/: the handshake is refused (HTTP 403)."""

    async def connect(self) -> None:
        await self.close()
