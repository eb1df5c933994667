"""One door to tickets: not yours and does not exist look the same, on every path."""

from __future__ import annotations

from typing import Any

import pytest

from destek.accounts.actions import revoke_api_token
from destek.accounts.models import ApiToken, User

pytestmark = pytest.mark.django_db


def every_path(number: int) -> list[tuple[str, str, Any]]:
    return [
        ("get", f"tickets/{number}", None),
        ("get", f"tickets/{number}/messages", None),
        ("get", f"tickets/{number}/events", None),
        ("post", f"tickets/{number}/messages", {"body": "Let me in."}),
        ("patch", f"tickets/{number}", {"priority": "low"}),
        ("post", f"tickets/{number}/close", {}),
        ("post", f"tickets/{number}/reopen", {}),
    ]


def call(client: Any, method: str, path: str, data: Any) -> Any:
    if method == "get":
        return client.get(path)
    return getattr(client, method)(path, data)


def test_a_customer_cannot_reach_another_customers_ticket_on_any_path(
    customer: Any, customer2: Any
) -> None:
    number = customer.file_ticket()["number"]
    for method, path, data in every_path(number):
        theirs = call(customer2, method, path, data)
        missing = call(customer2, method, path.replace(str(number), "10000001"), data)
        assert theirs.status_code == 404, (method, path)
        assert theirs.json() == missing.json(), "not yours and does not exist look the same"


def test_an_agent_cannot_reach_another_departments_ticket(customer: Any, finance: Any) -> None:
    number = customer.file_ticket()["number"]  # Technical
    for method, path, data in every_path(number):
        assert call(finance, method, path, data).status_code == 404, (method, path)
    assert finance.post("tickets/10000001/merge", {"into": number}).status_code == 404


def test_lists_show_each_role_its_own_scope(
    customer: Any, customer2: Any, agent: Any, finance: Any, admin: Any
) -> None:
    tech = customer.file_ticket()["number"]
    money = customer2.file_ticket(subject="Payment failed twice", body="Card charged twice.")[
        "number"
    ]
    assert [t["number"] for t in customer.get("tickets").json()["items"]] == [tech]
    assert [t["number"] for t in customer2.get("tickets").json()["items"]] == [money]
    assert [t["number"] for t in agent.get("tickets").json()["items"]] == [tech]
    assert [t["number"] for t in finance.get("tickets").json()["items"]] == [money]
    assert {t["number"] for t in admin.get("tickets").json()["items"]} == {tech, money}


def test_admin_reaches_every_ticket(customer: Any, admin: Any) -> None:
    number = customer.file_ticket()["number"]
    assert admin.get(f"tickets/{number}").status_code == 200
    assert admin.patch(f"tickets/{number}", {"priority": "low"}).status_code == 200


def test_a_customer_may_not_set_workflow_fields(customer: Any) -> None:
    number = customer.file_ticket()["number"]
    for field, value in (
        ("status", "resolved"),
        ("priority", "critical"),
        ("assignee", "agent@example.com"),
        ("department", "finance"),
    ):
        response = customer.patch(f"tickets/{number}", {field: value})
        assert response.status_code == 403, field
        assert response.json()["code"] == "field_not_allowed"
    assert customer.get(f"tickets/{number}").json()["priority"] == "normal"


@pytest.mark.parametrize("field", ["customer", "is_staff", "role", "number", "created_at"])
def test_fields_nobody_may_set_are_refused(agent: Any, customer: Any, field: str) -> None:
    number = customer.file_ticket()["number"]
    response = agent.patch(f"tickets/{number}", {field: "x"})
    assert response.status_code == 422
    assert field in response.json()["detail"]


def test_a_customer_cannot_set_the_customer_or_channel_of_a_new_ticket(customer: Any) -> None:
    response = customer.post(
        "tickets",
        {"subject": "Printer offline", "body": "No paper.", "customer": "customer2@example.com"},
    )
    assert response.status_code == 403


def test_without_a_token_the_api_answers_401(anonymous: Any) -> None:
    response = anonymous.get("tickets")
    assert response.status_code == 401
    assert response.json()["code"] == "unauthenticated"
    assert response["WWW-Authenticate"] == "Bearer"


def test_a_revoked_token_stops_working(customer: Any) -> None:
    assert customer.get("tickets").status_code == 200
    for token in ApiToken.objects.filter(user__email="customer@example.com"):
        revoke_api_token(token)
    assert customer.get("tickets").status_code == 401


def test_a_deactivated_users_token_stops_working(customer: Any, users: dict[str, User]) -> None:
    users["customer"].is_active = False
    users["customer"].save()
    assert customer.get("tickets").status_code == 401


def test_signing_out_revokes_the_token(customer: Any) -> None:
    assert customer.delete("auth/token").status_code == 204
    assert customer.get("tickets").status_code == 401


def test_tokens_are_stored_hashed(customer: Any) -> None:
    stored = ApiToken.objects.filter(user__email="customer@example.com").values_list(
        "key_hash", flat=True
    )
    assert customer.token not in list(stored)
    assert all(len(h) == 64 for h in stored)


def test_sign_in_answers_the_same_for_unknown_and_wrong_password(anonymous: Any) -> None:
    wrong = anonymous.post("auth/token", {"email": "customer@example.com", "password": "nope"})
    unknown = anonymous.post("auth/token", {"email": "ghost@example.com", "password": "nope"})
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json() == unknown.json()


def test_sign_in_works_with_any_case_of_the_address(anonymous: Any) -> None:
    response = anonymous.post("auth/token", {"email": " Customer@Example.COM ", "password": "demo"})
    assert response.status_code == 200
    assert response.json()["token"].startswith("dtk_")


@pytest.mark.usefixtures("one_rate_window")
def test_sign_in_is_rate_limited_per_address(anonymous: Any) -> None:
    codes = [
        anonymous.post("auth/token", {"email": "vip@example.com", "password": "x"}).status_code
        for _ in range(12)
    ]
    assert codes[:10] == [401] * 10
    assert codes[10:] == [429, 429]
    locked = anonymous.post("auth/token", {"email": "vip@example.com", "password": "demo"})
    assert locked.status_code == 429, "even the right password waits out the window"


def test_me_tells_who_the_token_belongs_to(agent: Any) -> None:
    me = agent.get("auth/me").json()
    assert (me["email"], me["role"], me["departments"]) == (
        "agent@example.com",
        "agent",
        ["technical"],
    )


@pytest.mark.usefixtures("one_rate_window")
def test_filing_tickets_is_rate_limited_per_customer(
    customer: Any, customer2: Any, settings: Any
) -> None:
    settings.DESTEK_TICKETS_PER_HOUR = 2
    for i in range(2):
        customer.file_ticket(subject=f"Report {i} is blank", body=f"Report {i} is empty.")
    third = customer.post("tickets", {"subject": "Report 3 is blank", "body": "Empty."})
    assert third.status_code == 429
    assert third.json()["code"] == "rate_limited"
    assert (
        customer2.post("tickets", {"subject": "Report 3 is blank", "body": "Empty."}).status_code
        == 201
    )


def test_a_new_password_ends_every_api_token(customer: Any, users: dict[str, User]) -> None:
    from django.test import Client

    admin_browser = Client()
    admin_browser.force_login(users["admin"])
    page = f"/admin/accounts/user/{users['customer'].pk}/password/"
    response = admin_browser.post(
        page,
        {"password1": "N3w-pa55word!", "password2": "N3w-pa55word!", "usable_password": "true"},
    )
    assert response.status_code == 302
    assert customer.get("tickets").status_code == 401


def share_organisation(users: dict[str, User], share: bool) -> None:
    from destek.accounts.models import Organisation

    organisation = Organisation.objects.create(name="Allin Event", share_tickets=share)
    for name in ("customer", "customer2"):
        users[name].organisation = organisation
        users[name].save()


def test_colleagues_read_shared_tickets_but_cannot_change_them(
    customer: Any, customer2: Any, users: dict[str, User]
) -> None:
    share_organisation(users, share=True)
    number = customer.file_ticket()["number"]
    assert customer2.get(f"tickets/{number}").status_code == 200
    assert [t["number"] for t in customer2.get("tickets").json()["items"]] == [number]
    for method, path, data in (
        ("post", f"tickets/{number}/messages", {"body": "Me too."}),
        ("post", f"tickets/{number}/close", {}),
        ("patch", f"tickets/{number}", {"notify": False}),
    ):
        response = getattr(customer2, method)(path, data)
        assert response.status_code == 403, path
        assert response.json()["code"] == "not_your_ticket"


def test_an_organisation_that_does_not_share_keeps_tickets_apart(
    customer: Any, customer2: Any, users: dict[str, User]
) -> None:
    share_organisation(users, share=False)
    number = customer.file_ticket()["number"]
    assert customer2.get(f"tickets/{number}").status_code == 404


def test_each_role_reads_the_thread_through_one_door(users: dict[str, User]) -> None:
    """Customers, and the status view reading as them, get public messages only: no internal
    note, no mail held until the customer confirms it. Agents and admins read everything."""
    from destek.tickets import actions
    from destek.tickets.access import public_messages, visible_messages

    ticket = actions.create_ticket(
        customer=users["customer"],
        subject="Export fails",
        body="Export fails: the button does nothing and the report never arrives.",
        channel="web",
    )
    actions.add_message(ticket, author=users["agent"], body="Checking the logs.", internal=True)
    actions.add_message(ticket, author=users["agent"], body="Fixed on our side.")
    actions.hold_message(ticket, author=users["customer"], body="Sent from an unknown address.")
    everything = {
        "Export fails: the button does nothing and the report never arrives.",
        "Checking the logs.",
        "Fixed on our side.",
        "Sent from an unknown address.",
    }
    public = everything - {"Checking the logs.", "Sent from an unknown address."}

    def bodies(messages: Any) -> set[str]:
        return {m.body for m in messages}

    assert bodies(visible_messages(users["customer"], ticket)) == public
    assert bodies(public_messages(ticket)) == public
    assert bodies(visible_messages(users["agent"], ticket)) == everything
    assert bodies(visible_messages(users["admin"], ticket)) == everything
