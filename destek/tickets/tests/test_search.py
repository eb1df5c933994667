"""Ticket search, through the API as agents and customers use it (tickets filed through the
API are indexed once their transaction commits, as the worker does)."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from destek.accounts.models import User
from destek.tickets import search
from destek.tickets.models import Ticket, TicketSearch

pytestmark = pytest.mark.django_db


def numbers(client: Any, q: str, **params: Any) -> list[int]:
    response = client.client.get(
        "/api/v1/tickets", {"q": q, **params}, headers=client._headers(None)
    )
    assert response.status_code == 200, response.content
    return [item["number"] for item in response.json()["items"]]


def test_an_agent_finds_a_ticket_by_a_word_of_its_message(customer: Any, agent: Any) -> None:
    wanted = customer.file_ticket("Printer", "The printer in room 12 jams on every page.")
    customer.file_ticket("Invoice", "The invoice total is wrong.")
    assert numbers(agent, "jams") == [wanted["number"]]


def test_words_are_found_whatever_their_ending_and_without_their_letter_marks(
    customer: Any, admin: Any
) -> None:
    az = customer.file_ticket("Ödəniş", "Kartdan ödənişlər keçmir, pul çıxılıb.")
    tr = customer.file_ticket("Şifre", "Şifremi unuttum, giriş yapamıyorum.")
    ru = customer.file_ticket("Счёт", "В счёте неверная сумма за декабрь.")
    fa = customer.file_ticket("فاکتور", "فاکتورهای من اشتباه است.")
    en = customer.file_ticket("Refunds", "Two refunds were never paid back.")
    assert numbers(admin, "odenis") == [az["number"]], "typed without ö, ə, ş"
    assert numbers(admin, "ödəniş") == [az["number"]]
    assert numbers(admin, "sifre") == [tr["number"]]
    assert numbers(admin, "счет") == [ru["number"]], "ё typed as е, another case"
    assert numbers(admin, "فاکتور") == [fa["number"]]
    assert numbers(admin, "refund") == [en["number"]]
    assert numbers(admin, "refunds paid") == [en["number"]], "every word must match"
    assert numbers(admin, "refunds invoice") == []


def test_a_word_in_the_subject_ranks_above_the_same_word_in_a_message(
    customer: Any, agent: Any
) -> None:
    in_body = customer.file_ticket("Login trouble", "Since the router update nothing works.")
    in_subject = customer.file_ticket("Router broken", "It blinks red.")
    assert numbers(agent, "router") == [in_subject["number"], in_body["number"]]


def test_internal_notes_are_searched_for_agents_and_never_for_customers(
    customer: Any, agent: Any
) -> None:
    ticket = customer.file_ticket("Cannot sign in", "The page says my password is wrong.")
    note = {"body": "Escalated to the identity team, see incident zebra.", "internal": True}
    assert agent.post(f"tickets/{ticket['number']}/messages", note).status_code == 201
    assert numbers(agent, "zebra") == [ticket["number"]]
    assert numbers(customer, "zebra") == []
    assert numbers(customer, "password") == [ticket["number"]]


def test_a_customer_finds_only_their_own_tickets_and_an_agent_only_their_departments(
    customer: Any, customer2: Any, agent: Any, finance: Any
) -> None:
    mine = customer.file_ticket("Server down", "The server in rack 7 is down.")
    theirs = customer2.file_ticket("Server slow", "The server in rack 9 is slow.")
    assert numbers(customer, "server") == [mine["number"]]
    assert numbers(customer2, "server") == [theirs["number"]]
    technical = Ticket.objects.get(number=mine["number"]).department.slug
    assert set(numbers(agent, "server")) == {mine["number"], theirs["number"]}
    if technical != "finance":
        assert numbers(finance, "server") == [], "another department's tickets stay hidden"


def test_a_number_or_an_address_finds_the_ticket_straight(
    customer: Any, customer2: Any, agent: Any, users: dict[str, User]
) -> None:
    ticket = customer.file_ticket("Anything", "Something.")
    other = customer2.file_ticket("Else", "Other thing.")
    assert numbers(agent, str(ticket["number"])) == [ticket["number"]]
    assert numbers(agent, f"#{ticket['number']}") == [ticket["number"]]
    assert numbers(agent, users["customer2"].email) == [other["number"]]
    assert numbers(customer, str(other["number"])) == [], "not theirs: not found"
    jumped = search.jump(users["agent"], f"#{ticket['number']}")
    assert jumped is not None and jumped.number == ticket["number"]
    assert search.jump(users["customer"], str(other["number"])) is None


def test_filters_combine_with_the_search(customer: Any, agent: Any) -> None:
    first = customer.file_ticket("Disk full", "The disk of the backup server is full.")
    second = customer.file_ticket("Disk slow", "The disk is slow.")
    agent.patch(f"tickets/{second['number']}", {"status": "pending"})
    assert numbers(agent, "disk", status="new") == [first["number"]]
    assert set(numbers(agent, "disk")) == {first["number"], second["number"]}


def test_the_matching_passage_comes_with_the_words_marked(customer: Any, agent: Any) -> None:
    ticket = customer.file_ticket(
        "Scanner trouble", "Hello. My <b>scanner</b> stopped scanning yesterday."
    )
    answer = agent.client.get(
        "/api/v1/tickets", {"q": "scanner"}, headers=agent._headers(None)
    ).json()
    snippet = answer["snippets"][str(ticket["number"])]
    assert "<mark>scanner</mark>" in snippet and "&lt;b&gt;" in snippet, "escaped, then marked"


@pytest.mark.parametrize(
    "query",
    [
        '"',
        "'",
        "(",
        "a AND",
        "NEAR(x y)",
        "x*",
        "-x",
        "&|!:*",
        "🙂" * 50,
        "x" * 600,
        "\u200f\u0000",
    ],
)
def test_odd_queries_give_a_list_never_an_error(customer: Any, agent: Any, query: str) -> None:
    customer.file_ticket("Printer", "The printer jams.")
    answer = agent.client.get("/api/v1/tickets", {"q": query}, headers=agent._headers(None))
    assert answer.status_code in (200, 422), answer.content
    if answer.status_code == 200:
        assert isinstance(answer.json()["items"], list)


def test_a_search_takes_the_same_statements_however_many_tickets_match(
    customer: Any, agent: Any
) -> None:
    for n in range(3):
        customer.file_ticket(f"Modem {n} reboots", f"The modem in room {n} keeps rebooting.")
    with CaptureQueriesContext(connection) as few:
        assert len(numbers(agent, "modem")) == 3
    for n in range(3, 15):
        customer.file_ticket(f"Modem {n} reboots", f"The modem in room {n} keeps rebooting.")
    with CaptureQueriesContext(connection) as many:
        assert len(numbers(agent, "modem")) == 15
    assert len(many.captured_queries) == len(few.captured_queries)


def test_indexing_twice_changes_nothing(customer: Any) -> None:
    ticket = customer.file_ticket("Printer", "The printer jams.")
    row = TicketSearch.objects.get(ticket__number=ticket["number"])
    assert search.index_tickets([row.ticket_id]) == 1
    again = TicketSearch.objects.get(ticket__number=ticket["number"])
    assert (again.public, again.internal) == (row.public, row.internal)
    assert TicketSearch.objects.filter(ticket_id=row.ticket_id).count() == 1


def test_a_merged_tickets_words_are_found_on_the_ticket_it_went_into(
    customer: Any, agent: Any
) -> None:
    into = customer.file_ticket("Printer jams", "The printer jams.")
    source = customer.file_ticket("Toner empty", "The toner cartridge is empty.")
    answer = agent.post(f"tickets/{source['number']}/merge", {"into": into["number"]})
    assert answer.status_code in (200, 201), answer.content
    assert numbers(agent, "cartridge") == [into["number"]]


def test_a_misspelt_word_finds_the_ticket_with_the_real_one(customer: Any, agent: Any) -> None:
    ticket = customer.file_ticket("Password reset", "The password reset mail never arrives.")
    customer.file_ticket("Printer jams", "The printer jams on every page.")
    assert numbers(agent, "pasword") == [ticket["number"]]
    assert numbers(agent, "pssword reset") == [ticket["number"]]
    assert numbers(agent, "quantum") == [], "a word far from every real one finds nothing"


def test_channel_customer_and_dates_narrow_a_search(
    customer: Any, customer2: Any, agent: Any, users: dict[str, User]
) -> None:
    mine = customer.file_ticket("Backup failed", "The nightly backup failed.")
    theirs = customer2.file_ticket("Backup slow", "The backup takes hours.")
    both = {mine["number"], theirs["number"]}
    assert set(numbers(agent, "backup", channel="api")) == both
    assert numbers(agent, "backup", channel="email") == []
    assert numbers(agent, "backup", customer=users["customer2"].email) == [theirs["number"]]
    assert set(numbers(agent, "backup", created_after="2000-01-01T00:00:00Z")) == both
    assert numbers(agent, "backup", created_before="2000-01-01T00:00:00Z") == []
    response = agent.client.get(
        "/api/v1/tickets", {"q": "backup", "channel": "pigeon"}, headers=agent._headers(None)
    )
    assert response.status_code == 422


def test_a_customer_renamed_by_an_agent_is_found_by_the_new_name(
    customer: Any, agent: Any, users: dict[str, User], django_capture_on_commit_callbacks: Any
) -> None:
    from destek.accounts import customer_actions

    ticket = customer.file_ticket("Printer", "The printer jams.")
    person = users["customer"]
    with django_capture_on_commit_callbacks(execute=True):
        customer_actions.update_customer(
            person,
            by=users["agent"],
            full_name="Zümrüd Qasımova",
            phone=person.phone,
            language=person.language,
            time_zone=person.time_zone,
            organisation=person.organisation,
        )
    assert numbers(agent, "Zumrud") == [ticket["number"]]


def test_a_customer_who_renames_themselves_is_found_by_the_new_name(
    customer: Any, agent: Any, users: dict[str, User], django_capture_on_commit_callbacks: Any
) -> None:
    from destek.accounts import actions as account_actions

    ticket = customer.file_ticket("Printer", "The printer jams.")
    person = users["customer"]
    with django_capture_on_commit_callbacks(execute=True):
        account_actions.update_profile(
            person,
            full_name="Виктор Петров",
            language=person.language,
            time_zone=person.time_zone,
            phone=person.phone,
        )
    assert numbers(agent, "Петров") == [ticket["number"]]


@pytest.mark.skipif(connection.vendor != "postgresql", reason="buckets are PostgreSQL's")
def test_an_agent_finds_old_and_new_tickets_across_buckets_newest_first(
    customer: Any, agent: Any
) -> None:
    """Tickets far apart in ids (other buckets of words) are all found, newest first: the
    newest buckets one by one, the oldest tickets by the search of the rest."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_get_serial_sequence('tickets_ticket', 'id')")
        sequence = cursor.fetchone()[0]
        cursor.execute(f"SELECT last_value FROM {sequence}")  # noqa: S608
        before = cursor.fetchone()[0]
    try:
        oldest = customer.file_ticket("Router", "The router blinks red.")
        made = [oldest["number"]]
        for first_id, thing in ((search.BUCKET * 2 + 7, "modem"), (search.BUCKET * 6 + 3, "lamp")):
            with connection.cursor() as cursor:
                cursor.execute("SELECT setval(%s, %s)", [sequence, first_id])
            filed = customer.file_ticket(f"The {thing}", f"The {thing} in the hall blinks.")
            made.append(filed["number"])
        with CaptureQueriesContext(connection) as captured:
            assert numbers(agent, "blinks") == list(reversed(made))
        matched = [q for q in captured.captured_queries if "tickets_ticketsearch" in q["sql"]]
        assert len(matched) >= search.BUCKETS_FIRST + 1, "the buckets, then the rest"
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SELECT setval(%s, %s)", [sequence, before])


def test_an_organisation_renamed_in_the_admin_finds_its_members_tickets_by_the_new_name(
    customer: Any, agent: Any, users: dict[str, User], django_capture_on_commit_callbacks: Any
) -> None:
    from types import SimpleNamespace

    from django.contrib.admin.sites import site
    from django.http import HttpRequest

    from destek.accounts.models import Organisation

    ticket = customer.file_ticket("Printer", "The printer jams.")
    organisation = Organisation.objects.create(name="Old Name LLC")
    User.objects.filter(pk=users["customer"].pk).update(organisation=organisation)
    organisation.name = "Qarabağ Logistika"
    changed = SimpleNamespace(changed_data=["name"])
    with django_capture_on_commit_callbacks(execute=True):
        site._registry[Organisation].save_model(HttpRequest(), organisation, changed, True)
    assert numbers(agent, "Logistika") == [ticket["number"]]
