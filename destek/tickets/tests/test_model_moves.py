"""Models that moved between apps for the floors (the SLA policy to tickets, the bounce list
to notify) keep every row and every link on an upgrade: only Django's state moved."""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

BEFORE = [
    ("tickets", "0014_department_names"),
    ("sla", "0005_policy_names"),
    ("mail", "0003_mailbox_password_stored_encrypted"),
    ("notify", "0006_outbox_claims_by_worker_heartbeat"),
]


def _migrate(targets: list[tuple[str, str]]) -> MigrationExecutor:
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor


@pytest.mark.django_db(transaction=True)
def test_a_policy_and_a_bouncing_address_made_before_the_move_are_kept_after_it() -> None:
    executor = _migrate(BEFORE)
    old = executor.loader.project_state(
        [*BEFORE, ("accounts", "0007_calendar_for_persian_dates")]
    ).apps
    calendar = old.get_model("sla", "Calendar").objects.create(name="Moved hours")
    policy = old.get_model("sla", "Policy").objects.create(
        name="Moved policy", calendar=calendar, first_response_minutes=42
    )
    department = old.get_model("tickets", "Department").objects.create(name="Moved", slug="moved")
    customer = old.get_model("accounts", "User").objects.create(
        email="moved@example.org", role="customer", calendar="solar_hijri"
    )
    ticket = old.get_model("tickets", "Ticket").objects.create(
        number=12_345_678,
        subject="Before the move",
        customer=customer,
        department=department,
        sla_policy=policy,
    )
    old.get_model("mail", "FailingAddress").objects.create(email="gone@example.org", permanent=True)
    content_types = old.get_model("contenttypes", "ContentType").objects
    content_types.get_or_create(app_label="sla", model="policy")
    content_types.get_or_create(app_label="mail", model="failingaddress")

    executor = _migrate(executor.loader.graph.leaf_nodes())

    from django.contrib.contenttypes.models import ContentType

    from destek.notify.models import FailingAddress
    from destek.tickets.models import Policy, Ticket

    moved = Policy.objects.get(pk=policy.pk)
    assert moved.name == "Moved policy" and moved.first_response_minutes == 42
    assert moved.calendar.name == "Moved hours"
    assert Ticket.objects.get(pk=ticket.pk).sla_policy == moved
    assert FailingAddress.objects.get(email="gone@example.org").permanent
    # Permissions and admin history hang on the content type: it moved with the model.
    moved_types = ContentType.objects.filter(model__in=["policy", "failingaddress"])
    assert sorted(moved_types.values_list("app_label", flat=True)) == ["notify", "tickets"]
