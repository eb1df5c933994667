"""The public status page in a real browser (see test_browser.py): English for a visitor,
Persian right to left in the signed-in customer's own time zone."""

from __future__ import annotations

from typing import Any

import pytest

from destek.accounts.models import User
from tests.test_browser import chromium, open_page, sign_in, site, switch_language  # noqa: F401

pytestmark = [pytest.mark.slow, pytest.mark.browser]


def test_a_visitor_reads_the_status_and_a_persian_customer_reads_it_in_their_zone(
    site: str,  # noqa: F811
    open_page: Any,  # noqa: F811
) -> None:
    visitor = open_page("en")
    visitor.goto(f"{site}/status/")
    assert visitor.locator("h1").text_content() == "Service status"
    assert visitor.locator("#service-payments .state").text_content() == "Operational"
    assert "Database upgrade in Istanbul" in (visitor.text_content("main") or "")
    visitor.shot("en")

    User.objects.filter(email="customer@example.com").update(
        language="fa", time_zone="Europe/Istanbul"
    )
    customer = open_page("fa")
    sign_in(customer, site, "customer@example.com")
    switch_language(customer, "fa")
    customer.goto(f"{site}/status/")
    assert customer.evaluate("document.documentElement.dir") == "rtl"
    main = customer.text_content("main") or ""
    assert "Europe/Istanbul" in main
    assert "پرداخت‌ها" in main  # the service's Persian name
    assert customer.locator(".badge.fallback").count() >= 1  # no Persian text: marked
    customer.shot("fa")
