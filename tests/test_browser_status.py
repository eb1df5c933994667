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


def test_a_persian_visitor_subscribes_confirms_and_is_told_and_a_customer_sees_the_banner(
    site: str,  # noqa: F811
    open_page: Any,  # noqa: F811
) -> None:
    import re

    from destek.announcements import actions
    from destek.notify.models import Delivery

    visitor = open_page("fa")
    visitor.goto(f"{site}/status/")
    switch_language(visitor, "fa")
    visitor.click("a[href='/status/subscribe/']")
    visitor.fill("input[name=email]", "parisa@example.net")
    visitor.locator("main form button[type=submit]").first.click()
    visitor.wait_for_load_state()
    visitor.shot("fa-sent")
    incident = actions.create_incident(
        None,
        title={"en": "Card payments fail", "fa": "پرداخت با کارت انجام نمی‌شود"},
        body={"en": "We are looking into it.", "fa": "در حال بررسی هستیم."},
        services=["payments"],
        impact="major_outage",
    )
    mails = Delivery.objects.filter(recipient="parisa@example.net")
    assert mails.count() == 1  # only the confirmation: nothing before it is confirmed
    link = re.search(r"/status/subscribe/confirm/\S+/", mails.get().body_text)
    assert link is not None
    visitor.goto(site + link.group(0))
    visitor.locator("main form button[type=submit]").first.click()
    visitor.wait_for_load_state()
    visitor.shot("fa-confirmed")

    actions.add_incident_update(
        None, incident, body={"fa": "علت پیدا شد.", "en": "Found it."}, state="identified"
    )
    notices = mails.exclude(template__contains="confirm")
    assert notices.count() == 1
    assert "پرداخت با کارت انجام نمی‌شود" in notices.get().subject

    customer = open_page("az")
    sign_in(customer, site, "customer@example.com")
    switch_language(customer, "az")
    customer.goto(f"{site}/my/tickets/new/")
    banner = customer.locator(".status-banner")
    assert "Card payments fail" in (banner.text_content() or "")  # no Azerbaijani: English
    assert banner.locator(".badge.fallback").count() >= 1
    customer.shot("az-banner")
    banner.locator("a").first.click()
    customer.wait_for_load_state()
    assert f"/status/incidents/{incident.pk}/" in customer.url
    customer.locator("form[action$='/follow/'] button[type=submit]").click()
    customer.wait_for_load_state()
    customer.shot("az-following")
