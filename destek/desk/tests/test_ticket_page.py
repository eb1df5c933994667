"""The desk ticket page at scale: previous/next in the queue's order, the clocks read from the
ticket, and the statements one view costs (pinned)."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.test import Client
from django.utils import timezone

from destek.accounts.models import User
from destek.desk.selectors import queue_neighbours, ticket_clocks
from destek.tickets import actions
from destek.tickets.actions import Actor
from destek.tickets.choices import ACTIVE_STATUSES, TicketStatus
from destek.tickets.clocks import clocks_left
from destek.tickets.models import FAR_FUTURE, Ticket

pytestmark = pytest.mark.django_db

BAKU = ZoneInfo("Asia/Baku")


@pytest.fixture
def desk(users: dict[str, User]) -> Client:
    client = Client()
    client.force_login(users["agent"])
    client.cookies["django_language"] = "en"
    return client


def filed(users: dict[str, User], subject: str, who: str = "customer") -> Ticket:
    return actions.create_ticket(
        customer=users[who],
        subject=subject,
        body=f"{subject}: the button does nothing and the report never arrives in my mailbox.",
        channel="web",
    )


def queue_key(ticket: Ticket) -> tuple[Any, ...]:
    return (ticket.queue_due, -ticket.priority_rank, -int(ticket.customer_vip), ticket.pk)


def test_previous_and_next_skip_closed_tickets_and_follow_the_queue_order(
    users: dict[str, User],
) -> None:
    """Keys chosen so that every part of the order decides somewhere: ties on the due
    instant (the far future, where pending and closed tickets wait, too), then priority, then
    VIP, then age; closed and resolved tickets sit between the active ones everywhere."""
    soon = timezone.now() + timedelta(hours=2)
    later = soon + timedelta(hours=5)
    keys = [  # due, priority rank, VIP, status
        (soon, 2, False, TicketStatus.OPEN),
        (soon, 2, True, TicketStatus.NEW),
        (soon, 2, False, TicketStatus.CLOSED),
        (soon, 3, False, TicketStatus.OPEN),
        (soon, 1, True, TicketStatus.RESOLVED),
        (soon, 1, False, TicketStatus.NEW),
        (later, 1, False, TicketStatus.CLOSED),
        (later, 1, False, TicketStatus.OPEN),
        (FAR_FUTURE, 1, False, TicketStatus.CLOSED),
        (FAR_FUTURE, 1, False, TicketStatus.PENDING),
        (FAR_FUTURE, 1, True, TicketStatus.PENDING),
        (FAR_FUTURE, 2, False, TicketStatus.CLOSED),
        (FAR_FUTURE, 2, True, TicketStatus.CLOSED),
        (FAR_FUTURE, 0, False, TicketStatus.PENDING),
        (FAR_FUTURE, 1, False, TicketStatus.CLOSED),
        (FAR_FUTURE, 1, False, TicketStatus.PENDING),
    ]
    tickets = []
    for i, (due, rank, vip, status) in enumerate(keys):
        ticket = filed(users, f"Report {i} is blank")
        Ticket.objects.filter(pk=ticket.pk).update(
            queue_due=due, priority_rank=rank, customer_vip=vip, status=status
        )
        ticket.refresh_from_db()
        tickets.append(ticket)
    elsewhere = filed(users, "Payment failed twice")  # Finance: never a neighbour here
    Ticket.objects.filter(pk=elsewhere.pk).update(queue_due=soon, priority_rank=2)
    everything = sorted(tickets, key=queue_key)
    queue = [t.number for t in everything if t.status in ACTIVE_STATUSES]
    assert len(queue) == 9

    agent = users["agent"]
    for ticket in everything:
        # Where this ticket stands among the active ones: a closed ticket keeps its place in
        # the order, between the active tickets around it.
        before = [t.number for t in everything if queue_key(t) < queue_key(ticket)]
        after = [t.number for t in everything if queue_key(t) > queue_key(ticket)]
        expected_previous = next((n for n in reversed(before) if n in queue), None)
        expected_next = next((n for n in after if n in queue), None)
        assert queue_neighbours(agent, ticket) == (expected_previous, expected_next), ticket

    # Following "next" from the head of the queue walks the whole queue, in its order.
    walked = [queue[0]]
    while True:
        current = Ticket.objects.get(number=walked[-1])
        previous, following = queue_neighbours(agent, current)
        assert previous == (walked[-2] if len(walked) > 1 else None)
        if following is None:
            break
        walked.append(following)
    assert walked == queue


def test_the_queue_page_and_the_tickets_links_agree(desk: Client, users: dict[str, User]) -> None:
    tickets = [
        filed(users, f"Report {i} is blank", who="vip" if i % 2 else "customer") for i in range(4)
    ]
    closed = tickets[1]
    actions.change_status(
        closed, actor=Actor.of(users["agent"]), status=TicketStatus.CLOSED, close_reason="resolved"
    )
    listed = [
        int(n) for n in re.findall(r'<tr data-ticket="(\d+)"', desk.get("/desk/").content.decode())
    ]
    assert closed.number not in listed and len(listed) == 3
    for i, number in enumerate(listed):
        page = desk.get(f"/desk/tickets/{number}/").content.decode()
        if i:
            assert f'id="previous-ticket" href="/desk/tickets/{listed[i - 1]}/"' in page
        else:
            assert 'id="previous-ticket"' not in page
        if i < len(listed) - 1:
            assert f'id="next-ticket" href="/desk/tickets/{listed[i + 1]}/"' in page
        else:
            assert 'id="next-ticket"' not in page


def test_the_ticket_page_costs_twenty_statements_whatever_the_thread(
    desk: Client, users: dict[str, User], django_assert_num_queries: Any
) -> None:
    """Pinned on purpose: session, user, the agent's departments, the ticket, its messages,
        their files, previous and next (one statement), the SLA policies, the calendar with its
        hours and dates, the bounce record, the canned replies, the departments to move to, the
        customer's other tickets, the incidents of its "Incident" box (linked, suggested and open
    ones in one statement), the history, the time logged per agent, the tags, the customer's
        survey answer (copied addresses and
        followers only when the ticket's counts say there are some). No knowledge-base search
        (its menu loads when it opens) and nothing recomputed from the history for the clocks.
        Raise it only knowing which statement was added and why."""
    ticket = filed(users, "Export fails")
    for i in range(5):
        actions.add_message(ticket, author=users["agent"], body=f"Step {i}", internal=i % 2 == 0)
    others = [filed(users, f"Report {i} is blank") for i in range(3)]
    actions.change_status(
        others[0],
        actor=Actor.of(users["agent"]),
        status=TicketStatus.CLOSED,
        close_reason="resolved",
    )
    desk.get(f"/desk/tickets/{ticket.number}/")  # marks it seen, once
    with django_assert_num_queries(20):
        page = desk.get(f"/desk/tickets/{ticket.number}/").content.decode()
    assert 'id="next-ticket"' in page or 'id="previous-ticket"' in page
    assert 'id="kb-insert-link"' in page


def test_the_page_shows_the_clocks_the_history_gives(users: dict[str, User]) -> None:
    """The page reads the due instants the actions keep on the ticket; through a ticket's
    life they agree with the clocks recomputed from its history (what the API shows)."""
    agent = users["agent"]

    def on_page(clocks: dict[str, dict[str, Any]] | None) -> dict[str, tuple[Any, ...]]:
        # What the page shows of each clock (a met clock's due instant it does not).
        return {
            name: (clock["running"], clock["business_minutes_left"], clock["breached_at"])
            for name, clock in (clocks or {}).items()
        }

    def same(ticket: Ticket, *moments: datetime) -> None:
        ticket = Ticket.objects.select_related("customer").get(pk=ticket.pk)
        for moment in moments:
            from_ticket = ticket_clocks(ticket, now=moment)
            assert on_page(from_ticket) == on_page(clocks_left(ticket, now=moment)), moment

    friday = datetime(2026, 11, 27, 17, 30, tzinfo=BAKU)
    with time_machine.travel(friday, tick=False):
        ticket = filed(users, "Export fails")
        vip = filed(users, "Export fails", who="vip")
    monday = datetime(2026, 11, 30, 9, 0, tzinfo=BAKU)
    same(ticket, friday, monday, monday + timedelta(days=3))
    same(vip, friday, monday)
    shown = ticket_clocks(Ticket.objects.get(pk=ticket.pk), now=monday)
    assert shown is not None and shown["first_response"]["business_minutes_left"] == 210.0
    with time_machine.travel(monday, tick=False):
        actions.add_message(ticket, author=agent, body="Which report?", status_after="pending")
    same(ticket, monday, monday + timedelta(hours=2))
    with time_machine.travel(monday + timedelta(hours=1), tick=False):
        actions.add_message(ticket, author=users["customer"], body="The monthly one.")
    same(ticket, monday + timedelta(hours=1), monday + timedelta(days=2))
    shown = ticket_clocks(Ticket.objects.get(pk=ticket.pk), now=monday + timedelta(hours=2))
    assert shown is not None and shown["next_response"]["running"]
    assert not shown["first_response"]["running"]
    with time_machine.travel(monday + timedelta(hours=3), tick=False):
        actions.change_status(ticket, actor=Actor.of(agent), status=TicketStatus.RESOLVED)
    same(ticket, monday + timedelta(hours=4))
    shown = ticket_clocks(Ticket.objects.get(pk=ticket.pk), now=monday + timedelta(hours=4))
    assert shown is not None and not any(clock["running"] for clock in shown.values())


def test_the_page_shows_business_time_left_in_words(desk: Client, users: dict[str, User]) -> None:
    with time_machine.travel(datetime(2026, 11, 27, 17, 30, tzinfo=BAKU), tick=False):
        ticket = filed(users, "Export fails")
    with time_machine.travel(datetime(2026, 11, 30, 9, 0, tzinfo=BAKU), tick=False):
        page = desk.get(f"/desk/tickets/{ticket.number}/").content.decode()
    assert re.search(r"First response: 3 hrs, 30 mins left", page), re.findall(
        r'<li class="badge">[^<]*', page
    )


@pytest.mark.django_db(transaction=True)
def test_the_forms_kept_per_process_show_each_tickets_own_fields_and_renamed_departments(
    demo: None,
) -> None:
    """Committed, as in production, so the untouched forms are kept between pages: each
    ticket still shows its own priority, and a department renamed in the admin shows at once."""
    users = {u.email.split("@")[0]: u for u in User.objects.all()}
    desk = Client()
    desk.force_login(users["agent"])
    desk.cookies["django_language"] = "en"
    calm = filed(users, "Export fails")
    urgent = filed(users, "Invoice page is blank")
    actions.change_priority(urgent, actor=Actor.of(users["agent"]), priority="high")

    def page(ticket: Ticket) -> str:
        return desk.get(f"/desk/tickets/{ticket.number}/").content.decode()

    for _ in range(2):  # the second time from what the process kept
        assert '<option value="normal" selected>' in page(calm)
        assert '<option value="high" selected>' in page(urgent)
    department = calm.department
    department.name = "Technical support"
    department.names = {}
    department.save()
    assert ">Technical support</option>" in page(calm)


def test_the_history_names_the_agents_a_ticket_went_from_and_to(
    desk: Client, users: dict[str, User]
) -> None:
    ticket = filed(users, "Export fails")
    agent, finance = users["agent"], users["finance"]
    actions.assign(ticket, actor=Actor.of(agent), assignee=agent)
    from destek.tickets.models import Membership

    Membership.objects.get_or_create(department=ticket.department, user=finance)
    actions.assign(ticket, actor=Actor.of(agent), assignee=finance)
    page = desk.get(f"/desk/tickets/{ticket.number}/").content.decode()
    history = page.split("<ol>")[-1].split("</ol>")[0]
    assert f"<bdi>{agent.display_name}</bdi> → <bdi>{finance.display_name}</bdi>" in history
    assert "finance@example.com" not in history


def test_the_history_shows_an_agents_name_as_text_on_assignment_and_unassignment(
    desk: Client, users: dict[str, User]
) -> None:
    from destek.tickets.models import Membership

    ticket = filed(users, "Export fails again")
    finance = users["finance"]
    finance.full_name = "<script>alert(1)</script> Fidan"
    finance.save(update_fields=["full_name"])
    Membership.objects.get_or_create(department=ticket.department, user=finance)
    actions.assign(ticket, actor=Actor.of(users["agent"]), assignee=finance)
    actions.assign(ticket, actor=Actor.of(users["agent"]), assignee=None)
    page = desk.get(f"/desk/tickets/{ticket.number}/").content.decode()
    history = page.split("<ol>")[-1].split("</ol>")[0]
    named = "<bdi>&lt;script&gt;alert(1)&lt;/script&gt; Fidan</bdi>"
    assert history.count(f": {named}") == 2  # given to her, then taken from her
    assert "<script>" not in history
