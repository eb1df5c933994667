"""A schedule rule hands a ticket nobody answered to another available agent: "does not
answer within a rule's time" (issue 18), as the team and the history show it."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.utils import timezone, translation

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


def test_a_rule_on_a_change_stored_with_a_hand_over_past_the_admin_is_left_out(
    team: dict[str, Any], django_capture_on_commit_callbacks: Any
) -> None:
    # Hand-edited: each hand-over would be a change setting the rule off again, one commit
    # starting the next, the ticket going round the team for ever.
    DepartmentAssignment.objects.create(
        department=team["department"], mode=AssignmentMode.ROUND_ROBIN
    )
    Rule.objects.create(
        name="Bounce",
        kind="updated",
        conditions=[{"field": "priority", "op": "is", "value": "high"}],
        actions=[{"type": "reassign"}, {"type": "add_tags", "value": ["bounced"]}],
    )
    ticket = file(team)
    holder = assignee(ticket)
    assert holder is not None

    with django_capture_on_commit_callbacks(execute=True):
        actions.change_priority(ticket, actor=actions.Actor.of(holder), priority="high")

    assert assignee(ticket) == holder
    assert not ticket.tags.filter(name="bounced").exists()
    assert not TicketEvent.objects.filter(ticket=ticket, data__rule="Bounce").exists()


def test_a_ticket_moved_to_another_department_meanwhile_is_not_handed_over_by_the_old_ones_turn(
    team: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    DepartmentAssignment.objects.create(
        department=team["department"], mode=AssignmentMode.ROUND_ROBIN
    )
    ticket = file(team)
    first = assignee(ticket)
    assert first is not None
    elsewhere = Department.objects.create(name="Elsewhere", slug="elsewhere")
    for agent in team["agents"]:
        Membership.objects.create(department=elsewhere, user=agent)
    locked_row = assignment._locked_row

    def moved_meanwhile(department_id: int) -> Any:
        row = locked_row(department_id)
        # Between reading the ticket's department and locking the ticket, an agent moves it.
        Ticket.objects.filter(pk=ticket.pk).update(department=elsewhere)
        return row

    monkeypatch.setattr(assignment, "_locked_row", moved_meanwhile)

    assert assignment.hand_over(ticket.pk, rule=HAND_OVER, from_agent_id=first.pk) is None
    assert assignee(ticket) == first


def test_the_dry_run_says_a_ticket_goes_back_to_the_queue_where_agents_take_tickets_by_hand(
    team: dict[str, Any],
) -> None:
    DepartmentAssignment.objects.create(department=team["department"], mode=AssignmentMode.MANUAL)
    made = hand_over_rule()
    taken, waiting = file(team), file(team)
    aynur = team["agents"][0]
    actions.assign(taken, actor=actions.Actor.of(aynur), assignee=aynur)
    with time_machine.travel(timezone.now() + timedelta(days=3), tick=False):
        rows = {row.ticket.pk: row.changes for row in dry_run(made)}
    assert rows[taken.pk] == ["Unassign"]
    assert waiting.pk not in rows  # unassigned already: the rule would change nothing
