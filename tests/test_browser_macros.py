"""Macros in a real browser (see test_browser.py), in Persian and English: the picker shows
what a macro will do, its reply goes into the reply box to edit, and applying it changes the
ticket at once."""

from __future__ import annotations

import time
from typing import Any

import pytest

from destek.accounts.models import User
from destek.tickets.actions.intake import create_ticket
from destek.tickets.choices import Channel
from destek.tickets.models import Department, Ticket
from tests.test_browser import chromium, open_page, sign_in, site, switch_language  # noqa: F401

pytestmark = [pytest.mark.slow, pytest.mark.browser]

SUBJECTS = {
    "fa": ("برنامه هنگام خروجی گرفتن بسته می‌شود", "از دیروز با زدن دکمه‌ی خروجی برنامه بسته می‌شود."),
    "en": ("The app closes on export", "Since yesterday the app closes when I press export."),
}


def _visible(page: Any, selector: str) -> None:
    """Poll (the page's CSP forbids the string scripts `wait_for_function` sends)."""
    for _ in range(100):
        if page.locator(selector).count() and page.locator(selector).first.is_visible():
            return
        time.sleep(0.1)
    raise AssertionError(selector)


@pytest.mark.parametrize("language", ["fa", "en"])
def test_an_agent_previews_edits_and_applies_a_macro(
    site: str,  # noqa: F811
    open_page: Any,  # noqa: F811
    language: str,
) -> None:
    subject, body = SUBJECTS[language]
    ticket = create_ticket(
        customer=User.objects.get(email="customer@example.com"),
        subject=subject,
        body=body,
        channel=Channel.WEB,
        department=Department.objects.get(slug="technical"),
        language=language,
    )
    page = open_page(language)
    sign_in(page, site, "agent@example.com")
    switch_language(page, language)
    page.goto(f"{site}/desk/tickets/{ticket.number}/")
    assert page.locator("#macro-show").is_hidden()  # htmx previews on choosing
    screenshot = "درخواست تصویر صفحه" if language == "fa" else "Ask for a screenshot"
    page.select_option("#macro-select", label=screenshot)
    _visible(page, "#macro-preview .macro-reply")
    preview = page.text_content("#macro-preview")
    assert "Kamran" in preview and "screenshot-asked" in preview
    page.shot("preview")
    page.click("#macro-insert")
    assert "Kamran" in page.input_value("#id_reply_body")
    assert page.input_value("#id_reply_status") == "pending"
    page.locator("#reply-form").scroll_into_view_if_needed()
    page.shot("inserted")
    page.click("#macro-apply")
    page.wait_for_load_state()
    ticket = Ticket.objects.get(pk=ticket.pk)
    assert ticket.status == "pending"
    assert list(ticket.tags.values_list("name", flat=True)) == ["screenshot-asked"]
    assert page.locator("#ticket-error").count() == 0
    page.locator(
        "h2", has_text="History" if language == "en" else "تاریخچه"
    ).scroll_into_view_if_needed()
    page.shot("applied")
    page.goto(f"{site}/desk/macros/")
    page.fill("#id_name", "Logs" if language == "en" else "لاگ‌ها")
    page.fill("#id_body", "Please send the logs, {customer_name}.")
    page.click("#macro-new button[type=submit]")
    page.wait_for_load_state()
    assert page.locator("#my-macros li").count() == 1
    page.shot("my-macros")
