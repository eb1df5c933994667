"""A Telegram bot as a channel, against a stand-in Bot API on loopback: added by command,
updates posted to the webhook as Telegram posts them, tickets seen through the API, and the
agents' replies arriving at the stand-in as `sendMessage`."""

from __future__ import annotations

import io
import json
import re
from collections.abc import Iterator
from typing import Any

import pytest
from django.core.management import call_command
from django.test import Client

from destek.accounts.models import User
from destek.messaging.choices import Health, OutboundState
from destek.messaging.models import Contact, InboundEvent, MessagingChannel, OutboundMessage
from destek.messaging.tests import standin
from destek.tickets.models import Attachment, Department, Ticket

TOKEN = "123456789:AAH-test-token-of-the-stand-in-bot"


@pytest.fixture
def bot_api() -> Iterator[standin.BotApi]:
    api, server = standin.start()
    yield api
    server.shutdown()
    server.server_close()


def add_telegram(api_url: str) -> dict[str, Any]:
    out = io.StringIO()
    call_command(
        "channels", "add-telegram", "--name", "Allin bot", "--token", TOKEN, "--api-url", api_url,
        stdout=out,
    )  # fmt: skip
    return dict(json.loads(out.getvalue()))


@pytest.fixture
def channel(bot_api: standin.BotApi, users: dict[str, User]) -> dict[str, Any]:
    added = add_telegram(bot_api.url)
    # New tickets go to the department of the agent who answers them in these tests.
    MessagingChannel.objects.filter(pk=added["id"]).update(
        department=Department.objects.filter(members=users["agent"]).first()
    )
    bot_api.calls.clear()
    return added


UPDATE_IDS = iter(range(1000, 100000))


def update(
    text: str | None = None, *, user_id: int = 5551, language: str = "en", **extra: Any
) -> dict[str, Any]:
    message: dict[str, Any] = {
        "message_id": next(UPDATE_IDS),
        "date": 1700000000,
        "chat": {"id": user_id, "type": "private", "first_name": "Aysel"},
        "from": {
            "id": user_id,
            "is_bot": False,
            "first_name": "Aysel",
            "last_name": "Məmmədova",
            "language_code": language,
        },
        **extra,
    }
    if text is not None:
        message["text"] = text
    return {"update_id": next(UPDATE_IDS), "message": message}


def post(
    channel: dict[str, Any], payload: dict[str, Any], capture: Any, secret: str | None = None
) -> Any:
    given = channel["secret"] if secret is None else secret
    with capture(execute=True):
        return Client().post(
            f"/channels/telegram/{channel['id']}/webhook",
            data=json.dumps(payload),
            content_type="application/json",
            headers={"X-Telegram-Bot-Api-Secret-Token": given},
        )


def the_ticket() -> Ticket:
    return Ticket.objects.get(customer__messenger_contacts__external_user_id="5551")


def test_an_admin_adds_a_telegram_bot_and_its_webhook_points_here(bot_api, users, caplog):
    caplog.set_level("DEBUG")
    added = add_telegram(bot_api.url)
    assert TOKEN not in caplog.text  # the token is in Telegram's URLs, never in a log line
    assert set(added) >= {"id", "webhook_url", "secret"}
    assert added["webhook_url"].endswith(f"/channels/telegram/{added['id']}/webhook")
    assert TOKEN not in added["webhook_url"]
    [hook] = bot_api.sent("setWebhook")
    assert hook["url"] == added["webhook_url"]
    assert hook["secret_token"] == added["secret"]
    channel = MessagingChannel.objects.get(pk=added["id"])
    assert channel.health == Health.HEALTHY
    assert TOKEN not in channel.credentials_encrypted and channel.token() == TOKEN


def test_a_bot_whose_api_cannot_be_reached_is_still_added_and_flagged(users):
    added = add_telegram("http://127.0.0.1:9")  # nothing listens there
    channel = MessagingChannel.objects.get(pk=added["id"])
    assert channel.health == Health.FAILING
    assert "setWebhook" in channel.last_error


def test_a_customer_writes_to_the_bot_and_the_agent_sees_a_telegram_ticket(
    bot_api, channel, agent, django_capture_on_commit_callbacks
):
    text = "My site shows error 502 since this morning"
    response = post(channel, update(text), django_capture_on_commit_callbacks)
    assert response.status_code == 200
    ticket = the_ticket()
    seen = agent.get(f"tickets/{ticket.number}")
    assert seen.status_code == 200, seen.content
    body = seen.json()
    assert body["channel"] == "telegram"
    assert body["subject"] == text
    assert ticket.customer.full_name == "Aysel Məmmədova"
    assert not ticket.customer.has_usable_password()  # no login by mail or password
    # The customer is told the ticket's number in Telegram, in their chat.
    [filed] = bot_api.sent("sendMessage")
    assert filed["chat_id"] == "5551" and f"#{ticket.number}" in filed["text"]
    # A second message continues the same ticket.
    post(channel, update("It is the shop on allin.example"), django_capture_on_commit_callbacks)
    assert Ticket.objects.filter(customer=ticket.customer).count() == 1
    assert ticket.messages.count() == 2


def test_a_greeting_alone_is_kept_and_the_ticket_is_named_after_the_customer(
    bot_api, channel, django_capture_on_commit_callbacks
):
    post(channel, update("hello"), django_capture_on_commit_callbacks)
    ticket = the_ticket()
    assert "Aysel" in ticket.subject
    assert ticket.messages.get().body == "hello"


def test_a_photo_becomes_an_attachment_of_the_ticket(
    bot_api, channel, django_capture_on_commit_callbacks
):
    photo = [
        {"file_id": "small7", "file_unique_id": "s7", "width": 90, "height": 60, "file_size": 900},
        {"file_id": "big7", "file_unique_id": "b7", "width": 900, "height": 600, "file_size": 9000},
    ]
    payload = update(photo=photo, caption="The screen after the update")
    assert post(channel, payload, django_capture_on_commit_callbacks).status_code == 200
    ticket = the_ticket()
    [attachment] = Attachment.objects.filter(ticket=ticket)
    assert attachment.file.read() == standin.PHOTO_BYTES
    assert bot_api.sent("getFile") == [{"file_id": "big7"}]
    assert ticket.messages.get().body == "The screen after the update"


def test_a_sticker_becomes_a_visible_line_in_the_customers_language(
    bot_api, channel, django_capture_on_commit_callbacks
):
    sticker = {
        "file_id": "st1", "file_unique_id": "st1u", "width": 512, "height": 512,
        "is_animated": False, "is_video": False, "type": "regular",
    }  # fmt: skip
    post(channel, update(sticker=sticker, language="ru"), django_capture_on_commit_callbacks)
    body = the_ticket().messages.get().body
    assert body and "sticker" not in body.lower()  # said in Russian
    assert InboundEvent.objects.get().state == "done"


def test_the_same_update_twice_is_stored_and_filed_once(
    bot_api, channel, django_capture_on_commit_callbacks
):
    payload = update("Where is my invoice?")
    assert post(channel, payload, django_capture_on_commit_callbacks).status_code == 200
    assert post(channel, payload, django_capture_on_commit_callbacks).status_code == 200
    assert InboundEvent.objects.count() == 1
    assert the_ticket().messages.count() == 1


def test_a_wrong_or_missing_secret_is_refused_and_nothing_is_stored(
    bot_api, channel, django_capture_on_commit_callbacks
):
    for secret in ("not-the-secret", ""):
        response = post(channel, update("hi"), django_capture_on_commit_callbacks, secret)
        assert response.status_code == 403
    assert not InboundEvent.objects.exists()
    assert not Contact.objects.exists()


def test_an_agents_reply_reaches_the_customers_telegram_chat(
    bot_api, channel, agent, django_capture_on_commit_callbacks, outbox
):
    post(channel, update("My VPS does not boot"), django_capture_on_commit_callbacks)
    ticket = the_ticket()
    bot_api.calls.clear()
    reply = agent.post(f"tickets/{ticket.number}/messages", {"body": "We are restarting it now."})
    assert reply.status_code == 201, reply.content
    note = agent.post(
        f"tickets/{ticket.number}/messages", {"body": "host 7 again", "internal": True}
    )
    assert note.status_code == 201
    assert bot_api.sent("sendMessage") == [{"chat_id": "5551", "text": "We are restarting it now."}]
    assert not [m for m in outbox if "restarting" in str(m.body)]  # no mail to nobody


def test_a_long_reply_is_split_at_telegrams_limit(
    bot_api, channel, agent, django_capture_on_commit_callbacks
):
    post(channel, update("Please send me the whole log"), django_capture_on_commit_callbacks)
    ticket = the_ticket()
    bot_api.calls.clear()
    long = "\n".join(f"line {n}: " + "x" * 90 for n in range(90))  # about 9000 characters
    assert agent.post(f"tickets/{ticket.number}/messages", {"body": long}).status_code == 201
    parts = [sent["text"] for sent in bot_api.sent("sendMessage")]
    assert len(parts) == 3
    assert all(len(part) <= 4096 for part in parts)
    assert "\n".join(parts) == long


def test_a_revoked_token_flags_the_channel_and_keeps_the_reply(
    bot_api, channel, agent, django_capture_on_commit_callbacks
):
    post(channel, update("Is the bot still working?"), django_capture_on_commit_callbacks)
    ticket = the_ticket()
    bot_api.fail_with = 401
    assert agent.post(f"tickets/{ticket.number}/messages", {"body": "Yes!"}).status_code == 201
    stored = MessagingChannel.objects.get(pk=channel["id"])
    assert stored.health == Health.FAILING and "Unauthorized" in stored.last_error
    kept = OutboundMessage.objects.get(message__body="Yes!")
    assert kept.state == OutboundState.PENDING
    # The token works again: the sweep finds the channel healthy and sends what waited.
    bot_api.fail_with = None
    from destek.messaging import jobs

    jobs.send_waiting.call_local()
    kept.refresh_from_db()
    assert kept.state == OutboundState.SENT
    assert {"chat_id": "5551", "text": "Yes!"} in bot_api.sent("sendMessage")


def test_start_greets_in_the_users_language_and_status_lists_open_tickets(
    bot_api, channel, django_capture_on_commit_callbacks
):
    post(channel, update("/start", language="tr"), django_capture_on_commit_callbacks)
    [greeting] = bot_api.sent("sendMessage")
    assert "Aysel" in greeting["text"] and "Hello" not in greeting["text"]
    assert not Ticket.objects.exists()
    post(channel, update("The panel is slow", language="tr"), django_capture_on_commit_callbacks)
    ticket = the_ticket()
    bot_api.calls.clear()
    post(channel, update("/status", language="en"), django_capture_on_commit_callbacks)
    [status] = bot_api.sent("sendMessage")
    assert f"#{ticket.number}" in status["text"] and "The panel is slow" in status["text"]
    bot_api.calls.clear()
    post(channel, update("/new"), django_capture_on_commit_callbacks)
    post(channel, update("Another question about billing"), django_capture_on_commit_callbacks)
    assert Ticket.objects.filter(customer=ticket.customer).count() == 2


def test_a_body_that_is_no_update_or_too_large_is_refused_and_nothing_is_stored(
    bot_api, channel, settings, django_capture_on_commit_callbacks
):
    assert (
        post(channel, {"message": "no id"}, django_capture_on_commit_callbacks).status_code == 400
    )
    settings.DESTEK_MESSAGING_WEBHOOK_MAX_BYTES = 2000
    big = update("x" * 3000)
    assert post(channel, big, django_capture_on_commit_callbacks).status_code == 413
    assert not InboundEvent.objects.exists()


def test_a_failing_network_keeps_the_reply_for_another_try(
    bot_api, channel, agent, django_capture_on_commit_callbacks
):
    post(channel, update("Hello, my mail is down"), django_capture_on_commit_callbacks)
    ticket = the_ticket()
    bot_api.fail_with = 502
    assert agent.post(f"tickets/{ticket.number}/messages", {"body": "Looking"}).status_code == 201
    kept = OutboundMessage.objects.get(message__body="Looking")
    assert kept.state == OutboundState.PENDING and kept.attempts == 1
    assert MessagingChannel.objects.get(pk=channel["id"]).health == Health.HEALTHY
    bot_api.fail_with = None
    from destek.messaging import jobs

    jobs.send_waiting.call_local()
    kept.refresh_from_db()
    assert kept.state == OutboundState.SENT


def test_a_reply_written_in_the_desk_reaches_the_telegram_chat(
    bot_api, channel, users, django_capture_on_commit_callbacks
):
    post(channel, update("The DNS zone is not updating"), django_capture_on_commit_callbacks)
    ticket = the_ticket()
    bot_api.calls.clear()
    desk = Client()
    desk.force_login(users["agent"])
    page = desk.get(f"/desk/tickets/{ticket.number}/").content.decode()
    assert page.count("The DNS zone is not updating") >= 1
    seen = re.search(r'name="seen" value="(\d+)"', page)
    assert seen
    with django_capture_on_commit_callbacks(execute=True):
        response = desk.post(
            f"/desk/tickets/{ticket.number}/reply/",
            {"body": "Fixed: the zone is published again.", "status": "pending",
             "seen": seen.group(1)},
        )  # fmt: skip
    assert response.status_code == 302
    assert bot_api.sent("sendMessage") == [
        {"chat_id": "5551", "text": "Fixed: the zone is published again."}
    ]


def test_the_desk_says_when_a_tickets_telegram_channel_is_failing(
    bot_api, channel, users, django_capture_on_commit_callbacks
):
    post(channel, update("Can you hear me?"), django_capture_on_commit_callbacks)
    ticket = the_ticket()
    desk = Client()
    desk.force_login(users["agent"])
    assert (
        'id="messenger-failing"' not in desk.get(f"/desk/tickets/{ticket.number}/").content.decode()
    )
    MessagingChannel.objects.filter(pk=channel["id"]).update(
        health=Health.FAILING, last_error="sendMessage: Unauthorized"
    )
    page = desk.get(f"/desk/tickets/{ticket.number}/").content.decode()
    assert 'id="messenger-failing"' in page and "Allin bot" in page and "Unauthorized" in page


def test_a_file_goes_to_the_chat_as_a_photo_or_a_document(bot_api, channel):
    from destek.messaging import telegram

    stored = MessagingChannel.objects.get(pk=channel["id"])
    telegram.PLATFORM.send_file(
        stored, "5551", name="screen.jpg", content_type="image/jpeg",
        data=standin.PHOTO_BYTES, caption="The fixed page",
    )  # fmt: skip
    telegram.PLATFORM.send_file(
        stored, "5551", name="invoice.pdf", content_type="application/pdf", data=b"%PDF-1.4"
    )
    [photo] = bot_api.sent("sendPhoto")
    assert photo["chat_id"] == "5551" and photo["caption"] == "The fixed page"
    assert photo["photo"]["data"] == standin.PHOTO_BYTES
    [document] = bot_api.sent("sendDocument")
    assert document["document"]["filename"] == "invoice.pdf"
    assert document["document"]["data"] == b"%PDF-1.4"
