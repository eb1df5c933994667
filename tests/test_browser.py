"""The portal and the desk in a real browser: Debian's Chromium driven by Playwright.

The pages are served by pytest-django's live server on loopback, on the test database; queued
jobs run inline after each commit, so mail lands in `django.core.mail.outbox`. Screenshots of
each step go to `var/screenshots/` (or `$DESTEK_SCREENSHOTS`) for a person to look at.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.core import mail

from destek.accounts.models import User
from destek.demo.data import load_demo
from destek.tickets.models import Attachment, Department, Message, Ticket

pytestmark = [pytest.mark.slow, pytest.mark.browser]

ROOT = Path(__file__).resolve().parent.parent
SHOTS = Path(os.environ.get("DESTEK_SCREENSHOTS", ROOT / "var" / "screenshots"))
CHROMIUM = os.environ.get("DESTEK_CHROMIUM", "/usr/bin/chromium")
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    # Screen capture without a person to pick the screen: a fake, moving test picture.
    "--use-fake-ui-for-media-stream",
    "--use-fake-device-for-media-stream",
    "--auto-select-desktop-capture-source=Entire screen",
]


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    """One browser for this module; torn down before tests of other modules run."""
    if not shutil.which(CHROMIUM):
        pytest.fail(f"{CHROMIUM} is missing: `apt-get install chromium` (.ci/run does).")
    from playwright.sync_api import sync_playwright

    # Playwright's synchronous API keeps an event loop in this thread; the ORM calls the tests
    # make between browser steps are still plain synchronous code. Set only while the browser
    # lives, so no other test (the deploy check reads the environment) sees it.
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "1"
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
            yield browser
            browser.close()
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture
def site(live_server: Any, transactional_db: Any) -> str:
    load_demo()
    return str(live_server.url)


@pytest.fixture
def open_page(chromium: Any, request: pytest.FixtureRequest) -> Iterator[Any]:
    """A fresh browser profile per person; screenshots named after the test."""
    contexts: list[Any] = []

    def make(language: str = "en") -> Any:
        context = chromium.new_context(locale=language, viewport={"width": 1280, "height": 900})
        context.set_default_timeout(15_000)
        contexts.append(context)
        page = context.new_page()
        page.shot = lambda step: shot(page, request.node.name, step)  # type: ignore[attr-defined]
        return page

    yield make
    for context in contexts:
        context.close()


def shot(page: Any, test: str, step: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{test}-{step}.png"), full_page=True)


def sign_in(page: Any, site: str, email: str) -> None:
    page.goto(f"{site}/sign-in/")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", "demo")
    page.click("main button[type=submit]")
    page.wait_for_load_state()
    assert "/sign-in/" not in page.url, page.text_content("main")


def switch_language(page: Any, code: str) -> None:
    """The switcher in the header: the choice outlives the page (a cookie)."""
    page.select_option("#language", code)
    page.click("form[action$='/setlang/'] button[type=submit]")
    page.wait_for_load_state()
    assert page.evaluate("document.documentElement.lang") == code


def test_a_ticket_goes_from_customer_to_agent_and_back(
    site: str, open_page: Any, tmp_path: Path
) -> None:
    screenshot = tmp_path / "error.png"
    screenshot.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 2048)

    customer = open_page("en")
    sign_in(customer, site, "customer@example.com")
    switch_language(customer, "en")
    customer.click("header .support-button")
    customer.select_option("select[name=department]", label="Technical")
    customer.fill("input[name=subject]", "Reports page stays blank")
    customer.fill("textarea[name=body]", "Since 09:10 the reports page shows nothing.")
    customer.set_input_files("input[name=attachments]", str(screenshot))
    assert "error.png" in customer.text_content("[data-file-list]")
    customer.shot("form")
    customer.click("#new-ticket button[type=submit]")
    customer.wait_for_url(re.compile(r"/my/tickets/\d+/$"))
    ticket = Ticket.objects.get(subject="Reports page stays blank")
    assert f"#{ticket.number}" in customer.text_content("h1")
    assert customer.is_visible("a[download]:has-text('error.png')")
    # What the browser knew was filled in without asking.
    assert ticket.details["device"] == "computer"
    assert ticket.details["time_zone"]
    customer.shot("filed")

    agent = open_page("az")
    sign_in(agent, site, "agent@example.com")
    agent.goto(f"{site}/desk/")
    agent.click(f"text=#{ticket.number}")
    agent.fill("#reply-form textarea[name=body]", "Salam! Yoxlayırıq.")
    agent.shot("reply")
    agent.click("#reply-form button[type=submit]")
    agent.wait_for_load_state()
    assert Message.objects.filter(ticket=ticket, body="Salam! Yoxlayırıq.").exists()

    customer.reload()
    assert "Salam! Yoxlayırıq." in customer.text_content("main")
    customer.click("form[action$='/close/'] button")
    customer.wait_for_load_state()
    assert "Closed" in customer.text_content("#ticket-status")
    customer.click("form[action$='/reopen/'] button")
    customer.wait_for_load_state()
    ticket.refresh_from_db()
    assert ticket.status == "open"
    customer.shot("reopened")


def test_the_persian_portal_reads_right_to_left(site: str, open_page: Any) -> None:
    page = open_page("fa")
    sign_in(page, site, "customer@example.com")
    switch_language(page, "fa")
    page.goto(f"{site}/my/tickets/")
    assert page.evaluate("document.documentElement.dir") == "rtl"
    assert page.evaluate("getComputedStyle(document.body).direction") == "rtl"
    width = page.evaluate("document.documentElement.clientWidth")
    brand = page.locator("header .brand").bounding_box()
    nav = page.locator("header nav").bounding_box()
    # Mirrored: the brand sits at the right edge, the navigation on the left.
    assert brand["x"] + brand["width"] > width * 0.8
    assert nav["x"] < brand["x"]
    assert "تیکت" in page.text_content("main")
    page.shot("fa")


def test_a_visitor_sees_a_ticket_with_a_code_from_the_mail(site: str, open_page: Any) -> None:
    owner = User.objects.get(email="customer@example.com")
    from destek.tickets import actions

    ticket = actions.create_ticket(
        customer=owner, subject="Wallet top-up failed", body="Twice.", channel="web"
    )
    mail.outbox.clear()
    page = open_page("en")
    page.goto(site)
    page.fill("input[name=number]", str(ticket.number))
    page.fill("input[name=email]", "customer@example.com")
    page.click("form[action$='/status/'] button[type=submit]")
    page.wait_for_url(re.compile(r"/status/[0-9a-f-]+/$"))
    code = re.search(r"\b(\d{6})\b", mail.outbox[-1].body)
    assert code is not None
    page.fill("input[name=code]", code.group(1))
    page.click("main button[type=submit]")
    page.wait_for_load_state()
    assert "Wallet top-up failed" in page.text_content("main")
    page.shot("status")


def test_a_file_over_the_limit_is_refused_before_upload(
    site: str, open_page: Any, settings: Any, tmp_path: Path
) -> None:
    settings.DESTEK_MAX_ATTACHMENT_MB = 1
    big = tmp_path / "big.zip"
    big.write_bytes(b"0" * (1024 * 1024 + 1))
    page = open_page("en")
    sign_in(page, site, "customer@example.com")
    switch_language(page, "en")
    page.goto(f"{site}/my/tickets/new/")
    page.set_input_files("input[name=attachments]", str(big))
    error = page.locator("[data-file-error]")
    assert error.is_visible()
    assert "big.zip is larger than 1 MB" in error.text_content()
    assert page.evaluate("document.querySelector('input[name=attachments]').files.length") == 0


def test_the_record_button_attaches_a_screen_recording(site: str, open_page: Any) -> None:
    page = open_page("en")
    sign_in(page, site, "customer@example.com")
    switch_language(page, "en")
    page.goto(f"{site}/my/tickets/new/")
    page.click("[data-record-start]")
    page.wait_for_selector("[data-record-start][aria-pressed=true]")
    page.wait_for_timeout(1500)
    page.click("[data-record-start]")
    page.wait_for_selector("text=The recording was attached")
    names = page.text_content("[data-file-list]")
    assert ".webm" in names
    page.fill("input[name=subject]", "The order page freezes")
    page.fill("textarea[name=body]", "See the recording.")
    page.click("#new-ticket button[type=submit]")
    page.wait_for_url(re.compile(r"/my/tickets/\d+/$"))
    attachment = Attachment.objects.get()
    assert attachment.filename.endswith(".webm")
    assert attachment.size > 1000
    page.shot("recorded")


@pytest.mark.parametrize("language", ["az", "fa", "ru", "tr", "en"])
def test_both_sides_speak_each_language(site: str, open_page: Any, language: str) -> None:
    from django.utils import translation

    from destek.tickets import actions

    owner = User.objects.get(email="customer@example.com")
    ticket = actions.create_ticket(
        customer=owner,
        subject="Reports page stays blank",
        body="Since 09:10.",
        channel="web",
        department=Department.objects.get(slug="technical"),
    )
    with translation.override(language):
        support = translation.gettext("Support")
        queue = translation.gettext("Queue")
    direction = "rtl" if language == "fa" else "ltr"

    customer = open_page(language)
    sign_in(customer, site, "customer@example.com")
    switch_language(customer, language)
    for step, path in (
        ("tickets", "/my/tickets/"),
        ("new", "/my/tickets/new/"),
        ("ticket", f"/my/tickets/{ticket.number}/"),
    ):
        customer.goto(f"{site}{path}")
        assert customer.evaluate("document.documentElement.dir") == direction
        assert customer.text_content("header .support-button").strip() == support
        customer.shot(f"customer-{step}")

    agent = open_page(language)
    sign_in(agent, site, "agent@example.com")
    switch_language(agent, language)
    for step, path in (("queue", "/desk/"), ("ticket", f"/desk/tickets/{ticket.number}/")):
        agent.goto(f"{site}{path}")
        assert agent.evaluate("getComputedStyle(document.body).direction") == direction
        assert queue in agent.text_content("header nav")
        agent.shot(f"agent-{step}")


def test_a_new_customer_signs_up_turns_on_two_factor_and_signs_in_with_a_recovery_code(
    site: str, open_page: Any
) -> None:
    import pyotp

    page = open_page("en")
    page.goto(f"{site}/sign-up/")
    page.fill("input[name=full_name]", "Leyla Məmmədova")
    page.fill("input[name=email]", "leyla@example.org")
    page.fill("input[name=password]", "a long and unusual passphrase 42")
    page.select_option("select[name=language]", "en")
    page.click("main button[type=submit]")
    page.wait_for_load_state()
    link = re.search(r"https?://\S+/sign-up/verify/\S+/", mail.outbox[-1].body)
    assert link is not None, mail.outbox[-1].body
    # The mail names the site's configured address; the same path on the live server.
    page.goto(site + "/sign-up/" + link.group(0).split("/sign-up/", 1)[1])
    page.fill("main input[name=password]", "a long and unusual passphrase 42")
    page.click("main button[type=submit]")  # "Confirm and sign in"
    page.wait_for_load_state()
    assert User.objects.get(email="leyla@example.org").email_verified_at is not None

    page.goto(f"{site}/my/profile/")
    page.click("form[action$='/two-factor/start/'] button")
    page.wait_for_load_state()
    assert page.locator("figure.qr svg").count() == 1
    secret = "".join(page.text_content("code.secret").split())  # shown in groups of four
    page.fill("main input[name=code]", pyotp.TOTP(secret).now())
    page.click("main form button[type=submit]")
    page.wait_for_load_state()
    codes = [c.strip() for c in page.locator("ul.codes code").all_text_contents()]
    assert len(codes) == 10
    page.shot("codes")

    page.click("header form[action$='/sign-out/'] button")
    page.wait_for_load_state()
    page.goto(f"{site}/sign-in/")
    page.fill("input[name=email]", "leyla@example.org")
    page.fill("input[name=password]", "a long and unusual passphrase 42")
    page.click("main button[type=submit]")
    page.wait_for_url(re.compile(r"/sign-in/code/"))
    page.fill("main input[name=code]", codes[0])
    page.click("main button[type=submit]")
    page.wait_for_load_state()
    assert "/sign-in/" not in page.url
    assert page.is_visible("a[href='/my/profile/']")


def test_the_desk_answers_to_the_keyboard_and_shows_new_messages_live(
    site: str, open_page: Any
) -> None:
    from destek.tickets import actions

    owner = User.objects.get(email="customer@example.com")
    technical = Department.objects.get(slug="technical")
    ticket = actions.create_ticket(
        customer=owner,
        subject="Reports page stays blank",
        body="Since 09:10.",
        channel="web",
        department=technical,
    )
    agent = open_page("en")
    sign_in(agent, site, "agent@example.com")
    switch_language(agent, "en")
    agent.goto(f"{site}/desk/")
    agent.keyboard.press("j")
    assert agent.locator("#queue-list tr.selected").count() == 1
    agent.keyboard.press("Enter")
    agent.wait_for_url(re.compile(r"/desk/tickets/\d+/$"))
    number = int(agent.get_attribute("#ticket", "data-ticket-number"))
    assert Ticket.objects.filter(number=number).exists()
    agent.goto(f"{site}/desk/tickets/{ticket.number}/")
    agent.keyboard.press("r")
    assert agent.evaluate("document.activeElement.id") == "id_reply_body"
    agent.keyboard.press("Escape")
    agent.evaluate("document.activeElement.blur()")
    agent.keyboard.press("a")
    agent.wait_for_load_state()
    agent.wait_for_function("document.readyState === 'complete'")
    # The shortcut submits a form; on a loaded machine the POST may land a moment later.
    for _attempt in range(50):
        ticket.refresh_from_db()
        if ticket.assignee is not None:
            break
        agent.wait_for_timeout(100)
    assert ticket.assignee is not None and ticket.assignee.email == "agent@example.com"

    # The customer writes while the agent looks at the page: it appears without a reload.
    actions.add_message(
        ticket, author=owner, body="It works again after the update.", channel="web"
    )
    agent.wait_for_selector("#thread >> text=It works again after the update.", timeout=20_000)
    agent.shot("live")


def test_suggestions_appear_while_typing_and_an_opened_article_counts(
    site: str, open_page: Any
) -> None:
    from destek.kb.models import ArticleEvent, Translation

    page = open_page("az")
    sign_in(page, site, "customer@example.com")
    switch_language(page, "az")
    page.goto(f"{site}/my/tickets/new/")
    page.fill("input[name=subject]", "şifrəmi unutmuşam")
    page.wait_for_selector("#suggestions a")
    links = page.locator("#suggestions a")
    assert 1 <= links.count() <= 5
    reset = Translation.objects.get(article__key="reset-password", language="az")
    assert reset.title in page.text_content("#suggestions")
    page.shot("suggestions")
    with page.context.expect_page() as opened:
        page.click(f"#suggestions a:has-text('{reset.title}')")
    article = opened.value
    article.wait_for_load_state()
    assert reset.title in article.text_content("main")
    assert ArticleEvent.objects.filter(article=reset.article, kind="suggested_open").count() == 1


def test_a_persian_article_reads_right_to_left_and_offers_its_other_languages(
    site: str, open_page: Any
) -> None:
    from destek.kb.models import Translation

    persian = Translation.objects.get(article__key="top-up-wallet", language="fa")
    page = open_page("fa")
    page.goto(f"{site}/kb/fa/{persian.slug}/")
    article = page.locator("article").first
    assert article.evaluate("e => getComputedStyle(e).direction") == "rtl"
    switcher = page.locator("a[hreflang]")
    assert {switcher.nth(i).get_attribute("hreflang") for i in range(switcher.count())} >= {
        "az",
        "en",
        "ru",
        "tr",
    }
    page.shot("fa-article")
    page.goto(f"{site}/kb/search/?q=" + "شارژ كيف پول")  # Arabic kaf and yeh, as typed
    assert persian.title in page.text_content("main")
    page.shot("fa-search")


def drop_file(page: Any, selector: str, name: str, content: str) -> None:
    """Drag a file onto a drop box, as a person dragging it from their desktop would."""
    transfer = page.evaluate_handle(
        """([name, content]) => {
            const transfer = new DataTransfer();
            transfer.items.add(new File([content], name, { type: "text/plain" }));
            return transfer;
        }""",
        [name, content],
    )
    page.dispatch_event(selector, "drop", {"dataTransfer": transfer})


@pytest.mark.parametrize("language", ["en", "fa"])
def test_attachments_download_on_both_sides_and_agents_attach_by_dropping(
    site: str, open_page: Any, tmp_path: Path, language: str
) -> None:
    name = "گزارش خطا.png" if language == "fa" else "Отчёт об ошибке.png"
    picture = tmp_path / name
    content = b"\x89PNG\r\n\x1a\n" + language.encode() * 500
    picture.write_bytes(content)

    customer = open_page(language)
    sign_in(customer, site, "customer@example.com")
    switch_language(customer, language)
    customer.goto(f"{site}/my/tickets/new/")
    customer.select_option(
        "select[name=department]", value=str(Department.objects.get(slug="technical").pk)
    )
    customer.fill("input[name=subject]", "Reports page stays blank")
    customer.fill("textarea[name=body]", "Since 09:10 the reports page shows nothing.")
    customer.set_input_files("input[name=attachments]", str(picture))
    customer.click("#new-ticket button[type=submit]")
    customer.wait_for_url(re.compile(r"/my/tickets/\d+/$"))
    ticket = Ticket.objects.get(subject="Reports page stays blank")
    with customer.expect_download() as info:
        customer.click(f"a[download]:has-text('{name}')")
    assert info.value.suggested_filename == name
    assert Path(info.value.path()).read_bytes() == content
    customer.shot("customer-ticket")

    agent = open_page(language)
    sign_in(agent, site, "agent@example.com")
    switch_language(agent, language)
    agent.goto(f"{site}/desk/tickets/{ticket.number}/")
    with agent.expect_download() as info:
        agent.click(f"a[download]:has-text('{name}')")
    assert info.value.suggested_filename == name
    assert Path(info.value.path()).read_bytes() == content

    # A note with a file dropped on its box, a reply with a file chosen in the dialog.
    drop_file(agent, "#note-form [data-dropzone]", "server.log", "GET /reports 500")
    assert "server.log" in agent.text_content("#note-form [data-file-list]")
    agent.fill("#note-form textarea[name=body]", "Log from the server.")
    agent.shot("agent-ticket")
    agent.click("#note-form button[type=submit]")
    agent.wait_for_load_state()
    note = Message.objects.get(ticket=ticket, body="Log from the server.")
    assert note.internal and note.attachments.get().filename == "server.log"
    steps = tmp_path / "steps.txt"
    steps.write_text("1. Open Reports.\n")
    agent.set_input_files("#reply-form input[name=attachments]", str(steps))
    agent.fill("#reply-form textarea[name=body]", "Please follow the attached steps.")
    agent.click("#reply-form button[type=submit]")
    agent.wait_for_load_state()
    reply = Message.objects.get(ticket=ticket, body="Please follow the attached steps.")
    assert reply.attachments.get().filename == "steps.txt"

    customer.reload()
    assert "server.log" not in customer.text_content("main")
    with customer.expect_download() as info:
        customer.click("a[download]:has-text('steps.txt')")
    assert Path(info.value.path()).read_bytes() == b"1. Open Reports.\n"
    customer.shot("customer-reply")


def test_a_signed_out_browser_following_an_attachment_link_signs_in_first(
    site: str, open_page: Any
) -> None:
    from django.core.files.uploadedfile import SimpleUploadedFile

    from destek.tickets import actions

    owner = User.objects.get(email="customer@example.com")
    upload = actions.store_upload(owner, SimpleUploadedFile("invoice.pdf", b"%PDF-1.4 test"))
    actions.create_ticket(
        customer=owner,
        subject="Invoice total is wrong",
        body="See the invoice.",
        channel="web",
        attachments=[upload],
    )
    page = open_page("en")
    page.goto(f"{site}/attachments/{upload.public_id}/")
    assert "/sign-in/" in page.url
    page.fill("input[name=email]", "customer@example.com")
    page.fill("input[name=password]", "demo")
    with page.expect_download() as info:
        page.click("main button[type=submit]")
    assert info.value.suggested_filename == "invoice.pdf"


@pytest.mark.parametrize("language", ["en", "fa"])
def test_the_phone_field_looks_like_the_fields_around_it(
    site: str, open_page: Any, language: str
) -> None:
    page = open_page(language)
    sign_in(page, site, "customer@example.com")
    switch_language(page, language)
    page.goto(f"{site}/my/profile/")
    style = """(selector) => {
        const s = getComputedStyle(document.querySelector(selector));
        return [s.paddingTop, s.paddingInlineStart, s.borderTopWidth, s.borderTopStyle,
                s.borderTopColor, s.borderRadius, s.fontFamily, s.fontSize];
    }"""
    assert page.evaluate(style, "#id_phone") == page.evaluate(style, "#id_full_name")
    phone = page.locator("#id_phone").bounding_box()
    name = page.locator("#id_full_name").bounding_box()
    assert (phone["x"], phone["width"]) == (name["x"], name["width"])
    page.fill("#id_phone", "+98 912 345 6789")
    # A phone number reads left to right, in Persian too; there it lines up on the right.
    assert page.evaluate("getComputedStyle(document.querySelector('#id_phone')).direction") == "ltr"
    if language == "fa":
        assert page.evaluate("getComputedStyle(document.querySelector('#id_phone')).textAlign") in (
            "end",
            "right",
        )
    page.shot("profile")


@pytest.mark.parametrize("language", ["fa", "en"])
def test_an_agent_links_an_article_and_walks_the_queue_by_keyboard(
    site: str, open_page: Any, language: str
) -> None:
    """The link menu loads its list only when it opens, by keyboard too; previous and next
    follow the queue's order."""
    from destek.kb.models import Translation
    from destek.tickets import actions

    owner = User.objects.get(email="customer@example.com")
    technical = Department.objects.get(slug="technical")
    tickets = [
        actions.create_ticket(
            customer=owner,
            subject=f"Reports page {i} stays blank",
            body="Since 09:10.",
            channel="web",
            department=technical,
            language=language,
        )
        for i in range(3)
    ]
    order = [
        t.number
        for t in Ticket.objects.filter(pk__in=[t.pk for t in tickets]).order_by(
            "queue_due", "-priority_rank", "-customer_vip", "pk"
        )
    ]
    wanted = (
        Translation.objects.filter(
            language=language, article__status="published", article__visibility="public"
        )
        .order_by("article__section__position", "article__position", "title")
        .first()
    )
    assert wanted is not None

    agent = open_page(language)
    sign_in(agent, site, "agent@example.com")
    switch_language(agent, language)
    agent.goto(f"{site}/desk/tickets/{order[1]}/")
    direction = "rtl" if language == "fa" else "ltr"
    assert agent.evaluate("getComputedStyle(document.body).direction") == direction
    assert agent.locator("#kb-links").count() == 0  # not with the page: when the menu opens
    agent.focus("#kb-insert-link summary")
    agent.keyboard.press("Enter")
    agent.wait_for_selector("#kb-links li[data-kb-link] button[data-kb-insert]:visible")
    menu = agent.locator("#kb-insert-link")
    assert menu.evaluate("element => getComputedStyle(element).direction") == direction
    agent.keyboard.press("Tab")
    assert agent.evaluate("document.activeElement.id") == "kb-link-filter"
    agent.keyboard.type(wanted.title.split()[0])
    item = agent.locator("#kb-links li[data-kb-link]:visible", has_text=wanted.title).first
    item.locator("button[data-kb-insert]").focus()
    agent.keyboard.press("Enter")
    reply = agent.input_value("#id_reply_body")
    assert wanted.title in reply and f"/kb/{language}/" in reply
    agent.shot("menu")

    agent.evaluate("document.activeElement.blur()")
    agent.keyboard.press("]")
    agent.wait_for_url(f"{site}/desk/tickets/{order[2]}/")
    assert agent.locator("#next-ticket").count() == 0
    agent.keyboard.press("[")
    agent.wait_for_url(f"{site}/desk/tickets/{order[1]}/")
    agent.keyboard.press("[")
    agent.wait_for_url(f"{site}/desk/tickets/{order[0]}/")
    assert agent.locator("#previous-ticket").count() == 0
    agent.shot("first")


@pytest.mark.parametrize("language", ["en", "fa"])
def test_the_queue_fits_a_laptop_screen_and_its_views_panel_stays_in_sight(
    site: str, open_page: Any, language: str
) -> None:
    page = open_page(language)
    page.set_viewport_size({"width": 1100, "height": 700})
    sign_in(page, site, "admin@example.com")
    switch_language(page, language)
    page.goto(f"{site}/desk/")
    # The wide table scrolls in its own column; the page itself does not (in Persian the
    # views panel was pushed off the right edge).
    assert page.evaluate("document.documentElement.scrollWidth") <= 1100
    panel = page.locator("#views-panel").bounding_box()
    assert panel is not None and panel["x"] >= 0 and panel["x"] + panel["width"] <= 1100
    page.shot(f"queue-1100-{language}")
