"""The chat widget in a real browser (see test_browser.py): said honestly offline before
anything is typed, the pre-chat form in Persian and English, on a phone, from the portal's
button and from another site's one-line script. The conversation with an agent needs the chat
API and the socket; its end-to-end test comes with them."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from destek.chat.identity import signature_for
from tests.test_browser import chromium, open_page, sign_in, site

pytestmark = [pytest.mark.slow, pytest.mark.browser]
__all__ = ["chromium", "open_page", "site"]  # fixtures this module uses

SECRET = "the-shops-long-random-secret"


@pytest.fixture
def shop_site() -> Iterator[Callable[[str], str]]:
    """Another site on loopback (127.0.0.1, while Destek is on localhost): a different origin
    and site, in the same address space, so Chrome's private-network rules do not interfere."""
    servers: list[ThreadingHTTPServer] = []

    def serve(html: str) -> str:
        body = html.encode()

        class Shop(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        server = ThreadingHTTPServer(("127.0.0.1", 0), Shop)
        servers.append(server)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        return f"http://127.0.0.1:{server.server_address[1]}/"

    yield serve
    for server in servers:
        server.shutdown()
        server.server_close()


def watch_errors(page: Any) -> list[str]:
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    return errors


def strings(frame: Any) -> dict[str, str]:
    return dict(json.loads(frame.text_content("#chat-strings")))


def test_the_persian_widget_says_nobody_is_there_and_fits_a_phone(
    site: str, open_page: Any
) -> None:
    page = open_page("fa")
    page.set_viewport_size({"width": 390, "height": 780})
    errors = watch_errors(page)
    page.goto(f"{site}/chat/widget/?lang=fa&department=technical")
    assert page.evaluate("document.documentElement.dir") == "rtl"
    assert page.evaluate("getComputedStyle(document.body).direction") == "rtl"
    said = strings(page)
    # Asked again by the script for the chosen department: still nobody.
    page.wait_for_selector("#chat-availability.offline:not(.checking)")
    assert said["offline"] in page.text_content("#chat-availability")
    assert page.text_content("#chat-start-button").strip() == said["send_question"]
    for field in ("#chat-name", "#chat-email", "#chat-department", "#chat-question"):
        assert page.is_visible(field), field
        label = page.evaluate(f"document.querySelector('{field}').labels.length")
        assert label == 1, field
    # Mirrored: a field's label starts at the right edge.
    label = page.locator("label[for=chat-question]").bounding_box()
    question = page.locator("#chat-question").bounding_box()
    assert abs((label["x"] + label["width"]) - (question["x"] + question["width"])) < 2
    # Nothing wider than the phone.
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    page.shot("fa-offline")
    assert errors == []


def test_the_english_form_checks_its_fields_and_keeps_the_question_when_sending_fails(
    site: str, open_page: Any
) -> None:
    page = open_page("en")
    errors = watch_errors(page)
    page.goto(f"{site}/chat/widget/?lang=en")
    said = strings(page)
    page.click("#chat-start-button")
    assert page.text_content("#chat-name-error") == said["name_required"]
    assert page.get_attribute("#chat-name", "aria-invalid") == "true"
    assert page.evaluate("document.activeElement.id") == "chat-name"
    page.fill("#chat-name", "Leyla Aliyeva")
    page.fill("#chat-email", "leyla@example.org")
    question = "How do I reset my password?"
    page.fill("#chat-question", question)
    # The network fails when the question is sent: it stays in the box, with the reason.
    page.route("**/api/v1/chats", lambda route: route.abort())
    page.click("#chat-start-button")
    page.wait_for_selector("#chat-suggestions:not([hidden]), #chat-start-error:not([hidden])")
    if page.is_visible("#chat-suggestions"):  # the help centre has an answer first
        assert page.locator("[data-suggestion-list] li").count() >= 1
        page.shot("suggestions")
        page.click("[data-suggestion-continue]")
    page.wait_for_selector("#chat-start-error:not([hidden])")
    assert page.text_content("#chat-start-error") == said["offline_network"]
    assert page.input_value("#chat-question") == question
    assert page.input_value("#chat-email") == "leyla@example.org"
    page.shot("kept")
    assert errors == []


def test_a_customer_opens_the_widget_from_the_portals_button_without_giving_a_name(
    site: str, open_page: Any
) -> None:
    page = open_page("en")
    sign_in(page, site, "customer@example.com")
    errors = watch_errors(page)
    page.goto(f"{site}/my/tickets/")
    page.click("#chat-launcher")
    assert page.get_attribute("#chat-launcher", "aria-expanded") == "true"
    frame = page.frame_locator("iframe[src*='/chat/widget/']")
    frame.locator("#chat-question").wait_for()
    assert "customer@example.com" in frame.locator(".chat-known").text_content()
    assert frame.locator("#chat-name").count() == 0
    # The widget's script shows its close button once it runs (slower on a loaded machine).
    frame.locator("[data-chat-close]").wait_for(state="visible", timeout=10_000)
    page.shot("panel")
    frame.locator("#chat-question").press("Escape")
    page.wait_for_selector("iframe[src*='/chat/widget/']", state="hidden")
    assert page.evaluate("document.activeElement.id") == "chat-launcher"
    assert errors == []


def test_another_site_embeds_the_widget_with_its_signed_in_user(
    site: str, open_page: Any, settings: Any, shop_site: Callable[[str], str]
) -> None:
    settings.DESTEK_CHAT_SITES = {"shop": SECRET}
    stamp = str(int(time.time()))
    signature = signature_for(SECRET, "u-42", "leyla@shop.example", stamp)
    host = (
        '<!DOCTYPE html><html lang="fa"><head><title>Shop</title></head><body><h1>Shop</h1>'
        f'<script src="{site}/static/destek/chat-embed.js" data-destek-department="technical" '
        'data-destek-site="shop" data-destek-user-id="u-42" '
        f'data-destek-email="leyla@shop.example" data-destek-timestamp="{stamp}" '
        f'data-destek-signature="{signature}" data-destek-label="Chat" async></script>'
        "</body></html>"
    )
    page = open_page("fa")
    errors = watch_errors(page)
    shop = shop_site(host)
    page.goto(shop + "?reset_token=secret#top")
    page.click("button:has-text('Chat')")
    frame = page.frame_locator("iframe[src*='/chat/widget/']")
    frame.locator("#chat-question").wait_for()
    # The agent will see the page the visitor is on, never its query (a token may be there).
    src = page.locator("iframe[src*='/chat/widget/']").get_attribute("src") or ""
    assert parse_qs(urlsplit(src).query)["page"] == [shop]
    assert "leyla@shop.example" in frame.locator(".chat-known").text_content()
    assert frame.locator("#chat-email").count() == 0
    assert frame.locator("html").get_attribute("dir") == "rtl"
    page.shot("embedded")
    assert errors == []
