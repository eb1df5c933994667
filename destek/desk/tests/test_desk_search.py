"""The desk's search box: words find tickets best first with the passage marked, a number
goes straight to its ticket, and the queue's filters narrow a search."""

from __future__ import annotations

from typing import Any

import pytest

from conftest import signed_in_client as desk_for
from destek.accounts.models import User

pytestmark = pytest.mark.django_db


def test_an_agent_searches_from_the_queue_and_sees_the_passage_marked(
    customer: Any, users: dict[str, User]
) -> None:
    wanted = customer.file_ticket("Printer jams", "The printer in room 12 jams on every page.")
    customer.file_ticket("Invoice wrong", "The invoice total is wrong.")
    page = desk_for(users["agent"]).get("/desk/", {"q": "page"}).content.decode()
    assert f'data-ticket="{wanted["number"]}"' in page
    assert "<mark>page</mark>" in page
    assert "1 ticket matches “page”" in page
    assert 'value="page"' in page, "the box keeps the query"


def test_a_number_typed_in_the_box_opens_the_ticket(customer: Any, users: dict[str, User]) -> None:
    ticket = customer.file_ticket("Printer jams", "The printer jams.")
    answer = desk_for(users["agent"]).get("/desk/", {"q": f"#{ticket['number']}"})
    assert answer.status_code == 302
    assert answer["Location"].endswith(f"/desk/tickets/{ticket['number']}/")


def test_a_search_reads_every_status_unless_one_is_chosen(
    customer: Any, agent: Any, users: dict[str, User]
) -> None:
    done = customer.file_ticket("Scanner broken", "The scanner is broken.")
    agent.patch(f"tickets/{done['number']}", {"status": "resolved"})
    desk = desk_for(users["agent"])
    every = desk.get("/desk/", {"q": "scanner"}).content.decode()
    assert f'data-ticket="{done["number"]}"' in every
    narrowed = desk.get("/desk/", {"q": "scanner", "status": "new"}).content.decode()
    assert f'data-ticket="{done["number"]}"' not in narrowed
    assert "No ticket you can see matches “scanner”" in narrowed


def test_the_search_page_speaks_persian(customer: Any, users: dict[str, User]) -> None:
    customer.file_ticket("Printer jams", "The printer jams.")
    User.objects.filter(pk=users["agent"].pk).update(language="fa")
    page = desk_for(users["agent"], "fa").get("/desk/", {"q": "printer"}).content.decode()
    assert 'dir="rtl"' in page and "<mark>" in page


def test_a_customers_address_typed_in_the_box_opens_their_page(
    customer: Any, users: dict[str, User]
) -> None:
    customer.file_ticket("Printer jams", "The printer jams.")
    address = users["customer"].email
    answer = desk_for(users["agent"]).get("/desk/", {"q": address.upper()})
    assert answer.status_code == 302
    assert answer["Location"].endswith(f"/desk/customers/{users['customer'].pk}/")
    # Someone the agent may not open is searched for like any words: nothing is revealed.
    stranger = desk_for(users["agent"]).get("/desk/", {"q": "nobody@example.org"})
    assert stranger.status_code == 200
