"""Merging in the desk: a confirmation naming both tickets first (no JavaScript needed),
and the merged ticket's page says where it went."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.contrib.staticfiles import finders
from django.test import Client

from destek.accounts.models import User
from destek.tickets import actions
from destek.tickets.actions import Actor
from destek.tickets.models import Ticket

pytestmark = pytest.mark.django_db
RULE = re.compile(r"([^{}]+)\{([^}]*)\}")


@pytest.fixture
def desk(users: dict[str, User]) -> Client:
    client = Client()
    client.force_login(users["agent"])
    client.cookies["django_language"] = "en"
    return client


def filed(users: dict[str, User], subject: str, who: str = "customer") -> Ticket:
    return actions.create_ticket(
        customer=users[who], subject=subject, body=f"{subject}: since Monday.", channel="web"
    )


def test_merging_from_the_ticket_page_asks_for_confirmation_naming_both_tickets(
    desk: Client, users: dict[str, User]
) -> None:
    target = filed(users, "Export fails for March")
    duplicate = filed(users, "Export still broken")
    page = desk.post(f"/desk/tickets/{duplicate.number}/merge/", {"into": target.number})
    assert page.status_code == 200
    text = page.content.decode()
    assert f"Merge #{duplicate.number} into #{target.number}?" in text
    assert "Export fails for March" in text and "Export still broken" in text
    assert "A merge cannot be undone." in text
    assert 'name="confirm" value="1"' in text
    duplicate.refresh_from_db()
    assert duplicate.merged_into_id is None and duplicate.status == "new"


def test_confirming_merges_and_lands_on_the_target(desk: Client, users: dict[str, User]) -> None:
    target = filed(users, "Export fails for March")
    duplicate = filed(users, "Export still broken")
    response = desk.post(
        f"/desk/tickets/{duplicate.number}/merge/", {"into": target.number, "confirm": "1"}
    )
    assert response.status_code == 302
    duplicate.refresh_from_db()
    assert duplicate.merged_into_id == target.pk
    page = desk.get(f"/desk/tickets/{target.number}/").content.decode()
    assert f'From <a href="/desk/tickets/{duplicate.number}/">#{duplicate.number}</a>' in page


def test_a_merge_that_would_be_refused_is_refused_before_the_confirmation(
    desk: Client, users: dict[str, User]
) -> None:
    mine = filed(users, "Export fails for March")
    other = filed(users, "Export fails for May", who="customer2")
    page = desk.post(f"/desk/tickets/{mine.number}/merge/", {"into": other.number})
    text = page.content.decode()
    assert "Only tickets of the same customer can be merged" in text
    assert 'name="confirm"' not in text


def test_the_merged_tickets_desk_page_points_to_the_target_and_keeps_its_thread(
    desk: Client, users: dict[str, User]
) -> None:
    target = filed(users, "Export fails for March")
    duplicate = filed(users, "Export still broken")
    actions.merge(duplicate, into=target, actor=Actor.of(users["agent"]))
    page = desk.get(f"/desk/tickets/{duplicate.number}/").content.decode()
    assert f'This ticket was merged into <a href="/desk/tickets/{target.number}/">' in page
    assert "Export still broken: since Monday." in page
    assert 'id="merge-form"' not in page, "a merged ticket is not merged again"


def test_the_merge_number_box_is_styled_like_the_other_inputs(
    desk: Client, users: dict[str, User]
) -> None:
    ticket = filed(users, "Export fails for March")
    page = desk.get(f"/desk/tickets/{ticket.number}/").content.decode()
    assert 'type="number" name="into"' in page
    stylesheet = Path(str(finders.find("destek/site.css"))).read_text(encoding="utf-8")
    rules = {selector.strip(): body for selector, body in RULE.findall(stylesheet)}
    text_inputs = next(selector for selector in rules if "input[type=text]" in selector)
    assert "input[type=number]" in text_inputs


def test_a_bulk_merge_asks_for_confirmation_listing_every_ticket(
    desk: Client, users: dict[str, User]
) -> None:
    target = filed(users, "Export fails for March")
    first = filed(users, "Export still broken")
    second = filed(users, "CSV export empty")
    data = {"ticket": [first.number, second.number], "op": "merge", "into": target.number}
    page = desk.post("/desk/bulk/", data)
    text = page.content.decode()
    assert page.status_code == 200
    for subject in ("Export fails for March", "Export still broken", "CSV export empty"):
        assert subject in text
    assert Ticket.objects.filter(merged_into=target).count() == 0
    desk.post("/desk/bulk/", {**data, "confirm": "1"})
    assert Ticket.objects.filter(merged_into=target).count() == 2
