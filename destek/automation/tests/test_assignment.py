"""Fair assignment (issue 18): round robin and least loaded across three agents, only among
agents available now, VIP and urgent tickets first, reassignment on leave and on silence,
safe to run twice, and two tickets filed at once going to two agents."""

from __future__ import annotations

import itertools
import threading
import time
from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.db import connection, connections
from django.utils import timezone

from destek.accounts.models import User
from destek.automation import assignment
from destek.automation.choices import AssignmentMode
from destek.automation.models import AgentProfile, DepartmentAssignment
from destek.chat.choices import ChatState, Presence
from destek.chat.models import AgentPresence, Chat
from destek.sla.models import Calendar
from destek.tickets import actions
from destek.tickets.choices import ActorKind, EventKind
from destek.tickets.models import Membership, Tag, Ticket, TicketEvent

pytestmark = pytest.mark.django_db

_numbers = itertools.count(1)


def _mode(team: dict[str, Any], mode: str, **fields: Any) -> DepartmentAssignment:
    row, _made = DepartmentAssignment.objects.update_or_create(
        department=team["department"], defaults={"mode": mode, **fields}
    )
    return row


def _file(team: dict[str, Any], customer: User | None = None, **extra: Any) -> Ticket:
    n = next(_numbers)
    return actions.create_ticket(
        customer=customer or team["customer"],
        subject=f"Invoice {n} does not open",
        body=f"Invoice number {n} shows an error page when I open it from the account.",
        channel="web",
        department=team["department"],
        intake_rules=False,
        **extra,
    )


def _assignee(ticket: Ticket) -> User | None:
    ticket.refresh_from_db()
    return ticket.assignee


def test_a_manual_department_leaves_new_tickets_unassigned(team: dict[str, Any]) -> None:
    assert _assignee(_file(team)) is None
    _mode(team, AssignmentMode.MANUAL)
    assert _assignee(_file(team)) is None
    assert assignment.sweep() == 0


def test_round_robin_takes_turns_starting_with_who_has_waited_longest(
    team: dict[str, Any],
) -> None:
    aynur, boris, cemal = team["agents"]
    now = timezone.now()
    AgentProfile.objects.create(agent=aynur, last_assigned_at=now - timedelta(minutes=5))
    AgentProfile.objects.create(agent=boris, last_assigned_at=now - timedelta(minutes=50))
    AgentProfile.objects.create(agent=cemal, last_assigned_at=now - timedelta(minutes=20))
    _mode(team, AssignmentMode.ROUND_ROBIN)

    given = [_assignee(_file(team)) for _ in range(6)]

    assert given == [boris, cemal, aynur, boris, cemal, aynur]


def test_an_automatic_assignment_is_in_the_history_with_the_rule_name(
    team: dict[str, Any],
) -> None:
    _mode(team, AssignmentMode.ROUND_ROBIN)
    ticket = _file(team)
    event = TicketEvent.objects.get(ticket=ticket, kind=EventKind.ASSIGNEE)
    assert event.actor_kind == ActorKind.RULE
    assert event.data["rule"] == "assignment: round robin"
    assert event.to_value == _assignee(ticket).email  # type: ignore[union-attr]


def test_least_loaded_gives_to_the_agent_with_the_fewest_open_tickets(
    team: dict[str, Any],
) -> None:
    aynur, boris, cemal = team["agents"]
    agent_actor = actions.Actor.of(aynur)
    for owner, count in ((aynur, 2), (boris, 1)):
        for _ in range(count):
            actions.assign(_file(team), actor=agent_actor, assignee=owner)
    _mode(team, AssignmentMode.LEAST_LOADED)

    given = [_assignee(_file(team)) for _ in range(6)]

    assert given[0] == cemal  # 0 open
    assert given[1] in (boris, cemal)
    loads = {a: Ticket.objects.filter(assignee=a).count() for a in team["agents"]}
    assert loads == {aynur: 3, boris: 3, cemal: 3}


def test_least_loaded_ties_go_to_who_has_waited_longest(team: dict[str, Any]) -> None:
    aynur, boris, cemal = team["agents"]
    now = timezone.now()
    AgentProfile.objects.create(agent=aynur, last_assigned_at=now - timedelta(minutes=1))
    AgentProfile.objects.create(agent=boris, last_assigned_at=now - timedelta(hours=2))
    AgentProfile.objects.create(agent=cemal, last_assigned_at=now - timedelta(minutes=30))
    _mode(team, AssignmentMode.LEAST_LOADED)

    assert [_assignee(_file(team)) for _ in range(3)] == [boris, cemal, aynur]


def test_an_active_chat_weighs_as_the_department_says(team: dict[str, Any]) -> None:
    aynur, boris, cemal = team["agents"]
    visitor = team["customer"]
    for owner in (aynur, aynur, boris):
        chat_ticket = _file(team)
        Chat.objects.create(
            ticket=chat_ticket,
            department=team["department"],
            visitor=visitor,
            visitor_token_hash=f"hash-{chat_ticket.pk}",
            state=ChatState.ACTIVE,
            agent=owner,
        )
    # Cemal has one open ticket; Aynur two chats (4 with the weight 2); Boris one chat (2).
    actions.assign(_file(team), actor=actions.Actor.of(cemal), assignee=cemal)
    _mode(team, AssignmentMode.LEAST_LOADED, chat_weight=2)

    assert _assignee(_file(team)) == cemal  # 1 against 2 and 4
    assert _assignee(_file(team)) == boris  # 2 against 2 (Boris waited longer) and 4


def test_agents_away_outside_their_hours_or_inactive_are_skipped(
    team: dict[str, Any],
) -> None:
    aynur, boris, cemal = team["agents"]
    never_open = Calendar.objects.create(name="Never open", time_zone="Asia/Baku")
    AgentProfile.objects.create(agent=aynur, away=True)
    AgentProfile.objects.create(agent=boris, calendar=never_open)
    _mode(team, AssignmentMode.ROUND_ROBIN)

    assert {_assignee(_file(team)) for _ in range(3)} == {cemal}

    cemal.is_active = False
    cemal.save()
    assert _assignee(_file(team)) is None


def test_leave_with_a_return_date_ends_by_itself(team: dict[str, Any]) -> None:
    aynur, boris, cemal = team["agents"]
    now = timezone.now()
    AgentProfile.objects.create(agent=aynur, away=True, away_until=now - timedelta(minutes=1))
    AgentProfile.objects.create(agent=boris, away=True, away_until=now + timedelta(days=3))
    AgentProfile.objects.create(agent=cemal, away=True)
    _mode(team, AssignmentMode.ROUND_ROBIN)

    assert _assignee(_file(team)) == aynur


def test_only_online_agents_when_the_department_asks_for_it(team: dict[str, Any]) -> None:
    aynur, boris, cemal = team["agents"]
    AgentPresence.objects.create(agent=boris, status=Presence.ONLINE)
    AgentPresence.objects.create(
        agent=cemal, status=Presence.ONLINE, last_seen_at=timezone.now() - timedelta(hours=1)
    )
    AgentPresence.objects.create(agent=aynur, status=Presence.AWAY)
    _mode(team, AssignmentMode.LEAST_LOADED, require_online=True)

    assert {_assignee(_file(team)) for _ in range(3)} == {boris}


def test_language_and_skill_requirements_pick_who_can_answer(team: dict[str, Any]) -> None:
    aynur, boris, cemal = team["agents"]
    billing = Tag.objects.create(name="billing-pro")
    AgentProfile.objects.create(agent=aynur, languages=["en"])
    AgentProfile.objects.create(agent=boris, languages=["ru", "en"])
    cemal_profile = AgentProfile.objects.create(agent=cemal, languages=["ru"])
    cemal_profile.skills.add(billing)
    row = _mode(team, AssignmentMode.ROUND_ROBIN, require_language=True)
    row.skill_tags.add(billing)

    assert {_assignee(_file(team, language="ru")) for _ in range(4)} == {boris, cemal}

    # A ticket tagged with the product waits in the pool for the one agent with the skill.
    _mode(team, AssignmentMode.MANUAL)
    tagged = _file(team, language="ru")
    actions.change_tags(tagged, actor=actions.Actor.of(aynur), add=["billing-pro"])
    _mode(team, AssignmentMode.ROUND_ROBIN)
    assignment.sweep()
    assert _assignee(tagged) == cemal
    # Nobody speaks Turkish: the ticket stays unassigned.
    assert _assignee(_file(team, language="tr")) is None


def test_the_sweep_serves_vip_then_higher_priority_then_the_oldest(
    team: dict[str, Any], users: dict[str, User]
) -> None:
    aynur = team["agents"][0]
    old = _file(team)
    newer = _file(team)
    urgent = _file(team, urgency="high")
    vip = _file(team, customer=users["vip"])
    assert vip.customer_vip
    _mode(team, AssignmentMode.ROUND_ROBIN)

    assert assignment.sweep() == 4

    order = list(
        TicketEvent.objects.filter(kind=EventKind.ASSIGNEE, actor_kind=ActorKind.RULE)
        .order_by("id")
        .values_list("ticket_id", flat=True)
    )
    assert order == [vip.pk, urgent.pk, old.pk, newer.pk]
    assert _assignee(vip) == aynur  # the first turn: everyone waited as long, the first agent


def test_the_sweep_is_safe_to_run_twice(team: dict[str, Any]) -> None:
    for _ in range(3):
        _file(team)
    _mode(team, AssignmentMode.LEAST_LOADED, reassign_after_minutes=30)
    later = timezone.now() + timedelta(minutes=5)

    assert assignment.sweep(now=later) == 3
    events = TicketEvent.objects.count()
    assert assignment.sweep(now=later) == 0
    assert TicketEvent.objects.count() == events
    assert len({_assignee(t) for t in Ticket.objects.filter(department=team["department"])}) == 3


def test_going_on_leave_hands_open_tickets_to_colleagues(team: dict[str, Any]) -> None:
    aynur, boris, cemal = team["agents"]
    _mode(team, AssignmentMode.ROUND_ROBIN)
    mine = [t for t in (_file(team) for _ in range(6)) if _assignee(t) == aynur]
    assert len(mine) == 2

    assignment.set_away(aynur, away=True)

    assert {_assignee(t) for t in mine} == {boris, cemal}
    event = TicketEvent.objects.filter(ticket=mine[0], kind=EventKind.ASSIGNEE).latest("id")
    assert event.from_value == aynur.email
    assert event.data["rule"] == "assignment: agent away"
    assert not Ticket.objects.filter(assignee=aynur).exists()


def test_on_leave_with_nobody_to_take_over_tickets_return_to_the_pool(
    team: dict[str, Any],
) -> None:
    aynur, boris, cemal = team["agents"]
    AgentProfile.objects.create(agent=boris, away=True)
    AgentProfile.objects.create(agent=cemal, away=True)
    _mode(team, AssignmentMode.ROUND_ROBIN)
    ticket = _file(team)
    assert _assignee(ticket) == aynur

    assignment.set_away(aynur, away=True)
    assert _assignee(ticket) is None

    assignment.set_away(cemal, away=False)
    assignment.sweep()
    assert _assignee(ticket) == cemal


def test_leave_set_for_later_is_acted_on_by_the_sweep(team: dict[str, Any]) -> None:
    aynur, boris, cemal = team["agents"]
    _mode(team, AssignmentMode.ROUND_ROBIN)
    ticket = _file(team)
    assert _assignee(ticket) == aynur
    # The admin marks the leave directly (or a return date passed and a new leave began).
    AgentProfile.objects.filter(agent=aynur).update(away=True)

    assignment.sweep()

    assert _assignee(ticket) in (boris, cemal)


def test_a_ticket_without_an_agent_reply_in_time_goes_to_another_agent(
    team: dict[str, Any],
) -> None:
    aynur, boris, cemal = team["agents"]
    _mode(team, AssignmentMode.ROUND_ROBIN, reassign_after_minutes=30)
    silent, answered = _file(team), _file(team)
    assert (_assignee(silent), _assignee(answered)) == (aynur, boris)
    actions.add_message(answered, author=boris, body="Looking into it now, one moment.")
    now = timezone.now()

    with time_machine.travel(now + timedelta(minutes=10)):
        assert assignment.sweep() == 0
    with time_machine.travel(now + timedelta(minutes=31)):
        assert assignment.sweep() == 1
        assert assignment.sweep() == 0

    assert _assignee(silent) == cemal
    assert _assignee(answered) == boris
    event = TicketEvent.objects.filter(ticket=silent, kind=EventKind.ASSIGNEE).latest("id")
    assert event.data["rule"] == "assignment: no agent reply in time"
    # The new agent has their own 30 minutes.
    with time_machine.travel(now + timedelta(minutes=50)):
        assert assignment.sweep() == 0
    with time_machine.travel(now + timedelta(minutes=62)):
        assert assignment.sweep() == 1
    assert _assignee(silent) == aynur


def test_the_reply_time_counts_business_minutes_of_the_department(team: dict[str, Any]) -> None:
    aynur = team["agents"][0]
    closed_calendar = Calendar.objects.create(name="Closed", time_zone="Asia/Baku")
    _mode(
        team,
        AssignmentMode.ROUND_ROBIN,
        reassign_after_minutes=30,
        calendar=closed_calendar,
    )
    ticket = _file(team)
    assert assignment.sweep(now=timezone.now() + timedelta(days=3)) == 0
    assert _assignee(ticket) == aynur


def test_the_admin_edits_department_assignment_and_sends_an_agent_on_leave(
    team: dict[str, Any], users: dict[str, User], django_capture_on_commit_callbacks: Any
) -> None:
    from conftest import signed_in_client

    aynur, boris, cemal = team["agents"]
    _mode(team, AssignmentMode.ROUND_ROBIN)
    ticket = _file(team)
    assert _assignee(ticket) == aynur
    client = signed_in_client(users["admin"])

    page = client.get("/admin/automation/departmentassignment/")
    assert page.status_code == 200
    # Round robin made her profile (her last assignment); the admin ticks "away" on it. The
    # tickets are handed over once the admin's save commits.
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            f"/admin/automation/agentprofile/{aynur.pk}/change/",
            {
                "agent": aynur.pk,
                "languages": '["en"]',
                "away": "on",
                "away_until_0": "",
                "away_until_1": "",
            },
        )
    assert response.status_code == 302, response.content[:500]
    assert _assignee(ticket) in (boris, cemal)


@pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks need PostgreSQL")
@pytest.mark.django_db(transaction=True)
def test_two_tickets_filed_at_once_go_to_two_agents(
    team: dict[str, Any], users: dict[str, User]
) -> None:
    aynur, boris, _cemal = team["agents"]
    Membership.objects.filter(user=team["agents"][2]).delete()
    _mode(team, AssignmentMode.LEAST_LOADED)
    start = threading.Barrier(2)
    filed: list[int] = []
    errors: list[BaseException] = []

    def file(customer: User) -> None:
        try:
            start.wait()
            filed.append(_file(team, customer=customer).pk)
        except BaseException as exc:  # reported by the assertion below
            errors.append(exc)
        finally:
            connections.close_all()

    # Two customers: nothing of the customer's serialises the two filings.
    threads = [
        threading.Thread(target=file, args=(users[name],)) for name in ("customer", "customer2")
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert {Ticket.objects.get(pk=pk).assignee for pk in filed} == {aynur, boris}


def test_an_agent_sets_themselves_away_and_back_on_their_profile(
    team: dict[str, Any], users: dict[str, User]
) -> None:
    from conftest import signed_in_client

    aynur, boris, cemal = team["agents"]
    _mode(team, AssignmentMode.ROUND_ROBIN)
    ticket = _file(team)
    assert _assignee(ticket) == aynur
    client = signed_in_client(aynur)
    assert "Set me away" in client.get("/my/profile/").content.decode()

    back_on = (timezone.now() + timedelta(days=10)).date().isoformat()
    page = client.post("/desk/away/", {"away": "on", "back_on": back_on}, follow=True)

    text = page.content.decode()
    assert "new tickets go to your colleagues, and 1 of your open tickets went to them" in text
    assert f"You are away until {back_on}" in text
    assert _assignee(ticket) in (boris, cemal)
    assert _assignee(_file(team)) in (boris, cemal)

    page = client.post("/desk/away/", {}, follow=True)
    assert "Welcome back" in page.content.decode()
    assert not AgentProfile.objects.get(agent=aynur).away


def test_a_customer_cannot_set_away(users: dict[str, User]) -> None:
    from conftest import signed_in_client

    client = signed_in_client(users["customer"])
    assert client.post("/desk/away/", {"away": "on"}).status_code == 403
    assert "Set me away" not in client.get("/my/profile/").content.decode()


def test_round_robin_keeps_its_turns_after_a_sweep_gave_several_tickets_at_once(
    team: dict[str, Any],
) -> None:
    aynur, boris, cemal = team["agents"]
    waiting = [_file(team) for _ in range(4)]
    _mode(team, AssignmentMode.ROUND_ROBIN)
    assert assignment.sweep() == 4  # one sweep, one `now` for all four
    given = [_assignee(t) for t in waiting] + [_assignee(_file(team)) for _ in range(2)]
    assert given == [aynur, boris, cemal, aynur, boris, cemal]


def test_a_database_error_in_assignment_does_not_lose_the_ticket(
    team: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    from django.db import OperationalError

    _mode(team, AssignmentMode.ROUND_ROBIN)

    def times_out(*args: Any, **kwargs: Any) -> None:  # a lock wait that timed out
        raise OperationalError("canceling statement due to lock timeout")

    monkeypatch.setattr(assignment, "assign_waiting", times_out)
    ticket = _file(team)
    assert Ticket.objects.filter(pk=ticket.pk).exists()
    assert _assignee(ticket) is None  # the sweep gives it an agent later


@pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks need PostgreSQL")
@pytest.mark.django_db(transaction=True)
def test_going_away_while_the_sweep_picks_that_agent_hands_every_ticket_over_once(
    team: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    aynur, boris, cemal = team["agents"]
    _mode(team, AssignmentMode.MANUAL)
    hers = [_file(team) for _ in range(3)]
    for ticket in hers:
        actions.assign(ticket, actor=actions.Actor.of(aynur), assignee=aynur)
    waiting = [_file(team) for _ in range(2)]
    # Aynur has waited longest: the sweep's round robin picks her first.
    earlier = timezone.now() - timedelta(hours=1)
    AgentProfile.objects.create(agent=aynur)
    AgentProfile.objects.create(agent=boris, last_assigned_at=earlier)
    AgentProfile.objects.create(agent=cemal, last_assigned_at=earlier + timedelta(seconds=1))
    _mode(team, AssignmentMode.ROUND_ROBIN)

    sweeper: list[threading.Thread] = []
    holding = threading.Event()
    original = assignment.candidates

    def candidates_then_wait(*args: Any, **kwargs: Any) -> list[assignment.Candidate]:
        found = original(*args, **kwargs)
        if threading.current_thread() in sweeper and not holding.is_set():
            # The sweep holds the department's row and a waiting ticket, and has chosen
            # Aynur; it goes on once she is away (or after 2 s, when her going away waits).
            holding.set()
            for _ in range(40):
                if AgentProfile.objects.filter(agent=aynur, away=True).exists():
                    break
                time.sleep(0.05)
        return found

    monkeypatch.setattr(assignment, "candidates", candidates_then_wait)
    errors: list[BaseException] = []

    def run(step: Any) -> None:
        try:
            step()
        except BaseException as exc:  # reported by the assertion below
            errors.append(exc)
        finally:
            connections.close_all()

    def sweep() -> None:
        assignment.sweep()

    def go_away() -> None:
        assert holding.wait(10)
        assignment.set_away(aynur, away=True)

    sweeper.append(threading.Thread(target=run, args=(sweep,)))
    threads = [sweeper[0], threading.Thread(target=run, args=(go_away,))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)

    assert errors == []
    assert not Ticket.objects.filter(assignee=aynur).exists()
    for ticket in hers:
        handed = TicketEvent.objects.filter(
            ticket=ticket, kind=EventKind.ASSIGNEE, from_value=aynur.email
        )
        assert [e.data["rule"] for e in handed] == ["assignment: agent away"]
        assert _assignee(ticket) in (boris, cemal)
    for ticket in waiting:
        assert _assignee(ticket) in (boris, cemal)
        assert not TicketEvent.objects.filter(
            ticket=ticket, kind=EventKind.ASSIGNEE, to_value=aynur.email
        ).exists()
