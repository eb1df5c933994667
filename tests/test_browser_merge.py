"""A merge in a real browser: the agent confirms it on a page naming both tickets, and the
customer finds the merged ticket pointing to the one that continues, in English and in
Persian (right to left). Screenshots go where tests/test_browser.py puts them."""

from __future__ import annotations

import re
from typing import Any

import pytest

from destek.accounts.models import User
from destek.lib.dates import localize_digits
from destek.tickets import actions
from destek.tickets.actions import Actor
from destek.tickets.models import Ticket
from tests.test_browser import chromium, open_page, sign_in, site, switch_language  # noqa: F401

pytestmark = [pytest.mark.slow, pytest.mark.browser]


def two_tickets() -> tuple[Ticket, Ticket]:
    customer = User.objects.get(email="customer@example.com")
    target = actions.create_ticket(
        customer=customer,
        subject="Invoice page shows error 500",
        body="Since this morning the invoice page fails with error 500.",
        channel="web",
    )
    duplicate = actions.create_ticket(
        customer=customer,
        subject="Invoices cannot be opened",
        body="Every invoice link answers error 500; I need the March invoice today.",
        channel="web",
    )
    return target, duplicate


def test_the_agent_confirms_a_merge_on_a_page_naming_both_tickets(
    site: str,  # noqa: F811
    open_page: Any,  # noqa: F811
) -> None:
    target, duplicate = two_tickets()
    agent = open_page("en")
    sign_in(agent, site, "agent@example.com")
    switch_language(agent, "en")
    agent.goto(f"{site}/desk/tickets/{duplicate.number}/")
    box = agent.locator("#merge-form input[name=into]")
    reply_box = agent.locator("#reply-form textarea")
    # Styled like the other inputs: a border of the same colour, not the browser's default.
    assert box.evaluate("e => getComputedStyle(e).borderTopColor") == reply_box.evaluate(
        "e => getComputedStyle(e).borderTopColor"
    )
    box.fill(str(target.number))
    # No full-page screenshot here: taking one scrolls the page under the coming click.
    agent.click("#merge-form button[type=submit]")
    agent.wait_for_selector("#merge-confirm")
    text = agent.text_content("#merge-confirm")
    assert "Invoice page shows error 500" in text and "Invoices cannot be opened" in text
    duplicate.refresh_from_db()
    assert duplicate.merged_into_id is None, "nothing happens before the confirmation"
    agent.shot("confirm")
    agent.click("#merge-confirm-form button[type=submit]")
    agent.wait_for_url(re.compile(rf"/desk/tickets/{target.number}/$"))
    assert f"#{duplicate.number}" in agent.text_content(".moved-note")
    agent.shot("merged")


@pytest.mark.parametrize("language", ["en", "fa"])
def test_the_customer_finds_the_merged_ticket_pointing_to_the_one_that_continues(
    site: str,  # noqa: F811
    open_page: Any,  # noqa: F811
    language: str,
) -> None:
    target, duplicate = two_tickets()
    actions.merge(
        duplicate, into=target, actor=Actor.of(User.objects.get(email="agent@example.com"))
    )
    page = open_page(language)
    sign_in(page, site, "customer@example.com")
    switch_language(page, language)
    page.goto(f"{site}/my/tickets/{duplicate.number}/")
    notice = page.locator("#merged-notice")
    # A Persian page writes numbers in Persian numerals, ticket numbers too.
    assert f"#{localize_digits(str(target.number), language)}" in notice.text_content()
    assert "I need the March invoice today." in page.text_content("main")
    assert page.locator("form[action$='/reopen/']").count() == 0
    page.shot("merged")
    notice.locator("a").click()
    page.wait_for_url(re.compile(rf"/my/tickets/{target.number}/$"))
    assert f"#{localize_digits(str(duplicate.number), language)}" in page.text_content(
        ".moved-note"
    )
    page.shot("target")
