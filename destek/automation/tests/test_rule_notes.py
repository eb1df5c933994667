"""A rule's internal note is signed with the rule's name in the desk's thread, so agents
know which rule wrote it; the customer never sees it."""

from __future__ import annotations

import pytest
from django.test import Client

from destek.accounts.models import User
from destek.automation.models import Rule
from destek.tickets import actions
from destek.tickets.models import Department, Message

pytestmark = pytest.mark.django_db


def test_a_rules_note_names_the_rule_for_agents_and_stays_hidden_from_the_customer(
    users: dict[str, User],
) -> None:
    Rule.objects.create(
        name="VIP: сообщить в CRM",
        kind="created",
        conditions=[],
        actions=[{"type": "note", "value": "CRM уведомлена."}],
    )
    ticket = actions.create_ticket(
        customer=users["customer"],
        subject="Export fails",
        body="The button does nothing.",
        channel="web",
        department=Department.objects.get(slug="technical"),
        language="en",
    )
    note = Message.objects.get(ticket=ticket, internal=True)
    assert note.written_by_rule == "VIP: сообщить в CRM"
    desk = Client()
    desk.force_login(users["agent"])
    desk.cookies["django_language"] = "ru"
    page = desk.get(f"/desk/tickets/{ticket.number}/").content.decode()
    assert "Правило (<bdi>VIP: сообщить в CRM</bdi>)" in page
    assert "CRM уведомлена." in page
    portal = Client()
    portal.force_login(users["customer"])
    mine = portal.get(f"/my/tickets/{ticket.number}/").content.decode()
    assert "CRM уведомлена." not in mine and "сообщить в CRM" not in mine
