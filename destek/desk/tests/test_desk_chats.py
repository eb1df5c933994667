"""The agent's live chats in the desk: the inbox, one chat's page and the forms on it, seen
as an agent uses them (visitors start chats through the API, as the widget does)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.test import Client
from django.utils import timezone

from destek.accounts.choices import Role
from destek.accounts.models import User
from destek.chat import actions as chat_actions
from destek.chat import jobs
from destek.chat.choices import ChatState, EventType, Presence
from destek.chat.models import AgentPresence, Chat, ChatEvent
from destek.lib.errors import ActionRefused
from destek.tickets.choices import TicketStatus
from destek.tickets.models import Department, Membership, Message

pytestmark = pytest.mark.django_db


def desk_for(user: User) -> Client:
    client = Client()
    client.force_login(user)
    client.cookies["django_language"] = "en"
    return client


@pytest.fixture
def desk(users: dict[str, User]) -> Client:
    return desk_for(users["agent"])


def online(user: User) -> None:
    chat_actions.set_presence(user, Presence.ONLINE)


def start(anonymous: Any, body: str = "My server does not boot", **extra: Any) -> Chat:
    payload = {"body": body, "name": "Leyla", "email": "leyla@example.net", **extra}
    response = anonymous.post("chats", payload)
    assert response.status_code == 201, response.content
    assert response.json()["offline"] is False
    return Chat.objects.get(pk=response.json()["id"])


def accepted(desk: Client, users: dict[str, User], anonymous: Any) -> Chat:
    """The agent is online, a visitor starts a chat, and the agent takes it in the desk."""
    online(users["agent"])
    chat = start(anonymous)
    desk.post(f"/desk/chats/{chat.pk}/accept/")
    return chat


def second_technical_agent() -> User:
    colleague = User.objects.create_user(
        email="kamran@example.com", password="demo", full_name="Kamran Texniki", role=Role.AGENT
    )
    Membership.objects.create(department=Department.objects.get(slug="technical"), user=colleague)
    return colleague


# --- the inbox -------------------------------------------------------------------------------


def test_the_inbox_shows_waiting_chats_in_serving_order_with_who_waits_and_what_they_said(
    desk: Client, users: dict[str, User], anonymous: Any, vip: Any
) -> None:
    online(users["agent"])
    first = start(anonymous, "The control panel shows error 500")
    first_class = start(vip, "The server is slow since noon")
    page = desk.get("/desk/chats/").content.decode()
    assert page.index(f'data-chat="{first_class.pk}"') < page.index(f'data-chat="{first.pk}"')
    assert "The control panel shows error 500" in page
    assert "Leyla" in page
    assert 'class="badge vip"' in page
    assert "Technical" in page
    # Offered to the one agent online: marked so.
    assert 'class="offered"' in page and "Offered to you" in page


def test_an_agent_sets_their_status_and_the_heartbeat_keeps_them_online(
    desk: Client, users: dict[str, User]
) -> None:
    response = desk.post("/desk/chats/presence/", {"status": "online"})
    assert response.status_code == 302
    assert AgentPresence.objects.get(agent=users["agent"]).status == Presence.ONLINE
    page = desk.get("/desk/chats/").content.decode()
    assert 'id="presence-online" class="presence online" aria-pressed="true"' in page
    later = timezone.now() + timedelta(seconds=50)
    with time_machine.travel(later, tick=False):
        answer = desk.post("/desk/chats/heartbeat/")
        assert answer.json() == {"online": True, "status": "online"}
    with time_machine.travel(later + timedelta(seconds=50), tick=False):
        jobs.sweep()  # the heartbeat 50 s ago keeps them online
    assert AgentPresence.objects.get(agent=users["agent"]).status == Presence.ONLINE


def test_a_closed_tab_goes_offline_within_a_minute(desk: Client, users: dict[str, User]) -> None:
    desk.post("/desk/chats/presence/", {"status": "online"})
    with time_machine.travel(timezone.now() + timedelta(seconds=61), tick=False):
        jobs.sweep()
        assert desk.post("/desk/chats/heartbeat/").json() == {
            "online": False,
            "status": "offline",
        }
    assert AgentPresence.objects.get(agent=users["agent"]).status == Presence.OFFLINE


def test_away_is_kept_and_an_unknown_status_is_refused_in_the_agents_language(
    desk: Client, users: dict[str, User]
) -> None:
    desk.post("/desk/chats/presence/", {"status": "away"})
    assert AgentPresence.objects.get(agent=users["agent"]).status == Presence.AWAY
    answer = desk.post(
        "/desk/chats/presence/", {"status": "asleep"}, headers={"Accept": "application/json"}
    )
    assert answer.status_code == 422 and answer.json()["code"] == "invalid_status"


def test_a_customer_cannot_open_the_inbox(users: dict[str, User]) -> None:
    assert desk_for(users["customer"]).get("/desk/chats/").status_code == 403


def test_the_inbox_page_costs_seven_statements_whatever_the_line(
    desk: Client, users: dict[str, User], anonymous: Any, django_assert_num_queries: Any
) -> None:
    """Pinned on purpose: session, user, the agent's presence, the waiting line with each
    chat's ticket and first words (one statement), my chats with their tickets, and the
    departments and memberships (read once per process outside a test's transaction).
    Raise it only knowing which statement was added and why."""
    online(users["agent"])
    chats = [start(anonymous, f"Question number {i} about my server") for i in range(3)]
    chat_actions.accept(chats[0], agent=users["agent"])
    desk.get("/desk/chats/")  # the per-process caches
    with django_assert_num_queries(7):
        page = desk.get("/desk/chats/").content.decode()
    assert "Question number 2 about my server" in page
    with django_assert_num_queries(6):
        desk.get("/desk/chats/lists/")


def test_the_navigation_counts_the_waiting_chats(
    desk: Client, users: dict[str, User], anonymous: Any
) -> None:
    online(users["agent"])
    start(anonymous)
    start(anonymous, "Second question")
    page = desk.get("/desk/").content.decode()
    assert 'href="/desk/chats/" id="nav-chats"' in page
    assert desk.get("/desk/chats/count/").content.decode().strip() == "2"
    lists = desk.get("/desk/chats/lists/").content.decode()
    assert '<span id="nav-chat-count" hx-swap-oob="innerHTML">2</span>' in lists


# --- access ----------------------------------------------------------------------------------


def test_an_agent_of_another_department_can_neither_see_nor_accept_a_chat(
    users: dict[str, User], anonymous: Any
) -> None:
    online(users["agent"])
    chat = start(anonymous)
    finance = desk_for(users["finance"])
    assert f'data-chat="{chat.pk}"' not in finance.get("/desk/chats/").content.decode()
    assert finance.get(f"/desk/chats/{chat.pk}/").status_code == 404
    assert finance.get(f"/desk/chats/{chat.pk}/events?after=0").status_code == 404
    assert finance.post(f"/desk/chats/{chat.pk}/accept/").status_code == 404
    assert finance.post(f"/desk/chats/{chat.pk}/send/", {"body": "hi"}).status_code == 404
    assert finance.post(f"/desk/chats/{chat.pk}/end/").status_code == 404
    assert finance.post(f"/desk/chats/{chat.pk}/transfer/", {"department": 1}).status_code == 404
    # The same answer as for a chat that does not exist.
    assert finance.get("/desk/chats/999999/").status_code == 404
    chat.refresh_from_db()
    assert chat.state == ChatState.WAITING
    assert desk_for(users["admin"]).get(f"/desk/chats/{chat.pk}/").status_code == 200


# --- accept, talk, end ------------------------------------------------------------------------


def test_an_agent_accepts_from_the_inbox_and_lands_on_the_chat(
    desk: Client, users: dict[str, User], anonymous: Any
) -> None:
    online(users["agent"])
    chat = start(anonymous)
    response = desk.post(f"/desk/chats/{chat.pk}/accept/")
    assert response.status_code == 302 and response["Location"] == f"/desk/chats/{chat.pk}/"
    chat.refresh_from_db()
    assert chat.state == ChatState.ACTIVE and chat.agent == users["agent"]
    page = desk.get(f"/desk/chats/{chat.pk}/").content.decode()
    assert "My server does not boot" in page
    assert "Tural Texniki took the chat." in page
    assert 'id="chat-send"' in page
    assert "leyla@example.net" in page and "unverified" in page
    assert f'href="/desk/tickets/{chat.ticket.number}/"' in page
    mine = desk.get("/desk/chats/").content.decode()
    assert f'<li data-chat="{chat.pk}">' in mine


def test_a_chat_another_agent_just_took_is_a_clear_word_not_an_error_page(
    users: dict[str, User], anonymous: Any
) -> None:
    online(users["agent"])
    colleague = second_technical_agent()
    chat = start(anonymous)
    chat_actions.accept(chat, agent=colleague)
    response = desk_for(users["agent"]).post(f"/desk/chats/{chat.pk}/accept/", follow=True)
    assert response.status_code == 200
    assert "Another agent has already taken this chat." in response.content.decode()
    assert response.redirect_chain[-1][0] == "/desk/chats/"


def test_the_agents_message_reaches_the_chat_and_leaves_the_ticket_open(
    desk: Client, users: dict[str, User], anonymous: Any
) -> None:
    chat = accepted(desk, users, anonymous)
    answer = desk.post(
        f"/desk/chats/{chat.pk}/send/",
        {"body": "Hello Leyla, let me look."},
        headers={"Accept": "application/json"},
    )
    assert answer.status_code == 200, answer.content
    chat.ticket.refresh_from_db()
    assert chat.ticket.status == TicketStatus.OPEN
    events = desk.get(f"/desk/chats/{chat.pk}/events?after=0").json()["events"]
    said = [e for e in events if e["type"] == EventType.MESSAGE]
    assert said[-1]["body"] == "Hello Leyla, let me look." and said[-1]["author"] == "agent"


def test_the_events_view_gives_only_what_came_after_a_number(
    desk: Client, users: dict[str, User], anonymous: Any
) -> None:
    online(users["agent"])
    chat = start(anonymous)
    everything = desk.get(f"/desk/chats/{chat.pk}/events?after=0").json()
    assert [e["seq"] for e in everything["events"]] == [1, 2]
    assert everything["state"] == "waiting"
    desk.post(f"/desk/chats/{chat.pk}/accept/")
    later = desk.get(f"/desk/chats/{chat.pk}/events?after=2").json()["events"]
    assert [(e["seq"], e["type"]) for e in later] == [(3, "assigned")]
    assert desk.get(f"/desk/chats/{chat.pk}/events?after=junk").status_code == 200


def test_a_refused_message_keeps_the_text_in_the_box_with_the_reason(
    desk: Client, users: dict[str, User], anonymous: Any, settings: Any
) -> None:
    chat = accepted(desk, users, anonymous)
    chat_actions.end(chat, by=chat.visitor)
    text = "Here is the fix: restart the service."
    page = desk.post(f"/desk/chats/{chat.pk}/send/", {"body": text})
    assert page.status_code == 422
    html = page.content.decode()
    assert "This chat has ended" in html
    assert text in html
    answer = desk.post(
        f"/desk/chats/{chat.pk}/send/", {"body": text}, headers={"Accept": "application/json"}
    )
    assert answer.status_code == 409 and answer.json()["code"] == "chat_ended"


def test_a_refusal_reads_in_the_agents_language_and_keeps_the_text(
    users: dict[str, User], anonymous: Any
) -> None:
    online(users["agent"])
    chat = start(anonymous)
    agent = desk_for(users["agent"])
    agent.cookies["django_language"] = "ru"
    agent.post(f"/desk/chats/{chat.pk}/accept/")
    text = "Журнал: " + "x" * 100_000
    answer = agent.post(
        f"/desk/chats/{chat.pk}/send/", {"body": text}, headers={"Accept": "application/json"}
    )
    assert answer.status_code == 422
    assert "слишком длинное" in answer.json()["detail"]
    page = agent.post(f"/desk/chats/{chat.pk}/send/", {"body": text}).content.decode()
    assert "слишком длинное" in page and text in page


def test_an_internal_note_stays_with_agents(
    desk: Client, users: dict[str, User], anonymous: Any
) -> None:
    chat = accepted(desk, users, anonymous)
    answer = desk.post(
        f"/desk/chats/{chat.pk}/note/",
        {"body": "Customer sounds upset; check invoice 42"},
        headers={"Accept": "application/json"},
    )
    assert answer.status_code == 200
    assert Message.objects.get(pk=answer.json()["message_id"]).internal
    events = desk.get(f"/desk/chats/{chat.pk}/events?after=0").json()["events"]
    assert all("invoice 42" not in str(e) for e in events)
    assert "Customer sounds upset" in desk.get(f"/desk/chats/{chat.pk}/").content.decode()


def test_the_agents_typing_is_an_event(
    desk: Client, users: dict[str, User], anonymous: Any
) -> None:
    chat = accepted(desk, users, anonymous)
    assert desk.post(f"/desk/chats/{chat.pk}/typing/").status_code == 204
    assert ChatEvent.objects.filter(chat=chat, type="typing", data__author="agent").exists()


def test_the_assigned_agent_reading_the_chat_tells_the_visitor_seen(
    desk: Client, users: dict[str, User], anonymous: Any
) -> None:
    chat = accepted(desk, users, anonymous)
    chat.refresh_from_db()
    page = desk.get(f"/desk/chats/{chat.pk}/").content.decode()
    assert f'data-seen-url="/desk/chats/{chat.pk}/seen/"' in page
    assert desk.post(f"/desk/chats/{chat.pk}/seen/", {"up_to": chat.last_seq}).status_code == 204
    [seen] = ChatEvent.objects.filter(chat=chat, type="seen")
    assert seen.data == {"author": "agent", "up_to": chat.last_seq}
    # Saying it again adds nothing; a number that is not one is refused.
    desk.post(f"/desk/chats/{chat.pk}/seen/", {"up_to": chat.last_seq})
    assert ChatEvent.objects.filter(chat=chat, type="seen").count() == 1
    assert desk.post(f"/desk/chats/{chat.pk}/seen/", {"up_to": "x"}).status_code == 400


def test_a_colleague_looking_into_a_chat_does_not_mark_it_seen(
    desk: Client, users: dict[str, User], anonymous: Any
) -> None:
    chat = accepted(desk, users, anonymous)
    chat.refresh_from_db()
    colleague = desk_for(second_technical_agent())
    assert (
        colleague.post(f"/desk/chats/{chat.pk}/seen/", {"up_to": chat.last_seq}).status_code == 204
    )
    assert not ChatEvent.objects.filter(chat=chat, type="seen").exists()


def test_ending_with_continue_as_ticket_keeps_the_ticket_open(
    desk: Client, users: dict[str, User], anonymous: Any
) -> None:
    chat = accepted(desk, users, anonymous)
    desk.post(f"/desk/chats/{chat.pk}/send/", {"body": "I will check the logs."})
    response = desk.post(f"/desk/chats/{chat.pk}/end/", {"keep_open": "1"}, follow=True)
    assert "continues as a ticket" in response.content.decode()
    chat.refresh_from_db()
    chat.ticket.refresh_from_db()
    assert chat.state == ChatState.ENDED
    assert chat.ticket.status == TicketStatus.OPEN
    ended = ChatEvent.objects.filter(chat=chat, type="ended").get()
    assert ended.data == {"by": "agent", "continues_as_ticket": True, "survey": False}


def test_ending_an_answered_chat_resolves_its_ticket(
    desk: Client, users: dict[str, User], anonymous: Any
) -> None:
    chat = accepted(desk, users, anonymous)
    desk.post(f"/desk/chats/{chat.pk}/send/", {"body": "Fixed: it boots again."})
    desk.post(f"/desk/chats/{chat.pk}/end/")
    chat.ticket.refresh_from_db()
    assert chat.ticket.status == TicketStatus.RESOLVED


def test_the_agent_sees_how_the_visitor_rated_the_chat(
    desk: Client, users: dict[str, User], anonymous: Any
) -> None:
    chat = accepted(desk, users, anonymous)
    desk.post(f"/desk/chats/{chat.pk}/send/", {"body": "Fixed: it boots again."})
    desk.post(f"/desk/chats/{chat.pk}/end/")
    chat_actions.rate(Chat.objects.get(pk=chat.pk), rating=4, comment="Quick, thanks")
    page = desk.get(f"/desk/chats/{chat.pk}/").content.decode()
    assert "The visitor rated the chat 4 out of 5." in page and "Quick, thanks" in page
    persian = desk_for(users["agent"])
    persian.cookies["django_language"] = "fa"
    User.objects.filter(pk=users["agent"].pk).update(language="fa")
    text = persian.get(f"/desk/chats/{chat.pk}/").content.decode()
    line = text.split('<p id="chat-rating">', 1)[1].split("</p>", 1)[0]
    assert "۴" in line and "4" not in line


# --- transfer --------------------------------------------------------------------------------


def test_a_chat_is_transferred_to_a_colleague_online_who_has_it_at_once(
    desk: Client, users: dict[str, User], anonymous: Any
) -> None:
    online(users["agent"])
    colleague = second_technical_agent()
    online(colleague)
    chat = start(anonymous)
    desk.post(f"/desk/chats/{chat.pk}/accept/")
    page = desk.get(f"/desk/chats/{chat.pk}/").content.decode()
    assert f'<option value="{colleague.pk}">Kamran Texniki</option>' in page
    response = desk.post(f"/desk/chats/{chat.pk}/transfer/", {"agent": colleague.pk})
    assert response.status_code == 302
    chat.refresh_from_db()
    chat.ticket.refresh_from_db()
    assert chat.state == ChatState.ACTIVE and chat.agent == colleague
    assert chat.ticket.assignee == colleague
    last = ChatEvent.objects.filter(chat=chat).order_by("-seq").first()
    assert last is not None and last.type == "assigned"
    assert last.data == {"agent": "Kamran Texniki"}


def test_a_colleague_who_is_offline_cannot_be_given_a_chat(
    desk: Client, users: dict[str, User], anonymous: Any
) -> None:
    online(users["agent"])
    colleague = second_technical_agent()
    chat = start(anonymous)
    desk.post(f"/desk/chats/{chat.pk}/accept/")
    answer = desk.post(
        f"/desk/chats/{chat.pk}/transfer/",
        {"agent": colleague.pk},
        headers={"Accept": "application/json"},
    )
    assert answer.status_code == 422
    assert answer.json()["detail"] == "Kamran Texniki is not online in this chat's department."
    chat.refresh_from_db()
    assert chat.agent == users["agent"]


def test_a_chat_transferred_to_another_department_waits_there_and_is_offered_again(
    desk: Client, users: dict[str, User], anonymous: Any
) -> None:
    online(users["agent"])
    online(users["finance"])
    chat = start(anonymous, "A question about my invoice layout")
    desk.post(f"/desk/chats/{chat.pk}/accept/")
    finance = Department.objects.get(slug="finance")
    response = desk.post(f"/desk/chats/{chat.pk}/transfer/", {"department": finance.pk})
    # Out of the agent's departments: back to the inbox.
    assert response.status_code == 302 and response["Location"] == "/desk/chats/"
    chat.refresh_from_db()
    chat.ticket.refresh_from_db()
    assert chat.state == ChatState.WAITING and chat.department == finance
    assert chat.agent is None and chat.offered_to == users["finance"]
    assert chat.ticket.department == finance and chat.ticket.assignee is None
    last = ChatEvent.objects.filter(chat=chat).order_by("-seq").first()
    assert last is not None and last.type == "queue" and last.data["position"] == 1
    assert desk.get(f"/desk/chats/{chat.pk}/").status_code == 404
    finance_desk = desk_for(users["finance"])
    assert f'data-chat="{chat.pk}"' in finance_desk.get("/desk/chats/").content.decode()
    assert finance_desk.post(f"/desk/chats/{chat.pk}/accept/").status_code == 302


def test_transfer_is_one_transaction_refused_whole(users: dict[str, User], anonymous: Any) -> None:
    online(users["agent"])
    chat = start(anonymous)
    chat_actions.accept(chat, agent=users["agent"])
    chat.refresh_from_db()
    before = chat.last_seq
    with pytest.raises(ActionRefused):
        chat_actions.transfer(chat, by=users["agent"], department=chat.department)
    with pytest.raises(ActionRefused):
        chat_actions.transfer(chat, by=users["agent"])
    chat.refresh_from_db()
    assert chat.state == ChatState.ACTIVE and chat.last_seq == before
    with pytest.raises(Chat.DoesNotExist):
        chat_actions.transfer(
            chat, by=users["finance"], department=Department.objects.get(slug="finance")
        )


def test_an_ended_chat_cannot_be_transferred(users: dict[str, User], anonymous: Any) -> None:
    online(users["agent"])
    chat = start(anonymous)
    chat_actions.end(chat, by=users["agent"])
    with pytest.raises(ActionRefused) as refused:
        chat_actions.transfer(
            chat, by=users["agent"], department=Department.objects.get(slug="finance")
        )
    assert refused.value.code == "chat_ended"
