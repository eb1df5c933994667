"""The agent desk without JavaScript: the queue, a ticket, reply, note, assign, close."""

from __future__ import annotations

import html
import re
from typing import Any

import pytest
from django.core.cache import cache
from django.core.mail import EmailMessage
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from destek.accounts.models import User
from destek.tickets import actions
from destek.tickets.models import Ticket

pytestmark = pytest.mark.django_db


@pytest.fixture
def desk(users: dict[str, User]) -> Client:
    client = Client()
    client.force_login(users["agent"])
    client.cookies["django_language"] = "en"
    return client


def filed(users: dict[str, User], who: str = "customer", subject: str = "Export fails") -> Ticket:
    return actions.create_ticket(
        customer=users[who],
        subject=subject,
        # Clearly English, so the ticket is English whatever the customer's account says.
        body=f"{subject}: the button does nothing and the report never arrives in my mailbox.",
        channel="web",
    )


def test_the_queue_is_for_agents_only(users: dict[str, User]) -> None:
    customer = Client()
    customer.force_login(users["customer"])
    assert customer.get("/desk/").status_code == 403
    assert Client().get("/desk/").status_code == 302


def test_the_queue_shows_the_departments_tickets_vip_first_among_equals(
    desk: Client, users: dict[str, User]
) -> None:
    mine = filed(users)
    theirs = filed(users, subject="Payment failed twice")  # routed to Finance
    page = desk.get("/desk/").content.decode()
    assert f"#{mine.number}" in page
    assert f"#{theirs.number}" not in page


def test_an_agent_replies_and_chooses_the_status(desk: Client, users: dict[str, User]) -> None:
    ticket = filed(users)
    response = desk.post(
        f"/desk/tickets/{ticket.number}/reply/",
        {"body": "Fixed on our side.", "status": "resolved"},
    )
    assert response.status_code == 302
    ticket.refresh_from_db()
    assert ticket.status == "resolved" and ticket.first_response_at is not None


def test_notes_are_set_apart_and_never_reach_the_customer(
    desk: Client, users: dict[str, User]
) -> None:
    ticket = filed(users)
    desk.post(f"/desk/tickets/{ticket.number}/note/", {"body": "Old plan customer"})
    page = desk.get(f"/desk/tickets/{ticket.number}/").content.decode()
    assert "Internal note" in page and "Old plan customer" in page
    customer = Client()
    customer.force_login(users["customer"])
    assert "Old plan customer" not in customer.get(f"/my/tickets/{ticket.number}/").content.decode()


def test_assign_to_me_and_close_with_a_contract_clause(
    desk: Client, users: dict[str, User]
) -> None:
    ticket = filed(users)
    desk.post(f"/desk/tickets/{ticket.number}/assign/")
    refused = desk.post(f"/desk/tickets/{ticket.number}/close/", {"reason": "contract"})
    assert "Closing under the contract needs the clause" in refused.content.decode()
    desk.post(f"/desk/tickets/{ticket.number}/close/", {"reason": "contract", "clause": "9.5"})
    ticket.refresh_from_db()
    assert ticket.assignee == users["agent"]
    assert (ticket.status, ticket.close_reason, ticket.contract_clause) == (
        "closed",
        "contract",
        "9.5",
    )


def test_opening_a_ticket_marks_it_seen(desk: Client, users: dict[str, User]) -> None:
    ticket = filed(users)
    desk.get(f"/desk/tickets/{ticket.number}/")
    ticket.refresh_from_db()
    assert ticket.first_seen_at is not None


def test_another_departments_ticket_is_not_found(desk: Client, users: dict[str, User]) -> None:
    theirs = filed(users, subject="Payment failed twice")
    assert desk.get(f"/desk/tickets/{theirs.number}/").status_code == 404
    assert desk.post(f"/desk/tickets/{theirs.number}/note/", {"body": "x"}).status_code == 404


def test_the_queue_page_costs_the_same_queries_for_2_or_30_tickets(
    desk: Client, users: dict[str, User]
) -> None:
    def count() -> int:
        cache.clear()  # the counts' cache is tested on its own below
        with CaptureQueriesContext(connection) as queries:
            assert desk.get("/desk/").status_code == 200
        return len(queries)

    for i in range(2):
        filed(users, subject=f"Report {i} is blank")
    small = count()
    for i in range(2, 30):
        filed(users, who="vip" if i % 3 else "customer2", subject=f"Report {i} is blank")
    assert count() == small


def test_the_queue_costs_ten_queries_and_nine_while_its_counts_are_cached(
    desk: Client, users: dict[str, User], django_assert_num_queries: Any
) -> None:
    """Pinned on purpose: session, user, the agent's departments, the one aggregate for all
    the filter counts, the page of tickets, the colleagues, the macros and the departments for
    the bulk bar, the saved views and the departments a view may be shared with (an agent with
    views adds one aggregate for all their counts: desk/tests/test_saved_views.py). Raise it
    only knowing which query was added and why."""
    for i in range(3):
        filed(users, subject=f"Report {i} is blank")
    with django_assert_num_queries(10):
        desk.get("/desk/")
    with django_assert_num_queries(9):
        desk.get("/desk/")


def test_a_deep_queue_page_costs_the_same_nine_queries_as_the_first(
    desk: Client, users: dict[str, User], django_assert_num_queries: Any, monkeypatch: Any
) -> None:
    from destek.desk import views

    monkeypatch.setattr(views, "PAGE", 2)
    for i in range(7):
        filed(users, subject=f"Report {i} is blank")
    page = desk.get("/desk/").content.decode()
    for _page in range(2):
        found = re.search(r'href="\?([^"]*cursor=[^"]+)"', page)
        assert found is not None
        with django_assert_num_queries(9):  # the counts are cached by the first page
            page = desk.get(f"/desk/?{html.unescape(found.group(1))}").content.decode()
        assert page.count("<tr data-ticket=") == 2


def test_the_ticket_page_costs_a_fixed_number_of_queries(
    desk: Client, users: dict[str, User]
) -> None:
    ticket = filed(users)
    desk.get(f"/desk/tickets/{ticket.number}/")  # marks it seen once

    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert desk.get(f"/desk/tickets/{ticket.number}/").status_code == 200
        return len(queries)

    before = count()
    for i in range(5):
        actions.add_message(ticket, author=users["agent"], body=f"Step {i}", internal=i % 2 == 0)
    assert count() == before


def test_subjects_are_text_in_the_desk(desk: Client, users: dict[str, User]) -> None:
    filed(users, subject="<script>alert(1)</script> broken")
    page = desk.get("/desk/").content.decode()
    assert "<script>alert(1)</script>" not in page


# --- bulk actions ---------------------------------------------------------------------------


def page_messages(response: Any) -> list[str]:
    return [str(m) for m in response.context["messages"]]


def test_a_bulk_status_change_reports_each_refusal_and_keeps_the_others_done(
    desk: Client, users: dict[str, User]
) -> None:
    done = [filed(users, subject=f"Report {i} is blank") for i in range(3)]
    closed = filed(users, subject="Old export question")
    actions.change_status(
        closed, actor=actions.Actor.of(users["agent"]), status="closed", close_reason="resolved"
    )
    theirs = filed(users, subject="Payment failed twice")  # Finance's, not the agent's
    numbers = [t.number for t in [*done, closed, theirs]]
    response = desk.post(
        "/desk/bulk/", {"ticket": numbers, "op": "status", "status": "closed"}, follow=True
    )
    said = page_messages(response)
    assert "3 tickets updated." in said
    refused = next(m for m in said if "refused" in m)
    assert refused.startswith("2 refused:")
    assert f"#{closed.number} The ticket is already closed." in refused
    assert f"#{theirs.number} not found" in refused
    for ticket in done:
        ticket.refresh_from_db()
        assert (ticket.status, ticket.close_reason) == ("closed", "resolved")
    theirs.refresh_from_db()
    assert theirs.status == "new"


def test_a_bulk_action_on_another_departments_ticket_leaves_it_unchanged(
    desk: Client, users: dict[str, User]
) -> None:
    theirs = filed(users, subject="Payment failed twice")
    events_before = theirs.events.count()
    response = desk.post(
        "/desk/bulk/", {"ticket": [theirs.number], "op": "assign", "assignee": "me"}, follow=True
    )
    assert page_messages(response) == [f"1 refused: #{theirs.number} not found"]
    theirs.refresh_from_db()
    assert theirs.assignee is None and theirs.events.count() == events_before


def test_bulk_assign_to_a_colleague_then_to_nobody(desk: Client, users: dict[str, User]) -> None:
    from destek.accounts.models import User
    from destek.tickets.models import Department, Membership

    colleague = User.objects.create_user("second@example.com", "x", role="agent")
    Membership.objects.create(department=Department.objects.get(slug="technical"), user=colleague)
    tickets = [filed(users, subject=f"Report {i} is blank") for i in range(2)]
    numbers = [t.number for t in tickets]
    queue = desk.get("/desk/").content.decode()
    assert f'value="{colleague.pk}"' in queue  # offered in the bar
    desk.post("/desk/bulk/", {"ticket": numbers, "op": "assign", "assignee": str(colleague.pk)})
    assert {t.assignee_id for t in Ticket.objects.filter(number__in=numbers)} == {colleague.pk}
    desk.post("/desk/bulk/", {"ticket": numbers, "op": "assign", "assignee": "none"})
    assert {t.assignee_id for t in Ticket.objects.filter(number__in=numbers)} == {None}


def test_bulk_move_to_another_department(desk: Client, users: dict[str, User]) -> None:
    from destek.tickets.models import Department

    ticket = filed(users)
    finance = Department.objects.get(slug="finance")
    response = desk.post(
        "/desk/bulk/",
        {"ticket": [ticket.number], "op": "department", "department": finance.pk},
        follow=True,
    )
    assert page_messages(response) == ["1 ticket updated."]
    ticket.refresh_from_db()
    assert ticket.department == finance
    assert f"#{ticket.number}" not in response.content.decode().split('id="queue-list"')[-1]


def test_bulk_merge_into_one_ticket_refuses_another_customers(
    desk: Client, users: dict[str, User]
) -> None:
    target = filed(users, subject="Export fails for March")
    same = filed(users, subject="Export fails for April")
    other = filed(users, who="customer2", subject="Export fails for May")
    response = desk.post(
        "/desk/bulk/",
        {
            "ticket": [target.number, same.number, other.number],
            "op": "merge",
            "into": target.number,
            "confirm": "1",
        },
        follow=True,
    )
    said = page_messages(response)
    assert "1 ticket updated." in said
    assert any(f"#{other.number} Only tickets of the same customer" in m for m in said)
    same.refresh_from_db()
    other.refresh_from_db()
    assert same.merged_into_id == target.pk and other.merged_into_id is None


def test_bulk_actions_are_capped_and_need_a_selection(desk: Client, users: dict[str, User]) -> None:
    too_many = [str(10_000_000 + i) for i in range(101)]
    response = desk.post(
        "/desk/bulk/", {"ticket": too_many, "op": "assign", "assignee": "me"}, follow=True
    )
    assert page_messages(response) == ["Select at most 100 tickets at a time."]
    response = desk.post("/desk/bulk/", {"op": "assign", "assignee": "me"}, follow=True)
    assert page_messages(response) == ["Select at least one ticket."]


def test_customers_cannot_use_the_bulk_bar(users: dict[str, User]) -> None:
    ticket = filed(users)
    client = Client()
    client.force_login(users["customer"])
    response = client.post(
        "/desk/bulk/", {"ticket": [ticket.number], "op": "status", "status": "closed"}
    )
    assert response.status_code == 403
    ticket.refresh_from_db()
    assert ticket.status == "new"


# --- macros that only reply (once canned replies) ----------------------------------------


def reply_macro(body: str, **fields: Any) -> Any:
    from destek.automation.models import Macro, MacroText

    macro = Macro.objects.create(**{"name": "Test reply", **fields})
    MacroText.objects.create(macro=macro, body=body)
    return macro


def test_macro_placeholders_are_filled_and_nothing_else(users: dict[str, User]) -> None:
    from destek.automation.selectors import render_text

    ticket = filed(users)
    text = render_text(
        "Hi {customer_name}, {ticket_number} is with {agent_name} of {department}. "
        "{customer_name.__class__} {0} {unknown}",
        ticket=ticket,
        agent=users["agent"],
    )
    assert text == (
        f"Hi Kamran Müştəri, #{ticket.number} is with Tural Texniki of Technical. "
        "{customer_name.__class__} {0} {unknown}"
    )


def test_the_ticket_page_offers_its_departments_and_global_macros_and_previews_them_as_text(
    desk: Client, users: dict[str, User]
) -> None:
    from destek.accounts.models import User
    from destek.automation.models import Macro

    User.objects.filter(pk=users["customer"].pk).update(full_name='<b onmouseover="x">K</b>')
    ticket = filed(users)
    reply_macro("x", name="Finance only", department_id=users["finance"].departments.get().pk)
    page = desk.get(f"/desk/tickets/{ticket.number}/").content.decode()
    assert "Greeting: we are on it" in page and "Outage acknowledged" in page
    assert "Finance only" not in page
    greeting = Macro.objects.get(name="Greeting: we are on it")
    preview = desk.get(
        f"/desk/tickets/{ticket.number}/macros/", {"macro": greeting.pk}, HTTP_HX_REQUEST="true"
    ).content.decode()
    assert "<b onmouseover" not in preview
    assert "Hello &lt;b onmouseover=&quot;x&quot;&gt;K&lt;/b&gt;," in preview


def test_a_reply_macro_is_sent_and_sets_its_status_and_priority(
    desk: Client, users: dict[str, User]
) -> None:
    from destek.automation.models import Macro

    ticket = filed(users)
    outage = Macro.objects.get(name="Outage acknowledged")
    response = desk.post(f"/desk/tickets/{ticket.number}/macros/{outage.pk}/apply/")
    assert response.status_code == 302
    ticket.refresh_from_db()
    assert (ticket.status, ticket.priority) == ("open", "critical")
    reply = ticket.messages.order_by("-id").first()
    assert reply is not None and not reply.internal
    assert reply.body.startswith("Hello Kamran Müştəri,")
    assert f"ticket #{ticket.number}" in reply.body and reply.body.endswith("Tural Texniki")


def test_an_edited_macro_reply_keeps_its_priority_and_the_status_chosen(
    desk: Client, users: dict[str, User]
) -> None:
    ticket = filed(users)
    urgent = reply_macro("x", status="resolved", priority="high")
    desk.post(
        f"/desk/tickets/{ticket.number}/reply/",
        {"body": "My own words", "status": "pending", "macro": urgent.pk},
    )
    ticket.refresh_from_db()
    assert (ticket.status, ticket.priority) == ("pending", "high")
    assert ticket.messages.order_by("-id")[0].body == "My own words"


def test_another_departments_macro_is_refused_on_the_page(
    desk: Client, users: dict[str, User]
) -> None:
    ticket = filed(users)
    theirs = reply_macro("x", department_id=users["finance"].departments.get().pk)
    response = desk.post(f"/desk/tickets/{ticket.number}/macros/{theirs.pk}/apply/")
    assert "This macro is not available for this ticket." in response.content.decode()
    assert ticket.messages.count() == 1


def test_macros_are_managed_by_admins_only(users: dict[str, User]) -> None:
    client = Client()
    client.force_login(users["agent"])
    assert client.get("/admin/automation/macro/").status_code == 302
    client.force_login(users["admin"])
    assert client.get("/admin/automation/macro/").status_code == 200
    assert client.get("/admin/automation/macro/add/").status_code == 200


def test_loading_the_demo_twice_keeps_six_macros_each_in_five_languages(
    users: dict[str, User],
) -> None:
    from destek.automation.models import Macro, MacroText
    from destek.demo.data import load_demo

    load_demo(knowledge_base=False)
    assert Macro.objects.count() == 6
    assert MacroText.objects.count() == 30


# --- merge from the ticket page -------------------------------------------------------------


def test_an_agent_merges_a_duplicate_from_the_ticket_page(
    desk: Client, users: dict[str, User]
) -> None:
    target = filed(users, subject="Export fails for March")
    duplicate = filed(users, subject="Export still fails for March")
    response = desk.post(
        f"/desk/tickets/{duplicate.number}/merge/", {"into": target.number, "confirm": "1"}
    )
    assert response.status_code == 302 and response["Location"].endswith(f"/{target.number}/")
    duplicate.refresh_from_db()
    assert duplicate.merged_into_id == target.pk and duplicate.close_reason == "duplicate"


def test_merge_refusals_show_on_the_ticket_page(desk: Client, users: dict[str, User]) -> None:
    ticket = filed(users)
    theirs = filed(users, subject="Payment failed twice")
    other = filed(users, who="customer2", subject="Export fails for May")
    page = desk.post(f"/desk/tickets/{ticket.number}/merge/", {"into": theirs.number})
    assert f"Ticket #{theirs.number} was not found." in page.content.decode()
    page = desk.post(f"/desk/tickets/{ticket.number}/merge/", {"into": other.number})
    assert "Only tickets of the same customer can be merged" in page.content.decode()
    page = desk.post(f"/desk/tickets/{ticket.number}/merge/", {"into": ""})
    assert page.status_code == 200 and "This field is required." in page.content.decode()
    ticket.refresh_from_db()
    assert ticket.merged_into_id is None and ticket.status == "new"


# --- phone tickets --------------------------------------------------------------------------


PHONE = {
    "subject": "Called: cannot reset password",
    "body": "The reset mail never arrives.",
    "priority": "high",
    "language": "ru",
    "department": "",
}


def test_an_agent_files_a_phone_ticket_for_a_known_customer(
    desk: Client,
    users: dict[str, User],
    django_capture_on_commit_callbacks: Any,
    outbox: list[EmailMessage],
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        response = desk.post("/desk/phone/", {**PHONE, "customer": "Customer@Example.com"})
    ticket = Ticket.objects.get(subject=PHONE["subject"])
    assert response.status_code == 302 and response["Location"].endswith(f"/{ticket.number}/")
    assert (ticket.customer, ticket.channel, ticket.priority) == (
        users["customer"],
        "phone",
        "high",
    )
    created = ticket.events.get(kind="created")
    assert (created.actor_kind, created.actor) == ("agent", users["agent"])
    assert any(
        m.to == ["customer@example.com"] and f"#{ticket.number}" in m.subject for m in outbox
    )


def test_a_phone_ticket_finds_the_customer_by_number(desk: Client, users: dict[str, User]) -> None:
    number = users["customer2"].customer_number
    desk.post("/desk/phone/", {**PHONE, "customer": number})
    assert Ticket.objects.get(subject=PHONE["subject"]).customer == users["customer2"]


def test_a_phone_ticket_for_an_unknown_address_makes_a_customer_without_a_password(
    desk: Client,
    users: dict[str, User],
    django_capture_on_commit_callbacks: Any,
    outbox: list[EmailMessage],
) -> None:
    from destek.accounts.models import User

    with django_capture_on_commit_callbacks(execute=True):
        desk.post(
            "/desk/phone/",
            {**PHONE, "customer": "New.Caller@Example.com", "name": "Anna", "phone": "+994 50"},
        )
    caller = User.objects.get(email="new.caller@example.com")
    assert caller.is_customer and not caller.has_usable_password()
    assert caller.email_verified_at is None
    assert (caller.full_name, caller.phone, caller.language) == ("Anna", "+994 50", "ru")
    ticket = Ticket.objects.get(customer=caller)
    assert ticket.channel == "phone"
    assert any(m.to == ["new.caller@example.com"] for m in outbox)


def test_phone_ticket_refusals_show_next_to_the_field_keeping_what_was_typed(
    desk: Client, users: dict[str, User]
) -> None:
    response = desk.post("/desk/phone/", {**PHONE, "customer": "1"})
    page = response.content.decode()
    assert response.status_code == 422
    assert "No customer has this customer number." in page
    assert PHONE["body"] in page
    response = desk.post("/desk/phone/", {**PHONE, "customer": "agent@example.com"})
    assert "belongs to a staff account" in response.content.decode()
    assert not Ticket.objects.exists()


def test_customers_cannot_file_phone_tickets(users: dict[str, User]) -> None:
    client = Client()
    client.force_login(users["customer"])
    assert client.get("/desk/phone/").status_code == 403


# --- counts ---------------------------------------------------------------------------------


def count_of(page: str, name: str) -> int:
    import re

    found = re.search(rf'data-count="{name}">(\d+)<', page)
    assert found, name
    return int(found.group(1))


def test_the_queue_counts_each_filter_for_the_agents_departments(
    desk: Client, users: dict[str, User]
) -> None:
    from datetime import timedelta

    from django.utils import timezone

    mine = filed(users, subject="Report 1 is blank")
    actions.assign(mine, actor=actions.Actor.of(users["agent"]), assignee=users["agent"])
    soon = filed(users, subject="Report 2 is blank")
    late = filed(users, who="vip", subject="Report 3 is blank")
    pending = filed(users, who="customer2", subject="Report 4 is blank")
    actions.add_message(pending, author=users["agent"], body="Which report?")
    filed(users, subject="Payment failed twice")  # Finance's: not counted
    now = timezone.now()
    Ticket.objects.filter(pk=soon.pk).update(queue_due=now + timedelta(minutes=30))
    Ticket.objects.filter(pk=late.pk).update(queue_due=now - timedelta(minutes=5))
    page = desk.get("/desk/").content.decode()
    assert {
        name: count_of(page, name)
        for name in (
            "all",
            "mine",
            "unassigned",
            "hour",
            "breached",
            "vip",
            "status_new",
            "status_pending",
            "status_resolved",
        )
    } == {
        "all": 4,
        "mine": 1,
        "unassigned": 3,
        "hour": 1,
        "breached": 1,
        "vip": 1,
        "status_new": 3,
        "status_pending": 1,
        "status_resolved": 0,
    }


def test_the_counts_are_cached_for_a_few_seconds(desk: Client, users: dict[str, User]) -> None:
    filed(users)
    assert count_of(desk.get("/desk/").content.decode(), "all") == 1
    filed(users, subject="Report 2 is blank")
    assert count_of(desk.get("/desk/").content.decode(), "all") == 1
    cache.clear()  # as when the few seconds have passed
    assert count_of(desk.get("/desk/").content.decode(), "all") == 2


# --- live thread ----------------------------------------------------------------------------


def test_the_thread_fragment_returns_only_messages_after_the_id(
    desk: Client, users: dict[str, User]
) -> None:
    ticket = filed(users)
    first = ticket.messages.get()
    actions.add_message(ticket, author=users["agent"], body="A public answer")
    actions.add_message(ticket, author=users["agent"], body="A private thought", internal=True)
    response = desk.get(f"/desk/tickets/{ticket.number}/thread/?after={first.pk}")
    fragment = response.content.decode()
    assert response.status_code == 200 and response["Cache-Control"] == "no-store"
    assert "A public answer" in fragment and "A private thought" in fragment
    assert first.body not in fragment
    assert fragment.count("data-message-id=") == 2
    last = ticket.messages.order_by("-id")[0].pk
    # The next poll asks for what comes after the newest message it brought.
    assert f'hx-get="/desk/tickets/{ticket.number}/thread/?after={last}"' in fragment
    assert 'hx-swap-oob="true"' in fragment
    # Nothing new: no message and no new poller, only who else is on the ticket.
    nothing = desk.get(f"/desk/tickets/{ticket.number}/thread/?after={last}").content.decode()
    assert "data-message-id=" not in nothing and "thread-poll" not in nothing
    assert 'id="ticket-presence"' in nothing
    everything = desk.get(f"/desk/tickets/{ticket.number}/thread/?after=nonsense")
    assert everything.content.decode().count("data-message-id=") == 3


def test_the_thread_fragment_is_read_only(desk: Client, users: dict[str, User]) -> None:
    ticket = filed(users)
    desk.get(f"/desk/tickets/{ticket.number}/thread/?after=0")
    ticket.refresh_from_db()
    assert ticket.first_seen_at is None
    assert desk.post(f"/desk/tickets/{ticket.number}/thread/").status_code in (404, 405)


def test_the_thread_fragment_is_not_found_outside_the_agents_departments(
    desk: Client, users: dict[str, User]
) -> None:
    theirs = filed(users, subject="Payment failed twice")
    assert desk.get(f"/desk/tickets/{theirs.number}/thread/?after=0").status_code == 404
    assert desk.get("/desk/tickets/10000000/thread/?after=0").status_code == 404


def test_the_thread_fragment_never_reaches_customers(users: dict[str, User]) -> None:
    ticket = filed(users)
    actions.add_message(ticket, author=users["agent"], body="Secret note", internal=True)
    customer = Client()
    customer.force_login(users["customer"])
    response = customer.get(f"/desk/tickets/{ticket.number}/thread/?after=0")
    assert response.status_code == 403 and b"Secret note" not in response.content
    anonymous = Client().get(f"/desk/tickets/{ticket.number}/thread/?after=0")
    assert anonymous.status_code == 302 and b"Secret note" not in anonymous.content
    # The page's own poll, signed out meanwhile: a refusal, never the sign-in page swapped in.
    polled = Client().get(
        f"/desk/tickets/{ticket.number}/thread/?after=0", headers={"HX-Request": "true"}
    )
    assert polled.status_code == 403


# --- the script and its hooks ---------------------------------------------------------------


def test_desk_pages_load_the_own_script_under_the_strict_policy(
    desk: Client, users: dict[str, User]
) -> None:
    ticket = filed(users)
    for url in ("/desk/", f"/desk/tickets/{ticket.number}/"):
        response = desk.get(url)
        page = response.content.decode()
        assert '<script src="/static/desk/desk.js" defer></script>' in page
        assert '<script src="/static/vendor/htmx.min.js" defer></script>' in page
        assert '"allowEval": false' in page
        assert 'id="shortcuts-help"' in page
        policy = response["Content-Security-Policy"]
        assert "default-src 'self'" in policy and "script-src" not in policy
    ticket_page = desk.get(f"/desk/tickets/{ticket.number}/").content.decode()
    hooks = ('id="id_reply_body"', 'id="id_note_body"', 'id="assign-form"', 'id="thread"')
    for hook in (*hooks, 'id="thread-poll"'):
        assert hook in ticket_page, hook


def test_the_ticket_page_links_its_neighbours_in_the_queue(
    desk: Client, users: dict[str, User]
) -> None:
    tickets = [filed(users, subject=f"Report {i} is blank") for i in range(3)]
    order = [
        t.number
        for t in Ticket.objects.filter(pk__in=[t.pk for t in tickets]).order_by(
            "queue_due", "-priority_rank", "-customer_vip", "pk"
        )
    ]
    page = desk.get(f"/desk/tickets/{order[1]}/").content.decode()
    assert f'id="previous-ticket" href="/desk/tickets/{order[0]}/"' in page
    assert f'id="next-ticket" href="/desk/tickets/{order[2]}/"' in page
    first = desk.get(f"/desk/tickets/{order[0]}/").content.decode()
    assert 'id="previous-ticket"' not in first


def test_the_agent_sees_the_customers_details_and_history_in_words(
    desk: Client, users: dict[str, User]
) -> None:
    ticket = actions.create_ticket(
        customer=users["customer"],
        subject="Reports page stays blank",
        body="Since 09:10.",
        channel="web",
        details={"device": "smartphone", "os": "Android 14", "steps": "Open reports"},
    )
    page = desk.get(f"/desk/tickets/{ticket.number}/").content.decode()
    assert "<dt>Operating system and version</dt>" in page
    assert '<dd dir="auto">Smartphone</dd>' in page
    assert "Open reports" in page
    # The history says "New", not the code "new" (and no arrow from nothing).
    assert ": <bdi>New</bdi>" in page


def test_in_persian_the_history_arrow_points_the_way_the_text_reads(
    desk: Client, users: dict[str, User]
) -> None:
    ticket = filed(users)
    actions.change_status(ticket, actor=actions.Actor.of(users["agent"]), status="pending")
    desk.cookies["django_language"] = "fa"
    page = desk.get(f"/desk/tickets/{ticket.number}/").content.decode()
    assert 'dir="rtl"' in page
    assert " ← " in page and " → " not in page
