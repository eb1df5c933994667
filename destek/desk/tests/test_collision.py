"""Two agents on one ticket: each sees the other viewing and typing (through the page and its
poll; the socket is in test_ticket_socket.py), and a reply written while a new message
arrived is held until the agent confirms, with nothing they typed lost."""

from __future__ import annotations

import html
import re
import time
from typing import Any

import pytest
from django.test import Client

from conftest import signed_in_client as signed_in
from destek.accounts.models import User
from destek.tickets import actions
from destek.tickets.models import Ticket

pytestmark = pytest.mark.django_db


@pytest.fixture
def ticket(users: dict[str, User]) -> Ticket:
    return actions.create_ticket(
        customer=users["customer"],
        subject="Export fails",
        body="Export fails: the button does nothing and the report never arrives.",
        channel="web",
    )


@pytest.fixture
def tural(users: dict[str, User]) -> Client:
    """The Technical department's agent (Tural Texniki)."""
    return signed_in(users["agent"])


@pytest.fixture
def aysel(users: dict[str, User]) -> Client:
    """The admin (Aysel Admin), who works every department's tickets."""
    return signed_in(users["admin"])


class Clock:
    """Wall time moved on by hand: the presence entries and the test cache's expiry both
    read time.time()."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.offset = 0.0
        real = time.time
        monkeypatch.setattr(time, "time", lambda: real() + self.offset)

    def advance(self, seconds: float) -> None:
        self.offset += seconds


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    return Clock(monkeypatch)


def tab_of(page: str) -> str:
    """The page's presence id (its "tab")."""
    found = re.search(r'data-presence-tab="([^"]+)"', page)
    assert found
    return found.group(1)


def open_page(client: Client, ticket: Ticket) -> str:
    return tab_of(client.get(f"/desk/tickets/{ticket.number}/").content.decode())


def presence_of(client: Client, ticket: Ticket) -> list[str]:
    """What the agent reads under the ticket's title, one line per colleague."""
    fragment = client.get(f"/desk/tickets/{ticket.number}/presence/").content.decode()
    return [
        html.unescape(re.sub(r"[\u2066-\u2069]", "", text))
        for text in re.findall(r"<span class=\"badge[^\"]*\"[^>]*>([^<]*)</span>", fragment)
    ]


def say(client: Client, ticket: Ticket, tab: str, state: str) -> Any:
    return client.post(f"/desk/tickets/{ticket.number}/presence/", {"tab": tab, "state": state})


# --- who else is on the ticket ----------------------------------------------------------------


def test_the_page_shows_a_colleague_viewing_the_ticket(
    ticket: Ticket, tural: Client, aysel: Client
) -> None:
    open_page(aysel, ticket)
    page = tural.get(f"/desk/tickets/{ticket.number}/").content.decode()
    assert "Aysel Admin" in page and "is viewing" in page
    # The thread poll brings it too, for a page without the socket.
    poll = tural.get(f"/desk/tickets/{ticket.number}/thread/?after=0").content.decode()
    assert 'id="ticket-presence" class="row presence" role="status" hx-swap-oob="true"' in poll
    assert "Aysel Admin" in poll
    assert presence_of(tural, ticket) == ["Aysel Admin is viewing"]


def test_a_colleague_is_named_in_the_readers_language(
    ticket: Ticket, users: dict[str, User], aysel: Client
) -> None:
    open_page(aysel, ticket)
    tab = open_page(aysel, ticket)
    assert presence_of(signed_in(users["agent"], "fa"), ticket) == ["Aysel Admin در حال مشاهده است"]
    say(aysel, ticket, tab, "reply")
    assert presence_of(signed_in(users["agent"], "ru"), ticket) == ["Aysel Admin пишет ответ…"]


def test_typing_shows_and_ends_seconds_after_the_last_keystroke(
    ticket: Ticket, tural: Client, aysel: Client, clock: Clock
) -> None:
    tab = open_page(aysel, ticket)
    assert say(aysel, ticket, tab, "reply").status_code == 200
    assert presence_of(tural, ticket) == ["Aysel Admin is typing a reply…"]
    clock.advance(4)
    say(aysel, ticket, tab, "viewing")  # a heartbeat keeps the typing it does not end
    assert presence_of(tural, ticket) == ["Aysel Admin is typing a reply…"]
    clock.advance(3)
    assert presence_of(tural, ticket) == ["Aysel Admin is viewing"]
    say(aysel, ticket, tab, "note")
    assert presence_of(tural, ticket) == ["Aysel Admin is typing a note…"]


def test_a_page_without_heartbeats_stops_counting_after_half_a_minute(
    ticket: Ticket, tural: Client, aysel: Client, clock: Clock
) -> None:
    tab = open_page(aysel, ticket)
    clock.advance(20)
    say(aysel, ticket, tab, "viewing")
    clock.advance(20)
    assert presence_of(tural, ticket) == ["Aysel Admin is viewing"]
    clock.advance(15)
    assert presence_of(tural, ticket) == []


def test_an_agent_never_sees_themselves_and_two_tabs_count_once(
    ticket: Ticket, tural: Client, aysel: Client
) -> None:
    page = tural.get(f"/desk/tickets/{ticket.number}/").content.decode()
    assert "is viewing" not in page
    first = tab_of(page)
    second = open_page(tural, ticket)
    assert presence_of(tural, ticket) == []
    assert presence_of(aysel, ticket) == ["Tural Texniki is viewing"]
    say(tural, ticket, second, "reply")
    assert presence_of(aysel, ticket) == ["Tural Texniki is typing a reply…"]
    assert presence_of(tural, ticket) == []
    # Closing one tab leaves the other; closing both, Tural is gone at once.
    say(tural, ticket, second, "gone")
    assert presence_of(aysel, ticket) == ["Tural Texniki is viewing"]
    say(tural, ticket, first, "gone")
    assert presence_of(aysel, ticket) == []


def test_an_agent_who_closes_the_page_disappears_at_once(
    ticket: Ticket, tural: Client, aysel: Client
) -> None:
    tab = open_page(aysel, ticket)
    assert presence_of(tural, ticket) == ["Aysel Admin is viewing"]
    assert say(aysel, ticket, tab, "gone").status_code == 200  # the page's beacon
    assert presence_of(tural, ticket) == []


def test_customers_and_strangers_cannot_use_the_presence_of_a_ticket(
    ticket: Ticket, users: dict[str, User], aysel: Client
) -> None:
    tab = open_page(aysel, ticket)
    url = f"/desk/tickets/{ticket.number}/presence/"
    customer = signed_in(users["customer"])  # the ticket's own customer
    assert customer.get(url).status_code == 403
    assert customer.post(url, {"tab": "abcdefgh12", "state": "reply"}).status_code == 403
    assert Client().get(url, headers={"HX-Request": "true"}).status_code == 403
    assert Client().get(url).status_code == 302  # to the sign-in page
    finance = signed_in(users["finance"])  # another department
    assert finance.get(url).status_code == 404
    assert finance.post(url, {"tab": "abcdefgh12", "state": "reply"}).status_code == 404
    assert "Aysel" not in finance.get(f"/desk/tickets/{ticket.number}/thread/").content.decode()
    assert presence_of(signed_in(users["agent"]), ticket) == ["Aysel Admin is viewing"]
    # Nor can a colleague speak for someone else's page: their tab is their own.
    assert say(signed_in(users["agent"]), ticket, tab, "gone").status_code == 200
    assert presence_of(signed_in(users["agent"]), ticket) == ["Aysel Admin is viewing"]


def test_a_malformed_presence_request_is_refused_and_changes_nothing(
    ticket: Ticket, tural: Client, aysel: Client
) -> None:
    assert say(aysel, ticket, "short", "viewing").status_code == 400
    assert say(aysel, ticket, "abcdefgh12", "dancing").status_code == 400
    assert say(aysel, ticket, "<script>alert(1)</script>", "reply").status_code == 400
    assert presence_of(tural, ticket) == []


# --- a reply written while a message arrived ------------------------------------------------


def last_seen(page: str) -> str:
    found = re.search(r'name="seen" value="(\d+)"', page)
    assert found
    return found.group(1)


def test_a_reply_sent_after_a_new_message_arrived_is_held_with_the_text_kept(
    ticket: Ticket, users: dict[str, User], tural: Client
) -> None:
    seen = last_seen(tural.get(f"/desk/tickets/{ticket.number}/").content.decode())
    actions.add_message(ticket, author=users["customer"], body="Also, the PDF is empty.")
    answer = "Please try the export again; it works now."
    response = tural.post(
        f"/desk/tickets/{ticket.number}/reply/",
        {"body": answer, "status": "pending", "seen": seen},
    )
    page = response.content.decode()
    assert response.status_code == 200
    assert "A new message arrived while you were writing. Send anyway?" in page
    assert "Also, the PDF is empty." in page.split('id="arrived"')[1].split("</div>\n</div>")[0]
    assert html.escape(answer, quote=False) in page  # in the reply box, as typed
    assert ticket.messages.filter(body=answer).count() == 0
    # The page now says it showed the new message; "Send anyway" sends.
    assert int(last_seen(page)) == ticket.messages.order_by("-pk")[0].pk
    sent = tural.post(
        f"/desk/tickets/{ticket.number}/reply/",
        {"body": answer, "status": "pending", "seen": seen, "confirm": "1"},
    )
    assert sent.status_code == 302
    assert ticket.messages.filter(body=answer, author=users["agent"]).count() == 1


def test_a_reply_resent_from_the_held_page_goes_when_nothing_newer_came(
    ticket: Ticket, users: dict[str, User], tural: Client
) -> None:
    seen = last_seen(tural.get(f"/desk/tickets/{ticket.number}/").content.decode())
    actions.add_message(ticket, author=users["customer"], body="Any news?")
    held = tural.post(
        f"/desk/tickets/{ticket.number}/reply/",
        {"body": "Working on it.", "status": "open", "seen": seen},
    ).content.decode()
    again = tural.post(
        f"/desk/tickets/{ticket.number}/reply/",
        {"body": "Working on it.", "status": "open", "seen": last_seen(held)},
    )
    assert again.status_code == 302
    assert ticket.messages.filter(body="Working on it.").count() == 1


def test_a_note_is_held_too_but_a_colleagues_note_or_ones_own_message_holds_nothing(
    ticket: Ticket, users: dict[str, User], tural: Client
) -> None:
    seen = last_seen(tural.get(f"/desk/tickets/{ticket.number}/").content.decode())
    actions.add_message(ticket, author=users["admin"], body="Checked the logs.", internal=True)
    actions.add_message(ticket, author=users["agent"], body="From my other tab.")
    assert (
        tural.post(
            f"/desk/tickets/{ticket.number}/reply/",
            {"body": "Fixed.", "status": "resolved", "seen": seen},
        ).status_code
        == 302
    )
    seen = last_seen(tural.get(f"/desk/tickets/{ticket.number}/").content.decode())
    actions.add_message(ticket, author=users["customer"], body="Thanks, it works!")
    held = tural.post(
        f"/desk/tickets/{ticket.number}/note/", {"body": "Customer confirmed.", "seen": seen}
    )
    assert held.status_code == 200 and "Send anyway?" in held.content.decode()
    assert ticket.messages.filter(body="Customer confirmed.").count() == 0


def test_a_form_that_does_not_say_what_it_saw_is_sent_as_before(
    ticket: Ticket, users: dict[str, User], tural: Client
) -> None:
    actions.add_message(ticket, author=users["customer"], body="Hello?")
    response = tural.post(
        f"/desk/tickets/{ticket.number}/reply/", {"body": "Hello!", "status": "pending"}
    )
    assert response.status_code == 302
