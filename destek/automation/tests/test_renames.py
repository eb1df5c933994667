"""A department or an agent renamed by an admin keeps its rules: a rule names them by slug
and e-mail, and the rename rewrites them in the same transaction."""

from __future__ import annotations

import pytest
from django.utils import timezone

from conftest import signed_in_client
from destek.accounts.models import User
from destek.automation.models import Rule
from destek.tickets import actions
from destek.tickets.models import Department

pytestmark = pytest.mark.django_db


def test_a_department_renamed_in_the_admin_keeps_routing_its_tickets(
    users: dict[str, User],
) -> None:
    finance = Department.objects.get(slug="finance")
    Rule.objects.create(
        name="Refunds to Finance",
        kind="filed",
        conditions=[{"field": "text", "op": "contains", "value": ["refund"], "in": "subject"}],
        actions=[{"type": "set_department", "value": "finance"}],
    )
    Rule.objects.create(
        name="Finance tickets are high",
        kind="created",
        conditions=[{"field": "department", "op": "is", "value": ["finance", "technical"]}],
        actions=[{"type": "set_priority", "value": "high"}],
    )
    finance.slug = "billing"
    finance.save()
    assert Rule.objects.get(name="Refunds to Finance").actions[0]["value"] == "billing"
    assert Rule.objects.get(name="Finance tickets are high").conditions[0]["value"] == [
        "billing",
        "technical",
    ]
    ticket = actions.create_ticket(
        customer=users["customer"],
        subject="Refund for order 1234",
        body="I returned the headphones last week.",
        channel="web",
        department=Department.objects.get(slug="technical"),
        language="en",
    )
    ticket.refresh_from_db()
    assert (ticket.department_id, ticket.priority) == (finance.pk, "high")


def test_an_agent_whose_address_changes_keeps_their_assignments(users: dict[str, User]) -> None:
    Rule.objects.create(
        name="Outages to Tural",
        kind="created",
        conditions=[{"field": "text", "op": "contains", "value": ["outage"]}],
        actions=[{"type": "assign", "value": "agent@example.com"}],
    )
    agent = users["agent"]
    agent.email = "tural@example.com"
    agent.save()
    assert Rule.objects.get(name="Outages to Tural").actions[0]["value"] == "tural@example.com"
    ticket = actions.create_ticket(
        customer=users["customer"],
        subject="Outage in Baku",
        body="Nothing loads since the morning.",
        channel="web",
        department=Department.objects.get(slug="technical"),
        language="en",
    )
    ticket.refresh_from_db()
    assert ticket.assignee == agent


def test_a_sign_in_costs_no_rename_check(
    users: dict[str, User], django_assert_num_queries: object
) -> None:
    agent = users["agent"]
    with django_assert_num_queries(1):  # type: ignore[operator]
        agent.save(update_fields=["last_login"])


def test_an_organisation_renamed_in_the_admin_keeps_its_rules(users: dict[str, User]) -> None:
    from destek.accounts.models import Organisation

    caspian = Organisation.objects.create(name="Caspian Oil")
    customer = users["customer"]
    customer.organisation = caspian
    customer.save(update_fields=["organisation"])
    Department.objects.create(name="Key accounts", slug="key-accounts")
    Rule.objects.create(
        name="Caspian to key accounts",
        kind="filed",
        conditions=[{"field": "organisation", "op": "is", "value": ["Caspian Oil", "Socar"]}],
        actions=[{"type": "set_department", "value": "key-accounts"}],
    )
    admin = signed_in_client(users["admin"])
    page = admin.post(
        f"/admin/accounts/organisation/{caspian.pk}/change/",
        {
            "name": "Caspian Energy",
            "created_at_0": timezone.localtime(caspian.created_at).date().isoformat(),
            "created_at_1": timezone.localtime(caspian.created_at).strftime("%H:%M:%S"),
        },
    )
    assert page.status_code == 302, page.content.decode()[:2000]
    rule = Rule.objects.get(name="Caspian to key accounts")
    assert rule.conditions[0]["value"] == ["Caspian Energy", "Socar"]
    ticket = actions.create_ticket(
        customer=User.objects.get(pk=customer.pk),
        subject="Invoices fail",
        body="Invoice 9 shows an error page.",
        channel="web",
        department=Department.objects.get(slug="technical"),
        language="en",
    )
    assert ticket.department.slug == "key-accounts"
