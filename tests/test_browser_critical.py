"""A critical incident on the new-ticket form, in a real browser (see test_browser.py): the
facts it needs appear when the customer picks critical, and a missing start time is refused
next to its field with nothing lost."""

from __future__ import annotations

from typing import Any

import pytest

from destek.accounts.models import User
from destek.tickets.models import Ticket
from tests.test_browser import chromium, open_page, sign_in, site, switch_language

pytestmark = [pytest.mark.slow, pytest.mark.browser]
__all__ = ["chromium", "open_page", "site"]  # fixtures this module uses


def test_picking_critical_asks_for_the_facts_and_the_start_time(site: str, open_page: Any) -> None:
    page = open_page("en")
    sign_in(page, site, "customer@example.com")
    switch_language(page, "en")
    page.goto(f"{site}/my/tickets/new/")
    page.select_option("select[name=department]", label="Finance")  # asks no technical details
    assert not page.is_visible("#critical-details")
    assert not page.is_visible("#when-details")
    page.select_option("select[name=urgency]", "critical")
    assert page.is_visible("#critical-details")
    assert page.is_visible("#when-details")  # the start time, though Finance asks no details
    assert not page.is_visible("#technical-details")
    page.fill("input[name=subject]", "Billing panel is down for everyone")
    page.fill("textarea[name=body]", "The billing panel answers 502 to every request.")
    page.fill("input[name=order_number]", "#123456")
    page.fill("input[name=service_name]", "Billing panel")
    page.fill("input[name=time_zone]", "Asia/Baku")
    page.evaluate("document.getElementById('new-ticket').noValidate = true")
    page.click("#new-ticket button[type=submit]")
    page.wait_for_load_state()
    page.shot("refused")
    assert not Ticket.objects.exists()
    # The refusal stands right before the start-time field.
    error = page.evaluate(
        "document.querySelector('input[name=started_at]').previousElementSibling.textContent"
    )
    assert "say when it started" in error
    assert page.is_visible("#when-details")
    assert page.input_value("input[name=service_name]") == "Billing panel"
    page.fill("input[name=started_at]", "today 21:10")
    page.click("#new-ticket button[type=submit]")
    page.wait_for_url("**/my/tickets/*/")
    ticket = Ticket.objects.get()
    assert (ticket.priority, ticket.declared_critical) == ("critical", True)
    assert User.objects.get(email="customer@example.com").language == "en"  # the header's
