"""Two agents on one ticket in a real browser (see test_browser.py). The test server has no
WebSocket, so this is the fallback the page takes without one: heartbeats, typing and goodbye
over HTTP, and the list brought by the thread poll. The socket itself is tested in
destek/desk/tests/test_ticket_socket.py, and with `destek run` by hand (README)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest

from destek.accounts.models import User
from destek.tickets import actions
from tests.test_browser import chromium, open_page, sign_in, site, switch_language

pytestmark = [pytest.mark.slow, pytest.mark.browser]
__all__ = ["chromium", "open_page", "site"]  # fixtures this module uses


def wait_until(condition: Callable[[], bool], seconds: float = 20) -> None:
    """Poll from the test (the page's CSP refuses string functions in wait_for_function)."""
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("not in time")
        time.sleep(0.25)


def presence(page: Any) -> str:
    return str(page.text_content("#ticket-presence") or "")


def test_the_second_agent_sees_the_first_viewing_typing_and_leaving(
    site: str,
    open_page: Any,
) -> None:
    ticket = actions.create_ticket(
        customer=User.objects.get(email="customer@example.com"),
        subject="Printer prints blank pages",
        body="Since the update every page comes out blank.",
        channel="web",
    )
    first = open_page("en")
    sign_in(first, site, "admin@example.com")
    switch_language(first, "en")
    first.goto(f"{site}/desk/tickets/{ticket.number}/")

    second = open_page("en")
    sign_in(second, site, "agent@example.com")
    switch_language(second, "en")
    second.goto(f"{site}/desk/tickets/{ticket.number}/")
    assert "Aysel Admin is viewing" in presence(second)
    assert "Tural" not in presence(second)  # never oneself

    first.click("#id_reply_body")
    first.keyboard.type("Could you send a photo of the printed page?", delay=30)
    wait_until(lambda: "Aysel Admin is typing a reply…" in presence(second))
    # The first sees the second too, from the poll.
    wait_until(lambda: "Tural Texniki is viewing" in presence(first))
    second.shot("typing")

    # Typing stops showing a few seconds after the last key.
    wait_until(lambda: "Aysel Admin is viewing" in presence(second))

    # A message arrives while the second agent writes: sending asks first, the text is kept.
    second.fill("#id_reply_body", "Please restart the printer.")
    actions.add_message(
        ticket, author=User.objects.get(email="customer@example.com"), body="It is a HP 400."
    )
    second.click("#reply-form button[type=submit]:not([name])")
    second.wait_for_selector("#arrived")
    assert "It is a HP 400." in second.text_content("#arrived")
    assert second.input_value("#id_reply_body") == "Please restart the printer."
    second.shot("held")
    second.click("#reply-send-anyway")
    second.wait_for_load_state()
    assert ticket.messages.filter(body="Please restart the printer.").exists()

    # Closing the tab: gone within seconds (the beacon), not after half a minute.
    first.context.close()
    wait_until(lambda: "Aysel" not in presence(second), seconds=12)
