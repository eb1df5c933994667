"""CC and following in a real browser: the customer copies a colleague on their ticket (in
Persian, right to left), the colleague answers our mail and the customer reads the answer on
the page; an agent follows the ticket and gets the next customer message by mail.
Screenshots go where tests/test_browser.py puts them."""

from __future__ import annotations

from typing import Any

import pytest
from django.core import mail

from destek.accounts.models import User
from destek.mail.actions import process_message
from destek.mail.tests.test_pipeline import compose
from destek.tickets import actions
from destek.tickets.models import Department, Ticket, TicketCC
from tests.test_browser import chromium, open_page, sign_in, site, switch_language  # noqa: F401

pytestmark = [pytest.mark.slow, pytest.mark.browser]

COLLEAGUE = "aysel.quliyeva@example.az"


def technical_ticket() -> Ticket:
    return actions.create_ticket(
        customer=User.objects.get(email="customer@example.com"),
        subject="Invoice page shows error 500",
        body="Since this morning the invoice page fails with error 500.",
        channel="web",
        department=Department.objects.get(slug="technical"),
    )


def test_the_customer_copies_a_colleague_whose_mailed_answer_appears_on_the_page(
    site: str,  # noqa: F811
    open_page: Any,  # noqa: F811
) -> None:
    ticket = technical_ticket()
    page = open_page("fa")
    sign_in(page, site, "customer@example.com")
    switch_language(page, "fa")
    page.goto(f"{site}/my/tickets/{ticket.number}/")
    assert page.get_attribute("html", "dir") == "rtl"
    page.fill("#cc-address", "Boss <boss@example.az>")
    page.click("#cc-form button[type=submit]")
    page.wait_for_selector("#cc-error")
    assert "name@example.com" in page.text_content("#cc-error")
    assert page.input_value("#cc-address") == "Boss <boss@example.az>", "nothing typed is lost"
    page.fill("#cc-address", "Aysel.Quliyeva@Example.AZ")
    page.click("#cc-form button[type=submit]")
    page.wait_for_selector("#cc-list")
    assert COLLEAGUE in page.text_content("#cc-list")
    page.shot("copied")

    # The colleague got a mail of their own, and answers it.
    [told] = [m for m in mail.outbox if m.to == [COLLEAGUE]]
    answer = compose(
        sender=f"Aysel Quliyeva <{COLLEAGUE}>",
        to=told.extra_headers["Reply-To"],
        subject=f"Re: {told.subject}",
        body="Mühasibatlıqda da eyni xəta var: 500.",
        headers={"In-Reply-To": told.extra_headers["Message-ID"]},
    )
    assert process_message(answer, "test").ticket_number == ticket.number
    page.reload()
    thread = page.text_content("section.card")
    assert "Mühasibatlıqda da eyni xəta var" in thread
    page.shot("answered")


def test_an_agent_follows_a_ticket_and_hears_of_the_next_customer_message(
    site: str,  # noqa: F811
    open_page: Any,  # noqa: F811
) -> None:
    ticket = technical_ticket()
    page = open_page("en")
    sign_in(page, site, "agent@example.com")
    switch_language(page, "en")
    page.goto(f"{site}/desk/tickets/{ticket.number}/")
    page.click("#follow-form button")
    page.wait_for_selector("#unfollow-form")
    assert "Tural" in page.text_content("#followers")
    page.fill("#cc-address", "a@example.az, b@example.az")
    page.click("#cc-form button[type=submit]")
    page.wait_for_selector("#cc-error")
    assert not TicketCC.objects.filter(ticket=ticket).exists()
    page.shot("following")
    mail.outbox.clear()
    actions.add_message(
        ticket, author=ticket.customer, body="It fails in Firefox as well.", channel="web"
    )
    assert any(
        m.to == ["agent@example.com"] and "It fails in Firefox as well." in m.body
        for m in mail.outbox
    )
