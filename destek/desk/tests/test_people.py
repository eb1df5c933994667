"""Customers and organisations in the desk, as agents and admins use them: a customer's page
with their tickets from every channel, notes only agents read, the edit, an organisation's
page with the members its domains suggest; who may open what, and what each page costs."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from destek.accounts import customer_actions
from destek.accounts.choices import Role, Tier
from destek.accounts.models import (
    ContactAddress,
    CustomerNote,
    Organisation,
    OrganisationDomain,
    User,
)
from destek.chat import actions as chat_actions
from destek.chat.choices import Presence
from destek.chat.models import Chat
from destek.desk import people_selectors
from destek.lib.errors import ActionRefused
from destek.tickets import actions
from destek.tickets.choices import Channel, TicketStatus
from destek.tickets.models import Ticket

pytestmark = pytest.mark.django_db


def desk_for(user: User, language: str | None = "en") -> Client:
    client = Client()
    client.force_login(user)
    if language:
        client.cookies["django_language"] = language
    return client


@pytest.fixture
def desk(users: dict[str, User]) -> Client:
    """The Technical department's agent."""
    return desk_for(users["agent"])


def filed(customer: User, subject: str = "Export fails", channel: str = Channel.WEB) -> Ticket:
    return actions.create_ticket(
        customer=customer,
        subject=subject,
        # Clearly English, so the ticket is English whatever the customer's account says.
        body=f"{subject}: the button does nothing and the report never arrives in my mailbox.",
        channel=channel,
    )


def new_customer(email: str, name: str = "") -> User:
    return User.objects.create_user(email=email, password="demo", full_name=name)


def page_of(client: Client, path: str) -> str:
    response = client.get(path)
    assert response.status_code == 200, response.status_code
    return response.content.decode()


# --- who may open a customer's page ---------------------------------------------------------


def test_an_agent_opens_a_customers_page_and_sees_their_tickets_from_every_channel(
    desk: Client, users: dict[str, User]
) -> None:
    customer = users["customer"]
    by_web = filed(customer, "Export fails")
    by_mail = filed(customer, "Report is empty", channel=Channel.EMAIL)
    by_phone = filed(customer, "Cannot sign in", channel=Channel.PHONE)
    by_chat = filed(customer, "Server does not boot", channel=Channel.CHAT)
    finance_only = filed(customer, "Payment failed twice")  # routed to Finance
    assert finance_only.department.slug == "finance"
    ContactAddress.objects.create(user=customer, email="kamran@work.example", verified_at=None)
    ContactAddress.objects.create(
        user=customer, email="kamran@home.example", verified_at=timezone.now()
    )

    page = page_of(desk, f"/desk/customers/{customer.pk}/")

    for ticket in (by_web, by_mail, by_phone, by_chat):
        assert f'href="/desk/tickets/{ticket.number}/"' in page
        assert ticket.subject in page
    for channel in ("Web", "E-mail", "Phone", "Chat"):
        assert f"<td>{channel}</td>" in page
    # Newest first.
    assert page.index(by_chat.subject) < page.index(by_web.subject)
    # Only tickets the agent may open: Finance's is not listed, not even its subject.
    assert str(finance_only.number) not in page
    assert finance_only.subject not in page
    assert customer.email in page
    assert str(customer.customer_number) in page
    assert re.search(r"kamran@home\.example</bdi> <span class=\"badge verified\">", page)
    assert re.search(r"kamran@work\.example</bdi> <span class=\"badge unverified\">", page)


def test_an_agent_of_another_department_gets_404(users: dict[str, User]) -> None:
    customer2 = users["customer2"]
    filed(customer2, "Export fails")  # Technical
    finance = desk_for(users["finance"])
    assert finance.get(f"/desk/customers/{customer2.pk}/").status_code == 404
    assert (
        finance.post(
            f"/desk/customers/{customer2.pk}/notes/", {"body": "Prefers calls"}
        ).status_code
        == 404
    )
    assert finance.get(f"/desk/customers/{customer2.pk}/edit/").status_code == 404
    assert not CustomerNote.objects.exists()
    # The agent of the ticket's department opens it; an unknown id and a staff account are
    # not found either.
    assert desk_for(users["agent"]).get(f"/desk/customers/{customer2.pk}/").status_code == 200
    assert finance.get("/desk/customers/999999/").status_code == 404
    assert finance.get(f"/desk/customers/{users['agent'].pk}/").status_code == 404


def test_an_admin_opens_every_customer_even_one_without_tickets(users: dict[str, User]) -> None:
    admin = desk_for(users["admin"])
    assert admin.get(f"/desk/customers/{users['vip'].pk}/").status_code == 200
    assert desk_for(users["agent"]).get(f"/desk/customers/{users['vip'].pk}/").status_code == 404


def test_customers_are_refused_and_visitors_are_sent_to_sign_in(users: dict[str, User]) -> None:
    customer = users["customer"]
    filed(customer)
    organisation = Organisation.objects.create(name="Acme")
    own_page = f"/desk/customers/{customer.pk}/"
    as_customer = desk_for(customer)
    assert as_customer.get(own_page).status_code == 403
    assert as_customer.post(f"{own_page}notes/", {"body": "I am nice"}).status_code == 403
    assert as_customer.get(f"/desk/organisations/{organisation.pk}/").status_code == 403
    signed_out = Client().get(own_page)
    assert signed_out.status_code == 302
    assert "/sign-in/" in signed_out["Location"]
    assert not CustomerNote.objects.exists()


# --- notes ------------------------------------------------------------------------------------


def test_a_note_is_kept_and_shown_only_in_the_desk(
    desk: Client, users: dict[str, User], customer: Any
) -> None:
    ticket = filed(users["customer"])
    path = f"/desk/customers/{users['customer'].pk}/"
    response = desk.post(f"{path}notes/", {"body": "Prefers calls after 14:00, never e-mail."})
    assert response.status_code == 302
    assert response["Location"] == path

    page = page_of(desk, path)
    assert "Prefers calls after 14:00, never e-mail." in page
    assert "Tural Texniki" in page  # the author
    note = CustomerNote.objects.get()
    assert note.author == users["agent"]
    assert f'datetime="{timezone.localtime(note.created_at).isoformat()}"' in page
    # Another agent who sees the customer reads it too; the customer reads it nowhere.
    assert "Prefers calls" in page_of(desk_for(users["admin"]), path)
    portal = desk_for(users["customer"])
    assert "Prefers calls" not in page_of(portal, f"/my/tickets/{ticket.number}/")
    assert "Prefers calls" not in page_of(portal, "/my/tickets/")
    assert "Prefers calls" not in page_of(portal, "/my/profile/")
    for api_path in (
        "auth/me",
        "tickets",
        f"tickets/{ticket.number}",
        f"tickets/{ticket.number}/messages",
        f"tickets/{ticket.number}/events",
    ):
        response = customer.get(api_path)
        assert response.status_code == 200, api_path
        assert "Prefers calls" not in response.content.decode(), api_path


def test_notes_are_listed_newest_first_and_an_empty_one_is_refused(
    desk: Client, users: dict[str, User]
) -> None:
    filed(users["customer"])
    path = f"/desk/customers/{users['customer'].pk}/"
    desk.post(f"{path}notes/", {"body": "First call: wants invoices in Azerbaijani."})
    desk_for(users["admin"]).post(f"{path}notes/", {"body": "Second: moved to Ganja office."})
    page = page_of(desk, path)
    assert page.index("Second: moved") < page.index("First call")
    assert "Aysel Admin" in page

    refused = desk.post(f"{path}notes/", {"body": "   "})
    assert refused.status_code == 422
    assert 'id="note-form"' in refused.content.decode()
    assert CustomerNote.objects.count() == 2


# --- the edit -----------------------------------------------------------------------------------


def edit_fields(customer: User, **changes: Any) -> dict[str, Any]:
    fields = {
        "full_name": customer.full_name,
        "phone": customer.phone,
        "language": customer.language,
        "time_zone": customer.time_zone,
        "organisation": customer.organisation_id or "",
        **changes,
    }
    return fields


def test_editing_refuses_a_bad_time_zone_in_the_agents_language_and_changes_nothing(
    users: dict[str, User],
) -> None:
    customer = users["customer"]
    filed(customer)
    agent = desk_for(users["agent"], language=None)  # the agent's own language: Azerbaijani
    assert users["agent"].language == "az"
    response = agent.post(
        f"/desk/customers/{customer.pk}/edit/",
        edit_fields(customer, full_name="Kamran Əliyev", time_zone="Mars/Olympus_Mons"),
    )
    assert response.status_code == 422
    assert "Təklif olunan saat qurşaqlarından birini seçin." in response.content.decode()
    customer.refresh_from_db()
    assert customer.full_name == "Kamran Müştəri"
    assert customer.time_zone == "Asia/Baku"

    # The action refuses it the same way when called without the form.
    with pytest.raises(ActionRefused) as refused:
        customer_actions.update_customer(
            customer,
            by=users["agent"],
            full_name="Kamran Əliyev",
            phone="",
            language="az",
            time_zone="Mars/Olympus_Mons",
            organisation=None,
        )
    assert refused.value.code == "invalid_time_zone"
    customer.refresh_from_db()
    assert customer.full_name == "Kamran Müştəri"


def test_an_agent_edits_name_phone_language_time_zone_and_organisation(
    desk: Client, users: dict[str, User]
) -> None:
    customer = users["customer"]
    filed(customer)
    User.objects.filter(pk=customer.pk).update(
        phone="+994501234567", phone_verified_at=timezone.now()
    )
    organisation = Organisation.objects.create(name="Xəzər Logistika")
    response = desk.post(
        f"/desk/customers/{customer.pk}/edit/",
        {
            "full_name": "  Kamran   Əliyev ",
            "phone": "+994 55 765 43 21",
            "language": "ru",
            "time_zone": "Europe/Istanbul",
            "organisation": organisation.pk,
            "email": "stolen@example.net",  # not a field of the form: ignored
        },
    )
    assert response.status_code == 302
    customer.refresh_from_db()
    assert customer.full_name == "Kamran Əliyev"
    assert customer.phone == "+994557654321"
    assert customer.phone_verified_at is None  # a new number is not proven
    assert customer.language == "ru"
    assert customer.time_zone == "Europe/Istanbul"
    assert customer.organisation == organisation
    assert customer.email == "customer@example.com"
    page = page_of(desk, f"/desk/customers/{customer.pk}/")
    assert f'href="/desk/organisations/{organisation.pk}/"' in page
    assert "Customer saved." in page

    bad_phone = desk.post(f"/desk/customers/{customer.pk}/edit/", edit_fields(customer, phone="12"))
    assert bad_phone.status_code == 422
    assert "This is not a valid phone number." in bad_phone.content.decode()


def test_an_agent_cannot_change_the_tier_but_an_admin_can(
    desk: Client, users: dict[str, User]
) -> None:
    customer = users["customer"]
    ticket = filed(customer)
    assert ticket.customer_vip is False
    path = f"/desk/customers/{customer.pk}/edit/"
    assert 'name="tier"' not in page_of(desk, path)
    desk.post(path, edit_fields(customer, tier=Tier.VIP))
    customer.refresh_from_db()
    assert customer.tier == Tier.STANDARD
    with pytest.raises(ActionRefused) as refused:
        customer_actions.update_customer(
            customer,
            by=users["agent"],
            full_name=customer.full_name,
            phone="",
            language=customer.language,
            time_zone=customer.time_zone,
            organisation=None,
            tier=Tier.VIP,
        )
    assert refused.value.code == "tier_admins_only"

    admin = desk_for(users["admin"])
    assert 'name="tier"' in page_of(admin, path)
    assert admin.post(path, edit_fields(customer, tier=Tier.VIP)).status_code == 302
    customer.refresh_from_db()
    assert customer.tier == Tier.VIP
    # Their open ticket moved to the VIP order of the queue in the same change.
    ticket.refresh_from_db()
    assert ticket.customer_vip is True
    assert 'id="vip-badge"' in page_of(desk, f"/desk/customers/{customer.pk}/")


def test_the_edit_keeps_a_time_zone_the_list_does_not_offer(
    desk: Client, users: dict[str, User]
) -> None:
    customer = users["customer"]
    filed(customer)
    User.objects.filter(pk=customer.pk).update(time_zone="Etc/GMT-4")
    customer.refresh_from_db()
    page = page_of(desk, f"/desk/customers/{customer.pk}/edit/")
    assert '<option value="Etc/GMT-4" selected>' in page
    desk.post(f"/desk/customers/{customer.pk}/edit/", edit_fields(customer, full_name="K. M."))
    customer.refresh_from_db()
    assert customer.full_name == "K. M."
    assert customer.time_zone == "Etc/GMT-4"


# --- organisations ------------------------------------------------------------------------------


@pytest.fixture
def acme(users: dict[str, User]) -> Organisation:
    """An organisation with one member, who has a Technical ticket."""
    organisation = Organisation.objects.create(name="Acme")
    User.objects.filter(pk=users["customer"].pk).update(organisation=organisation)
    users["customer"].refresh_from_db()
    filed(users["customer"], "Export fails")
    return organisation


def test_the_organisation_page_suggests_a_same_domain_customer_and_confirming_makes_them_a_member(
    desk: Client, users: dict[str, User], acme: Organisation
) -> None:
    admin = desk_for(users["admin"])
    path = f"/desk/organisations/{acme.pk}/"
    response = admin.post(f"{path}domains/", {"domains": "@Acme.example\n\nacme-group.az\n"})
    assert response.status_code == 302
    assert sorted(acme.domains.values_list("domain", flat=True)) == [
        "acme-group.az",
        "acme.example",
    ]

    leyla = new_customer("leyla@acme.example", "Leyla Quliyeva")
    filed(leyla, "Cannot print invoices")
    elsewhere = new_customer("farid@acme.example", "Farid")
    filed(elsewhere, "Slow pages")
    other = Organisation.objects.create(name="Other")
    User.objects.filter(pk=elsewhere.pk).update(organisation=other)
    stranger = new_customer("sam@beta.example", "Sam")
    filed(stranger, "Login loop")

    page = page_of(desk, path)
    suggested = page.split('id="suggested-members"')[1].split("</section>")[0]
    assert "leyla@acme.example" in suggested
    assert f'id="confirm-{leyla.pk}"' in suggested
    assert "farid@acme.example" not in suggested  # already in another organisation
    assert "sam@beta.example" not in suggested
    leyla.refresh_from_db()
    assert leyla.organisation is None  # suggested, never joined by itself

    response = desk.post(f"{path}members/", {"customer": leyla.pk})
    assert response.status_code == 302
    leyla.refresh_from_db()
    assert leyla.organisation == acme
    page = page_of(desk, path)
    assert 'id="suggested-members"' not in page
    members = page.split('id="members"')[1].split("</section>")[0]
    assert f'href="/desk/customers/{leyla.pk}/"' in members
    assert "Cannot print invoices" in page  # her ticket is the organisation's now

    # A customer whose address is in none of the domains cannot be confirmed.
    refused = desk.post(f"{path}members/", {"customer": stranger.pk})
    assert refused.status_code == 422
    assert "none of the organisation&#x27;s domains" in refused.content.decode()
    stranger.refresh_from_db()
    assert stranger.organisation is None


def test_domains_are_set_by_admins_only_and_refused_when_public_or_taken(
    desk: Client, users: dict[str, User], acme: Organisation
) -> None:
    path = f"/desk/organisations/{acme.pk}/"
    assert 'id="domains-form"' not in page_of(desk, path)
    assert desk.post(f"{path}domains/", {"domains": "acme.example"}).status_code == 403
    admin = desk_for(users["admin"])
    assert 'id="domains-form"' in page_of(admin, path)
    public = admin.post(f"{path}domains/", {"domains": "acme.example\ngmail.com"})
    assert public.status_code == 422
    assert "gmail.com is a public mail service" in public.content.decode()
    beta = Organisation.objects.create(name="Beta")
    OrganisationDomain.objects.create(organisation=beta, domain="beta.example")
    taken = admin.post(f"{path}domains/", {"domains": "beta.example"})
    assert "beta.example already belongs to Beta." in taken.content.decode()
    not_a_domain = admin.post(f"{path}domains/", {"domains": "acme example"})
    assert "acme example is not a domain name" in not_a_domain.content.decode()
    assert not acme.domains.exists()


def test_an_organisation_is_found_by_agents_whose_departments_its_members_wrote_to(
    users: dict[str, User], acme: Organisation
) -> None:
    path = f"/desk/organisations/{acme.pk}/"
    assert desk_for(users["agent"]).get(path).status_code == 200
    assert desk_for(users["finance"]).get(path).status_code == 404
    assert desk_for(users["admin"]).get(path).status_code == 200
    empty = Organisation.objects.create(name="Nobody yet")
    assert desk_for(users["agent"]).get(f"/desk/organisations/{empty.pk}/").status_code == 404
    assert desk_for(users["admin"]).get(f"/desk/organisations/{empty.pk}/").status_code == 200


def test_an_organisation_note_is_kept_for_agents(
    desk: Client, users: dict[str, User], acme: Organisation
) -> None:
    path = f"/desk/organisations/{acme.pk}/"
    assert desk.post(f"{path}notes/", {"body": "Contract renews in March."}).status_code == 302
    assert "Contract renews in March." in page_of(desk, path)


# --- links from the ticket and the chat -----------------------------------------------------


def test_the_ticket_page_links_the_customer_and_their_organisation(
    desk: Client, users: dict[str, User], acme: Organisation
) -> None:
    ticket = Ticket.objects.get(customer=users["customer"])
    page = page_of(desk, f"/desk/tickets/{ticket.number}/")
    customer_box = page.split('id="ticket-customer"')[1].split("</p>")[0]
    assert f'href="/desk/customers/{users["customer"].pk}/"' in customer_box
    assert f'href="/desk/organisations/{acme.pk}/"' in customer_box


def test_the_chat_page_links_a_signed_in_visitor_to_their_customer_page(
    desk: Client, users: dict[str, User], customer: Any, anonymous: Any
) -> None:
    chat_actions.set_presence(users["agent"], Presence.ONLINE)
    response = customer.post("chats", {"body": "My server does not boot"})
    assert response.status_code == 201, response.content
    chat = Chat.objects.get(pk=response.json()["id"])
    page = page_of(desk, f"/desk/chats/{chat.pk}/")
    visitor = page.split('id="visitor-name"')[1].split("</p>")[0]
    assert f'href="/desk/customers/{users["customer"].pk}/"' in visitor
    assert desk.get(f"/desk/customers/{users['customer'].pk}/").status_code == 200

    typed = anonymous.post("chats", {"body": "Hello, is anyone there?", "name": "Leyla"})
    page = page_of(desk, f"/desk/chats/{typed.json()['id']}/")
    visitor = page.split('id="visitor-name"')[1].split("</p>")[0]
    assert "/desk/customers/" not in visitor  # a visitor who did not sign in


# --- paging and the statements each page costs --------------------------------------------


def test_the_customer_page_pages_through_tickets_newest_first(
    desk: Client, users: dict[str, User], monkeypatch: Any
) -> None:
    monkeypatch.setattr(people_selectors, "TICKETS_PAGE", 2)
    tickets = [filed(users["customer"], f"Report {i} is blank") for i in range(5)]
    path = f"/desk/customers/{users['customer'].pk}/"
    seen: list[int] = []
    page = page_of(desk, path)
    while True:
        seen += [int(n) for n in re.findall(r'<tr data-ticket="(\d+)"', page)]
        found = re.search(r'href="\?cursor=([^"]+)" id="older-tickets"', page)
        if found is None:
            break
        page = page_of(desk, f"{path}?cursor={found.group(1)}")
    assert seen == [t.number for t in reversed(tickets)]
    # A mangled cursor shows the first page, not an error.
    assert 'id="older-tickets"' in page_of(desk, f"{path}?cursor=nonsense")


#: Pinned on purpose: the session, the user, the agent's departments, the customer through
#: the door (with their organisation), the page of tickets, the contact addresses, the chat
#: ratings, the notes with their authors. Raise it only knowing which query was added and why.
PINNED_CUSTOMER_PAGE = 8
#: The session, the user, the agent's departments, the organisation through the door, the page
#: of tickets with their customers, the members (each marked openable or not), the domains,
#: the suggested members, the notes.
PINNED_ORGANISATION_PAGE = 9


def count_queries(client: Client, path: str) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(path).status_code == 200
    return len(queries)


def test_the_customer_page_costs_eight_queries_whatever_the_number_of_tickets(
    desk: Client, users: dict[str, User]
) -> None:
    customer = users["customer"]
    filed(customer)
    customer_actions.add_customer_note(customer, author=users["agent"], body="Calls often.")
    path = f"/desk/customers/{customer.pk}/"
    small = count_queries(desk, path)
    for i in range(30):
        filed(customer, f"Report {i} is blank", channel=Channel.EMAIL if i % 2 else Channel.WEB)
        customer_actions.add_customer_note(customer, author=users["admin"], body=f"Note {i}")
    ContactAddress.objects.create(user=customer, email="kamran@work.example")
    assert count_queries(desk, path) == small
    assert small == PINNED_CUSTOMER_PAGE
    # A deeper page costs the same.
    found = re.search(r'href="\?cursor=([^"]+)" id="older-tickets"', page_of(desk, path))
    assert found is not None
    assert count_queries(desk, f"{path}?cursor={found.group(1)}") == small


def test_the_organisation_page_costs_nine_queries_for_1_or_20_members_and_tickets(
    desk: Client, users: dict[str, User], acme: Organisation
) -> None:
    OrganisationDomain.objects.create(organisation=acme, domain="acme.example")
    new_customer("new@acme.example")  # suggested to admins only: no ticket yet
    path = f"/desk/organisations/{acme.pk}/"
    admin = desk_for(users["admin"])
    small, small_admin = count_queries(desk, path), count_queries(admin, path)
    for i in range(20):
        member = new_customer(f"member{i}@acme.example", f"Member {i}")
        if i % 2:
            User.objects.filter(pk=member.pk).update(organisation=acme)
        filed(member, f"Report {i} is blank")
        customer_actions.add_organisation_note(acme, author=users["agent"], body=f"Note {i}")
    assert count_queries(desk, path) == small
    assert small == PINNED_ORGANISATION_PAGE
    assert count_queries(admin, path) == small_admin


def test_statuses_show_as_agents_read_them(desk: Client, users: dict[str, User]) -> None:
    ticket = filed(users["customer"])
    Ticket.objects.filter(pk=ticket.pk).update(status=TicketStatus.PENDING)
    page = page_of(desk, f"/desk/customers/{users['customer'].pk}/")
    assert ticket.subject in page
    assert Ticket.objects.get(pk=ticket.pk).get_status_display() in page


def test_an_agent_of_no_department_opens_no_customer(users: dict[str, User]) -> None:
    filed(users["customer"])
    newcomer = User.objects.create_user(
        email="newcomer@example.com", password="demo", role=Role.AGENT
    )
    assert desk_for(newcomer).get(f"/desk/customers/{users['customer'].pk}/").status_code == 404


def test_only_customers_have_a_page(users: dict[str, User]) -> None:
    admin = desk_for(users["admin"])
    for staff in ("agent", "finance", "admin"):
        assert users[staff].role != Role.CUSTOMER
        assert admin.get(f"/desk/customers/{users[staff].pk}/").status_code == 404
