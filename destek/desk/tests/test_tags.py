"""Tags in the desk: an agent adds and removes them on the ticket page with suggestions from
the tags in use, opens the queue filtered by one, saves that as a view, and finds tickets by
a tag in the search box."""

from __future__ import annotations

from typing import Any

import pytest

from conftest import signed_in_client as desk_for
from destek.accounts.models import User
from destek.desk.models import SavedView
from destek.tickets.models import Tag, Ticket, TicketEvent

pytestmark = pytest.mark.django_db


def test_an_agent_adds_tags_and_removes_one_and_the_history_says_so(
    customer: Any, users: dict[str, User]
) -> None:
    ticket = customer.file_ticket()
    desk = desk_for(users["agent"])
    url = f"/desk/tickets/{ticket['number']}/"
    assert desk.post(url + "tags/", {"add": "Billing, VPN setup, billing"}).status_code == 302
    page = desk.get(url).content.decode()
    assert ">billing</a>" in page and ">vpn-setup</a>" in page
    desk.post(url + "tags/", {"remove": "billing"})
    names = Ticket.objects.get(number=ticket["number"]).tags.values_list("name", flat=True)
    assert list(names) == ["vpn-setup"]
    kinds = TicketEvent.objects.filter(ticket__number=ticket["number"], kind="tags").count()
    assert kinds == 2


def test_suggestions_are_the_tags_in_use_that_start_with_what_is_typed(
    users: dict[str, User],
) -> None:
    for name in ["vpn", "vpn-setup", "billing", "ödəniş"]:
        Tag.objects.create(name=name)
    desk = desk_for(users["agent"])
    options = desk.get("/desk/tags/", {"add": "billing, VP"}).content.decode()
    assert 'value="billing, vpn"' in options and 'value="billing, vpn-setup"' in options
    assert "ödəniş" not in options
    assert 'value="ödəniş"' in desk.get("/desk/tags/", {"add": "Öd"}).content.decode()
    customer_page = desk_for(users["customer"]).get("/desk/tags/", {"add": "v"})
    assert customer_page.status_code in (302, 403)


def test_the_queue_filtered_by_a_tag_shows_only_its_tickets_and_saves_as_a_view_with_a_count(
    customer: Any, users: dict[str, User]
) -> None:
    tagged = customer.file_ticket("Printer jams", "The printer jams on every page.")
    other = customer.file_ticket("Invoice wrong", "The invoice total is wrong.")
    desk = desk_for(users["agent"])
    desk.post(f"/desk/tickets/{tagged['number']}/tags/", {"add": "printer"})
    page = desk.get("/desk/", {"tag": "printer"}).content.decode()
    assert f'data-ticket="{tagged["number"]}"' in page
    assert f'data-ticket="{other["number"]}"' not in page
    assert 'id="tag-filter"' in page
    answer = desk.post(
        "/desk/views/", {"name": "Printers", "department": "", "params": "tag=printer"}
    )
    assert answer.status_code == 302
    view = SavedView.objects.get(name="Printers")
    assert view.filters == {"tag": "printer"}
    listed = desk.get("/desk/").content.decode()
    assert "Printers" in listed


def test_a_bad_tag_in_the_address_is_left_out_with_a_message(users: dict[str, User]) -> None:
    page = desk_for(users["agent"]).get("/desk/", {"tag": "Not A Slug!"})
    assert page.status_code == 200
    assert 'id="tag-filter"' not in page.content.decode()


def test_a_tag_finds_its_tickets_in_the_search_box(
    customer: Any, users: dict[str, User], django_capture_on_commit_callbacks: Any
) -> None:
    tagged = customer.file_ticket("Printer jams", "The printer jams on every page.")
    desk = desk_for(users["agent"])
    with django_capture_on_commit_callbacks(execute=True):
        desk.post(f"/desk/tickets/{tagged['number']}/tags/", {"add": "hardware"})
    page = desk.get("/desk/", {"q": "hardware"}).content.decode()
    assert f'data-ticket="{tagged["number"]}"' in page


def test_the_tags_box_speaks_persian(customer: Any, users: dict[str, User]) -> None:
    ticket = customer.file_ticket()
    page = desk_for(users["agent"], "fa").get(f"/desk/tickets/{ticket['number']}/")
    html = page.content.decode()
    assert 'id="ticket-tags"' in html
    assert 'dir="rtl"' in html and "افزودن برچسب" in html, "the box is labelled in Persian"
