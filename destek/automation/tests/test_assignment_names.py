"""The history of an automatically assigned ticket names the assignment in the agent's own
language, while an admin's rule keeps the name the admin gave it."""

from __future__ import annotations

import pytest
from django.test import Client

from destek.accounts.choices import Role
from destek.accounts.models import User
from destek.automation.choices import AssignmentMode, rule_label
from destek.automation.models import DepartmentAssignment
from destek.tickets import actions
from destek.tickets.models import Department, Membership

pytestmark = pytest.mark.django_db


def test_the_desk_history_names_round_robin_in_the_agents_language(
    users: dict[str, User],
) -> None:
    department = Department.objects.create(name="Fair desk", slug="fair-desk")
    agent = User.objects.create_user("aynur@example.com", "pw", full_name="Aynur", role=Role.AGENT)
    Membership.objects.create(department=department, user=agent)
    DepartmentAssignment.objects.create(department=department, mode=AssignmentMode.ROUND_ROBIN)
    ticket = actions.create_ticket(
        customer=users["customer"],
        subject="Invoice 7 does not open",
        body="Invoice number 7 shows an error page when I open it from the account.",
        channel="web",
        department=department,
        intake_rules=False,
    )
    ticket.refresh_from_db()
    assert ticket.assignee == agent
    desk = Client()
    desk.force_login(agent)
    desk.cookies["django_language"] = "fa"
    page = desk.get(f"/desk/tickets/{ticket.number}/").content.decode()
    assert "واگذاری خودکار: نوبتی" in page
    assert "assignment: round robin" not in page


def test_an_admins_rule_is_shown_as_it_was_named() -> None:
    assert rule_label("Remind pending customers") == "Remind pending customers"


def test_a_department_change_reads_in_the_agents_language(users: dict[str, User]) -> None:
    technical = Department.objects.get(slug="technical")
    finance = Department.objects.get(slug="finance")
    ticket = actions.create_ticket(
        customer=users["customer"],
        subject="Invoice 8 was charged twice",
        body="Invoice number 8 was charged twice on my card yesterday.",
        channel="web",
        department=technical,
        intake_rules=False,
    )
    actions.change_department(ticket, actor=actions.Actor.of(users["admin"]), department=finance)
    desk = Client()
    desk.force_login(users["admin"])
    desk.cookies["django_language"] = "fa"
    page = desk.get(f"/desk/tickets/{ticket.number}/").content.decode()
    history = page.split("<ol>")[-1]
    assert f"{technical.display_name('fa')} ← {finance.display_name('fa')}" in history
    assert "technical ←" not in history
