"""The survey at the end of a live chat, in a real browser: a visitor chats in the widget, the
agent (over the API) answers and ends the chat, the widget asks the survey in place, the
visitor answers "not solved" with the keyboard and the ticket is back with the team. In English
and in Persian (right to left, Persian digits), on a desktop and a phone width. The live server
has no WebSocket: this is the widget's polling path."""

from __future__ import annotations

import json
import time
import urllib.request
from typing import Any

import pytest

from destek.surveys.models import SurveyAnswer
from destek.tickets.models import Ticket
from tests.test_browser import chromium, open_page, sign_in, site, switch_language  # noqa: F401

pytestmark = [pytest.mark.slow, pytest.mark.browser]

PERSIAN_DIGITS = "۱۲۳۴۵"


def api(base: str, method: str, path: str, data: Any = None, bearer: str = "") -> Any:
    headers = {"Content-Type": "application/json", "Accept-Language": "en"}
    if bearer:
        headers["Authorization"] = f"Bearer {bearer}"
    request = urllib.request.Request(  # noqa: S310  (the live server on loopback)
        f"{base}/api/v1/{path}",
        data=json.dumps(data).encode() if data is not None else None,
        headers=headers,
        method=method,
    )
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
        return json.loads(response.read() or b"{}")


def strings(page: Any) -> dict[str, str]:
    return dict(json.loads(page.text_content("#chat-strings")))


@pytest.mark.parametrize("language", ["en", "fa"])
def test_the_widget_asks_the_survey_when_the_agent_ends_and_not_solved_reopens(
    site: str,  # noqa: F811
    open_page: Any,  # noqa: F811
    language: str,
) -> None:
    token = api(site, "POST", "auth/token", {"email": "agent@example.com", "password": "demo"})
    agent = token["token"]
    api(site, "PUT", "agents/me/presence", {"status": "online"}, bearer=agent)

    page = open_page(language)
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(f"{site}/chat/widget/?lang={language}&department=technical")
    said = strings(page)
    page.wait_for_selector("#chat-availability.online:not(.checking)")
    page.fill("#chat-name", "Leyla Aliyeva")
    page.fill("#chat-email", "leyla@example.org")
    page.fill("#chat-question", "The backup job fails every night at 02:00")
    page.click("#chat-start-button")
    page.wait_for_selector("#chat-room:not([hidden]), #chat-suggestions:not([hidden])")
    if page.is_visible("#chat-suggestions"):
        page.click("[data-suggestion-continue]")
    page.wait_for_selector("#chat-room:not([hidden])")
    kept = page.evaluate("JSON.parse(localStorage.getItem('destek-chat'))")
    chat_id, number = kept["id"], kept["ticket"]

    api(site, "POST", f"chats/{chat_id}/accept", bearer=agent)
    api(site, "POST", f"tickets/{number}/messages", {"body": "Try it now."}, bearer=agent)
    page.wait_for_selector("#chat-log li.agent:has-text('Try it now.')")
    api(site, "POST", f"chats/{chat_id}/end", {}, bearer=agent)

    # The widget asks in place, in the reader's direction and digits.
    page.wait_for_selector("#chat-survey:not([hidden])")
    assert page.is_hidden("#chat-rating")  # the quick rating gives way to the survey
    rtl = language == "fa"
    assert page.evaluate("document.documentElement.dir") == ("rtl" if rtl else "ltr")
    scale = page.locator("fieldset[data-question=speed] .chat-scale-options").text_content()
    digits = "".join(ch for ch in scale if not ch.isspace())
    assert digits == (PERSIAN_DIGITS if rtl else "12345")
    for name in ("speed", "clarity", "tone", "solved"):
        assert page.locator(f"fieldset[data-question={name}] legend").count() == 1
    page.shot("survey-desktop")
    page.set_viewport_size({"width": 390, "height": 844})
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    box = page.locator("fieldset[data-question=speed] label").first.bounding_box()
    assert box["height"] >= 40  # a thumb's size
    page.shot("survey-phone")

    # By keyboard: into each scale, arrows to the score.
    page.focus("fieldset[data-question=speed] input[value='1']")
    page.keyboard.press("Space")
    for _ in range(3):
        page.keyboard.press("ArrowLeft" if rtl else "ArrowRight")
    assert page.is_checked("fieldset[data-question=speed] input[value='4']")
    page.check("fieldset[data-question=clarity] input[value='4']")
    page.check("fieldset[data-question=tone] input[value='5']")
    # Sent without "solved": told which question, in the reader's language; nothing lost.
    page.click("#chat-survey-send")
    assert page.text_content("#chat-survey-error") == said["survey_solved"]
    assert page.get_attribute("fieldset[data-question=solved]", "aria-invalid") == "true"
    assert page.evaluate("document.activeElement.name") == "solved"
    page.check("fieldset[data-question=solved] input[value=no]")
    page.fill("#chat-survey-comment", "It still fails.")
    page.click("#chat-survey-send")

    page.wait_for_selector("#chat-survey-thanks:not([hidden])")
    thanks = page.text_content("#chat-survey-thanks-text")
    shown = str(number).translate(str.maketrans("0123456789", "۰" + PERSIAN_DIGITS + "۶۷۸۹"))
    assert thanks == said["survey_reopened"].replace("{number}", shown if rtl else str(number))
    assert page.evaluate("document.activeElement.id") == "chat-survey-thanks-text"
    page.shot("survey-thanks")
    ticket = Ticket.objects.get(number=number)
    assert ticket.status == "open"
    answer = SurveyAnswer.objects.get(ticket=ticket)
    assert (answer.speed, answer.clarity, answer.tone, answer.solved) == (4, 4, 5, False)
    assert answer.comment == "It still fails."
    assert errors == []

    # The agent reads the answer on the chat's page in the desk.
    desk = open_page(language)
    sign_in(desk, site, "agent@example.com")
    switch_language(desk, language)
    desk.goto(f"{site}/desk/chats/{chat_id}/")
    line = desk.text_content("#survey-answer")
    assert "It still fails." in line
    assert ("۴" if rtl else "4") in line
    desk.shot("desk-chat")


def test_a_reload_comes_back_to_the_survey_and_skipping_it_is_fine(
    site: str,  # noqa: F811
    open_page: Any,  # noqa: F811
) -> None:
    agent = api(site, "POST", "auth/token", {"email": "agent@example.com", "password": "demo"})[
        "token"
    ]
    api(site, "PUT", "agents/me/presence", {"status": "online"}, bearer=agent)
    page = open_page("en")
    page.goto(f"{site}/chat/widget/?lang=en&department=technical")
    page.wait_for_selector("#chat-availability.online:not(.checking)")
    page.fill("#chat-name", "Leyla")
    page.fill("#chat-email", "leyla@example.org")
    page.fill("#chat-question", "Invoice 2291 shows the wrong VAT")
    page.click("#chat-start-button")
    page.wait_for_selector("#chat-room:not([hidden]), #chat-suggestions:not([hidden])")
    if page.is_visible("#chat-suggestions"):
        page.click("[data-suggestion-continue]")
    page.wait_for_selector("#chat-room:not([hidden])")
    kept = page.evaluate("JSON.parse(localStorage.getItem('destek-chat'))")
    api(site, "POST", f"chats/{kept['id']}/accept", bearer=agent)
    api(site, "POST", f"tickets/{kept['ticket']}/messages", {"body": "Fixed."}, bearer=agent)
    page.wait_for_selector("#chat-log li.agent")
    # The visitor ends it themselves: the survey follows all the same.
    page.click("#chat-end")
    page.wait_for_selector("#chat-survey:not([hidden])")
    page.reload()
    page.wait_for_selector("#chat-survey:not([hidden])")
    page.click("#chat-survey-skip")
    assert page.is_hidden("#chat-survey")
    deadline = time.monotonic() + 5
    while page.evaluate("JSON.parse(localStorage.getItem('destek-chat')).survey") != "done":
        assert time.monotonic() < deadline
        time.sleep(0.1)
    page.reload()
    page.wait_for_selector("#chat-start:not([hidden])")  # skipped: not asked again
    assert not SurveyAnswer.objects.exists()
