"""What a messenger customer's tickets look like from outside: the API names them by their
messenger, never by the placeholder address their account carries; mail and chat after a
contact is linked; help texts; names from Meta; replies to agents' messages quoted; a reply
held past Meta's window."""

from __future__ import annotations

from typing import Any

import pytest
from django.utils import translation

from conftest import signed_in_client
from destek.accounts.models import User
from destek.messaging import texts
from destek.messaging.models import ChatMessage, Contact, MessagingChannel
from destek.messaging.tests import test_meta as meta
from destek.messaging.tests.test_linking import answers, contact, deep_link
from destek.messaging.tests.test_telegram import post, the_ticket, update
from destek.tickets.models import Ticket


@pytest.fixture
def say(channel: dict[str, Any], django_capture_on_commit_callbacks: Any) -> Any:
    def write(text: str, **kwargs: Any) -> None:
        response = post(channel, update(text, **kwargs), django_capture_on_commit_callbacks)
        assert response.status_code == 200

    return write


def mailed(outbox: list[Any], address: str, words: str) -> list[Any]:
    return [m for m in outbox if address in m.to and words in m.body]


def with_username(payload: dict[str, Any], username: str) -> dict[str, Any]:
    payload["message"]["from"]["username"] = username
    return payload


def test_the_api_names_a_telegram_customer_by_the_messenger_not_a_placeholder_address(
    channel, agent, django_capture_on_commit_callbacks
):
    payload = with_username(update("My invoice is wrong"), "aysel")
    post(channel, payload, django_capture_on_commit_callbacks)
    ticket = the_ticket()
    seen = agent.get(f"tickets/{ticket.number}").json()
    assert seen["customer"] is None
    assert seen["customer_messenger"] == {"kind": "telegram", "username": "aysel"}
    listed = agent.get("tickets").json()
    [row] = [t for t in listed["items"] if t["number"] == ticket.number]
    assert row["customer"] is None and row["customer_messenger"]["kind"] == "telegram"
    thread = agent.get(f"tickets/{ticket.number}/messages").json()
    assert "messenger-contacts.invalid" not in str(thread)
    events = agent.get(f"tickets/{ticket.number}/events").json()
    assert "messenger-contacts.invalid" not in str(events)
    assert "messenger-contacts.invalid" not in str(listed)


def test_a_customer_with_an_address_is_still_named_by_it(agent, customer, users):
    made = customer.post("tickets", {"subject": "Backups fail", "body": "Since Monday."})
    assert made.status_code == 201, made.content
    seen = agent.get(f"tickets/{made.json()['number']}").json()
    assert seen["customer"] == users["customer"].email
    assert seen["customer_messenger"] is None


def test_a_linked_account_gets_replies_in_the_chat_only_and_by_mail_once_unlinked(
    bot_api, channel, say, users, outbox, agent, django_capture_on_commit_callbacks
):
    customer = users["customer"]
    say("My invoice for November is wrong")
    say(f"/start {deep_link(customer, channel)}")
    ticket = Ticket.objects.get(customer=customer, channel="telegram")
    bot_api.calls.clear()
    outbox.clear()
    # Linked: the chat carries the reply, the mail does not (never twice).
    assert agent.post(f"tickets/{ticket.number}/messages", {"body": "Fixed."}).status_code == 201
    assert answers(bot_api) == ["Fixed."]
    assert not mailed(outbox, customer.email, "Fixed.")
    # Unlinked: the chat is no longer the account's, so the account's address gets it.
    with django_capture_on_commit_callbacks(execute=True):
        signed_in_client(customer).post("/my/profile/messengers/unlink/", {"contact": contact().pk})
    bot_api.calls.clear()
    reply = agent.post(f"tickets/{ticket.number}/messages", {"body": "The refund is on its way."})
    assert reply.status_code == 201
    assert answers(bot_api) == []
    assert len(mailed(outbox, customer.email, "The refund is on its way.")) == 1


def test_a_linked_accounts_replies_go_by_mail_once_the_channel_is_removed(
    bot_api, channel, say, users, outbox, agent
):
    customer = users["customer"]
    say("Please call me back")
    say(f"/start {deep_link(customer, channel)}")
    ticket = Ticket.objects.get(customer=customer, channel="telegram")
    MessagingChannel.objects.filter(pk=channel["id"]).delete()
    outbox.clear()
    assert agent.post(f"tickets/{ticket.number}/messages", {"body": "Called."}).status_code == 201
    assert len(mailed(outbox, customer.email, "Called.")) == 1


def test_a_reply_to_an_unverified_address_or_a_placeholder_is_not_mailed(
    bot_api, channel, say, users, outbox, agent
):
    say("Where is my order?")
    ticket = the_ticket()
    MessagingChannel.objects.filter(pk=channel["id"]).delete()  # the chat is gone
    outbox.clear()
    assert agent.post(f"tickets/{ticket.number}/messages", {"body": "Sent."}).status_code == 201
    assert outbox == []  # the placeholder address reaches no one
    User.objects.filter(pk=ticket.customer_id).update(
        email="new@example.com", email_verified_at=None
    )
    assert agent.post(f"tickets/{ticket.number}/messages", {"body": "Again."}).status_code == 201
    assert outbox == []


def test_help_tells_how_to_link_the_chat_in_every_language(
    bot_api, channel, say, django_capture_on_commit_callbacks
):
    say("/help")
    [help_text] = answers(bot_api)
    assert "/link" in help_text and "/new" in help_text
    for language in ("az", "fa", "ru", "tr"):
        with translation.override(language):
            translated = str(texts.HELP), str(texts.LINK_HINT)
        assert all("/link" in said for said in translated)
        with translation.override("en"):
            assert str(texts.HELP) != translated[0] and str(texts.LINK_HINT) != translated[1]


def test_a_whatsapp_customers_first_ticket_answer_says_how_to_link_and_later_ones_do_not(
    graph, whatsapp, django_capture_on_commit_callbacks
):
    capture = django_capture_on_commit_callbacks
    meta.post(whatsapp, meta.wa_payload(meta.wa_message(body="Salam, sifariş")), capture)
    [filed] = graph.sent(f"/{meta.PHONE_ID}/messages")
    assert "/link name@example.com" in filed["text"]["body"]
    graph.calls.clear()
    meta.post(whatsapp, meta.wa_payload(meta.wa_message(body="/new")), capture)
    meta.post(whatsapp, meta.wa_payload(meta.wa_message(body="Another order")), capture)
    said = [sent["text"]["body"] for sent in graph.sent(f"/{meta.PHONE_ID}/messages")]
    assert any("#" in text for text in said) and not any("/link" in text for text in said)


def test_a_telegram_ticket_answer_has_no_link_hint(bot_api, channel, say):
    say("The site is down")
    [filed] = answers(bot_api)
    assert "/link" not in filed  # Telegram users have the command menu and /help


def profile_calls(graph: Any, user_id: str) -> list[Any]:
    return [c for c in graph.calls if c.method == "GET" and c.path.endswith(f"/{user_id}")]


def test_a_new_messenger_contact_gets_their_name_from_the_graph_api_once(
    graph, messenger, agent, django_capture_on_commit_callbacks
):
    capture = django_capture_on_commit_callbacks
    item = meta.fb_item(message={"mid": "m_name1", "text": "hello"})
    meta.post(messenger, meta.fb_payload("page", item), capture)
    [asked] = profile_calls(graph, meta.PSID)
    assert asked.data == {"fields": "first_name,last_name"}
    contact = Contact.objects.select_related("customer").get(external_user_id=meta.PSID)
    assert contact.name == "Aysel Məmmədova" == contact.customer.full_name
    ticket = meta.ticket_of(meta.PSID)
    assert ticket.subject == "Messenger message from Aysel Məmmədova"
    # The next message does not ask again.
    item = meta.fb_item(message={"mid": "m_name2", "text": "my order is late"})
    meta.post(messenger, meta.fb_payload("page", item), capture)
    assert len(profile_calls(graph, meta.PSID)) == 1


def test_a_new_instagram_contact_gets_their_name_and_username(
    graph, instagram, agent, django_capture_on_commit_callbacks
):
    user = "17841455500001"
    item = meta.fb_item(sender=user, message={"mid": "m_ig_name", "text": "Is the shop open?"})
    meta.post(instagram, meta.fb_payload("instagram", item), django_capture_on_commit_callbacks)
    [asked] = profile_calls(graph, user)
    assert asked.data == {"fields": "name,username"}
    contact = Contact.objects.get(external_user_id=user)
    assert (contact.name, contact.username) == ("Leyla Həsənova", "leyla.h")
    seen = agent.get(f"tickets/{meta.ticket_of(user).number}").json()
    assert seen["customer_messenger"] == {"kind": "instagram", "username": "leyla.h"}


def test_a_refused_profile_never_stops_the_message_being_filed(
    graph, messenger, django_capture_on_commit_callbacks
):
    graph.profiles_refused = True
    item = meta.fb_item(message={"mid": "m_noname", "text": "The payment failed twice"})
    meta.post(messenger, meta.fb_payload("page", item), django_capture_on_commit_callbacks)
    ticket = meta.ticket_of(meta.PSID)
    assert ticket.subject == "The payment failed twice"
    assert Contact.objects.get(external_user_id=meta.PSID).name == ""


def test_a_whatsapp_reply_to_an_agents_message_quotes_its_first_line(
    graph, whatsapp, agent, django_capture_on_commit_callbacks
):
    capture = django_capture_on_commit_callbacks
    meta.post(whatsapp, meta.wa_payload(meta.wa_message(body="Where is order 4471?")), capture)
    ticket = meta.ticket_of(meta.WA_USER)
    body = "It left the warehouse today.\nThe tracking number follows."
    assert agent.post(f"tickets/{ticket.number}/messages", {"body": body}).status_code == 201
    kept = ChatMessage.objects.get(message__body=body)
    assert kept.external_id.startswith("wamid.") and kept.excerpt == "It left the warehouse today."
    reply = meta.wa_message(body="Thank you!")
    reply["context"] = {"from": "994125550000", "id": kept.external_id}
    meta.post(whatsapp, meta.wa_payload(reply), capture)
    last = ticket.messages.order_by("-pk")[0]
    assert last.body.startswith("In reply to:\n“It left the warehouse today.”")
    assert last.body.endswith("Thank you!")


def test_a_messenger_reply_to_an_agents_message_quotes_its_first_line(
    graph, messenger, agent, django_capture_on_commit_callbacks
):
    capture = django_capture_on_commit_callbacks
    item = meta.fb_item(message={"mid": "m_q1", "text": "The checkout page hangs"})
    meta.post(messenger, meta.fb_payload("page", item), capture)
    ticket = meta.ticket_of(meta.PSID)
    body = "Please try the page again now."
    assert agent.post(f"tickets/{ticket.number}/messages", {"body": body}).status_code == 201
    kept = ChatMessage.objects.get(message__body=body)
    item = meta.fb_item(
        message={"mid": "m_q2", "text": "It worked", "reply_to": {"mid": kept.external_id}}
    )
    meta.post(messenger, meta.fb_payload("page", item), capture)
    last = ticket.messages.order_by("-pk")[0]
    assert last.body.startswith("In reply to:\n“Please try the page again now.”")


def test_an_agents_telegram_message_keeps_its_message_id(bot_api, channel, say, agent):
    say("The VPS does not boot")
    ticket = the_ticket()
    assert (
        agent.post(f"tickets/{ticket.number}/messages", {"body": "Restarting."}).status_code == 201
    )
    kept = ChatMessage.objects.get(message__body="Restarting.")
    assert kept.external_id.isdigit() and kept.excerpt == "Restarting."


def test_a_reply_held_until_the_window_closed_is_marked_failed_and_offered_by_mail(
    graph, whatsapp, users, agent, outbox, django_capture_on_commit_callbacks
):
    from destek.messaging import jobs
    from destek.messaging.choices import Health, OutboundState
    from destek.messaging.models import OutboundMessage
    from destek.messaging.window import CLOSED_ERROR as WINDOW_CLOSED_ERROR

    capture = django_capture_on_commit_callbacks
    meta.post(whatsapp, meta.wa_payload(meta.wa_message(body="The invoice is wrong")), capture)
    ticket = meta.ticket_of(meta.WA_USER)
    graph.token_expired = True  # the channel fails: the reply waits
    body = "The corrected invoice is in your ticket."
    assert agent.post(f"tickets/{ticket.number}/messages", {"body": body}).status_code == 201
    held = OutboundMessage.objects.get(message__body=body)
    assert held.state == OutboundState.PENDING
    assert MessagingChannel.objects.get(pk=whatsapp["id"]).health == Health.FAILING
    # A day later the token works again, but the window has closed.
    meta.wrote_hours_ago(meta.WA_USER, 26)
    graph.token_expired = False
    graph.calls.clear()
    jobs.send_waiting.call_local()
    held.refresh_from_db()
    assert held.state == OutboundState.FAILED and held.last_error == WINDOW_CLOSED_ERROR
    assert graph.sent(f"/{meta.PHONE_ID}/messages") == []  # never offered to WhatsApp
    # The agent sees why on the ticket page; with no address known, no mail is offered.
    _desk, page = meta.desk_page(users, ticket)
    assert 'id="unsent-replies"' in page and "24-hour reply window closed" in page
    assert "Send it by e-mail" not in page
    # A linked account's address: the page offers to mail it, and doing so clears the notice.
    User.objects.filter(pk=ticket.customer_id).update(email="aysel@example.com")
    desk, page = meta.desk_page(users, ticket)
    assert "Send it by e-mail to aysel@example.com instead" in page
    with capture(execute=True):
        sent = desk.post(
            f"/desk/tickets/{ticket.number}/reply/",
            {"body": body, "status": "pending", "via": "email"},
        )
    assert sent.status_code == 302
    assert len(mailed(outbox, "aysel@example.com", "corrected invoice")) == 1
    _desk, page = meta.desk_page(users, ticket)
    assert 'id="unsent-replies"' not in page


def test_the_unsent_reply_notice_reads_in_persian(
    graph, whatsapp, users, agent, django_capture_on_commit_callbacks
):
    from destek.messaging import jobs

    capture = django_capture_on_commit_callbacks
    meta.post(whatsapp, meta.wa_payload(meta.wa_message(body="The invoice is wrong")), capture)
    ticket = meta.ticket_of(meta.WA_USER)
    graph.token_expired = True
    assert agent.post(f"tickets/{ticket.number}/messages", {"body": "Done."}).status_code == 201
    meta.wrote_hours_ago(meta.WA_USER, 26)
    graph.token_expired = False
    jobs.send_waiting.call_local()
    User.objects.filter(pk=users["agent"].pk).update(language="fa")
    desk = signed_in_client(users["agent"], "fa")
    page = desk.get(f"/desk/tickets/{ticket.number}/").content.decode()
    assert 'id="unsent-replies"' in page and "24-hour" not in page
