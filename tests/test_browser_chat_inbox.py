"""The agent's chat inbox in a real browser: a visitor starts a chat through the API (as the
widget does), the agent goes online, sees it wait, accepts it, and both write, the agent's
page showing the visitor's words without a reload. The live server here has no WebSocket, so
this is the polling path the page falls back to. Screenshots go where tests/test_browser.py
puts them."""

from __future__ import annotations

import json
import re
import time
import urllib.request
from typing import Any

import pytest

from destek.chat.models import Chat
from destek.tickets.choices import TicketStatus
from tests.test_browser import chromium, open_page, sign_in, site, switch_language  # noqa: F401

pytestmark = [pytest.mark.slow, pytest.mark.browser]


def api(base: str, method: str, path: str, data: Any = None, token: str = "") -> Any:
    headers = {"Content-Type": "application/json", "Accept-Language": "en"}
    if token:
        headers["X-Chat-Token"] = token
    request = urllib.request.Request(  # noqa: S310  (the live server on loopback)
        f"{base}/api/v1/{path}",
        data=json.dumps(data).encode() if data is not None else None,
        headers=headers,
        method=method,
    )
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
        return json.loads(response.read() or b"{}")


def until(page: Any, expression: str) -> None:
    """Wait for `expression` to be true in the page. Not `wait_for_function`: the page's CSP
    forbids the string evaluation its polling uses."""
    deadline = time.monotonic() + 10
    while not page.evaluate(expression):
        assert time.monotonic() < deadline, f"never true: {expression}"
        time.sleep(0.1)


def visitor_reads(base: str, chat: dict[str, Any], wanted: str) -> dict[str, Any]:
    """The visitor polls the events, as the widget does without a socket."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        events = api(base, "GET", f"chats/{chat['id']}/events?after=0", token=chat["token"])
        for event in events["events"]:
            if event["type"] == "message" and event["body"] == wanted:
                return dict(event)
        time.sleep(0.3)
    raise AssertionError(f"the visitor never read {wanted!r}")


@pytest.mark.parametrize("language", ["en", "fa"])
def test_an_agent_takes_a_waiting_chat_and_both_talk_live(
    site: str,  # noqa: F811
    open_page: Any,  # noqa: F811
    language: str,
) -> None:
    agent = open_page(language)
    sign_in(agent, site, "agent@example.com")
    switch_language(agent, language)
    agent.goto(f"{site}/desk/chats/")
    assert agent.evaluate("document.documentElement.dir") == ("rtl" if language == "fa" else "ltr")
    agent.click("#presence-online")
    agent.wait_for_selector("#presence-online[aria-pressed=true]")

    started = api(
        site,
        "POST",
        "chats",
        {"body": "My server does not boot after the update", "name": "Leyla"},
    )
    assert started["offline"] is False, started
    chat = {"id": started["id"], "token": started["visitor_token"]}

    # The line refreshes by itself: the chat appears, offered to this agent, and the tab's
    # title counts it.
    row = agent.wait_for_selector(f"#waiting-list tr[data-chat='{chat['id']}']")
    assert "My server does not boot after the update" in row.text_content()
    assert "offered" in (row.get_attribute("class") or "")
    until(agent, "document.title.startsWith('(')")
    agent.shot("waiting")
    agent.click(f"#accept-{chat['id']}")
    agent.wait_for_url(re.compile(rf"/desk/chats/{chat['id']}/$"))
    assert "My server does not boot after the update" in agent.text_content("#transcript")

    # The agent writes: Enter sends, the box empties, the visitor reads it.
    agent.evaluate("window.stillTheSamePage = true")
    agent.fill("#chat-body", "Hello Leyla, I am looking at it now.")
    agent.press("#chat-body", "Enter")
    until(agent, "document.getElementById('chat-body').value === ''")
    said = visitor_reads(site, chat, "Hello Leyla, I am looking at it now.")
    assert said["author"] == "agent"

    # The visitor answers; it appears on the agent's page without a reload.
    api(
        site,
        "POST",
        f"chats/{chat['id']}/messages",
        {"body": "Thank you, it shows a blue screen."},
        token=chat["token"],
    )
    agent.wait_for_selector("#transcript li.visitor:has-text('Thank you, it shows a blue screen.')")
    assert agent.evaluate("window.stillTheSamePage === true")
    # The agent has it in front of them: the visitor is told "seen".
    deadline = time.monotonic() + 10
    while not any(
        e["type"] == "seen" and e["author"] == "agent"
        for e in api(site, "GET", f"chats/{chat['id']}/events?after=0", token=chat["token"])[
            "events"
        ]
    ):
        assert time.monotonic() < deadline, "the agent's page never said seen"
        time.sleep(0.3)
    # Each event once, whatever the polls that overlapped.
    seqs = agent.eval_on_selector_all(
        "#transcript li[data-seq]", "items => items.map(i => i.dataset.seq)"
    )
    assert len(seqs) == len(set(seqs))
    agent.shot("talking")
    ticket = Chat.objects.select_related("ticket").get(pk=chat["id"]).ticket
    assert ticket.status == TicketStatus.OPEN
