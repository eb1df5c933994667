"""Ticket search and a customer's page in a real browser (see test_browser.py), in Persian and
English: words in another script and without their letter marks, a misspelt word, a number."""

from __future__ import annotations

from typing import Any

import pytest

from destek.accounts.models import User
from destek.tickets.actions.intake import create_ticket
from destek.tickets.choices import Channel
from destek.tickets.search_jobs import index_all
from tests.test_browser import chromium, open_page, sign_in, site, switch_language  # noqa: F401

pytestmark = [pytest.mark.slow, pytest.mark.browser]


@pytest.mark.parametrize("language", ["fa", "en"])
def test_an_agent_searches_in_any_script_and_opens_the_customer(
    site: str,  # noqa: F811
    open_page: Any,  # noqa: F811
    language: str,
) -> None:
    customer = User.objects.get(email="customer@example.com")
    for subject, body in (
        ("Сервер полностью не отвечает", "С утра сервер не отвечает на ping."),
        ("Sunucu tamamen kullanılamıyor", "Sunucuya bağlanılamıyor."),
        ("Export the attendee list", "How do I export the attendees of my event?"),
    ):
        create_ticket(customer=customer, subject=subject, body=body, channel=Channel.WEB)
    index_all()  # as the worker does seconds after each ticket
    page = open_page(language)
    sign_in(page, site, "agent@example.com")
    switch_language(page, language)
    page.goto(f"{site}/desk/")
    for query in ("сервер", "kullanilamiyor", "attendes"):
        page.fill("#search-q", query)
        page.click("#ticket-search button[type=submit]")
        page.wait_for_load_state()
        assert page.locator("#queue-list tbody tr").count() >= 1, query
    page.shot("found")
    assert page.locator("#queue-list mark").count() >= 1
    number = page.locator("#queue-list tbody tr").first.get_attribute("data-ticket")
    page.fill("#search-q", f"#{number}")
    page.click("#ticket-search button[type=submit]")
    page.wait_for_url(f"**/desk/tickets/{number}/")
    page.locator("a[href*='/desk/customers/']").first.click()
    page.wait_for_url("**/desk/customers/*/")
    assert page.locator("h1").count() == 1
    expected = "rtl" if language == "fa" else "ltr"
    assert page.evaluate("document.documentElement.dir") == expected
    page.shot("customer")
