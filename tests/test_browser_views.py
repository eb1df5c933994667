"""Saved views and sorting in a real browser (see test_browser.py), in Persian and English: an
agent sorts by a column, saves the queue as a view, sees its count, takes a ticket and sees
the count move."""

from __future__ import annotations

from typing import Any

import pytest

from destek.accounts.models import User
from destek.tickets.actions.intake import create_ticket
from destek.tickets.choices import Channel
from tests.test_browser import chromium, open_page, sign_in, site, switch_language  # noqa: F401

pytestmark = [pytest.mark.slow, pytest.mark.browser]


@pytest.mark.parametrize("language", ["fa", "en"])
def test_an_agent_saves_a_view_and_sees_its_count_move(
    site: str,  # noqa: F811
    open_page: Any,  # noqa: F811
    language: str,
) -> None:
    page = open_page(language)
    sign_in(page, site, "agent@example.com")
    switch_language(page, language)
    customer = User.objects.get(email="customer@example.com")
    for subject in ("Printer jams", "Scanner broken", "Mouse lost"):
        create_ticket(customer=customer, subject=subject, body="Broken.", channel=Channel.WEB)
    page.goto(f"{site}/desk/?who=unassigned")
    # Sort by subject, then the other way round, by clicking its heading.
    page.click("#queue-list th[data-sort=subject] a")
    page.wait_for_url("**sort=subject**")
    assert page.get_attribute("#queue-list th[data-sort=subject]", "aria-sort") == "ascending"
    page.click("#queue-list th[data-sort=subject] a")
    page.wait_for_url("**sort=-subject**")
    assert page.get_attribute("#queue-list th[data-sort=subject]", "aria-sort") == "descending"
    page.fill("#id_name", "Unassigned by subject")
    page.click("#view-save-button")
    page.wait_for_url("**view=**")
    assert "who=unassigned" in page.url and "sort=-subject" in page.url
    link = page.locator("#my-views a[aria-current=page]")
    assert "Unassigned by subject" in link.inner_text()
    before = link.locator(".count").inner_text()
    if language == "fa":
        assert all(not c.isascii() for c in before), before  # Persian digits
        assert page.evaluate("document.documentElement.dir") == "rtl"
    page.shot("saved")
    # Take the first ticket of the view: its count drops by one.
    page.locator("#queue-list tbody input[type=checkbox]").first.check()
    page.select_option("#bulk-bar select[name=assignee]", "me")
    page.click("#bulk-assign")
    page.wait_for_load_state()
    page.locator("#my-views a").first.click()
    page.wait_for_load_state()
    after = page.locator("#my-views a[aria-current=page] .count").inner_text()
    digits = str.maketrans("۰۱۲۳۴۵۶۷۸۹", "0123456789")
    assert int(after.translate(digits)) == int(before.translate(digits)) - 1
    page.shot("count-moved")
