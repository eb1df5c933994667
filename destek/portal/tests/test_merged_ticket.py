"""What the customer sees of a merged ticket: where it went, what they wrote, no Reopen."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from destek.accounts.models import Organisation, User
from destek.tickets import actions
from destek.tickets.actions import Actor
from destek.tickets.models import Ticket

pytestmark = pytest.mark.django_db


@pytest.fixture
def browser(users: dict[str, User]) -> Client:
    client = Client(headers={"Accept-Language": "en"})
    client.force_login(users["customer"])
    client.cookies["django_language"] = "en"
    return client


@pytest.fixture
def merged(
    users: dict[str, User], django_capture_on_commit_callbacks: Any
) -> tuple[Ticket, Ticket]:
    customer = users["customer"]
    with django_capture_on_commit_callbacks(execute=True):
        target = actions.create_ticket(
            customer=customer,
            subject="Invoice page shows error 500",
            body="It fails since 9:00.",
            channel="web",
        )
        duplicate = actions.create_ticket(
            customer=customer,
            subject="Invoices cannot be opened",
            body="Every invoice link answers error 500 since this morning.",
            channel="web",
        )
        actions.merge(duplicate, into=target, actor=Actor.of(users["agent"]))
    return target, duplicate


def test_the_merged_ticket_says_where_it_went_with_a_link(
    browser: Client, merged: tuple[Ticket, Ticket]
) -> None:
    target, duplicate = merged
    page = browser.get(f"/my/tickets/{duplicate.number}/").content.decode()
    assert "This ticket was merged into" in page
    assert f'href="/my/tickets/{target.number}/">#{target.number}</a>' in page
    assert f"Merged into #{target.number}" in page, "the status says so too"


def test_the_merged_ticket_still_shows_what_the_customer_wrote(
    browser: Client, merged: tuple[Ticket, Ticket]
) -> None:
    target, duplicate = merged
    page = browser.get(f"/my/tickets/{duplicate.number}/").content.decode()
    assert "Every invoice link answers error 500 since this morning." in page
    assert "Moved to" in page and f"#{target.number}</a> when the tickets were merged" in page


def test_the_merged_ticket_offers_no_reopen_and_no_reply_box(
    browser: Client, merged: tuple[Ticket, Ticket]
) -> None:
    target, duplicate = merged
    page = browser.get(f"/my/tickets/{duplicate.number}/").content.decode()
    assert f"/my/tickets/{duplicate.number}/reopen/" not in page
    assert "can no longer be reopened" not in page
    assert f"/my/tickets/{duplicate.number}/reply/" not in page
    assert f"Go to ticket #{target.number}" in page


def test_a_reopen_posted_anyway_is_refused_on_the_page(
    browser: Client, merged: tuple[Ticket, Ticket]
) -> None:
    target, duplicate = merged
    response = browser.post(f"/my/tickets/{duplicate.number}/reopen/")
    assert response.status_code == 409
    page = response.content.decode()
    assert f"This ticket was merged into #{target.number}; please write there." in page
    duplicate.refresh_from_db()
    assert duplicate.status == "closed"


def test_the_target_marks_the_moved_messages_with_the_ticket_they_came_from(
    browser: Client, merged: tuple[Ticket, Ticket]
) -> None:
    target, duplicate = merged
    page = browser.get(f"/my/tickets/{target.number}/").content.decode()
    assert "Every invoice link answers error 500 since this morning." in page
    assert f'From <a href="/my/tickets/{duplicate.number}/">#{duplicate.number}</a>' in page


def test_the_list_shows_the_merged_ticket_as_merged(
    browser: Client, merged: tuple[Ticket, Ticket]
) -> None:
    target, _duplicate = merged
    assert f"Merged into #{target.number}" in browser.get("/my/tickets/").content.decode()


def test_a_target_the_customer_cannot_open_is_named_without_a_link(
    users: dict[str, User], merged: tuple[Ticket, Ticket]
) -> None:
    """A merge joins one customer's tickets; if an admin later moves the target to another
    customer, the merged ticket's reader learns the number but gets no dead link."""
    target, duplicate = merged
    Ticket.objects.filter(pk=target.pk).update(customer=users["customer2"])
    client = Client(headers={"Accept-Language": "en"})
    client.force_login(users["customer"])
    client.cookies["django_language"] = "en"
    page = client.get(f"/my/tickets/{duplicate.number}/").content.decode()
    assert f"This ticket was merged into #{target.number}." in page
    assert f'href="/my/tickets/{target.number}/"' not in page
    assert "not one you can open with this account" in page


def test_an_organisation_colleague_sees_the_notice_and_the_link(
    users: dict[str, User], merged: tuple[Ticket, Ticket]
) -> None:
    target, duplicate = merged
    shared = Organisation.objects.create(name="Acme", share_tickets=True)
    for name in ("customer", "customer2"):
        users[name].organisation = shared
        users[name].save()
    client = Client(headers={"Accept-Language": "en"})
    client.force_login(users["customer2"])
    client.cookies["django_language"] = "en"
    page = client.get(f"/my/tickets/{duplicate.number}/").content.decode()
    assert f'href="/my/tickets/{target.number}/">#{target.number}</a>' in page


def test_closing_an_already_closed_ticket_says_why_instead_of_failing(
    browser: Client, users: dict[str, User]
) -> None:
    ticket = actions.create_ticket(
        customer=users["customer"], subject="Reports are slow", body="A minute each.", channel="web"
    )
    browser.post(f"/my/tickets/{ticket.number}/close/")
    again = browser.post(f"/my/tickets/{ticket.number}/close/")  # a second tab, a double click
    assert again.status_code == 409
    assert "The ticket is already closed." in again.content.decode()
