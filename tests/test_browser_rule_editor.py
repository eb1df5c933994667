"""The rule editor of the admin in a real browser (see test_browser.py), in Persian and
English: rows added with the script, each showing only the value its field takes, saved as
the rule's JSON."""

from __future__ import annotations

from typing import Any

import pytest

from destek.automation.models import Rule
from tests.test_browser import chromium, open_page, sign_in, site  # noqa: F401

pytestmark = [pytest.mark.slow, pytest.mark.browser]

CONDITIONS = ".rule-editor[data-what=conditions]"
ACTIONS = ".rule-editor[data-what=actions]"


def last_row(page: Any, editor: str) -> Any:
    return page.locator(f"{editor} .rule-rows > .rule-row:visible").last


@pytest.mark.parametrize("language", ["fa", "en"])
def test_an_admin_builds_a_rule_from_rows_without_writing_json(
    site: str,  # noqa: F811
    open_page: Any,  # noqa: F811
    language: str,
) -> None:
    page = open_page(language)
    sign_in(page, site, "admin@example.com")
    page.context.add_cookies([{"name": "django_language", "value": language, "url": site}])
    page.goto(f"{site}/admin/automation/rule/add/")
    assert page.get_attribute("html", "dir") == ("rtl" if language == "fa" else "ltr")
    page.fill("input[name=name]", f"Stale pending {language}")
    page.select_option("select[name=kind]", "schedule")

    row = last_row(page, CONDITIONS)
    assert row.locator("input[name$='-number']").is_hidden()  # no field chosen yet
    row.locator(".rule-field").select_option("status")
    assert row.locator("select[name$='choice-status']").is_visible()
    assert row.locator("input[name$='-number']").is_hidden()
    row.locator("select[name$='choice-status']").select_option(["pending"])
    page.click(f"{CONDITIONS} .rule-add")
    row = last_row(page, CONDITIONS)
    row.locator(".rule-field").select_option("days_in_status")
    options = row.locator(".rule-op option").all()
    assert sorted(option.get_attribute("value") for option in options) == ["gte", "lte"]
    row.locator("input[name$='-number']").fill("7")

    row = last_row(page, ACTIONS)
    row.locator(".rule-field").select_option("set_status")
    row.locator("select[name$='-status']").select_option("closed")
    row.locator("select[name$='-close_reason']").select_option("no_reply")
    page.click(f"{ACTIONS} .rule-add")
    row = last_row(page, ACTIONS)
    row.locator(".rule-field").select_option("note")
    row.locator("textarea[name$='-text']").fill("بسته شد" if language == "fa" else "Closed")
    page.click(f"{ACTIONS} .rule-add")
    row = last_row(page, ACTIONS)
    row.locator(".rule-field").select_option("add_tags")
    row.locator(".rule-remove").click()  # changed my mind
    page.shot("filled")
    page.click("input[name=_continue]")
    page.wait_for_load_state()
    page.shot("saved")

    made = Rule.objects.get(name=f"Stale pending {language}")
    assert made.conditions == [
        {"field": "status", "op": "is", "value": ["pending"]},
        {"field": "days_in_status", "op": "gte", "value": 7},
    ]
    assert made.actions == [
        {"type": "set_status", "value": "closed", "close_reason": "no_reply"},
        {"type": "note", "value": "بسته شد" if language == "fa" else "Closed"},
    ]


def test_a_rule_run_when_a_ticket_is_filed_offers_only_what_is_known_then(
    site: str,  # noqa: F811
    open_page: Any,  # noqa: F811
) -> None:
    page = open_page("fa")
    sign_in(page, site, "admin@example.com")
    page.context.add_cookies([{"name": "django_language", "value": "fa", "url": site}])
    page.goto(f"{site}/admin/automation/rule/add/")
    condition = last_row(page, CONDITIONS).locator(".rule-field")
    action = last_row(page, ACTIONS).locator(".rule-field")
    assert not condition.locator("option[value=hours_in_status]").is_disabled()
    page.select_option("select[name=kind]", "filed")
    assert condition.locator("option[value=hours_in_status]").is_disabled()
    assert not condition.locator("option[value=text]").is_disabled()
    assert action.locator("option[value=mail_customer]").is_disabled()
    assert not action.locator("option[value=set_department]").is_disabled()
    page.click(f"{CONDITIONS} .rule-add")
    added = last_row(page, CONDITIONS).locator(".rule-field")
    assert added.locator("option[value=days_in_status]").is_disabled()
    page.select_option("select[name=kind]", "schedule")
    assert not added.locator("option[value=days_in_status]").is_disabled()


def test_a_hand_over_is_offered_on_a_schedule_only_and_a_filed_rule_shows_no_mail_texts(
    site: str,  # noqa: F811
    open_page: Any,  # noqa: F811
) -> None:
    page = open_page("ru")
    sign_in(page, site, "admin@example.com")
    page.context.add_cookies([{"name": "django_language", "value": "ru", "url": site}])
    page.goto(f"{site}/admin/automation/rule/add/")
    action = last_row(page, ACTIONS).locator(".rule-field")
    texts = page.locator("#texts-group")
    page.select_option("select[name=kind]", "updated")
    assert action.locator("option[value=reassign]").is_disabled()
    assert texts.is_visible()
    page.select_option("select[name=kind]", "schedule")
    assert not action.locator("option[value=reassign]").is_disabled()
    action.select_option("reassign")
    page.shot("hand-over")
    page.select_option("select[name=kind]", "filed")
    assert texts.is_hidden()
    assert action.locator("option[value=mail_customer]").is_disabled()
    page.select_option("select[name=kind]", "created")
    assert texts.is_visible()
