"""What a visitor's message costs in SQL statements, as production runs it (no test
transaction around it; BEGIN and COMMIT not counted)."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from destek.notify import actions as outbox

# As in production, search words are the worker's, seconds later (conftest.search_later).
pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("search_later")]


@pytest.fixture(autouse=True)
def jobs(monkeypatch: pytest.MonkeyPatch) -> list[list[int]]:
    """Mail is handed to the worker, whose statements are its own."""
    handed: list[list[int]] = []
    monkeypatch.setattr(outbox, "deliver_many", lambda ids, mail=True: handed.append(ids))
    return handed


def test_a_visitor_message_takes_eight_statements(anonymous: Any, agent: Any) -> None:
    agent.request("put", "agents/me/presence", {"status": "online"})
    chat = anonymous.post("chats", {"body": "My server does not boot"}).json()
    agent.post(f"chats/{chat['id']}/accept")
    headers = {"X-Chat-Token": chat["visitor_token"]}
    anonymous.post(f"chats/{chat['id']}/messages", {"body": "warm up"}, headers=headers)
    with CaptureQueriesContext(connection) as captured:
        response = anonymous.post(
            f"chats/{chat['id']}/messages", {"body": "It stops at the BIOS"}, headers=headers
        )
    assert response.status_code == 201
    sql = [q["sql"] for q in captured.captured_queries]
    sql = [s for s in sql if not s.startswith(("BEGIN", "COMMIT"))]
    # the chat and its visitor; the ticket locked; message; the status history; ticket;
    # history; the event's number (UPDATE … RETURNING) and the event. No mail to the agent
    # (they read it in the chat), no savepoint, the chat and the files not read again.
    assert len(sql) == 8, "\n".join(s[:160] for s in sql)
