"""The portal's search box: a customer finds their own tickets by words or number, with the
passage marked, and never a colleague's ticket nor an agent's note."""

from __future__ import annotations

from typing import Any

import pytest

from conftest import signed_in_client as portal_for
from destek.accounts.models import User

pytestmark = pytest.mark.django_db


def test_a_customer_finds_their_ticket_by_a_word_of_its_message(
    customer: Any, users: dict[str, User]
) -> None:
    wanted = customer.file_ticket("Printer jams", "The printer in room 12 jams on every page.")
    other = customer.file_ticket("Invoice wrong", "The invoice total is wrong.")
    page = portal_for(users["customer"]).get("/my/tickets/", {"q": "page"}).content.decode()
    assert f"/my/tickets/{wanted['number']}/" in page
    assert f"/my/tickets/{other['number']}/" not in page
    assert "<mark>page</mark>" in page
    assert 'value="page"' in page, "the box keeps the query"


def test_a_customer_never_finds_someone_elses_ticket_or_an_agents_note(
    customer: Any, customer2: Any, agent: Any, users: dict[str, User]
) -> None:
    theirs = customer2.file_ticket("Scanner broken", "The scanner is broken.")
    mine = customer.file_ticket("Mouse broken", "The mouse does not click.")
    agent.post(
        f"tickets/{mine['number']}/messages", {"body": "Scanner stock low", "internal": True}
    )
    page = portal_for(users["customer"]).get("/my/tickets/", {"q": "scanner"}).content.decode()
    assert f"/my/tickets/{theirs['number']}/" not in page
    assert f"/my/tickets/{mine['number']}/" not in page, "a note's words are not the customer's"
    assert "No ticket of yours matches “scanner”." in page


def test_a_customers_own_number_opens_the_ticket_and_anothers_does_not(
    customer: Any, customer2: Any, users: dict[str, User]
) -> None:
    mine = customer.file_ticket("Mouse broken", "The mouse does not click.")
    theirs = customer2.file_ticket("Scanner broken", "The scanner is broken.")
    portal = portal_for(users["customer"])
    answer = portal.get("/my/tickets/", {"q": str(mine["number"])})
    assert answer.status_code == 302
    assert answer["Location"].endswith(f"/my/tickets/{mine['number']}/")
    assert portal.get("/my/tickets/", {"q": str(theirs["number"])}).status_code == 200


def test_the_portal_search_speaks_persian_and_takes_any_input(
    customer: Any, users: dict[str, User]
) -> None:
    customer.file_ticket("Printer jams", "The printer jams.")
    portal = portal_for(users["customer"], "fa")
    page = portal.get("/my/tickets/", {"q": "printer"}).content.decode()
    assert 'dir="rtl"' in page and "<mark>" in page
    for odd in ['"unclosed', "a & | ! :* (", "x" * 5000, "\u202e\u0000ü"]:
        assert portal.get("/my/tickets/", {"q": odd}).status_code == 200


def test_a_customer_never_finds_a_ticket_by_the_teams_tag(
    customer: Any, agent: Any, users: dict[str, User]
) -> None:
    from destek.tickets import actions
    from destek.tickets.actions import Actor
    from destek.tickets.models import Ticket
    from destek.tickets.search import index_tickets

    mine = customer.file_ticket("Mouse broken", "The mouse does not click.")
    ticket = Ticket.objects.get(number=mine["number"])
    actions.change_tags(ticket, actor=Actor.of(users["agent"]), add=["fraudsuspect"])
    index_tickets([ticket.pk])
    page = portal_for(users["customer"]).get("/my/tickets/", {"q": "fraudsuspect"}).content.decode()
    assert f"/my/tickets/{mine['number']}/" not in page
    listed = customer.get("tickets?tag=fraudsuspect").json()["items"]
    assert [item["number"] for item in listed] == [mine["number"]], "the tag filter is ignored"
    assert [t["number"] for t in agent.get("tickets?q=fraudsuspect").json()["items"]] == [
        mine["number"]
    ]


def test_a_null_character_in_a_search_is_dropped_not_an_error(
    customer: Any, users: dict[str, User]
) -> None:
    portal = portal_for(users["customer"])
    for odd in ["a\x00@b.co", "\x00", "12\x0034"]:
        assert portal.get("/my/tickets/", {"q": odd}).status_code == 200
    desk = portal_for(users["agent"])
    for odd in ["a\x00@b.co", "\x00"]:
        assert desk.get("/desk/", {"q": odd}).status_code == 200
