"""The ticket socket `/ws/tickets/<number>?tab=`: agents who may open the ticket hear at once
when a colleague arrives, types or leaves; no one else opens it. Through the ASGI application
with the project's WebSocket communicator, on committed transactions (the socket reads in a
thread of its own)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from channels.db import database_sync_to_async
from channels.layers import channel_layers
from django.db import connections
from django.test import Client

from conftest import signed_in_client as signed_in
from destek.accounts.actions import issue_api_token
from destek.accounts.models import User
from destek.asgi import application
from destek.chat.tests.test_socket import SITE, WebsocketCommunicator, run
from destek.desk import presence
from destek.desk.tests.test_collision import open_page, presence_of, say
from destek.tickets import actions
from destek.tickets.models import Ticket

pytestmark = pytest.mark.django_db(transaction=True)

TAB = "socket-tab-1"


@pytest.fixture(autouse=True)
def fresh_layer() -> Iterator[None]:
    """A channel layer of each test's own (an in-memory layer's queues belong to one event
    loop, and each test runs its own)."""
    channel_layers.backends.clear()
    yield
    channel_layers.backends.clear()
    asyncio.run(database_sync_to_async(connections.close_all)())


@pytest.fixture
def ticket(users: dict[str, User]) -> Ticket:
    return actions.create_ticket(
        customer=users["customer"],
        subject="Export fails",
        body="Export fails: the button does nothing and the report never arrives.",
        channel="web",
    )


async def closed_with(communicator: WebsocketCommunicator) -> int:
    """Connect; the close code the server answers with at once (403: the handshake refused)."""
    connected, _ = await communicator.connect()
    if not connected:
        return 403
    message = await communicator.receive_output(timeout=5)
    assert message["type"] == "websocket.close", message
    await communicator.disconnect()  # as the browser answers the close
    return int(message.get("code", 1000))


def session_of(client: Client) -> list[tuple[bytes, bytes]]:
    return [*SITE, (b"cookie", f"sessionid={client.cookies['sessionid'].value}".encode())]


def socket(number: int, headers: Any, tab: str = TAB, token: str = "") -> WebsocketCommunicator:
    query = f"?tab={tab}" + (f"&token={token}" if token else "")
    return WebsocketCommunicator(application, f"/ws/tickets/{number}{query}", headers=headers)


def test_customers_strangers_and_other_departments_cannot_open_the_ticket_socket(
    ticket: Ticket, users: dict[str, User]
) -> None:
    customer = signed_in(users["customer"])  # the ticket's own customer
    assert run(lambda: closed_with(socket(ticket.number, session_of(customer)))) == 4404
    assert run(lambda: closed_with(socket(ticket.number, SITE))) == 4404
    finance = signed_in(users["finance"])
    assert run(lambda: closed_with(socket(ticket.number, session_of(finance)))) == 4404
    token = issue_api_token(users["customer"])
    assert run(lambda: closed_with(socket(ticket.number, SITE, token=token))) == 4404
    agent = signed_in(users["agent"])
    assert run(lambda: closed_with(socket(99_999_999, session_of(agent)))) == 4404
    assert run(lambda: closed_with(socket(ticket.number, session_of(agent), tab="x"))) == 4400
    elsewhere = [(b"origin", b"https://attacker.example"), *session_of(agent)[1:]]
    assert run(lambda: closed_with(socket(ticket.number, elsewhere))) == 403
    # None of them was ever shown as viewing.
    assert presence_of(signed_in(users["admin"]), ticket) == []


def test_an_open_socket_is_viewing_typing_shows_and_closing_leaves(
    ticket: Ticket, users: dict[str, User]
) -> None:
    tural, aysel = signed_in(users["agent"]), signed_in(users["admin"])

    async def scenario() -> list[list[str]]:
        seen: list[list[str]] = []
        communicator = socket(ticket.number, session_of(tural))
        connected, _ = await communicator.connect()
        assert connected
        assert await communicator.receive_json_from() == {"type": "presence"}  # its own arrival
        seen.append(await sync_to_async(presence_of)(aysel, ticket))
        await communicator.send_json_to({"type": "typing", "box": "reply"})
        assert await communicator.receive_json_from() == {"type": "presence"}
        seen.append(await sync_to_async(presence_of)(aysel, ticket))
        await communicator.send_json_to({"type": "ping"})
        assert await communicator.receive_json_from() == {"type": "pong"}
        await communicator.disconnect()
        seen.append(await sync_to_async(presence_of)(aysel, ticket))
        return seen

    assert run(scenario) == [
        ["Tural Texniki is viewing"],
        ["Tural Texniki is typing a reply…"],
        [],
    ]


def test_a_socket_hears_at_once_when_a_colleague_arrives_types_and_leaves_over_http(
    ticket: Ticket, users: dict[str, User]
) -> None:
    tural, aysel = signed_in(users["agent"]), signed_in(users["admin"])

    async def scenario() -> list[Any]:
        communicator = socket(ticket.number, session_of(tural))
        await communicator.connect()
        await communicator.receive_json_from()  # its own arrival
        heard: list[Any] = []
        tab = await sync_to_async(open_page)(aysel, ticket)
        heard.append(await communicator.receive_json_from())
        heard.append(await sync_to_async(presence_of)(tural, ticket))
        await sync_to_async(say)(aysel, ticket, tab, "note")
        heard.append(await communicator.receive_json_from())
        heard.append(await sync_to_async(presence_of)(tural, ticket))
        await sync_to_async(say)(aysel, ticket, tab, "gone")
        heard.append(await communicator.receive_json_from())
        heard.append(await sync_to_async(presence_of)(tural, ticket))
        await communicator.disconnect()
        return heard

    assert run(scenario) == [
        {"type": "presence"},
        ["Aysel Admin is viewing"],
        {"type": "presence"},
        ["Aysel Admin is typing a note…"],
        {"type": "presence"},
        [],
    ]


def test_two_sockets_of_one_agent_count_once_and_the_agent_never_sees_themselves(
    ticket: Ticket, users: dict[str, User]
) -> None:
    tural, aysel = signed_in(users["agent"]), signed_in(users["admin"])

    async def scenario() -> tuple[list[str], list[str], list[str]]:
        one = socket(ticket.number, session_of(tural), tab="first-tab-1")
        two = socket(ticket.number, session_of(tural), tab="second-tab-2")
        await one.connect()
        await two.connect()
        both = await sync_to_async(presence_of)(aysel, ticket)
        mine = await sync_to_async(presence_of)(tural, ticket)
        await one.disconnect()
        still = await sync_to_async(presence_of)(aysel, ticket)
        await two.disconnect()
        return both, mine, still

    assert run(scenario) == (["Tural Texniki is viewing"], [], ["Tural Texniki is viewing"])


def test_typing_heard_on_the_socket_ends_by_itself_and_the_others_hear_it(
    ticket: Ticket, users: dict[str, User], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(presence, "TYPING_SECONDS", 0.3)
    tural, aysel = signed_in(users["agent"]), signed_in(users["admin"])

    async def scenario() -> list[list[str]]:
        watcher = socket(ticket.number, session_of(aysel), tab="watcher-tab")
        typist = socket(ticket.number, session_of(tural))
        await watcher.connect()
        await watcher.receive_json_from()
        await typist.connect()
        await watcher.receive_json_from()  # Tural arrived
        await typist.send_json_to({"type": "typing", "box": "note"})
        await watcher.receive_json_from()
        seen = [await sync_to_async(presence_of)(aysel, ticket)]
        assert await watcher.receive_json_from(timeout=3) == {"type": "presence"}
        seen.append(await sync_to_async(presence_of)(aysel, ticket))
        await typist.disconnect()
        await watcher.disconnect()
        return seen

    assert run(scenario) == [["Tural Texniki is typing a note…"], ["Tural Texniki is viewing"]]


def test_signing_out_closes_the_socket_at_its_next_heartbeat(
    ticket: Ticket, users: dict[str, User], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(presence, "HEARTBEAT_SECONDS", 0.2)
    tural = signed_in(users["agent"])
    headers = session_of(tural)

    async def scenario() -> int:
        communicator = socket(ticket.number, headers)
        await communicator.connect()
        await communicator.receive_json_from()
        await sync_to_async(tural.logout)()
        message = await communicator.receive_output(timeout=5)
        assert message["type"] == "websocket.close", message
        await communicator.disconnect()
        return int(message["code"])

    assert run(scenario) == 4404
    assert presence_of(signed_in(users["admin"]), ticket) == []
