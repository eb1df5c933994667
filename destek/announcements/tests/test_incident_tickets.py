"""Tickets and incidents: agents link tickets to an incident (page and API), the ticket page
suggests the incident a ticket was filed during, and once the incident is resolved its open
tickets are answered in their customers' languages and resolved, together."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth.models import Permission
from django.test import Client
from django.utils import timezone

from destek.accounts.models import Organisation, User
from destek.announcements import actions as status_actions
from destek.announcements import incident_tickets
from destek.announcements.models import Area, Incident, Service, ServiceGroup, ServiceUser
from destek.lib.errors import ActionRefused
from destek.tickets import actions
from destek.tickets.actions import Actor
from destek.tickets.choices import EventKind, TicketStatus
from destek.tickets.models import Message, Ticket, TicketEvent

pytestmark = pytest.mark.django_db


@pytest.fixture
def catalogue(demo: None) -> None:
    Service.objects.all().delete()  # the demo's own services and links are not these tests'
    Incident.objects.all().delete()
    group = ServiceGroup.objects.create(name="Hosting")
    for position, slug in enumerate(("website", "api", "payments")):
        Service.objects.create(slug=slug, name=slug.title(), group=group, position=position)
    Area.objects.create(slug="baku", name="Baku DC")


def open_incident(
    title: str = "Payments fail", services: tuple[str, ...] = ("payments",), **more: Any
) -> Incident:
    admin = User.objects.get(email="admin@example.com")
    return status_actions.create_incident(
        admin,
        title={"en": title, "ru": f"{title} (ru)"},
        body="Looking into it.",
        services=list(services),
        language="en",
        **more,
    )


def resolve(incident: Incident, body: Any = "Fixed.") -> None:
    admin = User.objects.get(email="admin@example.com")
    status_actions.add_incident_update(admin, incident, body=body, state="resolved", language="en")


def filed(customer: User, subject: str, language: str | None = None) -> Ticket:
    return actions.create_ticket(
        customer=customer,
        subject=subject,
        body=f"{subject}: the page freezes since this morning and I cannot finish my order.",
        channel="web",
        language=language,
    )


def signed_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    client.cookies["django_language"] = "en"
    return client


def allow_status(user: User) -> User:
    user.user_permissions.add(
        Permission.objects.get(content_type__app_label="announcements", codename="manage")
    )
    return User.objects.get(pk=user.pk)  # permissions are cached on the object


# --- linking ----------------------------------------------------------------------------------


def test_an_agent_links_a_ticket_from_its_page_and_the_history_says_who(
    catalogue: None, users: dict[str, User]
) -> None:
    incident = open_incident()
    ticket = filed(users["customer"], "Checkout button broken")
    desk = signed_in(users["agent"])
    page = desk.get(f"/desk/tickets/{ticket.number}/").content.decode()
    assert 'id="incident-link-form"' in page and "Payments fail" in page

    response = desk.post(f"/desk/tickets/{ticket.number}/incident/", {"incident": incident.pk})
    assert response.status_code == 302
    assert list(incident.tickets.all()) == [ticket]
    page = desk.get(f"/desk/tickets/{ticket.number}/").content.decode()
    assert f'href="/desk/incidents/{incident.pk}/"' in page
    event = TicketEvent.objects.get(ticket=ticket, kind=EventKind.INCIDENT_LINKED)
    assert event.actor == users["agent"] and not event.public
    assert "Linked to an incident" in page and "Payments fail" in page
    assert f": <bdi>#{incident.pk} Payments fail" in page  # no arrow from nothing

    desk.post(f"/desk/tickets/{ticket.number}/incident/{incident.pk}/unlink/")
    assert not incident.tickets.exists()
    assert TicketEvent.objects.filter(
        ticket=ticket, kind=EventKind.INCIDENT_UNLINKED, actor=users["agent"]
    ).exists()


def test_linking_twice_links_once(catalogue: None, users: dict[str, User]) -> None:
    incident = open_incident()
    ticket = filed(users["customer"], "Checkout button broken")
    desk = signed_in(users["agent"])
    for _ in range(2):
        desk.post(f"/desk/tickets/{ticket.number}/incident/", {"incident": incident.pk})
    assert incident.tickets.count() == 1
    assert TicketEvent.objects.filter(ticket=ticket, kind=EventKind.INCIDENT_LINKED).count() == 1


def test_an_agent_of_another_department_cannot_link_a_ticket_they_cannot_see(
    catalogue: None, users: dict[str, User], finance: Any, agent: Any
) -> None:
    incident = open_incident()
    ticket = filed(users["customer"], "Website login loops")
    assert ticket.department.slug == "technical"
    page = signed_in(users["finance"]).post(
        f"/desk/tickets/{ticket.number}/incident/", {"incident": incident.pk}
    )
    assert page.status_code == 404
    api = finance.post(f"incidents/{incident.pk}/tickets", {"tickets": [ticket.number]})
    assert api.status_code == 404, api.content
    assert not incident.tickets.exists()
    # Linked by a colleague who may see it, the other department still cannot unlink it.
    linked = agent.post(f"incidents/{incident.pk}/tickets", {"tickets": [ticket.number]})
    assert linked.status_code == 200
    assert finance.delete(f"incidents/{incident.pk}/tickets/{ticket.number}").status_code == 404
    assert finance.get(f"incidents/{incident.pk}").json()["tickets"] == []
    assert incident.tickets.count() == 1


def test_agents_link_list_and_unlink_tickets_over_the_api(
    catalogue: None, users: dict[str, User], agent: Any, customer: Any
) -> None:
    incident = open_incident()
    first = filed(users["customer"], "Checkout button broken")
    second = filed(users["customer2"], "Касса зависает")
    linked = agent.post(
        f"incidents/{incident.pk}/tickets", {"tickets": [first.number, second.number]}
    )
    assert linked.status_code == 200, linked.content
    assert sorted(linked.json()["added"]) == sorted([first.number, second.number])
    got = agent.get(f"incidents/{incident.pk}").json()
    assert got["tickets"] == sorted([first.number, second.number])
    assert got["title"] == "Payments fail"
    assert customer.get(f"incidents/{incident.pk}").json()["tickets"] is None
    assert (
        customer.post(f"incidents/{incident.pk}/tickets", {"tickets": [first.number]}).status_code
        == 403
    )

    gone = agent.delete(f"incidents/{incident.pk}/tickets/{first.number}")
    assert gone.status_code == 204
    assert agent.get(f"incidents/{incident.pk}").json()["tickets"] == [second.number]
    assert agent.delete(f"incidents/{incident.pk}/tickets/{first.number}").status_code == 404
    assert agent.post("incidents/999999/tickets", {"tickets": [first.number]}).status_code == 404


# --- the suggestion ---------------------------------------------------------------------------


def test_a_ticket_filed_during_an_incident_on_what_the_customer_uses_is_suggested(
    catalogue: None, users: dict[str, User]
) -> None:
    customer = users["customer"]
    ServiceUser.objects.create(user=customer, service=Service.objects.get(slug="payments"))
    before = filed(customer, "Checkout button broken yesterday")
    Ticket.objects.filter(pk=before.pk).update(created_at=timezone.now() - timedelta(hours=2))
    incident = open_incident(at=timezone.now() - timedelta(hours=1))
    open_incident("Website slow", services=("website",))  # not something they use
    during = filed(customer, "Checkout button broken again")
    desk = signed_in(users["agent"])

    page = desk.get(f"/desk/tickets/{during.number}/").content.decode()
    assert "Filed during the incident “Payments fail”: link it?" in page
    assert "Website slow" in page  # offered in the list, not suggested
    assert "Filed during the incident “Website slow”" not in page
    assert (
        "Filed during the incident"
        not in desk.get(f"/desk/tickets/{before.number}/").content.decode()
    )

    # One click links it; the suggestion is gone.
    desk.post(f"/desk/tickets/{during.number}/incident/", {"incident": incident.pk})
    page = desk.get(f"/desk/tickets/{during.number}/").content.decode()
    assert "Filed during the incident" not in page
    assert list(incident.tickets.all()) == [during]


def test_a_customer_of_an_organisation_that_uses_the_area_gets_the_suggestion(
    catalogue: None, users: dict[str, User]
) -> None:
    vip = users["vip"]
    vip.organisation = Organisation.objects.create(name="Caspian")
    vip.save(update_fields=["organisation"])
    ServiceUser.objects.create(organisation=vip.organisation, area=Area.objects.get(slug="baku"))
    open_incident("Baku is down", services=("api",), areas=["baku"])
    ticket = filed(vip, "Nothing loads")
    page = signed_in(users["agent"]).get(f"/desk/tickets/{ticket.number}/").content.decode()
    assert "Filed during the incident “Baku is down”: link it?" in page


def test_a_customer_who_uses_an_area_is_suggested_an_incident_limited_to_no_area(
    catalogue: None, users: dict[str, User]
) -> None:
    customer = users["customer2"]
    ServiceUser.objects.create(user=customer, area=Area.objects.get(slug="baku"))
    Area.objects.create(slug="istanbul", name="Istanbul DC")
    open_incident("Payments are slow", services=("api",))
    open_incident("Istanbul is down", services=("api",), areas=["istanbul"])
    ticket = filed(customer, "Сайт не открывается")
    page = signed_in(users["agent"]).get(f"/desk/tickets/{ticket.number}/").content.decode()
    assert "Filed during the incident “Payments are slow”: link it?" in page
    assert "Filed during the incident “Istanbul is down”" not in page


def test_a_customer_who_uses_nothing_recorded_is_suggested_any_open_incident(
    catalogue: None, users: dict[str, User]
) -> None:
    customer = users["customer2"]
    assert not ServiceUser.objects.filter(user=customer).exists()
    open_incident("Website slow", services=("website",))
    ticket = filed(customer, "Сайт не открывается")
    page = signed_in(users["agent"]).get(f"/desk/tickets/{ticket.number}/").content.decode()
    assert "Filed during the incident “Website slow”: link it?" in page


def test_a_ticket_filed_after_the_incident_was_resolved_is_not_suggested(
    catalogue: None, users: dict[str, User]
) -> None:
    incident = open_incident(at=timezone.now() - timedelta(hours=3))
    resolve(incident)
    Incident.objects.filter(pk=incident.pk).update(resolved_at=timezone.now() - timedelta(hours=1))
    ticket = filed(users["customer2"], "Касса зависает")
    assert incident_tickets.ticket_incidents(ticket) == []


# --- replying to all --------------------------------------------------------------------------


@pytest.fixture
def persian(demo: None) -> User:
    return User.objects.create_user(
        email="fa@example.com", password="x", full_name="Sara", language="fa"
    )


def _last_public(ticket: Ticket) -> Message:
    return Message.objects.filter(ticket=ticket, internal=False).order_by("-pk")[0]


BODIES = {
    "en": "Payments work again.",
    "ru": "Платежи снова работают.",
    "fa": "پرداخت‌ها دوباره کار می‌کنند.",
}


def test_the_linked_tickets_are_answered_in_their_language_and_resolved(
    catalogue: None,
    users: dict[str, User],
    persian: User,
    outbox: list[Any],
    django_capture_on_commit_callbacks: Any,
) -> None:
    admin = users["admin"]
    incident = open_incident()
    ru = filed(users["customer2"], "Касса зависает", language="ru")
    fa = filed(persian, "پرداخت انجام نمی‌شود", language="fa")
    az = filed(users["customer"], "Kassa donur", language="az")
    incident_tickets.link_tickets(admin, incident, [ru, fa, az])
    resolve(incident)
    outbox.clear()

    with django_capture_on_commit_callbacks(execute=True):
        result = incident_tickets.resolve_linked_tickets(admin, incident, body=BODIES)

    assert sorted(result.replied) == sorted([ru.number, fa.number, az.number])
    # Delivered like any agent's reply: a mail to each customer with their text.
    mailed = {m.to[0]: m.body for m in outbox}
    assert BODIES["ru"] in mailed["customer2@example.com"]
    assert BODIES["fa"] in mailed["fa@example.com"]
    assert BODIES["en"] in mailed["customer@example.com"]
    assert result.skipped == []
    assert _last_public(ru).body == BODIES["ru"]
    assert _last_public(fa).body == BODIES["fa"]
    assert _last_public(az).body == BODIES["en"]  # no Azerbaijani: the default language
    for ticket in (ru, fa, az):
        ticket.refresh_from_db()
        assert ticket.status == TicketStatus.RESOLVED
        assert _last_public(ticket).author == admin


def test_one_ticket_refused_does_not_stop_the_rest_and_the_result_says_why(
    catalogue: None, users: dict[str, User]
) -> None:
    admin = users["admin"]
    incident = open_incident()
    customer = users["customer2"]
    good = filed(customer, "Касса зависает", language="ru")
    closed = filed(customer, "Оплата картой", language="ru")
    merged = filed(customer, "Оплата картой снова", language="ru")
    resolved = filed(customer, "Оплата картой опять", language="ru")
    incident_tickets.link_tickets(admin, incident, [good, closed, merged, resolved])
    actions.change_status(closed, actor=Actor.of(admin), status="closed", close_reason="resolved")
    actions.merge(merged, into=good, actor=Actor.of(admin))
    actions.change_status(resolved, actor=Actor.of(admin), status="resolved")
    resolve(incident)

    result = incident_tickets.resolve_linked_tickets(admin, incident, body=BODIES)

    assert result.replied == [good.number]
    assert {number: code for number, code, _reason in result.skipped} == {
        closed.number: "ticket_closed",
        merged.number: "ticket_merged",
        resolved.number: "ticket_resolved",
    }
    assert _last_public(good).body == BODIES["ru"]


def test_replying_to_all_twice_answers_nobody_twice(
    catalogue: None, users: dict[str, User], admin: Any
) -> None:
    incident = open_incident()
    ticket = filed(users["customer2"], "Касса зависает", language="ru")
    incident_tickets.link_tickets(users["admin"], incident, [ticket])
    resolve(incident)
    first = admin.post(f"incidents/{incident.pk}/resolve-tickets", {"body": BODIES})
    assert first.status_code == 200, first.content
    assert first.json() == {"replied": [ticket.number], "skipped": []}
    # The customer writes back: the ticket is open again, but this incident answered it.
    actions.add_message(ticket, author=users["customer2"], body="Спасибо, всё работает!")
    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.OPEN
    replies = Message.objects.filter(ticket=ticket, author=users["admin"]).count()

    again = admin.post(f"incidents/{incident.pk}/resolve-tickets", {"body": BODIES}).json()

    assert again["replied"] == []
    assert [s["code"] for s in again["skipped"]] == ["already_answered"]
    assert Message.objects.filter(ticket=ticket, author=users["admin"]).count() == replies


def test_only_admins_and_allowed_agents_answer_and_only_a_resolved_incident(
    catalogue: None, users: dict[str, User], agent: Any, as_user: Any
) -> None:
    incident = open_incident()
    ticket = filed(users["customer2"], "Касса зависает", language="ru")
    incident_tickets.link_tickets(users["agent"], incident, [ticket])
    refused = agent.post(f"incidents/{incident.pk}/resolve-tickets", {"body": "Fixed."})
    assert refused.status_code == 403
    allow_status(users["agent"])
    allowed = as_user("agent")
    early = allowed.post(f"incidents/{incident.pk}/resolve-tickets", {"body": "Fixed."})
    assert early.status_code == 409
    assert early.json()["code"] == "incident_open"
    resolve(incident)
    done = allowed.post(f"incidents/{incident.pk}/resolve-tickets", {"body": "Fixed."})
    assert done.json()["replied"] == [ticket.number]
    assert _last_public(ticket).body == "Fixed."  # a plain text: for every language


def test_an_allowed_agent_skips_tickets_of_departments_they_do_not_work(
    catalogue: None, users: dict[str, User]
) -> None:
    incident = open_incident()
    ticket = filed(users["customer2"], "Касса зависает", language="ru")
    incident_tickets.link_tickets(users["admin"], incident, [ticket])
    resolve(incident)
    finance = allow_status(users["finance"])
    result = incident_tickets.resolve_linked_tickets(finance, incident, body="Fixed.")
    assert result.replied == []
    assert [code for _n, code, _r in result.skipped] == ["forbidden"]
    with pytest.raises(ActionRefused):
        incident_tickets.resolve_linked_tickets(users["agent"], incident, body="Fixed.")


# --- the desk's pages -------------------------------------------------------------------------


def test_the_incident_page_resolves_and_answers_all_with_the_resolving_text(
    catalogue: None, users: dict[str, User]
) -> None:
    incident = open_incident()
    ticket = filed(users["customer2"], "Касса зависает", language="ru")
    incident_tickets.link_tickets(users["agent"], incident, [ticket])
    desk = signed_in(allow_status(users["agent"]))
    page = desk.get(f"/desk/incidents/{incident.pk}/").content.decode()
    assert f"#{ticket.number}" in page and 'id="incident-resolve"' in page
    desk.post(f"/desk/incidents/{incident.pk}/resolve/", {"body": "Payments work again."})
    incident.refresh_from_db()
    assert not incident.is_open
    page = desk.get(f"/desk/incidents/{incident.pk}/").content.decode()
    assert "Reply to all and resolve" in page
    assert "Payments work again.</textarea>" in page  # prefilled from the resolving update

    done = desk.post(
        f"/desk/incidents/{incident.pk}/reply/",
        {"body_en": "Payments work again.", "body_ru": "Платежи снова работают."},
        follow=True,
    ).content.decode()
    assert "Answered and resolved 1 ticket." in done
    assert _last_public(ticket).body == "Платежи снова работают."


def test_an_agent_without_the_permission_sees_the_tickets_but_no_reply_form(
    catalogue: None, users: dict[str, User]
) -> None:
    incident = open_incident()
    resolve(incident)
    page = signed_in(users["agent"]).get(f"/desk/incidents/{incident.pk}/").content.decode()
    assert "Reply to all and resolve" not in page
    refused = signed_in(users["agent"]).post(
        f"/desk/incidents/{incident.pk}/reply/", {"body_en": "Fixed."}, follow=True
    )
    assert "Only admins and agents allowed" in refused.content.decode()


def test_the_desk_lists_open_and_recent_incidents_with_their_tickets_counted(
    catalogue: None, users: dict[str, User], django_assert_num_queries: Any
) -> None:
    agent = users["agent"]
    for n in range(3):
        incident = open_incident(f"Trouble {n}")
        tickets = [filed(users["customer2"], f"Проблема номер {n} {m}") for m in range(n + 1)]
        incident_tickets.link_tickets(agent, incident, tickets)
    old = open_incident("Long ago", at=timezone.now() - timedelta(days=90))
    resolve(old)
    Incident.objects.filter(pk=old.pk).update(resolved_at=timezone.now() - timedelta(days=60))
    desk = signed_in(agent)
    desk.get("/desk/incidents/")
    # session, user, the incidents with their counts (one statement whatever their number)
    with django_assert_num_queries(3):
        page = desk.get("/desk/incidents/").content.decode()
    assert page.count('class="linked-count"') == 3
    assert "Long ago" not in page
    assert 'class="linked-count">3<' in page
    assert 'id="nav-incidents"' in page


def test_the_incident_page_costs_the_same_whatever_the_number_of_tickets(
    catalogue: None, users: dict[str, User], django_assert_max_num_queries: Any
) -> None:
    """At most nine statements, with six tickets as with one: session, user, the incident,
    the agent's departments, its linked tickets with their customers and who linked them,
    the count of the others, the agent's permissions (two), the timeline."""
    agent = allow_status(users["agent"])
    incident = open_incident()
    tickets = [filed(users["customer2"], f"Проблема номер {n}") for n in range(6)]
    incident_tickets.link_tickets(agent, incident, tickets)
    desk = signed_in(agent)
    desk.get(f"/desk/incidents/{incident.pk}/")
    with django_assert_max_num_queries(9):
        page = desk.get(f"/desk/incidents/{incident.pk}/").content.decode()
    assert page.count('class="ticket-status"') == 6


def test_an_agent_not_allowed_to_post_the_status_cannot_resolve_an_incident_from_the_desk(
    catalogue: None, users: dict[str, User]
) -> None:
    incident = open_incident()
    desk = signed_in(users["agent"])
    refused = desk.post(f"/desk/incidents/{incident.pk}/resolve/", {"body": "Trolled."})
    assert refused.status_code == 403
    incident.refresh_from_db()
    assert incident.is_open
    assert not incident.updates.filter(body__en="Trolled.").exists()


def test_a_ticket_that_fails_unexpectedly_is_skipped_and_the_rest_are_answered(
    catalogue: None, users: dict[str, User], monkeypatch: pytest.MonkeyPatch
) -> None:
    admin = users["admin"]
    incident = open_incident()
    first = filed(users["customer2"], "Касса зависает", language="ru")
    second = filed(users["customer2"], "Оплата картой", language="ru")
    incident_tickets.link_tickets(admin, incident, [first, second])
    resolve(incident)
    real = actions.add_message

    def fails_for_the_first(ticket: Ticket, **kwargs: Any) -> Message:
        if ticket.pk == first.pk:  # a fault injected: a disk full, a bug in a signal ...
            raise RuntimeError("injected")
        message: Message = real(ticket, **kwargs)
        return message

    monkeypatch.setattr(actions, "add_message", fails_for_the_first)
    result = incident_tickets.resolve_linked_tickets(admin, incident, body=BODIES)

    assert result.replied == [second.number]
    assert [(n, code) for n, code, _reason in result.skipped] == [(first.number, "error")]
    first.refresh_from_db()
    assert first.status != TicketStatus.RESOLVED  # rolled back whole: answered on a rerun
    monkeypatch.setattr(actions, "add_message", real)
    again = incident_tickets.resolve_linked_tickets(admin, incident, body=BODIES)
    assert again.replied == [first.number]
