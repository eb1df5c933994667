"""Live chat through the contract, as a visitor and an agent at once."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone

from destek.accounts.models import User
from destek.chat import jobs
from destek.chat.models import AgentPresence, Chat
from destek.tickets.models import Department, Membership, Ticket

HELLO = {"body": "hello", "name": "Leyla", "email": "leyla@example.net"}


def start(client: Any, payload: dict[str, Any] | None = None, **headers: str) -> dict[str, Any]:
    response = client.post("chats", payload or HELLO, headers=headers or None)
    assert response.status_code == 201, response.content
    return dict(response.json())


def events(client: Any, chat: dict[str, Any], after: int = 0) -> list[dict[str, Any]]:
    response = client.get(
        f"chats/{chat['id']}/events?after={after}",
        headers={"X-Chat-Token": chat["visitor_token"]},
    )
    assert response.status_code == 200, response.content
    return list(response.json()["events"])


def as_visitor(chat: dict[str, Any]) -> dict[str, str]:
    return {"X-Chat-Token": chat["visitor_token"]}


def online(client: Any) -> None:
    response = client.request("put", "agents/me/presence", {"status": "online"})
    assert response.status_code == 200, response.content


def test_a_visitor_is_told_nobody_is_there_and_gets_a_ticket_with_an_answer_time(
    anonymous: Any,
) -> None:
    chat = start(anonymous)
    assert chat["offline"] is True
    assert chat["queue_position"] is None
    assert chat["ticket"]["expected_answer"]
    assert chat["ticket"]["notify_customer"] is True  # answered by mail, to the given address
    assert chat["ticket"]["notify_address"] == "leyla@example.net"
    assert [e["type"] for e in events(anonymous, chat)] == ["message"]


def test_an_agent_on_away_counts_as_nobody_there(anonymous: Any, agent: Any) -> None:
    agent.request("put", "agents/me/presence", {"status": "away"})
    assert start(anonymous)["offline"] is True


def test_a_greeting_opens_a_chat_and_names_the_ticket_after_the_visitor(
    anonymous: Any, agent: Any
) -> None:
    online(agent)
    chat = start(anonymous)
    assert chat["offline"] is False
    assert chat["ticket"]["channel"] == "chat"
    assert "Leyla" in chat["ticket"]["subject"]
    assert chat["ticket"]["notify_customer"] is False  # live: no mail per message


def test_a_visitor_waits_in_line_and_sees_their_place(anonymous: Any, agent: Any) -> None:
    online(agent)
    first = start(anonymous, {"body": "My server does not boot"})
    second = start(anonymous, {"body": "The control panel shows error 500"})
    assert first["queue_position"] == 1
    assert second["queue_position"] == 2
    assert second["estimated_wait_seconds"] is None  # no real waits to go by yet
    kinds = [e["type"] for e in events(anonymous, second)]
    assert kinds == ["message", "queue"]
    assert events(anonymous, second)[1]["position"] == 2
    # The first is taken: the second moves up and hears of it.
    assert agent.post(f"chats/{first['id']}/accept").status_code == 200
    last = events(anonymous, second)[-1]
    assert last["type"] == "queue" and last["position"] == 1
    assert last["estimated_wait_seconds"] is not None


def test_a_vip_is_served_before_a_visitor_who_came_first(
    customer: Any, vip: Any, agent: Any
) -> None:
    online(agent)
    standard = start(customer, {"body": "The invoice page is blank"})
    first_class = start(vip, {"body": "The server is slow since noon"})
    waiting = agent.get("chats?state=waiting").json()["items"]
    assert [c["id"] for c in waiting] == [first_class["id"], standard["id"]]
    assert first_class["queue_position"] == 1
    assert customer.get(f"chats/{standard['id']}").json()["queue_position"] == 2


def test_an_agent_accepts_and_the_visitor_sees_who_answers(
    anonymous: Any, agent: Any, users: dict[str, User]
) -> None:
    online(agent)
    chat = start(anonymous)
    response = agent.post(f"chats/{chat['id']}/accept")
    assert response.status_code == 200, response.content
    assert response.json()["state"] == "active"
    assigned = events(anonymous, chat)[-1]
    assert assigned["type"] == "assigned" and assigned["agent"] == "Tural Texniki"
    assert Ticket.objects.get(number=chat["ticket"]["number"]).assignee == users["agent"]
    active = agent.get("chats?state=active&mine=true").json()["items"]
    assert [c["id"] for c in active] == [chat["id"]]


def test_a_chat_another_agent_took_cannot_be_taken_again(
    anonymous: Any, agent: Any, admin: Any
) -> None:
    online(agent)
    chat = start(anonymous)
    assert agent.post(f"chats/{chat['id']}/accept").status_code == 200
    response = admin.post(f"chats/{chat['id']}/accept")
    assert response.status_code == 409
    assert response.json()["code"] == "chat_taken"


def test_messages_go_both_ways_and_internal_notes_never_reach_the_visitor(
    anonymous: Any, agent: Any
) -> None:
    online(agent)
    chat = start(anonymous)
    agent.post(f"chats/{chat['id']}/accept")
    sent = anonymous.post(
        f"chats/{chat['id']}/messages",
        {"body": "My invoice 4411 is wrong"},
        headers=as_visitor(chat),
    )
    assert sent.status_code == 201, sent.content
    number = chat["ticket"]["number"]
    note = agent.post(
        f"tickets/{number}/messages", {"body": "Looks like a VAT bug", "internal": True}
    )
    assert note.status_code == 201
    reply = agent.post(f"tickets/{number}/messages", {"body": "Let me check invoice 4411."})
    assert reply.status_code == 201
    said = [(e["author"], e["body"]) for e in events(anonymous, chat) if e["type"] == "message"]
    assert said == [
        ("visitor", "hello"),
        ("visitor", "My invoice 4411 is wrong"),
        ("agent", "Let me check invoice 4411."),
    ]
    last = events(anonymous, chat)[-1]
    assert last["name"] == "Tural Texniki" and last["message_id"] == reply.json()["id"]
    # The agent reads the same events.
    assert agent.get(f"chats/{chat['id']}/events").json()["events"][-1]["body"] == (
        "Let me check invoice 4411."
    )


def test_a_live_chat_mails_nobody_per_message(customer: Any, agent: Any, outbox: Any) -> None:
    online(agent)
    chat = start(customer, {"body": "The invoice page is blank"})
    agent.post(f"chats/{chat['id']}/accept")
    outbox.clear()
    agent.post(f"tickets/{chat['ticket']['number']}/messages", {"body": "Looking at it now."})
    assert not [m for m in outbox if "customer@example.com" in m.to]


def test_the_agent_is_not_mailed_for_each_line_the_visitor_writes_in_a_live_chat(
    customer: Any, agent: Any, outbox: Any
) -> None:
    online(agent)
    chat = start(customer, {"body": "The invoice page is blank"})
    agent.post(f"chats/{chat['id']}/accept")
    outbox.clear()
    for text in ("Still blank", "Now it shows an error"):
        answer = customer.post(f"chats/{chat['id']}/messages", {"body": text})
        assert answer.status_code == 201
    assert not [m for m in outbox if "agent@example.com" in m.to]


def test_asking_for_news_in_a_live_chat_is_a_line_like_any_other(customer: Any, agent: Any) -> None:
    online(agent)
    chat = start(customer, {"body": "The invoice page is blank"})
    agent.post(f"chats/{chat['id']}/accept")
    customer.post(f"chats/{chat['id']}/messages", {"body": "any update?"})
    ticket = Ticket.objects.get(number=chat["ticket"]["number"])
    line = ticket.messages.get(body="any update?")
    assert not line.nudge, "a nudge would leave the agent's clock as if nobody had written"
    assert ticket.last_customer_message_at == line.created_at
    assert not ticket.messages.filter(author_kind="system").exists(), "no automatic answer"


def test_events_after_a_number_are_only_the_newer_ones(anonymous: Any, agent: Any) -> None:
    online(agent)
    chat = start(anonymous)
    for text in ("one", "two", "three"):
        anonymous.post(f"chats/{chat['id']}/messages", {"body": text}, headers=as_visitor(chat))
    every = events(anonymous, chat)
    assert [e["seq"] for e in every] == list(range(1, len(every) + 1))
    newer = events(anonymous, chat, after=every[-2]["seq"])
    assert [e["body"] for e in newer] == ["three"]


def test_a_chat_ended_with_keep_open_continues_as_a_ticket_answered_by_mail(
    anonymous: Any, agent: Any
) -> None:
    online(agent)
    chat = start(anonymous)
    agent.post(f"chats/{chat['id']}/accept")
    number = chat["ticket"]["number"]
    agent.post(f"tickets/{number}/messages", {"body": "I need to ask the billing team."})
    ended = agent.post(f"chats/{chat['id']}/end", {"keep_open": True})
    assert ended.status_code == 200, ended.content
    assert ended.json()["state"] == "ended"
    last = events(anonymous, chat)[-1]
    assert last == {**last, "type": "ended", "by": "agent", "continues_as_ticket": True}
    ticket = Ticket.objects.get(number=number)
    assert ticket.status != "resolved"
    assert ticket.notify_customer and ticket.notify_address == "leyla@example.net"


def test_a_chat_ended_after_an_answer_resolves_its_ticket(anonymous: Any, agent: Any) -> None:
    online(agent)
    chat = start(anonymous)
    agent.post(f"chats/{chat['id']}/accept")
    agent.post(f"tickets/{chat['ticket']['number']}/messages", {"body": "Done: refunded."})
    ended = anonymous.post(f"chats/{chat['id']}/end", {}, headers=as_visitor(chat))
    assert ended.status_code == 200
    assert events(anonymous, chat)[-1]["by"] == "visitor"
    assert Ticket.objects.get(number=chat["ticket"]["number"]).status == "resolved"


def test_a_wrong_token_or_another_visitors_chat_reads_nothing(
    anonymous: Any, customer2: Any, finance: Any, agent: Any
) -> None:
    online(agent)
    mine = start(anonymous)
    theirs = start(anonymous, {"body": "Printer on floor two jams"})
    for path in (f"chats/{mine['id']}/events", f"chats/{mine['id']}"):
        assert anonymous.get(path, headers=as_visitor(theirs)).status_code == 404
        assert anonymous.get(path, headers={"X-Chat-Token": "dcv_stolen"}).status_code == 404
        assert anonymous.get(path).status_code == 404
        assert customer2.get(path).status_code == 404
        assert finance.get(path).status_code == 404  # another department's agent
    post = anonymous.post(f"chats/{mine['id']}/messages", {"body": "x"}, headers=as_visitor(theirs))
    assert post.status_code == 404
    assert [e["body"] for e in events(anonymous, mine) if e["type"] == "message"] == ["hello"]


def test_a_wrong_bearer_token_is_refused_not_taken_for_a_visitor(anonymous: Any) -> None:
    response = anonymous.post("chats", HELLO, headers={"Authorization": "Bearer nope"})
    assert response.status_code == 401


def test_a_typed_address_never_joins_the_visitor_to_the_account_that_has_it(
    anonymous: Any, agent: Any, users: dict[str, User]
) -> None:
    online(agent)
    chat = start(anonymous, {"body": "hello", "email": "customer@example.com"})
    row = Chat.objects.select_related("visitor").get(pk=chat["id"])
    assert row.visitor != users["customer"]
    assert row.email == "customer@example.com" and not row.email_verified
    assert not Ticket.objects.filter(customer=users["customer"]).exists()


@pytest.mark.usefixtures("one_rate_window")
def test_one_address_cannot_fill_the_line(anonymous: Any, agent: Any, settings: Any) -> None:
    settings.DESTEK_CHAT_STARTS_PER_IP_HOUR = 2
    online(agent)
    start(anonymous, {"body": "Printer one jams"})
    start(anonymous, {"body": "Printer two jams"})
    response = anonymous.post("chats", {"body": "Printer three jams"})
    assert response.status_code == 429
    assert response.json()["code"] == "rate_limited"
    assert response["Retry-After"]


@pytest.mark.usefixtures("one_rate_window")
def test_a_visitor_writing_too_fast_is_asked_to_wait(
    anonymous: Any, agent: Any, settings: Any
) -> None:
    settings.DESTEK_CHAT_MESSAGES_PER_MINUTE = 2
    online(agent)
    chat = start(anonymous)
    codes = [
        anonymous.post(
            f"chats/{chat['id']}/messages", {"body": f"m{i}"}, headers=as_visitor(chat)
        ).status_code
        for i in range(3)
    ]
    assert codes == [201, 201, 429]


def test_a_message_over_the_size_limit_is_refused_with_the_limit(
    anonymous: Any, agent: Any, settings: Any
) -> None:
    settings.DESTEK_CHAT_BODY_MAX = 100
    online(agent)
    chat = start(anonymous)
    response = anonymous.post(
        f"chats/{chat['id']}/messages", {"body": "a" * 101}, headers=as_visitor(chat)
    )
    assert response.status_code == 413
    assert "100" in response.json()["detail"]


def test_a_message_over_the_limit_is_refused_in_the_visitors_language(
    as_user: Any, agent: Any, settings: Any
) -> None:
    settings.DESTEK_CHAT_BODY_MAX = 100
    online(agent)
    visitor = as_user(None, "ru")
    response = visitor.post("chats", {"body": "a" * 101})
    assert response.status_code == 413
    assert response.json()["code"] == "body_too_long"


def _second_technical_agent() -> User:
    second = User.objects.create_user("second@example.com", "x", role="agent", full_name="Sabir")
    Membership.objects.create(department=Department.objects.get(slug="technical"), user=second)
    return second


def test_an_offer_not_accepted_in_time_goes_to_the_next_agent(
    anonymous: Any, agent: Any, as_user: Any, users: dict[str, User], run_job: Any
) -> None:
    second = _second_technical_agent()
    users["second"] = second
    with time_machine.travel(timezone.now(), tick=False) as clock:
        online(agent)
        clock.shift(timedelta(seconds=5))
        online(as_user("second"))
        chat = start(anonymous)
        # Both free: the one idle longest has it first.
        assert Chat.objects.get(pk=chat["id"]).offered_to == users["agent"]
        clock.shift(timedelta(seconds=20))
        online(agent)
        online(as_user("second"))  # heartbeats
        run_job(jobs.sweep)
        assert Chat.objects.get(pk=chat["id"]).offered_to == users["agent"]  # not yet
        clock.shift(timedelta(seconds=15))
        run_job(jobs.sweep)
        assert Chat.objects.get(pk=chat["id"]).offered_to == second


def test_an_agent_whose_desk_went_quiet_goes_offline_and_chats_queue_no_more(
    anonymous: Any, agent: Any, users: dict[str, User], run_job: Any
) -> None:
    with time_machine.travel(timezone.now(), tick=False) as clock:
        online(agent)
        chat = start(anonymous)
        assert Chat.objects.get(pk=chat["id"]).offered_to == users["agent"]
        clock.shift(timedelta(seconds=61))
        run_job(jobs.sweep)
        assert AgentPresence.objects.get(agent=users["agent"]).status == "offline"
        assert Chat.objects.get(pk=chat["id"]).offered_to is None
        assert start(anonymous, {"body": "Anyone there about my domain?"})["offline"] is True


def test_an_agents_file_is_downloaded_by_the_visitor_with_the_chat_token_only(
    anonymous: Any, agent: Any
) -> None:
    online(agent)
    chat = start(anonymous)
    mine = start(anonymous, {"body": "Printer on floor two jams"})
    agent.post(f"chats/{chat['id']}/accept")
    uploaded = Client().post(
        "/api/v1/attachments",
        {"file": SimpleUploadedFile("fix.txt", b"step 1", content_type="text/plain")},
        headers={"Authorization": f"Bearer {agent.token}"},
    )
    assert uploaded.status_code == 201
    agent.post(
        f"tickets/{chat['ticket']['number']}/messages",
        {"body": "Try this", "attachments": [uploaded.json()["id"]]},
    )
    files = events(anonymous, chat)[-1]["attachments"]
    assert files[0]["name"] == "fix.txt" and files[0]["size"] == 6
    url = files[0]["url"]
    assert Client().get(url, headers=as_visitor(chat)).status_code == 200
    assert Client().get(f"{url}?token={chat['visitor_token']}").status_code == 200
    assert Client().get(url, headers=as_visitor(mine)).status_code == 404
    assert Client().get(url).status_code == 404


def test_typing_is_kept_once_every_few_seconds_and_seen_says_how_far(
    anonymous: Any, agent: Any
) -> None:
    online(agent)
    chat = start(anonymous)
    for _ in range(3):
        response = anonymous.post(f"chats/{chat['id']}/typing", headers=as_visitor(chat))
        assert response.status_code == 204
    assert [e["type"] for e in events(anonymous, chat)].count("typing") == 1
    seen = anonymous.post(f"chats/{chat['id']}/seen", {"up_to": 2}, headers=as_visitor(chat))
    assert seen.status_code == 204
    last = events(anonymous, chat)[-1]
    assert last["type"] == "seen" and last["author"] == "visitor" and last["up_to"] == 2


def test_a_visitor_rates_the_chat(anonymous: Any, agent: Any) -> None:
    online(agent)
    chat = start(anonymous)
    response = anonymous.post(
        f"chats/{chat['id']}/rating", {"rating": 5, "comment": "Quick!"}, headers=as_visitor(chat)
    )
    assert response.status_code == 204
    assert Chat.objects.get(pk=chat["id"]).rating == 5
    assert agent.post(f"chats/{chat['id']}/rating", {"rating": 1}).status_code == 403


def test_a_visitor_uploads_a_file_and_sends_it(anonymous: Any, agent: Any) -> None:
    online(agent)
    chat = start(anonymous)
    uploaded = Client().post(
        f"/api/v1/chats/{chat['id']}/attachments",
        {"file": SimpleUploadedFile("shot.png", b"\x89PNG", content_type="image/png")},
        headers=as_visitor(chat),
    )
    assert uploaded.status_code == 201, uploaded.content
    sent = anonymous.post(
        f"chats/{chat['id']}/messages",
        {"body": "Here is the screen", "attachments": [uploaded.json()["id"]]},
        headers=as_visitor(chat),
    )
    assert sent.status_code == 201
    assert events(anonymous, chat)[-1]["attachments"][0]["name"] == "shot.png"


@pytest.mark.parametrize("state", ["waiting", "active"])
def test_customers_do_not_list_chats(customer: Any, state: str) -> None:
    assert customer.get(f"chats?state={state}").status_code == 403


def test_the_visitor_gets_the_transcript_by_mail_once_when_they_ask_at_the_end(
    anonymous: Any, agent: Any, outbox: Any
) -> None:
    online(agent)
    chat = start(anonymous, {**HELLO, "body": "My invoice 4411 shows the wrong VAT rate."})
    agent.post(f"chats/{chat['id']}/accept")
    number = chat["ticket"]["number"]
    agent.post(f"tickets/{number}/messages", {"body": "Corrected: the new invoice is on its way."})
    agent.post(f"tickets/{number}/messages", {"body": "Checked the VAT table", "internal": True})
    outbox.clear()
    for _ in range(2):  # asking twice mails once
        ended = anonymous.post(
            f"chats/{chat['id']}/end", {"transcript": True}, headers=as_visitor(chat)
        )
        assert ended.status_code == 200, ended.content
    [mail] = [m for m in outbox if m.to == ["leyla@example.net"]]
    assert mail.subject == f"[#{number}] Your chat with us"
    assert "wrong VAT rate" in mail.body and "the new invoice is on its way" in mail.body
    assert "VAT table" not in mail.body, "internal notes stay internal"


def test_a_user_a_site_vouched_for_chats_under_their_own_verified_address(
    anonymous: Any, agent: Any, settings: Any
) -> None:
    import time

    from destek.chat import identity

    settings.DESTEK_CHAT_SITES = {"shop": "shop-secret"}
    stamp = str(int(time.time()))
    vouched = identity.verify_site_signature(
        "shop",
        "u-77",
        "nigar@shop.example",
        stamp,
        identity.signature_for("shop-secret", "u-77", "nigar@shop.example", stamp),
        name="Nigar",
    )
    online(agent)
    chat = start(
        anonymous, {"body": "Where is my order 5521?", "identity": identity.issue(vouched)}
    )
    started = Chat.objects.select_related("visitor").get(pk=chat["id"])
    assert started.email == "nigar@shop.example" and started.email_verified
    assert started.visitor.email == "nigar@shop.example" and started.visitor.is_customer
    forged = anonymous.post("chats", {"body": "Where is my order?", "identity": "forged"})
    assert forged.status_code == 422
    assert forged.json()["code"] == "identity_expired"


def test_a_question_the_rules_send_to_another_department_is_told_whether_anyone_is_there(
    anonymous: Any, agent: Any
) -> None:
    online(agent)  # Technical only; a payment question goes to Finance, where nobody is
    chat = start(anonymous, {**HELLO, "body": "My payment for order 12345 was taken twice"})
    assert chat["ticket"]["department"] == "finance"
    assert chat["offline"] is True
    assert chat["ticket"]["expected_answer"]


def test_a_visitor_token_reads_nothing_a_day_after_the_chat_ended(
    anonymous: Any, agent: Any
) -> None:
    online(agent)
    chat = start(anonymous)
    anonymous.post(f"chats/{chat['id']}/end", {}, headers=as_visitor(chat))
    again = anonymous.post(
        f"chats/{chat['id']}/messages", {"body": "one more"}, headers=as_visitor(chat)
    )
    assert again.status_code == 409, "an ended chat takes no more messages"
    assert events(anonymous, chat)[-1]["type"] == "ended", "but its end can still be read"
    with time_machine.travel(timezone.now() + timedelta(hours=25)):
        late = anonymous.get(f"chats/{chat['id']}/events?after=0", headers=as_visitor(chat))
    assert late.status_code == 404
