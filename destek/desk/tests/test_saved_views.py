"""Saved views beside the queue: an agent names the filters, search words and sort they use,
keeps them to themselves or shares them with a department, and sees how many tickets each
holds; any column of the queue sorts, both ways."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from django.core.cache import cache
from django.test import Client

from conftest import signed_in_client as desk_for
from destek.accounts.models import User
from destek.desk.models import SavedView
from destek.tickets.models import Department, Membership, Ticket

pytestmark = pytest.mark.django_db


def count_of(page: str, view: SavedView) -> str:
    found = re.search(rf'data-view-count="{view.pk}">([^<]*)<', page)
    assert found, f"no count for {view.name}"
    return found.group(1)


def save(desk: Client, name: str, params: str = "", department: int | str = "") -> Any:
    return desk.post("/desk/views/", {"name": name, "params": params, "department": department})


def rows_of(page: str) -> list[int]:
    return [int(n) for n in re.findall(r'<tr data-ticket="(\d+)"', page)]


def said(response: Any) -> list[str]:
    return [str(m) for m in response.context["messages"]]


def test_an_agent_saves_the_queue_as_a_view_and_opening_it_applies_its_filters(
    customer: Any, vip: Any, users: dict[str, User]
) -> None:
    plain = customer.file_ticket("Printer jams", "The printer jams.")
    special = vip.file_ticket("Scanner broken", "The scanner is broken.")
    desk = desk_for(users["agent"])
    answer = save(desk, "VIP by update", "vip=1&sort=-updated")
    assert answer.status_code == 302
    view = SavedView.objects.get()
    assert (view.name, view.filters, view.sort, view.department) == (
        "VIP by update",
        {"vip": "1"},
        "-updated",
        None,
    )
    # The address carries the filters in the open, so a bookmark keeps them.
    assert answer["Location"] == f"/desk/?vip=1&sort=-updated&view={view.pk}"
    opened = desk.get(answer["Location"], follow=True)
    page = opened.content.decode()
    assert rows_of(page) == [special["number"]]
    assert plain["number"] not in rows_of(page)
    assert f'data-view="{view.pk}" aria-current="page"' in page
    assert 'data-sort="updated" aria-sort="descending"' in page


def test_a_view_keeps_its_search_words_and_shows_no_count_for_them(
    customer: Any, users: dict[str, User]
) -> None:
    wanted = customer.file_ticket("Printer jams", "The printer in room 12 jams.")
    customer.file_ticket("Invoice wrong", "The invoice total is wrong.")
    desk = desk_for(users["agent"])
    answer = save(desk, "Printers", "q=printer")
    page = desk.get(answer["Location"]).content.decode()
    assert rows_of(page) == [wanted["number"]]
    view = SavedView.objects.get()
    assert view.filters == {"q": "printer"}
    assert f'data-view-count="{view.pk}"' not in page, "a search is not counted"
    assert re.search(rf'data-view="{view.pk}"[^>]*>.*?<span class="count"[^>]*>—</span>', page)


def test_the_panel_lists_the_agents_views_each_with_its_count(
    customer: Any, vip: Any, agent: Any, users: dict[str, User]
) -> None:
    customer.file_ticket("Printer jams", "The printer jams.")
    customer.file_ticket("Mouse broken", "The mouse is broken.")
    vip.file_ticket("Scanner broken", "The scanner is broken.")
    desk = desk_for(users["agent"])
    save(desk, "VIP", "vip=1")
    save(desk, "Unassigned", "who=unassigned")
    save(desk, "Urgent", "priority=critical")
    page = desk.get("/desk/").content.decode()
    vip_view, unassigned, urgent = SavedView.objects.order_by("position")
    assert (count_of(page, vip_view), count_of(page, unassigned), count_of(page, urgent)) == (
        "1",
        "3",
        "0",
    )
    assert page.index(">VIP<") < page.index(">Unassigned<") < page.index(">Urgent<")


def test_a_views_count_moves_when_a_ticket_changes_once_the_counts_are_forgotten(
    customer: Any, users: dict[str, User]
) -> None:
    from destek.desk.selectors import forget_queue_counts

    first = customer.file_ticket("Printer jams", "The printer jams.")
    second = customer.file_ticket("Mouse broken", "The mouse is broken.")
    desk = desk_for(users["agent"])
    save(desk, "Unassigned", "who=unassigned")
    view = SavedView.objects.get()
    assert count_of(desk.get("/desk/").content.decode(), view) == "2"
    # Taking a ticket in the desk forgets the counts: the panel agrees with the list at once.
    desk.post("/desk/bulk/", {"ticket": [first["number"]], "op": "assign", "assignee": "me"})
    assert count_of(desk.get("/desk/").content.decode(), view) == "1"
    # A change made elsewhere shows once the short-lived count is forgotten.
    Ticket.objects.filter(number=second["number"]).update(assignee=users["agent"])
    assert count_of(desk.get("/desk/").content.decode(), view) == "1", "cached for a while"
    forget_queue_counts()
    assert count_of(desk.get("/desk/").content.decode(), view) == "0"


def test_a_personal_view_is_its_owners_and_a_shared_one_is_seen_by_its_department(
    customer: Any, users: dict[str, User]
) -> None:
    customer.file_ticket("Printer jams", "The printer jams.")
    technical = Department.objects.get(membership__user=users["agent"])
    desk = desk_for(users["agent"])
    save(desk, "Just mine", "who=mine")
    save(desk, "Team unassigned", "who=unassigned", technical.pk)
    colleague = User.objects.create_user(
        email="colleague@example.com", password="x", role=users["agent"].role
    )
    Membership.objects.create(user=colleague, department=technical)
    cache.clear()  # memberships are kept per process until one changes
    theirs = desk_for(colleague).get("/desk/").content.decode()
    assert "Team unassigned" in theirs and "Just mine" not in theirs
    assert f"Shared with {technical.display_name('en')}" in theirs
    other_department = desk_for(users["finance"]).get("/desk/").content.decode()
    assert "Team unassigned" not in other_department and "Just mine" not in other_department
    # The colleague opens the shared view but may not change it; an admin may.
    shared = SavedView.objects.get(name="Team unassigned")
    desk_for(colleague).post(f"/desk/views/{shared.pk}/delete/")
    desk_for(colleague).post(f"/desk/views/{shared.pk}/", {"name": "Mine now"})
    assert SavedView.objects.get(pk=shared.pk).name == "Team unassigned"
    desk_for(users["admin"]).post(
        f"/desk/views/{shared.pk}/", {"name": "Team queue", "department": technical.pk}
    )
    assert SavedView.objects.get(pk=shared.pk).name == "Team queue"
    personal = SavedView.objects.get(name="Just mine")
    desk_for(users["admin"]).post(f"/desk/views/{personal.pk}/delete/")
    assert SavedView.objects.filter(pk=personal.pk).exists(), "personal views are their owner's"


def test_a_view_of_a_department_the_agent_has_left_shows_nothing_of_it(
    customer: Any, users: dict[str, User]
) -> None:
    finance = Department.objects.get(membership__user=users["finance"])
    ticket = customer.file_ticket("Invoice wrong", "The invoice total is wrong.")
    Ticket.objects.filter(number=ticket["number"]).update(department=finance)
    agent = users["agent"]
    membership = Membership.objects.create(user=agent, department=finance)
    cache.clear()
    desk = desk_for(agent)
    save(desk, "Finance shared", f"department={finance.pk}", finance.pk)
    save(desk, "Finance mine", f"department={finance.pk}")
    shared, mine = (
        SavedView.objects.get(name="Finance shared"),
        SavedView.objects.get(name="Finance mine"),
    )
    page = desk.get("/desk/").content.decode()
    assert count_of(page, shared) == count_of(page, mine) == "1"

    membership.delete()
    cache.clear()
    agent = User.objects.get(pk=agent.pk)
    desk = desk_for(agent)
    page = desk.get("/desk/").content.decode()
    # Both are still the agent's own to rename or delete, and both read through the agent's
    # own access now: nothing of the department they left.
    assert count_of(page, shared) == count_of(page, mine) == "0"
    for view in (shared, mine):
        bookmarked = desk.get(f"/desk/?department={finance.pk}&view={view.pk}").content.decode()
        assert rows_of(bookmarked) == []
    # A colleague who stayed in Finance still sees the shared view and its ticket.
    theirs = desk_for(users["finance"]).get("/desk/").content.decode()
    assert count_of(theirs, shared) == "1"


def test_a_shared_view_leaves_the_panel_of_an_agent_who_left_its_department(
    customer: Any, users: dict[str, User]
) -> None:
    finance = Department.objects.get(membership__user=users["finance"])
    ticket = customer.file_ticket("Invoice wrong", "The invoice total is wrong.")
    Ticket.objects.filter(number=ticket["number"]).update(department=finance)
    shared = SavedView.objects.create(
        owner=users["finance"], name="Finance queue", department=finance, filters={}
    )
    agent = users["agent"]
    membership = Membership.objects.create(user=agent, department=finance)
    cache.clear()
    page = desk_for(agent).get("/desk/").content.decode()
    assert count_of(page, shared) == "1"
    membership.delete()
    cache.clear()
    desk = desk_for(User.objects.get(pk=agent.pk))
    page = desk.get("/desk/").content.decode()
    assert "Finance queue" not in page
    bookmarked = desk.get(f"/desk/?department={finance.pk}&view={shared.pk}").content.decode()
    assert rows_of(bookmarked) == [] and "Finance queue" not in bookmarked


def test_an_agent_renames_reorders_and_deletes_their_views(users: dict[str, User]) -> None:
    desk = desk_for(users["agent"])
    for name in ("One", "Two", "Three"):
        save(desk, name, "who=mine")
    one, two, three = SavedView.objects.order_by("position")
    desk.post(f"/desk/views/{three.pk}/move/", {"direction": "up"})
    assert [v.name for v in SavedView.objects.order_by("position")] == ["One", "Three", "Two"]
    desk.post(f"/desk/views/{one.pk}/move/", {"direction": "down"})
    assert [v.name for v in SavedView.objects.order_by("position")] == ["Three", "One", "Two"]
    answer = desk.post(f"/desk/views/{two.pk}/", {"name": "  Second  "})
    assert answer.status_code == 302
    assert SavedView.objects.get(pk=two.pk).name == "Second"
    desk.post(f"/desk/views/{one.pk}/delete/")
    assert [v.name for v in SavedView.objects.order_by("position")] == ["Three", "Second"]
    page = desk.get("/desk/").content.decode()
    assert page.index(">Three<") < page.index(">Second<")


def test_a_view_needs_a_name_of_at_most_80_characters_and_an_agent_keeps_at_most_50(
    users: dict[str, User],
) -> None:
    from destek.desk.models import VIEWS_MAX

    desk = desk_for(users["agent"])
    nameless = save(desk, "   ", "who=mine")
    assert nameless.status_code == 302 and nameless["Location"] == "/desk/?who=mine"
    assert "This field is required." in said(desk.get(nameless["Location"]))
    long = desk.post("/desk/views/", {"name": "x" * 81, "params": ""}, follow=True)
    assert any("at most 80 characters" in m for m in said(long))
    assert not SavedView.objects.exists()
    SavedView.objects.bulk_create(
        SavedView(owner=users["agent"], name=f"v{i}", position=i) for i in range(VIEWS_MAX)
    )
    refused = save(desk, "One too many", "who=mine")
    assert "You already have 50 views. Delete one to save another." in said(
        desk.get(refused["Location"])
    )
    assert SavedView.objects.count() == VIEWS_MAX


def test_an_agent_cannot_share_a_view_with_a_department_they_do_not_work_in(
    users: dict[str, User],
) -> None:
    finance = Department.objects.get(membership__user=users["finance"])
    answer = desk_for(users["agent"]).post(
        "/desk/views/", {"name": "Theirs", "params": "", "department": finance.pk}, follow=True
    )
    assert answer.status_code == 200
    assert not SavedView.objects.exists()
    assert said(answer), "told why"


def test_an_unknown_sort_or_a_tampered_view_is_left_out_with_a_message(
    customer: Any, users: dict[str, User]
) -> None:
    ticket = customer.file_ticket("Printer jams", "The printer jams.")
    desk = desk_for(users["agent"])
    odd = desk.get("/desk/", {"sort": "password", "status": "gone"})
    assert odd.status_code == 200
    assert said(odd) == ["Left out what could not be read: status, sort."]
    assert rows_of(odd.content.decode()) == [ticket["number"]], "the default queue instead"
    tampered = SavedView.objects.create(
        owner=users["agent"],
        name="Tampered",
        filters={"status": ["open"], "who": "mine", "raw_sql": "1=1", "department": "1 OR 1"},
        sort="-password",
    )
    page = desk.get("/desk/")
    assert page.status_code == 200
    assert count_of(page.content.decode(), tampered) == "0"  # only "mine" applied
    opened = desk.get(f"/desk/?who=mine&view={tampered.pk}")
    assert said(opened) == [
        "Part of the view “Tampered” could not be read and was left out:"
        " status, department, sort, raw_sql."
    ]
    broken = SavedView.objects.create(owner=users["agent"], name="Broken", filters=["x"])
    assert desk.get(f"/desk/?view={broken.pk}").status_code == 200
    # Said in the reader's language.
    User.objects.filter(pk=users["agent"].pk).update(language="ru")
    russian = desk_for(User.objects.get(pk=users["agent"].pk), "ru")
    assert said(russian.get("/desk/", {"sort": "x", "due": "soon"})) == [
        "Пропущено то, что не удалось прочитать: срок, сортировка."
    ]


def test_the_queue_with_many_views_costs_one_query_for_all_their_counts(
    customer: Any, users: dict[str, User], django_assert_num_queries: Any
) -> None:
    customer.file_ticket("Printer jams", "The printer jams.")
    agent = users["agent"]
    desk = desk_for(agent)
    desk.get("/desk/")  # the session and memberships warmed like any later page
    filters = [{"who": "mine"}, {"vip": "1"}, {"priority": "high"}, {"due": "breached"}]
    SavedView.objects.bulk_create(
        SavedView(owner=agent, name=f"View {i}", filters=filters[i % 4], position=i)
        for i in range(12)
    )
    # Session, user, departments, the page, colleagues, the bulk bar's macros and departments, the
    # views, the departments to share with, and ONE aggregate for all twelve counts (the
    # queue's own counts are still cached from the first page).
    with django_assert_num_queries(10):
        desk.get("/desk/")
    with django_assert_num_queries(9):  # the views' counts are cached too
        desk.get("/desk/")
    SavedView.objects.bulk_create(
        SavedView(owner=agent, name=f"More {i}", filters={"who": "unassigned"}, position=20 + i)
        for i in range(20)
    )
    with django_assert_num_queries(10):  # thirty-two views: still one aggregate
        desk.get("/desk/")


def test_the_counts_of_views_read_in_persian_digits(customer: Any, users: dict[str, User]) -> None:
    for i in range(3):
        customer.file_ticket(f"Printer {i} jams", "The printer jams.")
    desk = desk_for(users["agent"])
    save(desk, "همه", "who=unassigned")
    User.objects.filter(pk=users["agent"].pk).update(language="fa")
    page = desk_for(User.objects.get(pk=users["agent"].pk), "fa").get("/desk/").content.decode()
    assert count_of(page, SavedView.objects.get()) == "۳"
    assert 'dir="rtl"' in page


COLUMNS = (
    "number",
    "subject",
    "customer",
    "priority",
    "status",
    "department",
    "due",
    "assignee",
    "updated",
)


@pytest.mark.parametrize("column", COLUMNS)
def test_any_column_sorts_the_queue_both_ways(
    column: str, customer: Any, customer2: Any, vip: Any, users: dict[str, User]
) -> None:
    from datetime import timedelta

    from django.utils import timezone

    made = [
        client.file_ticket(subject, "Something broke.")
        for client, subject in ((customer, "Beta"), (customer2, "Alpha"), (vip, "Gamma"))
    ]
    Department.objects.get_or_create(name="Warehouse")  # a third, beside the demo's two
    departments = list(Department.objects.order_by("name")[:3])
    assignees = [users["agent"], users["admin"], users["finance"]]
    now = timezone.now()
    # Each column holds the three tickets in a different order, so one sort cannot pass for
    # another.
    plan = {
        0: ("open", "high", departments[1 % len(departments)], assignees[2], 5, 2),
        1: ("new", "low", departments[0], assignees[0], 1, 3),
        2: ("pending", "normal", departments[2 % len(departments)], assignees[1], 3, 1),
    }
    from destek.tickets.choices import Priority

    ranks = {"low": 0, "normal": 1, "high": 2, "urgent": 3}
    for i, (status, priority, department, assignee, due_hours, updated_hours) in plan.items():
        Ticket.objects.filter(number=made[i]["number"]).update(
            status=status,
            priority=Priority(priority),
            priority_rank=ranks[priority],
            department=department,
            assignee=assignee,
            queue_due=now + timedelta(hours=due_hours),
            updated_at=now - timedelta(hours=updated_hours),
        )
    tickets = {
        t.number: t for t in Ticket.objects.select_related("customer", "assignee", "department")
    }
    status_order = ["new", "open", "pending", "resolved", "closed"]
    keys: dict[str, Callable[[Ticket], Any]] = {
        "number": lambda t: t.number,
        "subject": lambda t: t.subject,
        "customer": lambda t: t.customer.full_name,
        "priority": lambda t: t.priority_rank,
        "status": lambda t: status_order.index(t.status),
        "department": lambda t: t.department.name,
        "due": lambda t: t.queue_due,
        "assignee": lambda t: t.assignee and (t.assignee.full_name or t.assignee.email),
        "updated": lambda t: t.updated_at,
    }
    expected = sorted(tickets, key=lambda n: keys[column](tickets[n]))
    desk = desk_for(users["admin"])
    ascending = desk.get("/desk/", {"sort": column}).content.decode()
    descending = desk.get("/desk/", {"sort": f"-{column}"}).content.decode()
    assert len({keys[column](t) for t in tickets.values()}) == 3
    assert rows_of(ascending) == expected
    assert rows_of(descending) == expected[::-1]
    assert f'data-sort="{column}" aria-sort="ascending"' in ascending
    assert f'data-sort="{column}" aria-sort="descending"' in descending
    # The heading links to the other way round; the sort survives a filter link.
    assert f'href="?sort=-{column}"' in ascending or column == "due"
    assert f"sort={column}" in ascending.split('id="queue-filters"')[1].split("</nav>")[0] or (
        column == "due"
    )


def test_the_queue_order_stays_the_default_and_a_sorted_queue_pages(
    customer: Any, users: dict[str, User], monkeypatch: Any
) -> None:
    from destek.desk import views

    monkeypatch.setattr(views, "PAGE", 2)
    made = [customer.file_ticket(f"Report {i}", "Blank.")["number"] for i in range(5)]
    desk = desk_for(users["agent"])
    page = desk.get("/desk/").content.decode()
    assert 'data-sort="due" aria-sort="ascending"' in page
    seen: list[int] = []
    address = "/desk/?sort=number"
    while address:
        page = desk.get(address).content.decode()
        seen += rows_of(page)
        found = re.search(r'<a class="button" href="([^"]+)">Next page', page)
        address = "/desk/" + found.group(1).replace("&amp;", "&") if found else ""
    assert seen == sorted(made)
