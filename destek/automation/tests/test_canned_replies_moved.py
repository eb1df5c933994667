"""Canned replies made before the upgrade are macros after it, and still reply as before."""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

BEFORE = [("desk", "0002_canned_reply_language"), ("automation", "0001_macros")]


def _migrate(targets: list[tuple[str, str]]) -> MigrationExecutor:
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor


@pytest.mark.django_db(transaction=True)
def test_migrated_canned_replies_still_work_as_macros_that_only_reply() -> None:
    executor = _migrate(BEFORE)
    old = executor.loader.project_state(BEFORE).apps
    department = old.get_model("tickets", "Department").objects.create(
        name="Moved", slug="moved-canned"
    )
    CannedReply = old.get_model("desk", "CannedReply")
    CannedReply.objects.create(
        title="Ждём ответа",
        body="Здравствуйте, {customer_name}! Ждём ваш ответ по заявке {ticket_number}.",
        language="ru",
        department=department,
        status="pending",
        priority="high",
        position=5,
    )
    CannedReply.objects.create(title="Thanks", body="Thank you, {customer_name}!")

    _migrate(executor.loader.graph.leaf_nodes())

    from destek.accounts.models import User
    from destek.automation.actions import apply_macro
    from destek.automation.models import Macro
    from destek.automation.selectors import access_macro
    from destek.tickets import actions
    from destek.tickets.models import Department, Membership

    waiting = Macro.objects.get(name="Ждём ответа")
    assert (waiting.department, waiting.status, waiting.priority, waiting.position) == (
        Department.objects.get(slug="moved-canned"),
        "pending",
        "high",
        5,
    )
    assert list(waiting.texts.values_list("language", flat=True)) == ["ru"]
    thanks = Macro.objects.get(name="Thanks")
    assert list(thanks.texts.values_list("language", flat=True)) == [""]  # any language
    assert not (thanks.note or thanks.add_tags or thanks.set_department or thanks.assignee_choice)

    agent = User.objects.create(email="mover@example.com", full_name="Mover", role="agent")
    Membership.objects.create(department=Department.objects.get(slug="moved-canned"), user=agent)
    customer = User.objects.create(email="olga@example.com", full_name="Olga", role="customer")
    ticket = actions.create_ticket(
        customer=customer,
        subject="Отчёт не выгружается",
        body="Отчёт не выгружается уже второй день.",
        channel="web",
        department=waiting.department,
        language="ru",
    )
    ticket = apply_macro(ticket, access_macro(agent, ticket, waiting.pk), agent=agent)
    assert (ticket.status, ticket.priority) == ("pending", "high")
    assert ticket.messages.order_by("-id")[0].body == (
        f"Здравствуйте, Olga! Ждём ваш ответ по заявке #{ticket.number}."
    )

    # And back: the shared macros that only reply become canned replies again.
    executor = _migrate(BEFORE)
    old = executor.loader.project_state(BEFORE).apps
    titles = sorted(old.get_model("desk", "CannedReply").objects.values_list("title", flat=True))
    assert titles == ["Thanks", "Ждём ответа"]
    _migrate(executor.loader.graph.leaf_nodes())
