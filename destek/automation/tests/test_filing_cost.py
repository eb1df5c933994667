"""Filing a ticket costs the same statements however many rules wait to run: the rules are
read once per process (the configuration cache), a rule that does not match writes nothing,
and the event rules share one read of the ticket."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from destek.accounts.models import User
from destek.automation.models import Rule
from destek.tickets import actions
from destek.tickets.models import Department

# Committed: the configuration cache keeps what it read only outside a changing transaction.
pytestmark = pytest.mark.django_db(transaction=True)


def _file(users: dict[str, User], n: int) -> int:
    technical = Department.objects.get(slug="technical")
    actions.create_ticket(  # warms the caches: the rules are read once per process
        customer=users["customer"],
        subject=f"Warm {n}",
        body="Warming up the caches.",
        channel="web",
        department=technical,
        language="en",
    )
    with CaptureQueriesContext(connection) as captured:
        actions.create_ticket(
            customer=users["customer"],
            subject=f"Printer {n} jams",
            body="It jams on page two.",
            channel="web",
            department=technical,
            language="en",
        )
    # The filing's own transaction; what runs after its commit (the mail, the search index)
    # is the worker's.
    statements = [q["sql"] for q in captured.captured_queries]
    return statements.index("COMMIT") + 1 if "COMMIT" in statements else len(statements)


def test_rules_that_do_not_match_add_no_statement_to_filing(users: dict[str, User]) -> None:
    Rule.objects.all().delete()
    without = _file(users, 1)
    for i in range(10):
        Rule.objects.create(
            name=f"Filed {i}",
            kind="filed",
            position=i,
            conditions=[{"field": "text", "op": "contains", "value": [f"outage{i}"]}],
            actions=[{"type": "set_priority", "value": "high"}],
        )
    for i in range(5):
        Rule.objects.create(
            name=f"Created {i}",
            kind="created",
            position=i,
            conditions=[{"field": "tags", "op": "has", "value": [f"x{i}"]}],
            actions=[{"type": "set_priority", "value": "high"}],
        )
    with_rules = _file(users, 2)
    # Filed rules are compiled once per process; the event rules read the new ticket and its
    # tags once for all of them (not once per rule).
    assert with_rules == without + 2
