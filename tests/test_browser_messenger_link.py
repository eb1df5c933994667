"""Linking a Telegram chat from the portal profile in a real browser: a customer who wrote to
the bot as a stranger opens their profile, gets the one-time deep link, and the test posts
`/start <token>` to the webhook as Telegram does when the link is opened; the profile then
shows the chat connected and the earlier ticket is the customer's. Against the stand-in Bot
API on loopback. Screenshots go where tests/test_browser.py puts them."""

from __future__ import annotations

import json
import re
import urllib.request
from typing import Any

import pytest

from destek.accounts.models import User
from destek.messaging.models import Contact
from destek.messaging.tests import standin
from destek.messaging.tests.test_telegram import add_telegram, bot_api  # noqa: F401
from destek.tickets.models import Ticket
from tests.test_browser import (  # noqa: F401
    SHOTS,
    chromium,
    open_page,
    sign_in,
    site,
    switch_language,
)

pytestmark = [pytest.mark.slow, pytest.mark.browser]

UPDATE_IDS = iter(range(5000, 100000))


def telegram_posts(base: str, channel: dict[str, Any], text: str) -> None:
    """What Telegram sends to the webhook when user 5551 writes `text` to the bot."""
    update = {
        "update_id": next(UPDATE_IDS),
        "message": {
            "message_id": next(UPDATE_IDS),
            "date": 1700000000,
            "chat": {"id": 5551, "type": "private", "first_name": "Aysel"},
            "from": {
                "id": 5551,
                "is_bot": False,
                "first_name": "Aysel",
                "last_name": "Məmmədova",
                "username": "aysel_m",
                "language_code": "az",
            },
            "text": text,
        },
    }
    request = urllib.request.Request(  # noqa: S310  (the live server on loopback)
        f"{base}/channels/telegram/{channel['id']}/webhook",
        data=json.dumps(update).encode(),
        headers={
            "Content-Type": "application/json",
            "X-Telegram-Bot-Api-Secret-Token": channel["secret"],
        },
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
        assert response.status == 200


def section_shot(page: Any, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.locator("#messengers").screenshot(path=str(SHOTS / f"messenger-link-{name}.png"))


@pytest.mark.parametrize("language", ["en", "fa"])
def test_a_customer_links_their_telegram_chat_from_the_portal_profile(
    site: str,  # noqa: F811
    open_page: Any,  # noqa: F811
    bot_api: standin.BotApi,  # noqa: F811
    language: str,
) -> None:
    channel = add_telegram(bot_api.url)
    telegram_posts(site, channel, "Saytım açılmır, 502 xətası verir")
    stranger = Contact.objects.get(external_user_id="5551").customer
    ticket = Ticket.objects.get(customer=stranger)

    page = open_page(language)
    sign_in(page, site, "customer@example.com")
    page.goto(f"{site}/my/profile/#messengers")
    switch_language(page, language)  # the customer's own language is Azerbaijani
    assert page.locator("#messenger-contacts").count() == 0
    section_shot(page, f"{language}-1-offered")
    page.click("#messengers form[action*='/messengers/link/'] button")
    page.wait_for_load_state()
    href = page.get_attribute("#telegram-link", "href") or ""
    found = re.fullmatch(r"https://t\.me/allin_support_bot\?start=([A-Za-z0-9_-]{20,64})", href)
    assert found, href
    assert page.input_value("#telegram-link-text") == href
    section_shot(page, f"{language}-2-link")
    page.shot(f"{language}-link")

    # The person opens the link in Telegram and presses Start: Telegram posts /start <token>.
    bot_api.calls.clear()
    telegram_posts(site, channel, f"/start {found.group(1)}")
    [answer] = [sent["text"] for sent in bot_api.sent("sendMessage")]
    assert "customer@example.com" in answer

    page.goto(f"{site}/my/profile/#messengers")
    contacts = page.locator("#messenger-contacts")
    assert contacts.count() == 1
    assert "Aysel" in contacts.inner_text() and "@aysel_m" in contacts.inner_text()
    section_shot(page, f"{language}-3-linked")
    customer = User.objects.get(email="customer@example.com")
    ticket.refresh_from_db()
    assert ticket.customer == customer
    page.goto(f"{site}/my/tickets/")
    assert ticket.subject in page.inner_text("main")  # the number is in Persian digits in fa

    # Disconnecting it again from the profile.
    page.goto(f"{site}/my/profile/#messengers")
    page.click("#messenger-contacts button[type=submit]")
    page.wait_for_load_state()
    assert page.locator("#messenger-contacts").count() == 0
    assert Contact.objects.get(external_user_id="5551").linked_at is None
