"""Running messenger channels: a failing channel is flagged and the admins are told once,
a new token brings it back, failed updates are tried again and can be processed again, the
customer's language is read from their words, and the desk names a messenger customer by
their messenger identity."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from typing import Any

import pytest
import time_machine
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import translation
from hypothesis import given, settings
from hypothesis import strategies as st

from destek.accounts.models import User
from destek.messaging import health, jobs, language, texts
from destek.messaging.choices import EventState, Health, OutboundState
from destek.messaging.language import detect
from destek.messaging.models import Contact, InboundEvent, MessagingChannel, OutboundMessage
from destek.messaging.tests import standin
from destek.messaging.tests.test_telegram import TOKEN, post, the_ticket, update
from destek.notify.models import Delivery
from destek.tickets.models import Ticket

NEW_TOKEN = "987654321:AAF-the-new-token-from-botfather-xyz"


def signed_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def admins() -> list[User]:
    return list(User.objects.filter(role="admin", is_active=True))


def revoke(bot_api: standin.BotApi, agent: Any, capture: Any) -> Ticket:
    """A customer writes, Telegram then refuses the token on the agent's reply."""
    post_channel = MessagingChannel.objects.get()
    post(
        {"id": post_channel.pk, "secret": post_channel.webhook_secret},
        update("Hi, my VPS is down"),
        capture,
    )
    ticket = the_ticket()
    bot_api.fail_with = 401
    assert agent.post(f"tickets/{ticket.number}/messages", {"body": "Looking."}).status_code == 201
    return ticket


# --- a failing channel ---------------------------------------------------------------------


def test_a_revoked_token_mails_each_admin_once_and_again_when_it_works(
    bot_api, channel, agent, users, django_capture_on_commit_callbacks
):
    User.objects.filter(pk=users["admin"].pk).update(language="fa")
    ticket = revoke(bot_api, agent, django_capture_on_commit_callbacks)
    assert MessagingChannel.objects.get().health == Health.FAILING
    mails = Delivery.objects.filter(template="messenger_failing")
    assert sorted(m.recipient for m in mails) == sorted(a.email for a in admins())
    persian = mails.get(recipient=users["admin"].email)
    assert persian.language == "fa" and "Allin bot" in persian.subject
    assert "Unauthorized" in persian.body_text and "@BotFather" in persian.body_text
    assert "/admin/messaging/messagingchannel/" in persian.body_text
    assert "Unauthorized" in persian.body_html and 'dir="rtl"' in persian.body_html
    # Still failing: another held reply tells nobody again.
    assert agent.post(f"tickets/{ticket.number}/messages", {"body": "Again."}).status_code == 201
    assert Delivery.objects.filter(template="messenger_failing").count() == len(admins())
    # The token works again: the sweep sends what waited and the admins hear it.
    bot_api.fail_with = None
    jobs.send_waiting.call_local()
    assert not OutboundMessage.objects.filter(state=OutboundState.PENDING).exists()
    recovered = Delivery.objects.filter(template="messenger_recovered")
    assert recovered.count() == len(admins())
    assert "is failing" not in persian.subject  # said in Persian


def test_an_admin_gives_a_new_token_in_the_admin_and_the_channel_works_again(
    bot_api, channel, agent, users, django_capture_on_commit_callbacks
):
    revoke(bot_api, agent, django_capture_on_commit_callbacks)
    stored = MessagingChannel.objects.get()
    admin = signed_in(users["admin"])
    url = f"/admin/messaging/messagingchannel/{stored.pk}/change/"
    page = admin.get(url).content.decode()
    assert 'name="new_token"' in page and TOKEN not in page
    fields = {
        "name": stored.name,
        "department": stored.department_id or "",
        "api_url": stored.api_url,
    }
    refused = admin.post(url, {**fields, "new_token": "not a token"})
    assert refused.status_code == 200 and "Telegram bot token" in refused.content.decode()
    assert MessagingChannel.objects.get().token() == TOKEN
    bot_api.fail_with = None
    bot_api.calls.clear()
    with django_capture_on_commit_callbacks(execute=True):
        saved = admin.post(url, {**fields, "new_token": NEW_TOKEN})
    assert saved.status_code == 302
    stored.refresh_from_db()
    assert stored.token() == NEW_TOKEN and stored.health == Health.HEALTHY
    [hook] = bot_api.sent("setWebhook")
    assert hook["secret_token"] == stored.webhook_secret
    jobs.send_waiting.call_local()
    assert OutboundMessage.objects.get(message__body="Looking.").state == OutboundState.SENT


def test_the_admin_list_shows_failing_channels_and_the_replies_they_hold(
    bot_api, channel, agent, users, django_capture_on_commit_callbacks
):
    revoke(bot_api, agent, django_capture_on_commit_callbacks)
    admin = signed_in(users["admin"])
    listed = admin.get("/admin/messaging/messagingchannel/?health__exact=failing")
    page = listed.content.decode()
    assert listed.status_code == 200
    assert "✖" in page and "Unauthorized" in page and "Allin bot" in page
    assert '<td class="field-waiting">1</td>' in page
    assert (
        "Allin bot"
        not in admin.get(
            "/admin/messaging/messagingchannel/?health__exact=healthy"
        ).content.decode()
    )


def test_the_desk_queue_tells_admins_not_agents_that_a_channel_fails(
    bot_api, channel, agent, users, django_capture_on_commit_callbacks
):
    revoke(bot_api, agent, django_capture_on_commit_callbacks)
    admin_page = signed_in(users["admin"]).get("/desk/").content.decode()
    assert 'id="messenger-channels-failing"' in admin_page and "Allin bot" in admin_page
    agent_page = signed_in(users["agent"]).get("/desk/").content.decode()
    assert 'id="messenger-channels-failing"' not in agent_page


# --- failed updates ------------------------------------------------------------------------


def stored_event(channel: dict[str, Any], payload: dict[str, Any]) -> InboundEvent:
    return InboundEvent.objects.create(
        channel_id=channel["id"], external_id=str(payload["update_id"]), payload=payload
    )


def test_an_update_that_cannot_be_processed_is_tried_a_few_times_then_kept_for_an_admin(
    bot_api, channel, django_capture_on_commit_callbacks
):
    # Its channel is of a kind this version cannot read (left by a newer one, say): every
    # try fails the same way.
    broken = update("The payment page does not open")
    MessagingChannel.objects.filter(pk=channel["id"]).update(kind="viber")
    event = stored_event(channel, broken)
    start = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)
    with time_machine.travel(start, tick=False):
        jobs.process_event.call_local(event.pk)
    event.refresh_from_db()
    assert event.state == EventState.FAILED and event.attempts == 0
    tried_at = []
    moment = start
    for _ in range(40):
        moment += timedelta(minutes=1)
        with time_machine.travel(moment, tick=False):
            before = InboundEvent.objects.get(pk=event.pk).attempts
            jobs.retry_events.call_local()
            if InboundEvent.objects.get(pk=event.pk).attempts > before:
                tried_at.append(moment)
    # Growing pauses, a bounded number of tries, then it stays failed and whole.
    assert len(tried_at) == health.EVENT_RETRIES
    gaps = [(b - a).total_seconds() / 60 for a, b in pairwise(tried_at)]
    assert gaps == [2, 4, 8, 16]  # after each failure: 1, 2, 4, 8, 16 minutes
    with time_machine.travel(start + timedelta(days=2), tick=False):
        jobs.retry_events.call_local()
        jobs.retry_events.call_local()
    event.refresh_from_db()
    assert event.state == EventState.FAILED and event.attempts == health.EVENT_RETRIES
    assert event.payload == broken and event.error


def test_a_failed_update_is_processed_by_the_sweep_once_even_when_it_runs_twice(
    bot_api, channel, django_capture_on_commit_callbacks
):
    payload = update("The shop is down since the night")
    event = stored_event(channel, payload)
    # Its first run failed (the database was away, say).
    InboundEvent.objects.filter(pk=event.pk).update(
        state=EventState.FAILED,
        error="OperationalError",
        processed_at=datetime(2026, 1, 1, tzinfo=UTC),
    )
    first = health.due_events()
    assert first == [event.pk] and health.due_events() == []  # claimed once
    with django_capture_on_commit_callbacks(execute=True):
        for event_id in first + first:
            jobs.process_event.call_local(event_id)
    event.refresh_from_db()
    assert event.state == EventState.DONE and event.attempts == 1
    assert the_ticket().messages.count() == 1
    assert len(bot_api.sent("sendMessage")) == 1


def test_an_admin_processes_a_failed_update_again(
    bot_api, channel, users, django_capture_on_commit_callbacks
):
    event = stored_event(channel, update("Please call me back"))
    InboundEvent.objects.filter(pk=event.pk).update(
        state=EventState.FAILED, attempts=health.EVENT_RETRIES, error="boom"
    )
    admin = signed_in(users["admin"])
    listed = admin.get("/admin/messaging/inboundevent/?state__exact=failed").content.decode()
    assert str(event.external_id) in listed and "boom" in listed
    with django_capture_on_commit_callbacks(execute=True):
        response = admin.post(
            "/admin/messaging/inboundevent/",
            {"action": "process_again", "_selected_action": [event.pk]},
        )
    assert response.status_code == 302
    event.refresh_from_db()
    assert event.state == EventState.DONE
    assert the_ticket().messages.get().body == "Please call me back"


# --- the customer's language ---------------------------------------------------------------


def test_the_customers_words_set_their_language_over_their_apps(
    bot_api, channel, django_capture_on_commit_callbacks
):
    post(
        channel,
        update("Salam, saytım açılmır, kömək edin", language="en"),
        django_capture_on_commit_callbacks,
    )
    contact = Contact.objects.get()
    assert contact.language == "az" and contact.customer.language == "az"
    [filed] = bot_api.sent("sendMessage")
    with translation.override("az"):
        expected = str(texts.TICKET_FILED).format(number=f"#{the_ticket().number}")
    assert filed["text"].startswith(expected) and "Thank you" not in filed["text"]
    # Decided once: later words in another language do not change it.
    post(channel, update("Please hurry, customers are waiting"), django_capture_on_commit_callbacks)
    assert Contact.objects.get().language == "az"


def test_a_short_or_unclear_text_keeps_the_apps_language(
    bot_api, channel, django_capture_on_commit_callbacks
):
    post(channel, update("ok", language="ru"), django_capture_on_commit_callbacks)
    contact = Contact.objects.get()
    assert contact.language == "ru" and not contact.language_detected


@pytest.mark.parametrize(
    "text, language",
    [
        ("Salam, saytım açılmır", "az"),
        ("Merhaba, sitem açılmıyor", "tr"),
        ("Здравствуйте, сайт не работает", "ru"),
        ("سلام، سایت من باز نمی‌شود", "fa"),
        ("Hello, my site is down", "en"),
        ("Mən ödəniş etdim", "az"),
        ("ok", None),
        ("12345 !!!", None),
    ],
)
def test_the_language_of_a_text_is_read_from_its_script_and_letters(text, language):
    assert detect(text) == language


MIXED = "abcçdeəfgğhxıijkqlmnoöprsştuüvyzABCÇİIŞĞ АБВГДабвгдёжзәҹ سلامپچژگکی .,!?'0123456789\n"


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.text(max_size=400), st.text(alphabet=MIXED, min_size=8, max_size=400)))
def test_detecting_a_language_never_fails_on_any_text(text):
    # The detector itself, not only its guard, copes with anything a customer can send.
    assert language._detect(text) in (None, "az", "fa", "ru", "tr", "en")
    assert detect(text) in (None, "az", "fa", "ru", "tr", "en")


# --- automatic answers ---------------------------------------------------------------------


def test_the_filed_answer_says_when_we_answer_and_that_we_are_out_of_hours(
    bot_api, channel, django_capture_on_commit_callbacks
):
    sunday = datetime(2026, 12, 6, 10, 0, tzinfo=UTC)  # the default calendar is closed
    with time_machine.travel(sunday, tick=False):
        post(
            channel, update("Mənim saytım işləmir, kömək edin"), django_capture_on_commit_callbacks
        )
    [filed] = bot_api.sent("sendMessage")
    ticket = the_ticket()
    assert ticket.first_response_due is not None
    with translation.override("az"):
        assert str(texts.OUT_OF_HOURS) in filed["text"]
    assert "dekabr" in filed["text"]  # the expected time, said in Azerbaijani
    bot_api.calls.clear()
    wednesday = datetime(2026, 12, 2, 8, 0, tzinfo=UTC)  # 12:00 in Baku
    with time_machine.travel(wednesday, tick=False):
        post(channel, update("/new"), django_capture_on_commit_callbacks)
        bot_api.calls.clear()
        post(channel, update("Başqa bir sualım var"), django_capture_on_commit_callbacks)
    [filed] = bot_api.sent("sendMessage")
    with translation.override("az"):
        assert str(texts.OUT_OF_HOURS) not in filed["text"]


@pytest.mark.parametrize("language", ["az", "fa", "ru", "tr"])
def test_every_automatic_answer_is_said_in_each_language(language):
    answers = [texts.GREETING, texts.HELP, texts.TICKET_FILED, texts.OUT_OF_HOURS,
               texts.NEW_TICKET_NEXT, texts.NO_OPEN_TICKETS, texts.OPEN_TICKETS]  # fmt: skip
    for answer in answers:
        with translation.override("en"):
            english = str(answer)
        with translation.override(language):
            assert str(answer) != english, english
    with translation.override(language):
        from django.utils.translation import gettext

        assert gettext("We will answer by {when}.") != "We will answer by {when}."


# --- the desk names a messenger customer ---------------------------------------------------


def test_the_desk_shows_a_telegram_customer_by_their_telegram_identity(
    bot_api, channel, users, django_capture_on_commit_callbacks
):
    payload = update("The DNS zone is not updating")
    payload["message"]["from"]["username"] = "aysel"
    post(channel, payload, django_capture_on_commit_callbacks)
    ticket = the_ticket()
    desk = signed_in(users["agent"])
    pages = {
        "ticket": desk.get(f"/desk/tickets/{ticket.number}/"),
        "queue": desk.get("/desk/?status=all"),
        "search": desk.get("/desk/?q=DNS"),
        "customer": desk.get(f"/desk/customers/{ticket.customer_id}/"),
    }
    for name, response in pages.items():
        page = response.content.decode()
        assert response.status_code == 200, name
        assert "messenger-contacts.invalid" not in page, name
        assert "telegram-" not in page, name
        assert "Telegram @aysel" in page, name
    ticket_page = pages["ticket"].content.decode()
    assert re.search(r'id="reply-goes-to"[^>]*>[^<]*Telegram @aysel', ticket_page)


def test_the_queue_names_messenger_customers_in_one_statement_for_the_page(
    bot_api, channel, users, django_capture_on_commit_callbacks
):
    desk = signed_in(users["agent"])

    def write(*user_ids: int) -> None:
        for user_id in user_ids:
            text = f"Question number {user_id}"
            post(channel, update(text, user_id=user_id), django_capture_on_commit_callbacks)

    write(7001, 7002)
    desk.get("/desk/")
    with CaptureQueriesContext(connection) as two:
        desk.get("/desk/")
    write(7003, 7004, 7005)
    with CaptureQueriesContext(connection) as five:
        page = desk.get("/desk/").content.decode()
    assert page.count("Aysel Məmmədova · Telegram") == 5
    contacts = [q for q in five.captured_queries if "messaging_contact" in q["sql"]]
    assert len(contacts) == 1
    assert len(five.captured_queries) == len(two.captured_queries)


def test_an_update_left_half_done_by_a_worker_that_died_is_tried_again(
    bot_api, channel, django_capture_on_commit_callbacks
):
    event = stored_event(channel, update("Is anyone there?"))
    start = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)
    InboundEvent.objects.filter(pk=event.pk).update(state=EventState.PROCESSING, claimed_at=start)
    with time_machine.travel(start + timedelta(minutes=10), tick=False):
        assert health.due_events() == []  # still being worked on, as far as anyone knows
    with time_machine.travel(start + timedelta(minutes=31), tick=False):
        assert health.due_events() == []
        assert InboundEvent.objects.get(pk=event.pk).state == EventState.FAILED
    with (
        time_machine.travel(start + timedelta(minutes=33), tick=False),
        django_capture_on_commit_callbacks(execute=True),
    ):
        jobs.retry_events.call_local()
    assert InboundEvent.objects.get(pk=event.pk).state == EventState.DONE
    assert the_ticket().messages.get().body == "Is anyone there?"
