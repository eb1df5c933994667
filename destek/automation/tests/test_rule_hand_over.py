"""A schedule rule hands a ticket nobody answered to another available agent: "does not
answer within a rule's time" (issue 18), as the team and the history show it."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.utils import timezone, translation

from destek.accounts.choices import Role
from destek.accounts.models import User
from destek.automation import assignment
from destek.automation.choices import AssignmentMode
from destek.automation.models import AgentProfile, DepartmentAssignment, Rule
from destek.automation.rule_jobs import sweep_rules_now
from destek.automation.rules import dry_run
from destek.tickets import actions
from destek.tickets.choices import EventKind
from destek.tickets.models import Department, Membership, Ticket, TicketEvent

pytestmark = pytest.mark.django_db

HAND_OVER = "Unanswered for 4 hours: hand over"


@pytest.fixture
def team(users: dict[str, User]) -> dict[str, Any]:
    department = Department.objects.create(name="Hand-over desk", slug="hand-over")
    agents = []
    for name in ("aynur", "boris", "cemal"):
        agent = User.objects.create_user(
            f"{name}@example.com", "pw", full_name=name.title(), role=Role.AGENT
        )
        Membership.objects.create(department=department, user=agent)
        agents.append(agent)
    return {"department": department, "agents": agents, "customer": users["customer"]}


def hand_over_rule() -> Rule:
    made = Rule(
        name=HAND_OVER,
        kind="schedule",
        conditions=[
            {"field": "status", "op": "is", "value": ["new", "open"]},
            {"field": "hours_since_agent_reply", "op": "gte", "value": 4},
        ],
        actions=[{"type": "reassign"}],
    )
    made.full_clean()
    made.save()
    return made


def file(team: dict[str, Any]) -> Ticket:
    return actions.create_ticket(
        customer=team["customer"],
        subject="The invoice page shows an error",
        body="Opening invoice 7 from the account shows an error page.",
        channel="web",
        department=team["department"],
        intake_rules=False,
    )


def sweep_later(capture: Any, days: int = 3) -> int:
    with (
        time_machine.travel(timezone.now() + timedelta(days=days), tick=False),
        capture(execute=True),
    ):
        return sweep_rules_now()


def assignee(ticket: Ticket) -> User | None:
    ticket.refresh_from_db()
    return ticket.assignee


def test_an_unanswered_ticket_goes_to_the_colleague_whose_turn_it_is_and_the_history_names_the_rule(
    team: dict[str, Any], django_capture_on_commit_callbacks: Any
) -> None:
    DepartmentAssignment.objects.create(
        department=team["department"], mode=AssignmentMode.ROUND_ROBIN
    )
    hand_over_rule()
    ticket = file(team)
    first = assignee(ticket)
    assert first in team["agents"]

    assert sweep_later(django_capture_on_commit_callbacks) == 1

    second = assignee(ticket)
    assert second is not None and second != first and second in team["agents"]
    event = TicketEvent.objects.filter(ticket=ticket, kind=EventKind.ASSIGNEE).latest("id")
    assert (event.from_value, event.to_value) == (first.email, second.email)  # type: ignore[union-attr]
    assert (event.actor_kind, event.data["rule"]) == ("rule", HAND_OVER)
    # Once per ticket and state: the next sweep leaves the new agent their time.
    assert sweep_later(django_capture_on_commit_callbacks, days=4) == 0
    assert assignee(ticket) == second


def test_in_a_department_whose_agents_take_tickets_the_ticket_goes_back_to_the_queue(
    team: dict[str, Any], django_capture_on_commit_callbacks: Any
) -> None:
    hand_over_rule()
    ticket = file(team)
    aynur = team["agents"][0]
    actions.assign(ticket, actor=actions.Actor.of(aynur), assignee=aynur)

    assert sweep_later(django_capture_on_commit_callbacks) == 1

    assert assignee(ticket) is None
    event = TicketEvent.objects.filter(ticket=ticket, kind=EventKind.ASSIGNEE).latest("id")
    assert (event.from_value, event.to_value, event.data["rule"]) == (aynur.email, "", HAND_OVER)


def test_with_nobody_else_available_the_ticket_stays_with_its_agent(
    team: dict[str, Any], django_capture_on_commit_callbacks: Any
) -> None:
    DepartmentAssignment.objects.create(
        department=team["department"], mode=AssignmentMode.LEAST_LOADED
    )
    hand_over_rule()
    ticket = file(team)
    holder = assignee(ticket)
    for agent in team["agents"]:
        if agent != holder:
            AgentProfile.objects.create(agent=agent, away=True)

    sweep_later(django_capture_on_commit_callbacks)

    assert assignee(ticket) == holder


def test_a_hand_over_run_twice_hands_over_once(
    team: dict[str, Any], django_capture_on_commit_callbacks: Any
) -> None:
    DepartmentAssignment.objects.create(
        department=team["department"], mode=AssignmentMode.ROUND_ROBIN
    )
    ticket = file(team)
    first = assignee(ticket)
    assert first is not None
    given = assignment.hand_over(ticket.pk, rule=HAND_OVER, from_agent_id=first.pk)
    again = assignment.hand_over(ticket.pk, rule=HAND_OVER, from_agent_id=first.pk)
    assert given is not None and given != first
    assert again is None and assignee(ticket) == given


def test_a_rule_on_a_change_cannot_hand_over_and_says_why_in_the_admins_language(
    team: dict[str, Any],
) -> None:
    made = Rule(
        name="Bounce",
        kind="updated",
        conditions=[{"field": "priority", "op": "is", "value": "high"}],
        actions=[{"type": "reassign"}],
    )
    with translation.override("ru"), pytest.raises(ValidationError) as refused:
        made.full_clean()
    message = refused.value.message_dict["actions"][0]
    assert message.startswith("«Передать другому свободному оператору» — только для правил")


def test_the_dry_run_says_the_ticket_would_be_handed_over(team: dict[str, Any]) -> None:
    DepartmentAssignment.objects.create(
        department=team["department"], mode=AssignmentMode.ROUND_ROBIN
    )
    made = hand_over_rule()
    ticket = file(team)
    with time_machine.travel(timezone.now() + timedelta(days=3), tick=False):
        rows = dry_run(made)
    (row,) = [row for row in rows if row.ticket.pk == ticket.pk]
    assert "Hand over to another available agent" in row.changes
