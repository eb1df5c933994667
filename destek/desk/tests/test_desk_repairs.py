"""Repairs from the first real use, on the desk's side: the queue's counts after a change
made in the desk, and what the ticket page offers on a closed ticket."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from destek.accounts.models import User
from destek.tickets import actions
from destek.tickets.models import Message, Ticket

pytestmark = pytest.mark.django_db


@pytest.fixture
def desk(users: dict[str, User]) -> Client:
    client = Client()
    client.force_login(users["agent"])
    client.cookies["django_language"] = "en"
    return client


def filed(users: dict[str, User], subject: str) -> Ticket:
    return actions.create_ticket(
        customer=users["customer"], subject=subject, body=f"{subject}.", channel="web"
    )


def count_of(page: str, name: str) -> int:
    found = re.search(rf'data-count="{name}">(\d+)<', page)
    assert found, name
    return int(found.group(1))


def test_the_counts_follow_a_bulk_change_at_once(desk: Client, users: dict[str, User]) -> None:
    tickets = [filed(users, f"Report {i} is blank") for i in range(3)]
    before = desk.get("/desk/").content.decode()
    assert count_of(before, "all") == 3
    response = desk.post(
        "/desk/bulk/",
        {"ticket": [t.number for t in tickets], "op": "status", "status": "closed"},
        follow=True,
    )
    page = response.content.decode()
    assert "Nothing here." in page
    assert count_of(page, "all") == 0
    assert count_of(page, "status_new") == 0


def test_a_colleagues_counts_follow_a_bulk_change_too(desk: Client, users: dict[str, User]) -> None:
    from destek.tickets.models import Membership

    tickets = [filed(users, f"Report {i} is blank") for i in range(2)]
    colleague = Client()
    colleague.force_login(users["admin"])
    department = tickets[0].department
    assert Membership.objects.filter(user=users["agent"], department=department).exists()
    before = count_of(colleague.get("/desk/").content.decode(), "unassigned")
    desk.post(
        "/desk/bulk/", {"ticket": [t.number for t in tickets], "op": "assign", "assignee": "me"}
    )
    after = count_of(colleague.get("/desk/").content.decode(), "unassigned")
    assert after == before - 2


def test_the_counts_follow_a_change_on_the_ticket_page(
    desk: Client, users: dict[str, User]
) -> None:
    ticket = filed(users, "Report 1 is blank")
    assert count_of(desk.get("/desk/").content.decode(), "mine") == 0
    desk.post(f"/desk/tickets/{ticket.number}/assign/")
    assert count_of(desk.get("/desk/").content.decode(), "mine") == 1


def test_an_agent_can_still_answer_a_ticket_closed_long_ago(
    desk: Client, users: dict[str, User]
) -> None:
    """The reopen window binds customers; agents keep their rule (choose the status it
    reopens with), so the desk keeps offering the reply box and it is accepted."""
    ticket = filed(users, "Old export question")
    actions.change_status(
        ticket, actor=actions.Actor.of(users["agent"]), status="closed", close_reason="resolved"
    )
    Ticket.objects.filter(pk=ticket.pk).update(closed_at=timezone.now() - timedelta(days=400))
    page = desk.get(f"/desk/tickets/{ticket.number}/").content.decode()
    assert 'id="reply-form"' in page
    # Applying a reply macro as it is would be refused (no status to reopen with): its
    # preview offers only to edit the reply first.
    from destek.automation.models import Macro

    greeting = Macro.objects.get(name="Need more details")
    greeting.status = ""
    greeting.save()
    preview = desk.get(
        f"/desk/tickets/{ticket.number}/macros/", {"macro": greeting.pk}, HTTP_HX_REQUEST="true"
    ).content.decode()
    assert 'id="macro-insert"' in preview and 'id="macro-apply"' not in preview
    response = desk.post(
        f"/desk/tickets/{ticket.number}/reply/", {"body": "One more thing.", "status": "pending"}
    )
    assert response.status_code == 302
    assert Message.objects.filter(ticket=ticket, body="One more thing.").exists()
    ticket.refresh_from_db()
    assert ticket.status == "pending"


def test_an_sla_event_names_its_clock_in_the_readers_language() -> None:
    from django.utils import translation

    from destek.desk.templatetags.desk import event_value

    with translation.override("ru"):
        assert event_value("next_response") != "next_response"
    assert event_value("next_response") == "Next response"
