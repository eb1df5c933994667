"""CC and followers: a customer copies other addresses on their ticket (portal, API), agents
copy them and follow tickets (desk); who gets which mail, and what is refused."""

from __future__ import annotations

from typing import Any

import pytest
from django.core import mail as django_mail
from django.test import Client

from destek.accounts.models import ContactAddress, User
from destek.lib.errors import ActionRefused
from destek.tickets import actions
from destek.tickets.models import Department, Ticket, TicketCC, TicketEvent

pytestmark = pytest.mark.django_db

COLLEAGUE = "colleague@example.net"


@pytest.fixture
def ticket(users: dict[str, User]) -> Ticket:
    """The customer's ticket in the Technical department (the `agent` persona's)."""
    return actions.create_ticket(
        customer=users["customer"],
        subject="Invoice page shows error 500",
        body="Since this morning the invoice page fails with error 500.",
        channel="web",
        department=Department.objects.get(slug="technical"),
    )


@pytest.fixture
def portal(users: dict[str, User]) -> Client:
    client = Client()
    client.force_login(users["customer"])
    client.cookies["django_language"] = "en"
    return client


@pytest.fixture
def desk(users: dict[str, User]) -> Client:
    client = Client()
    client.force_login(users["agent"])
    client.cookies["django_language"] = "en"
    return client


@pytest.fixture
def committed(django_capture_on_commit_callbacks: Any, outbox: list[Any]) -> Any:
    """Run a block as a request would: its mail is sent when it commits."""

    def run() -> Any:
        return django_capture_on_commit_callbacks(execute=True)

    return run


def mails_to(address: str) -> list[Any]:
    return [m for m in django_mail.outbox if address in m.to]


# --- the customer copies addresses -------------------------------------------------------------


def test_a_customer_copies_a_colleague_on_the_ticket_page_and_the_history_says_so(
    portal: Client, ticket: Ticket, committed: Any
) -> None:
    with committed():
        response = portal.post(
            f"/my/tickets/{ticket.number}/cc/", {"address": "  Colleague@Example.NET "}
        )
    assert response.status_code == 302
    page = portal.get(f"/my/tickets/{ticket.number}/").content.decode()
    assert COLLEAGUE in page and 'id="cc-list"' in page
    cc = TicketCC.objects.get(ticket=ticket)
    assert (cc.address, cc.user, cc.added_by) == (COLLEAGUE, None, ticket.customer)
    event = TicketEvent.objects.filter(ticket=ticket).latest("id")
    assert (event.kind, event.to_value, event.actor) == ("cc_added", COLLEAGUE, ticket.customer)
    # The colleague learns who copied them, and that they may answer; no page to open.
    [told] = mails_to(COLLEAGUE)
    assert ticket.customer.display_name in told.subject
    assert "reply to this e-mail" in told.body
    assert "/my/tickets/" not in told.body


def test_a_customer_lists_copies_and_removes_an_address_through_the_api(
    customer: Any, ticket: Ticket
) -> None:
    added = customer.post(f"tickets/{ticket.number}/cc", {"address": "Colleague@example.net"})
    assert added.status_code == 200, added.content
    assert [cc["address"] for cc in added.json()] == [COLLEAGUE]
    again = customer.post(f"tickets/{ticket.number}/cc", {"address": COLLEAGUE})
    assert len(again.json()) == 1, "copying an address twice changes nothing"
    assert [cc["address"] for cc in customer.get(f"tickets/{ticket.number}/cc").json()] == [
        COLLEAGUE
    ]
    removed = customer.delete(f"tickets/{ticket.number}/cc", data={"address": COLLEAGUE})
    assert removed.status_code == 200 and removed.json() == []
    kinds = list(TicketEvent.objects.filter(ticket=ticket).values_list("kind", flat=True))
    assert kinds.count("cc_added") == 1 and kinds.count("cc_removed") == 1
    gone = customer.delete(f"tickets/{ticket.number}/cc", data={"address": COLLEAGUE})
    assert gone.status_code == 404 and gone.json()["code"] == "cc_not_found"


def test_another_customer_cannot_see_or_change_the_copies_of_a_ticket(
    customer2: Any, ticket: Ticket
) -> None:
    for response in (
        customer2.get(f"tickets/{ticket.number}/cc"),
        customer2.post(f"tickets/{ticket.number}/cc", {"address": COLLEAGUE}),
    ):
        assert response.status_code == 404
    assert not TicketCC.objects.exists()


@pytest.mark.parametrize(
    "typed",
    [
        "Mallory <mallory@example.net>",
        '"Support" mallory@example.net',
        "a@example.net, b@example.net",
        "a@example.net;b@example.net",
        "a@example.net\r\nBcc: everyone@example.net",
        "mallory@example.net\u202e",
        "not an address",
        "mallory@",
        "@example.net",
        "x" * 250 + "@example.net",
    ],
)
def test_anything_but_one_plain_address_is_refused_in_the_readers_language(
    as_user: Any, ticket: Ticket, typed: str
) -> None:
    response = as_user("customer", "ru").post(f"tickets/{ticket.number}/cc", {"address": typed})
    assert response.status_code == 422, response.content
    assert response.json()["code"] == "cc_address_invalid"
    assert "адрес" in response.json()["detail"]
    assert not TicketCC.objects.exists()


def test_an_empty_address_is_asked_for(customer: Any, ticket: Ticket) -> None:
    response = customer.post(f"tickets/{ticket.number}/cc", {"address": "  "})
    assert response.json()["code"] == "cc_address_required"


def test_our_own_mailboxes_and_the_customers_own_addresses_cannot_be_copied(
    customer: Any, ticket: Ticket, users: dict[str, User], settings: Any
) -> None:
    finance = Department.objects.get(slug="finance")
    finance.email = "Billing@Destek.Localhost"
    finance.save()
    ContactAddress.objects.create(
        user=users["customer"], email="me.at.home@example.org", verified_at=ticket.created_at
    )
    support = settings.DESTEK_SUPPORT_ADDRESS
    local, domain = support.split("@")
    refused = {
        support.upper(): "cc_address_ours",
        f"{local}+t{ticket.number}.0a1b2c3d4e5f@{domain}": "cc_address_ours",
        "billing@destek.localhost": "cc_address_ours",
        users["customer"].email: "cc_address_customer",
        "me.at.home@example.org": "cc_address_customer",
        users["finance"].email: "cc_address_agent",
    }
    for address, code in refused.items():
        response = customer.post(f"tickets/{ticket.number}/cc", {"address": address})
        assert (response.status_code, response.json()["code"]) == (422, code), address
    assert not TicketCC.objects.exists()


def test_a_ticket_has_at_most_ten_copied_addresses(customer: Any, ticket: Ticket) -> None:
    for i in range(10):
        ok = customer.post(f"tickets/{ticket.number}/cc", {"address": f"p{i}@example.net"})
        assert ok.status_code == 200
    over = customer.post(f"tickets/{ticket.number}/cc", {"address": "p10@example.net"})
    assert (over.status_code, over.json()["code"]) == (422, "cc_limit")
    assert "10" in over.json()["detail"]
    assert TicketCC.objects.filter(ticket=ticket).count() == 10
    ticket.refresh_from_db()
    assert ticket.cc_count == 10


@pytest.mark.usefixtures("one_rate_window")
def test_adding_addresses_is_rate_limited_per_person(
    customer: Any, vip: Any, ticket: Ticket, users: dict[str, User], settings: Any
) -> None:
    settings.DESTEK_CC_ADDED_PER_HOUR = 3
    second = actions.create_ticket(
        customer=users["customer"], subject="Second", body="Another problem.", channel="web"
    )
    for i, number in enumerate((ticket.number, ticket.number, second.number)):
        added = customer.post(f"tickets/{number}/cc", {"address": f"p{i}@example.net"})
        assert added.status_code == 200
    over = customer.post(f"tickets/{second.number}/cc", {"address": "p9@example.net"})
    assert (over.status_code, over.json()["code"]) == (429, "cc_rate_limited")
    own = vip.file_ticket()
    theirs = vip.post(f"tickets/{own['number']}/cc", {"address": "p9@example.net"})
    assert theirs.status_code == 200, "another person is not held back"


def test_a_refused_address_comes_back_on_the_portal_page_with_what_was_typed(
    portal: Client, ticket: Ticket
) -> None:
    response = portal.post(
        f"/my/tickets/{ticket.number}/cc/", {"address": "Boss <boss@example.net>"}
    )
    page = response.content.decode()
    assert response.status_code == 422
    assert 'id="cc-error"' in page and "Enter one e-mail address only" in page
    assert 'value="Boss &lt;boss@example.net&gt;"' in page


# --- who gets which mail -------------------------------------------------------------------


def test_copied_addresses_get_public_replies_and_status_changes_but_never_internal_notes(
    ticket: Ticket, users: dict[str, User], committed: Any
) -> None:
    agent = users["agent"]
    with committed():
        actions.add_cc(ticket, by=ticket.customer, address=COLLEAGUE)
    django_mail.outbox.clear()
    with committed():
        actions.add_message(
            ticket, author=agent, body="Only the agents know: the server is down.", internal=True
        )
    assert not mails_to(COLLEAGUE)
    with committed():
        actions.add_message(ticket, author=agent, body="Please clear the cache.")
    [reply] = mails_to(COLLEAGUE)
    assert "Please clear the cache." in reply.body
    assert agent.display_name in reply.body
    assert "server is down" not in reply.body
    assert f"[#{ticket.number}]" in reply.subject
    assert reply.to == [COLLEAGUE], "a mail of its own, not a Cc: line on the customer's"
    assert (
        reply.extra_headers["Message-ID"]
        != mails_to(ticket.customer.email)[-1].extra_headers["Message-ID"]
    )
    with committed():
        actions.change_status(
            ticket, actor=actions.Actor.of(agent), status="resolved", close_reason=""
        )
    status = mails_to(COLLEAGUE)[-1]
    assert "Resolved" in status.body
    assert all("server is down" not in m.body for m in mails_to(COLLEAGUE))


def test_the_customers_own_messages_reach_the_copied_addresses_in_their_language(
    ticket: Ticket, users: dict[str, User], committed: Any
) -> None:
    with committed():
        actions.add_cc(ticket, by=ticket.customer, address=users["customer2"].email)
    django_mail.outbox.clear()
    with committed():
        actions.add_message(
            ticket, author=ticket.customer, body="It fails in Firefox as well.", channel="web"
        )
    [mail] = mails_to(users["customer2"].email)
    assert "It fails in Firefox as well." in mail.body
    assert "Новое сообщение" in mail.subject, "customer2 reads Russian"


# --- followers -----------------------------------------------------------------------------


def test_an_agent_follows_from_the_desk_and_gets_mail_of_others_messages_never_their_own(
    desk: Client, ticket: Ticket, users: dict[str, User], committed: Any
) -> None:
    agent, admin = users["agent"], users["admin"]
    page = desk.get(f"/desk/tickets/{ticket.number}/").content.decode()
    assert 'id="follow-form"' in page
    assert desk.post(f"/desk/tickets/{ticket.number}/follow/").status_code == 302
    page = desk.get(f"/desk/tickets/{ticket.number}/").content.decode()
    assert 'id="unfollow-form"' in page and agent.display_name in page
    assert TicketEvent.objects.filter(ticket=ticket, kind="followed", public=False).exists()
    django_mail.outbox.clear()

    with committed():
        actions.add_message(ticket, author=ticket.customer, body="Still broken.", channel="web")
    with committed():
        actions.add_message(ticket, author=admin, body="Escalated to the vendor.", internal=True)
    with committed():
        actions.add_message(ticket, author=admin, body="We escalated it.")
    with committed():
        actions.add_message(ticket, author=agent, body="My own note.", internal=True)
    bodies = [m.body for m in mails_to(agent.email)]
    assert len(bodies) == 3
    assert "Still broken." in bodies[0]
    assert "Escalated to the vendor." in bodies[1]
    assert "We escalated it." in bodies[2]
    assert all("My own note." not in body for body in bodies)
    assert all(f"/desk/tickets/{ticket.number}/" in body for body in bodies)
    # In the agent's language (Azerbaijani), with the ticket's number first.
    subjects = [m.subject for m in mails_to(agent.email)]
    assert all(subject.startswith(f"[#{ticket.number}]") for subject in subjects)
    assert "Yeni mesaj" in subjects[0] and "Daxili qeyd" in subjects[1]

    assert desk.post(f"/desk/tickets/{ticket.number}/unfollow/").status_code == 302
    django_mail.outbox.clear()
    with committed():
        actions.add_message(ticket, author=ticket.customer, body="Hello?", channel="web")
    assert not mails_to(agent.email)


def test_the_assignee_who_follows_gets_one_mail_per_customer_message(
    ticket: Ticket, users: dict[str, User], committed: Any
) -> None:
    agent = users["agent"]
    actions.assign(ticket, actor=actions.Actor.of(agent), assignee=agent)
    actions.follow(ticket, agent=agent)
    django_mail.outbox.clear()
    with committed():
        actions.add_message(
            ticket,
            author=ticket.customer,
            body="The error came back after the update.",
            channel="web",
        )
    assert len(mails_to(agent.email)) == 1


def test_a_follower_who_left_the_department_hears_no_more_of_it(
    ticket: Ticket, users: dict[str, User], committed: Any
) -> None:
    agent = users["agent"]
    actions.follow(ticket, agent=agent)
    agent.departments.clear()
    django_mail.outbox.clear()
    with committed():
        actions.add_message(ticket, author=ticket.customer, body="Still broken.", channel="web")
    assert not mails_to(agent.email)


def test_only_agents_of_the_department_may_follow(
    ticket: Ticket, users: dict[str, User], client: Client
) -> None:
    client.force_login(users["finance"])  # another department: the ticket is not there
    assert client.post(f"/desk/tickets/{ticket.number}/follow/").status_code == 404
    with pytest.raises(ActionRefused):
        actions.follow(ticket, agent=users["customer"])
    assert not ticket.followers.exists()


# --- agents copy addresses from the desk ---------------------------------------------------


def test_an_agent_copies_an_address_from_the_desk_and_a_bad_one_is_refused_on_the_page(
    desk: Client, ticket: Ticket, committed: Any
) -> None:
    with committed():
        assert (
            desk.post(f"/desk/tickets/{ticket.number}/cc/", {"address": COLLEAGUE}).status_code
            == 302
        )
    page = desk.get(f"/desk/tickets/{ticket.number}/").content.decode()
    assert COLLEAGUE in page
    refused = desk.post(f"/desk/tickets/{ticket.number}/cc/", {"address": "a@b.c, d@e.f"})
    page = refused.content.decode()
    assert 'id="cc-error"' in page and 'value="a@b.c, d@e.f"' in page
    with committed():
        desk.post(f"/desk/tickets/{ticket.number}/cc/remove/", {"address": COLLEAGUE})
    assert not TicketCC.objects.filter(ticket=ticket).exists()


def test_a_customer_with_an_account_who_is_copied_still_cannot_open_the_ticket(
    customer2: Any, ticket: Ticket, users: dict[str, User], agent: Any, finance: Any
) -> None:
    """Being copied is mail only: no role's door changes. The customer and the department's
    agent open the ticket; the copied customer and an agent of another department do not."""
    actions.add_cc(ticket, by=ticket.customer, address=users["customer2"].email)
    portal = Client()
    portal.force_login(users["customer2"])
    assert portal.get(f"/my/tickets/{ticket.number}/").status_code == 404
    assert customer2.get(f"tickets/{ticket.number}").status_code == 404
    assert customer2.get(f"tickets/{ticket.number}/messages").status_code == 404
    assert all(t["number"] != ticket.number for t in customer2.get("tickets").json()["items"])
    assert customer2.post(f"tickets/{ticket.number}/messages", {"body": "Hi"}).status_code == 404
    assert agent.get(f"tickets/{ticket.number}").status_code == 200
    assert finance.get(f"tickets/{ticket.number}").status_code == 404
    assert Ticket.objects.visible_to(users["customer2"]).filter(pk=ticket.pk).count() == 0


def test_removing_an_address_with_a_null_character_is_not_found_not_an_error(
    desk: Client, portal: Client, ticket: Ticket
) -> None:
    for client, url in ((desk, "/desk"), (portal, "/my")):
        answer = client.post(
            f"{url}/tickets/{ticket.number}/cc/remove/", {"address": "x\x00y@z.co"}
        )
        assert answer.status_code in (200, 302, 404)
    with pytest.raises(ActionRefused):
        actions.remove_cc(ticket, by=ticket.customer, address="x\x00y@z.co")


def test_a_merged_duplicates_copies_and_followers_join_the_ticket_it_went_into(
    ticket: Ticket, users: dict[str, User]
) -> None:
    duplicate = actions.create_ticket(
        customer=users["customer"],
        subject="Printer in room 12 jams",
        body="The printer in room 12 jams on every page since Monday.",
        channel="web",
        department=Department.objects.get(slug="technical"),
    )
    actions.add_cc(duplicate, by=duplicate.customer, address=COLLEAGUE)
    actions.add_cc(duplicate, by=duplicate.customer, address="boss@example.net")
    actions.add_cc(ticket, by=ticket.customer, address="boss@example.net")
    actions.follow(duplicate, agent=users["agent"])
    actions.merge(duplicate, into=ticket, actor=actions.Actor.of(users["agent"]))
    ticket.refresh_from_db()
    copied = list(TicketCC.objects.filter(ticket=ticket).values_list("address", flat=True))
    assert sorted(copied) == ["boss@example.net", COLLEAGUE]
    assert ticket.cc_count == 2 and ticket.follower_count == 1
    assert ticket.followers.get().agent == users["agent"]
