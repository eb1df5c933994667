"""What the review of the messenger channels found at the seams of its parts, as sentences."""

from __future__ import annotations

import re
import threading

import pytest
from django.db import connection

from destek.accounts.models import User
from destek.messaging.models import OutboundMessage
from destek.messaging.tests.test_meta import (
    WA_USER,
    desk_page,
    post,
    ticket_of,
    wa_message,
    wa_payload,
    wrote_hours_ago,
)
from destek.messaging.tests.test_telegram import post as post_telegram
from destek.messaging.tests.test_telegram import the_ticket, update
from destek.notify.models import Delivery
from destek.tickets import actions as tickets


def test_a_reply_sent_by_e_mail_outside_the_window_reaches_the_customers_mailbox(
    graph, whatsapp, users, django_capture_on_commit_callbacks
):
    post(whatsapp, wa_payload(wa_message(body="The invoice is wrong")),
         django_capture_on_commit_callbacks)  # fmt: skip
    ticket = ticket_of(WA_USER)
    User.objects.filter(pk=ticket.customer_id).update(email="aysel@example.com")
    wrote_hours_ago(WA_USER, 30)
    desk, _page = desk_page(users, ticket)
    with django_capture_on_commit_callbacks(execute=True):
        sent = desk.post(
            f"/desk/tickets/{ticket.number}/reply/",
            {"body": "The corrected invoice is on your ticket.", "status": "pending",
             "via": "email"},
        )  # fmt: skip
    assert sent.status_code == 302
    assert not OutboundMessage.objects.filter(text__contains="corrected invoice").exists()
    mail = Delivery.objects.filter(recipient="aysel@example.com", template="agent_reply")
    assert mail.count() == 1
    assert "corrected invoice" in mail.get().body_text


def test_a_reply_by_e_mail_to_a_customer_with_no_address_is_refused_and_nothing_is_kept(
    graph, whatsapp, users, django_capture_on_commit_callbacks
):
    post(whatsapp, wa_payload(wa_message(body="The invoice is wrong")),
         django_capture_on_commit_callbacks)  # fmt: skip
    ticket = ticket_of(WA_USER)
    wrote_hours_ago(WA_USER, 30)
    desk, _page = desk_page(users, ticket)
    with django_capture_on_commit_callbacks(execute=True):
        sent = desk.post(
            f"/desk/tickets/{ticket.number}/reply/",
            {"body": "Lost words", "status": "pending", "via": "email"},
        )
    assert sent.status_code == 200
    assert "No e-mail address or phone number" in sent.content.decode()
    assert not ticket.messages.filter(body="Lost words").exists()


def test_an_agents_reply_written_by_mail_reaches_the_telegram_chat(
    bot_api, channel, users, django_capture_on_commit_callbacks
):
    post_telegram(channel, update("My order is late"), django_capture_on_commit_callbacks)
    ticket = the_ticket()
    bot_api.calls.clear()
    with django_capture_on_commit_callbacks(execute=True):
        tickets.add_message(ticket, author=users["agent"], body="On its way.", channel="email")
    assert bot_api.sent("sendMessage") == [{"chat_id": "5551", "text": "On its way."}]


def test_agents_mail_and_the_customer_page_never_show_a_messenger_customers_made_up_address(
    graph, messenger, users, django_capture_on_commit_callbacks
):
    from django.test import Client

    from destek.messaging.tests.test_meta import PSID, fb_item, fb_payload

    graph.profiles_refused = True  # a user whose profile Meta does not give: no name at all

    first = fb_item(message={"mid": "m_a1", "text": "The app logs me out"})
    post(messenger, fb_payload("page", first), django_capture_on_commit_callbacks)
    ticket = ticket_of(PSID)
    with django_capture_on_commit_callbacks(execute=True):
        tickets.assign(ticket, actor=tickets.Actor.of(users["agent"]), assignee=users["agent"])
    post(messenger, fb_payload("page", fb_item(message={"mid": "m_a2", "text": "Still out"})),
         django_capture_on_commit_callbacks)  # fmt: skip
    to_agents = Delivery.objects.filter(template__in=["agent_new_ticket", "customer_reply"])
    assert {d.template for d in to_agents} == {"agent_new_ticket", "customer_reply"}
    for delivery in to_agents:
        assert "invalid" not in delivery.body_text + delivery.subject + delivery.body_html
        assert not re.search(r"messenger-[0-9a-f]{24}", delivery.body_text)
    User.objects.filter(pk=users["agent"].pk).update(language="en")
    desk = Client()
    desk.force_login(users["agent"])
    page = desk.get(f"/desk/customers/{ticket.customer_id}/").content.decode()
    assert not re.search(r"messenger-[0-9a-f]{24}", page) and "invalid" not in page
    assert "<title>Messenger customer" in page


def test_an_address_typed_to_link_the_chat_does_not_change_the_bots_language(
    bot_api, channel, django_capture_on_commit_callbacks
):
    from destek.messaging.models import Contact

    def say(text: str) -> None:
        posted = post_telegram(channel, update(text, language="ru"),
                               django_capture_on_commit_callbacks)  # fmt: skip
        assert posted.status_code == 200

    say("/link")
    say("john.smith@example.com")
    contact = Contact.objects.get()
    assert contact.language == "ru" and not contact.language_detected
    assert contact.customer.language == "ru"


@pytest.mark.django_db(transaction=True)
def test_a_reply_a_worker_is_sending_is_not_sent_again_by_the_sweep(
    bot_api, channel, django_capture_on_commit_callbacks
):
    from destek.messaging import actions
    from destek.messaging.models import Contact

    post_telegram(channel, update("My order is late"), django_capture_on_commit_callbacks)
    contact = Contact.objects.get()
    row = OutboundMessage.objects.create(
        channel=contact.channel, contact=contact, text="On its way"
    )
    bot_api.calls.clear()
    bot_api.held["sendMessage"] = gate = threading.Event()

    def work() -> None:
        try:
            actions.send_outbound(row.pk)
        finally:
            connection.close()

    worker = threading.Thread(target=work)
    worker.start()
    assert bot_api.arrived.wait(5)
    # The five-minute sweep finds the row still pending while the worker sends it.
    assert actions.send_outbound(row.pk) == actions.SendResult.NOTHING
    gate.set()
    worker.join(10)
    assert [sent["text"] for sent in bot_api.sent("sendMessage")] == ["On its way"]
    row.refresh_from_db()
    assert row.state == "sent"


def test_a_customer_asking_for_news_in_the_chat_gets_the_automatic_answer_there(
    bot_api, channel, django_capture_on_commit_callbacks
):
    post_telegram(channel, update("My VPS does not boot since the update"),
                  django_capture_on_commit_callbacks)  # fmt: skip
    ticket = the_ticket()
    bot_api.calls.clear()
    post_telegram(channel, update("Any update?"), django_capture_on_commit_callbacks)
    [answer] = ticket.messages.filter(author_kind="system")
    assert [sent["text"] for sent in bot_api.sent("sendMessage")] == [answer.body]


def test_two_chats_linked_to_one_account_each_keep_their_own_ticket_and_answers(
    bot_api, channel, users, agent, django_capture_on_commit_callbacks
):
    from destek.messaging import linking
    from destek.messaging.models import Contact, MessagingChannel
    from destek.tickets.models import Ticket

    account = users["customer"]
    bot = MessagingChannel.objects.get(pk=channel["id"])
    for user_id, text in ((5551, "The invoice of May is wrong"), (5552, "My VPS does not boot")):
        post_telegram(channel, update(text, user_id=user_id), django_capture_on_commit_callbacks)
        raw = linking.make_link_token(account, bot).url.rsplit("=", 1)[1]
        with django_capture_on_commit_callbacks(execute=True):
            assert linking.link_by_token(Contact.objects.get(external_user_id=user_id), raw)
    invoice = Ticket.objects.get(subject__startswith="The invoice")
    vps = Ticket.objects.get(subject__startswith="My VPS")
    assert invoice.customer == vps.customer == account
    post_telegram(channel, update("It says 40 AZN, not 30", user_id=5551),
                  django_capture_on_commit_callbacks)  # fmt: skip
    assert invoice.messages.filter(body__contains="40 AZN").exists()
    bot_api.calls.clear()
    reply = agent.post(f"tickets/{invoice.number}/messages", {"body": "Corrected to 30 AZN."})
    assert reply.status_code == 201, reply.content
    assert bot_api.sent("sendMessage") == [{"chat_id": "5551", "text": "Corrected to 30 AZN."}]


def test_a_customer_who_blocked_the_bot_does_not_flag_the_channel_for_everyone(
    bot_api, channel, agent, django_capture_on_commit_callbacks
):
    from destek.messaging.choices import Health
    from destek.messaging.models import MessagingChannel

    post_telegram(channel, update("My VPS does not boot"), django_capture_on_commit_callbacks)
    ticket = the_ticket()
    bot_api.fail_once["sendMessage"] = 403  # Forbidden: bot was blocked by the user
    reply = agent.post(f"tickets/{ticket.number}/messages", {"body": "We restarted it."})
    assert reply.status_code == 201
    assert MessagingChannel.objects.get(pk=channel["id"]).health == Health.HEALTHY
    assert not Delivery.objects.filter(template="messenger_failing").exists()
    row = OutboundMessage.objects.get(text="We restarted it.")
    assert row.state == "failed" and "blocked" in row.last_error


def test_a_bot_added_while_telegram_was_unreachable_gets_its_webhook_once_it_answers(
    bot_api, users
):
    from destek.messaging import jobs
    from destek.messaging.choices import Health
    from destek.messaging.models import MessagingChannel
    from destek.messaging.tests.test_telegram import add_telegram

    bot_api.fail_with = 502
    added = add_telegram(bot_api.url)
    assert MessagingChannel.objects.get(pk=added["id"]).health == Health.FAILING
    bot_api.fail_with = None
    bot_api.calls.clear()
    jobs.send_waiting.call_local()
    assert MessagingChannel.objects.get(pk=added["id"]).health == Health.HEALTHY
    [hook] = bot_api.sent("setWebhook")
    assert hook["url"] == added["webhook_url"] and hook["secret_token"] == added["secret"]


def test_a_linked_chat_continues_the_ticket_it_started_with_new_and_words(
    bot_api, channel, users, django_capture_on_commit_callbacks
):
    from destek.messaging import linking
    from destek.messaging.models import Contact, MessagingChannel
    from destek.tickets.models import Ticket

    post_telegram(channel, update("The invoice is wrong"), django_capture_on_commit_callbacks)
    raw = linking.make_link_token(users["customer"], MessagingChannel.objects.get()).url
    with django_capture_on_commit_callbacks(execute=True):
        assert linking.link_by_token(Contact.objects.get(), raw.rsplit("=", 1)[1])
    post_telegram(channel, update("/new The printer jams"), django_capture_on_commit_callbacks)
    post_telegram(channel, update("It is an HP 1020"), django_capture_on_commit_callbacks)
    printer = Ticket.objects.get(subject="The printer jams")
    assert printer.messages.filter(body="It is an HP 1020").exists()


def test_two_customers_pressing_a_button_in_the_same_millisecond_are_both_filed(
    graph, messenger, django_capture_on_commit_callbacks
):
    from destek.messaging.tests.test_meta import fb_item, fb_payload
    from destek.tickets.models import Ticket

    button = {"title": "Talk to support", "payload": "SUPPORT"}  # an older postback: no mid
    first, second = fb_item(sender="7001", postback=button), fb_item(sender="7002", postback=button)
    second["timestamp"] = first["timestamp"]
    post(messenger, fb_payload("page", first, second), django_capture_on_commit_callbacks)
    assert Ticket.objects.filter(channel="messenger").count() == 2
