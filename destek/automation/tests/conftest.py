"""What the automation tests share: a company's system listening on 127.0.0.1, and a
department of three agents."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from destek.accounts.choices import Role
from destek.accounts.models import User
from destek.automation.tests.test_webhooks import Receiver
from destek.tickets.models import Department, Membership


@pytest.fixture
def team(users: dict[str, User]) -> dict[str, Any]:
    """The "Fair desk" department with its agents Aynur, Boris and Cemal, and a customer."""
    department = Department.objects.create(name="Fair desk", slug="fair-desk")
    agents = []
    for name in ("aynur", "boris", "cemal"):
        agent = User.objects.create_user(
            f"{name}@example.com", "pw", full_name=name.title(), role=Role.AGENT
        )
        Membership.objects.create(department=department, user=agent)
        agents.append(agent)
    return {"department": department, "agents": agents, "customer": users["customer"]}


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    """A webhook receiver on 127.0.0.1 for the length of one test."""
    server = Receiver()
    server.thread.start()
    yield server
    server.server.shutdown()
    server.server.server_close()
    server.thread.join(timeout=5)
