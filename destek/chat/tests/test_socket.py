"""The chat socket `/ws/chats/<id>?token=&after=` through Channels' test communicator, on the
real database with committed transactions (a socket reads in a thread of its own, as it does
in production). The channel layer is the one configured: in memory, or Redis pub/sub when
REDIS_URL is set."""

from __future__ import annotations

import asyncio
import json
import logging
import threading
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from asgiref.testing import ApplicationCommunicator
from channels.db import database_sync_to_async
from channels.layers import InMemoryChannelLayer, channel_layers, get_channel_layer
from django.db import connections, transaction
from django.test import Client

from destek.accounts.actions import issue_api_token
from destek.accounts.models import User
from destek.asgi import application
from destek.chat import access, consumers, events, realtime
from destek.chat.choices import EventType
from destek.chat.models import Chat, ChatEvent
from destek.tickets.actions.intake import create_ticket
from destek.tickets.choices import Channel
from destek.tickets.models import Department

pytestmark = pytest.mark.django_db(transaction=True)

SITE = [(b"origin", b"http://testserver")]


class WebsocketCommunicator:
    """Channels' WebsocketCommunicator, re-told on asgiref's ApplicationCommunicator as it is:
    importing `channels.testing` needs daphne (its live server), a Twisted stack the suite
    would install for nothing else."""

    def __init__(self, app: Any, path: str, headers: list[tuple[bytes, bytes]]) -> None:
        route, _, query = path.partition("?")
        scope = {"type": "websocket", "path": route, "query_string": query.encode()}
        self.inner: Any = ApplicationCommunicator(app, {**scope, "headers": headers})  # type: ignore[no-untyped-call]

    async def connect(self, timeout: float = 5) -> tuple[bool, Any]:
        await self.inner.send_input({"type": "websocket.connect"})
        response = await self.receive_output(timeout)
        if response["type"] == "websocket.close":
            return False, response.get("code", 1000)
        assert response["type"] == "websocket.accept", response
        return True, response.get("subprotocol")

    async def receive_output(self, timeout: float = 5) -> dict[str, Any]:
        return dict(await self.inner.receive_output(timeout))

    async def receive_nothing(self, timeout: float = 0.5) -> bool:
        return bool(await self.inner.receive_nothing(timeout))

    async def wait(self, timeout: float = 5) -> None:
        await self.inner.wait(timeout)

    async def send_json_to(self, data: Any) -> None:
        await self.inner.send_input({"type": "websocket.receive", "text": json.dumps(data)})

    async def receive_json_from(self, timeout: float = 5) -> Any:
        response = await self.receive_output(timeout)
        assert response["type"] == "websocket.send", response
        return json.loads(response["text"])

    async def disconnect(self, code: int = 1000, timeout: float = 5) -> None:
        await self.inner.send_input({"type": "websocket.disconnect", "code": code})
        await self.wait(timeout)


@pytest.fixture(autouse=True)
def fresh_layer(settings: Any) -> Iterator[None]:
    """A channel layer of each test's own: an in-memory layer's queues belong to one event
    loop, and each test runs its own. No regular database check: what arrives live here came
    through the layer."""
    settings.CHAT_WS_CATCHUP_SECONDS = 0
    channel_layers.backends.clear()
    yield
    channel_layers.backends.clear()
    # The sockets' database thread outlives the test: its connection must not hold the test
    # database open (PostgreSQL refuses to drop it).
    asyncio.run(database_sync_to_async(connections.close_all)())


def start_chat(customer: User, department: str = "technical") -> tuple[Chat, str]:
    ticket = create_ticket(
        customer=customer,
        subject="Chat",
        body="The invoice page shows error 500.",
        channel=Channel.CHAT,
        department=Department.objects.get(slug=department),
    )
    raw, hashed = access.new_visitor_token()
    chat = Chat.objects.create(
        ticket=ticket,
        department=ticket.department,
        visitor=customer,
        visitor_token_hash=hashed,
        name=str(customer),
    )
    return chat, raw


def say(chat_id: int, body: str) -> int:
    """A visitor's message, committed (as the API would write it)."""
    with transaction.atomic():
        chat = Chat.objects.get(pk=chat_id)
        event = events.append(
            chat, EventType.MESSAGE, body=body, author="visitor", name="Visitor", message_id=None
        )
    return event.seq


def run(scenario: Callable[[], Awaitable[Any]]) -> Any:
    return asyncio.run(asyncio.wait_for(scenario(), 30))


def socket(
    chat_id: int, token: str = "", after: int | str | None = None, headers: Any = None
) -> WebsocketCommunicator:
    query = [f"token={token}"] if token else []
    if after is not None:
        query.append(f"after={after}")
    path = f"/ws/chats/{chat_id}" + ("?" + "&".join(query) if query else "")
    return WebsocketCommunicator(application, path, headers=SITE if headers is None else headers)


async def closed_with(communicator: WebsocketCommunicator) -> int | None:
    """Connect, and return the close code if the server closes at once (None if it stays
    open and sends nothing)."""
    connected, _ = await communicator.connect()
    if not connected:
        return 403  # the handshake itself refused
    message = await communicator.receive_output(timeout=5)
    await communicator.wait()
    assert message["type"] == "websocket.close", message
    return int(message.get("code", 1000))


async def frames(communicator: WebsocketCommunicator, count: int) -> list[dict[str, Any]]:
    return [await communicator.receive_json_from(timeout=10) for _ in range(count)]


async def nothing_more(communicator: WebsocketCommunicator) -> bool:
    return bool(await communicator.receive_nothing(timeout=0.5))


@pytest.fixture
def chat(users: dict[str, User]) -> tuple[Chat, str]:
    return start_chat(users["customer"])


# --- who may connect ---------------------------------------------------------------------------


def test_a_visitor_with_a_wrong_token_is_closed_and_reads_nothing(chat: tuple[Chat, str]) -> None:
    say(chat[0].pk, "My card number is private")
    wrong = access.TOKEN_PREFIX + "x" * 43
    assert run(lambda: closed_with(socket(chat[0].pk, wrong))) == 4404


def test_a_visitor_cannot_read_another_chat_by_changing_the_id(
    chat: tuple[Chat, str], users: dict[str, User]
) -> None:
    _, other_token = start_chat(users["customer2"])
    say(chat[0].pk, "Only for my agent")
    assert run(lambda: closed_with(socket(chat[0].pk, other_token))) == 4404
    # The same answer for a chat that does not exist.
    assert run(lambda: closed_with(socket(999999, other_token))) == 4404


def test_a_socket_without_any_token_or_session_is_closed(chat: tuple[Chat, str]) -> None:
    assert run(lambda: closed_with(socket(chat[0].pk))) == 4404


def test_an_agent_of_another_department_cannot_open_the_chat(
    chat: tuple[Chat, str], users: dict[str, User]
) -> None:
    token = issue_api_token(users["finance"])
    assert run(lambda: closed_with(socket(chat[0].pk, token))) == 4404


def test_a_malformed_after_is_refused(chat: tuple[Chat, str]) -> None:
    assert run(lambda: closed_with(socket(chat[0].pk, chat[1], after="-1"))) == 4400
    assert run(lambda: closed_with(socket(chat[0].pk, chat[1], after="1e3"))) == 4400


def test_a_page_of_another_site_cannot_open_a_socket(chat: tuple[Chat, str]) -> None:
    elsewhere = [(b"origin", b"https://attacker.example")]
    assert run(lambda: closed_with(socket(chat[0].pk, chat[1], headers=elsewhere))) == 403


def test_an_unknown_path_under_ws_is_refused() -> None:
    async def scenario() -> bool:
        connected, _ = await WebsocketCommunicator(application, "/ws/probe", headers=SITE).connect()
        return bool(connected)

    assert run(scenario) is False


# --- what a client receives --------------------------------------------------------------------


def test_a_visitor_gets_the_stored_events_after_the_number_sent(chat: tuple[Chat, str]) -> None:
    for n in range(1, 6):
        say(chat[0].pk, f"Message {n}")

    async def scenario() -> list[dict[str, Any]]:
        communicator = socket(chat[0].pk, chat[1], after=2)
        connected, _ = await communicator.connect()
        assert connected
        got = await frames(communicator, 3)
        assert await nothing_more(communicator)
        await communicator.disconnect()
        return got

    got = run(scenario)
    assert [(e["seq"], e["type"], e["body"]) for e in got] == [
        (3, "message", "Message 3"),
        (4, "message", "Message 4"),
        (5, "message", "Message 5"),
    ]
    assert set(got[0]) >= {"seq", "type", "at", "body", "author", "name"}


def test_an_event_committed_while_connected_arrives_live(chat: tuple[Chat, str]) -> None:
    say(chat[0].pk, "Hello")

    async def scenario() -> list[dict[str, Any]]:
        communicator = socket(chat[0].pk, chat[1], after=0)
        await communicator.connect()
        got = await frames(communicator, 1)
        await database_sync_to_async(say)(chat[0].pk, "Is anyone there?")
        got += await frames(communicator, 1)
        await communicator.disconnect()
        return got

    assert [(e["seq"], e["body"]) for e in run(scenario)] == [(1, "Hello"), (2, "Is anyone there?")]


def test_an_agent_of_the_department_hears_the_visitor_with_an_api_token(
    chat: tuple[Chat, str], users: dict[str, User]
) -> None:
    token = issue_api_token(users["agent"])

    async def scenario() -> dict[str, Any]:
        communicator = socket(chat[0].pk, token)
        await communicator.connect()
        await database_sync_to_async(say)(chat[0].pk, "Printer prints blank pages")
        [event] = await frames(communicator, 1)
        await communicator.disconnect()
        return event

    assert run(scenario)["body"] == "Printer prints blank pages"


def test_a_signed_in_customer_opens_their_chat_with_the_session_of_the_portal(
    chat: tuple[Chat, str], users: dict[str, User]
) -> None:
    browser = Client()
    browser.force_login(users["customer"])
    cookie = f"sessionid={browser.cookies['sessionid'].value}".encode()
    say(chat[0].pk, "From the portal")

    async def scenario() -> dict[str, Any]:
        communicator = socket(chat[0].pk, headers=[*SITE, (b"cookie", cookie)])
        await communicator.connect()
        [event] = await frames(communicator, 1)
        await communicator.disconnect()
        return event

    assert run(scenario)["body"] == "From the portal"
    # Another customer's session opens nothing.
    browser.force_login(users["customer2"])
    cookie = f"sessionid={browser.cookies['sessionid'].value}".encode()
    assert run(lambda: closed_with(socket(chat[0].pk, headers=[*SITE, (b"cookie", cookie)]))) == (
        4404
    )


def test_events_written_while_connecting_arrive_once_each_and_in_order(
    chat: tuple[Chat, str],
) -> None:
    """Replay and live overlap: a writer commits events while the socket joins the group and
    reads the stored ones; every number arrives once, in order."""
    for n in range(1, 4):
        say(chat[0].pk, f"Before {n}")
    total = 3 + 30

    def writer() -> None:
        try:
            for n in range(30):
                say(chat[0].pk, f"During {n}")
        finally:
            connections.close_all()

    async def scenario() -> list[int]:
        communicator = socket(chat[0].pk, chat[1], after=1)
        writing = sync_to_async(writer, thread_sensitive=False)()
        await communicator.connect()
        await writing
        got = await frames(communicator, total - 1)
        assert await nothing_more(communicator)
        await communicator.disconnect()
        return [e["seq"] for e in got]

    assert run(scenario) == list(range(2, total + 1))


def test_an_event_heard_twice_or_out_of_turn_is_sent_once_and_a_gap_is_read_from_the_database(
    chat: tuple[Chat, str],
) -> None:
    for n in range(1, 4):
        say(chat[0].pk, f"Message {n}")

    def unpublished(body: str) -> dict[str, Any]:
        """Stored without reaching the layer (as while Redis is away)."""
        with transaction.atomic():
            event = events.append(Chat.objects.get(pk=chat[0].pk), EventType.MESSAGE, body=body)
        return event.as_json()

    async def scenario() -> list[int]:
        communicator = socket(chat[0].pk, chat[1], after=0)
        await communicator.connect()
        got = await frames(communicator, 3)
        layer = get_channel_layer()
        group = realtime.chat_group(chat[0].pk)
        old = await database_sync_to_async(lambda: ChatEvent.objects.get(chat=chat[0], seq=2))()
        await layer.group_send(group, {"type": "chat.event", "event": old.as_json()})
        saved = list(events.publishers)
        events.publishers.clear()
        try:
            await database_sync_to_async(unpublished)("Missed by the layer")
            fifth = await database_sync_to_async(unpublished)("Heard")
        finally:
            events.publishers[:] = saved
        await layer.group_send(group, {"type": "chat.event", "event": fifth})
        got += await frames(communicator, 2)
        assert await nothing_more(communicator)
        await communicator.disconnect()
        return [e["seq"] for e in got]

    assert run(scenario) == [1, 2, 3, 4, 5]


def test_a_ping_is_answered_after_catching_up_from_the_database(chat: tuple[Chat, str]) -> None:
    async def scenario() -> list[dict[str, Any]]:
        communicator = socket(chat[0].pk, chat[1], after=0)
        await communicator.connect()
        saved = list(events.publishers)
        events.publishers.clear()
        try:
            await database_sync_to_async(say)(chat[0].pk, "Written while Redis was away")
        finally:
            events.publishers[:] = saved
        await communicator.send_json_to({"type": "ping"})
        got = await frames(communicator, 2)
        await communicator.disconnect()
        return got

    got = run(scenario)
    assert [e.get("seq") for e in got] == [1, None]
    assert got[1] == {"type": "pong"}


def test_a_revoked_api_token_stops_reading_at_the_next_check(
    chat: tuple[Chat, str], users: dict[str, User], settings: Any
) -> None:
    settings.CHAT_WS_CATCHUP_SECONDS = 0.2
    token = issue_api_token(users["agent"])

    async def scenario() -> int:
        communicator = socket(chat[0].pk, token)
        await communicator.connect()
        assert await nothing_more(communicator)
        await database_sync_to_async(
            lambda: users["agent"].api_tokens.update(revoked_at="2020-01-01T00:00Z")
        )()
        message = await communicator.receive_output(timeout=5)
        await communicator.wait()
        return int(message["code"])

    assert run(scenario) == 4404


def test_signing_out_of_the_portal_stops_the_sessions_socket_at_the_next_check(
    chat: tuple[Chat, str], users: dict[str, User], settings: Any
) -> None:
    settings.CHAT_WS_CATCHUP_SECONDS = 0.2
    browser = Client()
    browser.force_login(users["customer"])
    cookie = f"sessionid={browser.cookies['sessionid'].value}".encode()

    async def scenario() -> int:
        communicator = socket(chat[0].pk, headers=[*SITE, (b"cookie", cookie)])
        await communicator.connect()
        assert await nothing_more(communicator)
        await database_sync_to_async(browser.post)("/sign-out/")
        message = await communicator.receive_output(timeout=5)
        await communicator.wait()
        return int(message["code"])

    assert run(scenario) == 4404


def test_a_flood_of_pings_reads_the_database_at_most_once_a_second(
    chat: tuple[Chat, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    reads: list[int] = []
    original = consumers.stored_after

    def counted(chat_id: int, seq: int) -> list[dict[str, Any]]:
        reads.append(seq)
        return original(chat_id, seq)

    monkeypatch.setattr(consumers, "stored_after", counted)

    async def scenario() -> int:
        communicator = socket(chat[0].pk, chat[1])
        await communicator.connect()
        for _ in range(20):
            await communicator.send_json_to({"type": "ping"})
        pongs = 0
        while not await communicator.receive_nothing(timeout=0.3):
            frame = await communicator.receive_json_from()
            pongs += frame == {"type": "pong"}
        await communicator.disconnect()
        return pongs

    assert run(scenario) == 20, "every ping is answered"
    assert len(reads) <= 2, "the connection's own read, and one for the pings"


def test_one_address_cannot_hold_more_sockets_than_its_share(
    chat: tuple[Chat, str], settings: Any
) -> None:
    settings.DESTEK_CHAT_SOCKETS_PER_ADDRESS = 2
    settings.DESTEK_TRUSTED_PROXIES = 1
    say(chat[0].pk, "Is anyone there?")

    def from_address(address: str) -> WebsocketCommunicator:
        return socket(chat[0].pk, chat[1], headers=[*SITE, (b"x-forwarded-for", address.encode())])

    async def scenario() -> tuple[int | None, int, int]:
        held = [from_address("203.0.113.7") for _ in range(2)]
        for one in held:
            await one.connect()
            await frames(one, 1)
        refused = await closed_with(from_address("203.0.113.7"))
        other = from_address("198.51.100.2")  # another address is not held back
        await other.connect()
        [seen_by_other] = await frames(other, 1)
        await held[0].disconnect()  # a place is given back when a socket closes
        again = from_address("203.0.113.7")
        await again.connect()
        [seen_again] = await frames(again, 1)
        for one in (held[1], other, again):
            await one.disconnect()
        return refused, seen_by_other["seq"], seen_again["seq"]

    assert run(scenario) == (4429, 1, 1)
    assert "203.0.113.7" not in consumers.open_by_address, "every place is given back"
    assert "198.51.100.2" not in consumers.open_by_address


# --- what a client sends -------------------------------------------------------------------


def test_typing_is_shown_to_the_other_side_at_most_once_per_three_seconds(
    chat: tuple[Chat, str], users: dict[str, User]
) -> None:
    token = issue_api_token(users["agent"])

    async def scenario() -> list[dict[str, Any]]:
        visitor = socket(chat[0].pk, chat[1])
        agent = socket(chat[0].pk, token)
        await visitor.connect()
        await agent.connect()
        for _ in range(5):
            await visitor.send_json_to({"type": "typing"})
        got = await frames(agent, 1)
        assert await nothing_more(agent)
        await visitor.send_json_to({"type": "seen", "up_to": 1})
        got += await frames(agent, 1)
        await visitor.disconnect()
        await agent.disconnect()
        return got

    typing, seen = run(scenario)
    assert (typing["type"], typing["author"]) == ("typing", "visitor")
    assert (seen["type"], seen["author"], seen["up_to"]) == ("seen", "visitor", 1)
    assert ChatEvent.objects.filter(chat=chat[0], type="typing").count() == 1


# --- publishing ------------------------------------------------------------------------------


def test_a_channel_layer_outage_does_not_fail_the_write_that_published(
    chat: tuple[Chat, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    class Broken:
        async def group_send(self, group: str, message: Any) -> None:
            raise ConnectionError("Redis is away")

    monkeypatch.setattr(realtime, "get_channel_layer", lambda: Broken())
    seq = say(chat[0].pk, "Still stored")
    assert ChatEvent.objects.get(chat=chat[0], seq=seq).data["body"] == "Still stored"


def test_the_department_group_hears_that_its_waiting_list_changed(chat: tuple[Chat, str]) -> None:
    async def scenario() -> dict[str, Any]:
        layer = get_channel_layer()
        name = await layer.new_channel()
        await layer.group_add(realtime.department_group(chat[0].department_id), name)

        def queued() -> None:
            with transaction.atomic():
                events.append(Chat.objects.get(pk=chat[0].pk), EventType.QUEUE, position=1)

        await database_sync_to_async(queued)()
        return dict(await asyncio.wait_for(layer.receive(name), 10))

    assert run(scenario) == {"type": "inbox.change", "chat": chat[0].pk, "change": "queue"}


def test_publishing_from_a_thread_without_an_event_loop_reaches_the_socket(
    chat: tuple[Chat, str],
) -> None:
    """A web request of `destek web` (WSGI) or a worker's job publishes from a plain thread."""

    async def scenario() -> dict[str, Any]:
        communicator = socket(chat[0].pk, chat[1])
        await communicator.connect()

        def plain() -> None:
            say(chat[0].pk, "From a plain thread")
            connections.close_all()

        thread = threading.Thread(target=plain)
        thread.start()
        await asyncio.to_thread(thread.join)
        [event] = await frames(communicator, 1)
        await communicator.disconnect()
        return event

    if isinstance(get_channel_layer(), InMemoryChannelLayer):
        pytest.skip("in memory, only the server's own process is heard (tested with Redis)")
    assert run(scenario)["body"] == "From a plain thread"


def test_an_agents_inbox_hears_when_a_chat_of_their_department_queues_and_others_do_not(
    chat: tuple[Chat, str], users: dict[str, User]
) -> None:
    def queued() -> None:
        with transaction.atomic():
            events.append(Chat.objects.get(pk=chat[0].pk), EventType.QUEUE, position=1)

    agent, finance = issue_api_token(users["agent"]), issue_api_token(users["finance"])

    async def scenario() -> tuple[dict[str, Any], bool]:
        mine = WebsocketCommunicator(application, f"/ws/inbox?token={agent}", SITE)
        other = WebsocketCommunicator(application, f"/ws/inbox?token={finance}", SITE)
        await mine.connect()
        await other.connect()
        await database_sync_to_async(queued)()
        change = await mine.receive_json_from()
        quiet = await other.receive_nothing()
        await mine.disconnect()
        await other.disconnect()
        return change, quiet

    change, quiet = run(scenario)
    assert change == {"type": "inbox.change", "chat": chat[0].pk, "change": "queue"}
    assert quiet


def test_a_customer_cannot_open_the_agents_inbox(users: dict[str, User]) -> None:
    path = f"/ws/inbox?token={issue_api_token(users['customer'])}"
    assert run(lambda: closed_with(WebsocketCommunicator(application, path, SITE))) == 4404


def test_tokens_in_a_sockets_address_are_hidden_from_the_servers_log() -> None:
    from destek.asgi import HideTokens

    path = "/ws/chats/7?token=dcv_secret-value&after=3"
    record = logging.LogRecord("uvicorn.error", 20, "", 0, '%s - "WebSocket %s"', ("x", path), None)
    HideTokens().filter(record)
    assert "secret" not in record.getMessage()
    assert "/ws/chats/7?token=…&after=3" in record.getMessage()
