"""The satisfaction survey asked in a Telegram chat, seen by the agent: a customer writes to the
bot, the ticket is resolved, the customer presses the survey's buttons (the test posts the
callback queries Telegram would) and answers unhappily; the desk's ticket page then shows the
ticket open again with the rating's note. Against the stand-in Bot API on loopback."""

from __future__ import annotations

import json
import urllib.request
from typing import Any

import pytest
from django.db import transaction

from destek.accounts.models import User
from destek.messaging.tests import standin
from destek.messaging.tests.test_telegram import add_telegram, bot_api  # noqa: F401
from destek.surveys.models import SurveyAnswer
from destek.tickets import actions as tickets
from destek.tickets.choices import TicketStatus
from destek.tickets.models import Ticket
from tests.test_browser import (  # noqa: F401
    SHOTS,
    chromium,
    open_page,
    sign_in,
    site,
)
from tests.test_browser_messenger_link import telegram_posts

pytestmark = [pytest.mark.slow, pytest.mark.browser]

UPDATE_IDS = iter(range(900000, 1000000))


def press(base: str, channel: dict[str, Any], data: str) -> None:
    update = standin.button_press(data, update_id=next(UPDATE_IDS), language="az")
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


def keyboard(api: standin.BotApi) -> list[dict[str, Any]]:
    asked = [m for m in api.sent("sendMessage") if m.get("reply_markup")]
    return standin.keyboard(asked[-1])


def test_an_unhappy_answer_in_telegram_shows_on_the_desk_ticket_page(
    site: str,  # noqa: F811
    open_page: Any,  # noqa: F811
    bot_api: standin.BotApi,  # noqa: F811
    settings: Any,
) -> None:
    settings.DESTEK_SURVEY_DELAY_MINUTES = 0
    channel = add_telegram(bot_api.url)
    telegram_posts(site, channel, "Saytım açılmır, 502 xətası verir")
    ticket = Ticket.objects.get(customer__messenger_contacts__external_user_id="5551")
    agent = User.objects.get(email="agent@example.com")
    User.objects.filter(pk=agent.pk).update(language="en")
    with transaction.atomic():
        tickets.change_status(ticket, actor=tickets.Actor.of(agent), status=TicketStatus.RESOLVED)
    for index in (3, 1, 2):  # speed 4, clarity 2, politeness 3
        press(site, channel, keyboard(bot_api)[index]["callback_data"])
    press(site, channel, keyboard(bot_api)[1]["callback_data"])  # not solved
    telegram_posts(site, channel, "Sayt hələ də açılmır")  # the comment
    answer = SurveyAnswer.objects.get(ticket=ticket)
    assert (answer.speed, answer.clarity, answer.tone, answer.solved) == (4, 2, 3, False)
    assert answer.comment == "Sayt hələ də açılmır"
    said = [m["text"] for m in bot_api.sent("sendMessage")]
    assert any("Sürət" in t or "sürət" in t or "cavab" in t for t in said)  # in Azerbaijani

    page = open_page("en")
    sign_in(page, site, "agent@example.com")
    page.goto(f"{site}/desk/tickets/{ticket.number}/")
    main = page.inner_text("main")
    assert "4/5" in main and "2/5" in main  # the rating's note (in the customer's language)
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "messenger-survey-desk-ticket.png"), full_page=True)
