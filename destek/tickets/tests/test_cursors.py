"""Cursors of the ticket lists: whatever a caller sends as a cursor, the API answers 400 with
a clear error in the caller's language and the desk shows the first page, never a 500."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from django.test import Client
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from destek.accounts.models import User
from destek.tickets import actions

pytestmark = pytest.mark.django_db


def _b64(raw: str) -> str:
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


NESTED = _b64("[" * 50_000 + "]" * 50_000)


def test_a_deeply_nested_cursor_is_a_clear_error_in_the_api(agent: Any) -> None:
    for view in ("queue", "newest"):
        response = agent.get(f"tickets?order={view}&cursor={NESTED}")
        assert response.status_code == 400, response.content
        assert response.json()["code"] == "invalid_cursor"


def test_the_cursor_error_is_in_the_callers_language(as_user: Any) -> None:
    response = as_user("agent", language="tr").get("tickets?cursor=@@@")
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_cursor"
    assert response.json()["detail"]


def test_a_cursor_shaped_like_an_old_unsigned_one_is_refused(agent: Any) -> None:
    forged = _b64(json.dumps(["q", "2026-01-01T00:00:00+00:00", 1, False, 2**70]))
    assert agent.get(f"tickets?cursor={forged}").status_code == 400
    assert agent.get(f"tickets?cursor={_b64('i' + '9' * 30)}").status_code == 400


def test_a_mangled_cursor_on_the_desk_shows_the_first_page(users: dict[str, User]) -> None:
    ticket = actions.create_ticket(
        customer=users["customer"], subject="Export fails", body="It never ends.", channel="web"
    )
    desk = Client()
    desk.force_login(users["agent"])
    response = desk.get(f"/desk/?cursor={NESTED}")
    assert response.status_code == 200
    assert f"#{ticket.number}" in response.content.decode()


def test_pages_handed_out_by_the_server_still_follow_each_other(agent: Any, customer: Any) -> None:
    for i in range(5):
        customer.file_ticket(subject=f"Printer problem number {i}")
    seen: list[str] = []
    for order in ("queue", "newest"):
        cursor = None
        seen = []
        while True:
            query = f"tickets?order={order}&limit=2" + (f"&cursor={cursor}" if cursor else "")
            body = agent.get(query).json()
            seen += [t["number"] for t in body["items"]]
            cursor = body["next_cursor"]
            if not cursor:
                break
        assert len(seen) == len(set(seen)) == 5


@settings(max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    st.one_of(
        st.text(st.characters(blacklist_categories=["Cs"]), max_size=400),
        st.binary(max_size=300).map(lambda b: _b64(b.decode("latin-1"))),
    )
)
@example("W1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tb")
@example("WyJxIiwiMjAyNi0wMS0wMVQwMDowMDowMCswMDowMCIsMSxmYWxzZSwxXQ:bad:sig")
def test_no_cursor_string_ever_gives_a_server_error(agent: Any, cursor: str) -> None:
    for order in ("queue", "newest"):
        response = agent.client.get(
            "/api/v1/tickets",
            {"order": order, "cursor": cursor},
            headers={"Authorization": f"Bearer {agent.token}"},
        )
        assert response.status_code in (200, 400), (cursor, response.content)
