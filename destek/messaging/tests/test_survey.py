"""A resolved messenger ticket's satisfaction survey, asked in the customer's chat with the
platform's buttons (against the Telegram and Graph API stand-ins): answered by buttons or by
typing, recorded once `solved` is given, unhappy answers reopen the ticket, a message that is
no answer is filed as always, stale or forged buttons are refused, and outside Meta's 24-hour
window the survey does not go to the chat."""

from __future__ import annotations

import io
import itertools
from datetime import timedelta
from typing import Any

import pytest
from django.core.management import call_command
from django.utils import timezone

from destek.messaging.models import ChatSurvey, Contact
from destek.messaging.tests import graph_standin, standin
from destek.messaging.tests import test_meta as meta
from destek.messaging.tests import test_telegram as tg
from destek.surveys.models import SurveyAnswer, SurveySent
from destek.tickets.models import Ticket

pytestmark = pytest.mark.django_db

IDS = itertools.count(500000)


@pytest.fixture(autouse=True)
def _at_once(settings: Any) -> None:
    settings.DESTEK_SURVEY_DELAY_MINUTES = 0
    settings.DESTEK_SURVEY_EVERY_DAYS = 7


def resolve(agent: Any, ticket: Ticket) -> None:
    response = agent.post(
        f"tickets/{ticket.number}/messages", {"body": "Fixed on our side.", "status": "resolved"}
    )
    assert response.status_code == 201, response.content
    ticket.refresh_from_db()
    assert ticket.status == "resolved"


# --- Telegram -------------------------------------------------------------------------------


def press(channel: dict[str, Any], data: str, capture: Any, user_id: int = 5551) -> None:
    payload = standin.button_press(data, update_id=next(IDS), user_id=user_id)
    assert tg.post(channel, payload, capture).status_code == 200


def last_keyboard(bot_api: standin.BotApi) -> list[dict[str, Any]]:
    asked = [m for m in bot_api.sent("sendMessage") if m.get("reply_markup")]
    assert asked, bot_api.sent("sendMessage")
    return standin.keyboard(asked[-1])


def texts_sent(bot_api: standin.BotApi) -> list[str]:
    return [m["text"] for m in bot_api.sent("sendMessage")]


def telegram_ticket_resolved(
    bot_api: standin.BotApi,
    channel: dict[str, Any],
    agent: Any,
    capture: Any,
    language: str = "en",
) -> Ticket:
    words = {"en": "My VPS does not boot", "ru": "Мой сервер не загружается после обновления"}
    tg.post(channel, tg.update(words[language], language=language), capture)
    ticket = tg.the_ticket()
    bot_api.calls.clear()
    resolve(agent, ticket)
    return ticket


def test_a_resolved_telegram_ticket_asks_the_survey_with_buttons_and_a_happy_answer_is_saved(
    bot_api, channel, agent, django_capture_on_commit_callbacks, outbox
):
    capture = django_capture_on_commit_callbacks
    ticket = telegram_ticket_resolved(bot_api, channel, agent, capture)
    assert SurveySent.objects.get(ticket=ticket).via == "messenger"
    assert not [m for m in outbox if "How did we do" in m.subject]  # not by mail
    said = texts_sent(bot_api)
    assert any(f"#{ticket.number} is resolved" in text for text in said)
    assert "How fast was our first answer?" in said[-1]
    buttons = last_keyboard(bot_api)
    assert [b["text"] for b in buttons] == ["1", "2", "3", "4", "5"]
    assert all(len(b["callback_data"].encode()) <= 64 for b in buttons)
    press(channel, buttons[4]["callback_data"], capture)  # speed 5
    assert "How clear were our answers?" in texts_sent(bot_api)[-1]
    press(channel, last_keyboard(bot_api)[3]["callback_data"], capture)  # clarity 4
    assert "How polite were we?" in texts_sent(bot_api)[-1]
    press(channel, last_keyboard(bot_api)[4]["callback_data"], capture)  # tone 5
    assert texts_sent(bot_api)[-1] == "Was your problem fully solved?"
    yes, no = last_keyboard(bot_api)
    assert (yes["text"], no["text"]) == ("Yes", "No")
    press(channel, yes["callback_data"], capture)
    answer = SurveyAnswer.objects.get(ticket=ticket)
    assert (answer.speed, answer.clarity, answer.tone, answer.solved) == (5, 4, 5, True)
    assert "Anything to add?" in texts_sent(bot_api)[-1]
    [skip] = last_keyboard(bot_api)
    press(channel, skip["callback_data"], capture)
    assert texts_sent(bot_api)[-1] == "Thank you for your answer!"
    # Every press was answered to Telegram (the button stops spinning); nothing was filed.
    assert len(bot_api.sent("answerCallbackQuery")) == 5
    # and the pressed question's buttons were taken away.
    removed = bot_api.sent("editMessageReplyMarkup")
    assert len(removed) == 5 and removed[0]["reply_markup"] == {"inline_keyboard": []}
    ticket.refresh_from_db()
    assert ticket.status == "resolved" and ticket.messages.count() == 2


def test_an_unhappy_answer_by_buttons_reopens_the_ticket_and_the_comment_is_kept(
    bot_api, channel, agent, django_capture_on_commit_callbacks
):
    capture = django_capture_on_commit_callbacks
    ticket = telegram_ticket_resolved(bot_api, channel, agent, capture)
    for index in (1, 2, 3):  # 2, 3, 4
        press(channel, last_keyboard(bot_api)[index]["callback_data"], capture)
    press(channel, last_keyboard(bot_api)[1]["callback_data"], capture)  # not solved
    ticket.refresh_from_db()
    assert ticket.status == "open"
    assert f"#{ticket.number} is open again" in texts_sent(bot_api)[-1]
    tg.post(channel, tg.update("It still does not boot after the restart"), capture)
    answer = SurveyAnswer.objects.get(ticket=ticket)
    assert answer.solved is False and answer.speed == 2
    assert answer.comment == "It still does not boot after the restart"
    note = ticket.messages.filter(internal=True, body__contains="added to their rating").get()
    assert "It still does not boot after the restart" in note.body  # the agents read it
    assert texts_sent(bot_api)[-1] == "Thank you for your answer!"


def test_typed_digits_and_a_yes_in_the_customers_language_answer_the_survey(
    bot_api, channel, agent, django_capture_on_commit_callbacks
):
    capture = django_capture_on_commit_callbacks
    ticket = telegram_ticket_resolved(bot_api, channel, agent, capture, language="ru")
    assert "быстро" in texts_sent(bot_api)[-1]  # the question in the contact's language
    for typed in ("5", "4", "5 ", "да!"):
        tg.post(channel, tg.update(typed, language="ru"), capture)
    answer = SurveyAnswer.objects.get(ticket=ticket)
    assert (answer.speed, answer.clarity, answer.tone, answer.solved) == (5, 4, 5, True)
    tg.post(channel, tg.update("нет", language="ru"), capture)  # nothing to add
    assert SurveyAnswer.objects.get(ticket=ticket).comment == ""
    assert ticket.messages.count() == 2  # no answer was filed as a message


def test_a_message_that_is_no_answer_ends_the_survey_and_is_filed_on_the_ticket(
    bot_api, channel, agent, django_capture_on_commit_callbacks
):
    capture = django_capture_on_commit_callbacks
    ticket = telegram_ticket_resolved(bot_api, channel, agent, capture)
    first = last_keyboard(bot_api)
    tg.post(channel, tg.update("Sorry, one more thing: the backup failed too"), capture)
    ticket.refresh_from_db()
    assert ticket.messages.filter(body__contains="the backup failed too").exists()
    assert ticket.status == "open"  # the customer's message reopened it, as always
    assert "The survey is closed" in " ".join(texts_sent(bot_api))
    assert ChatSurvey.objects.get(ticket=ticket).ended_at is not None
    # Its buttons do nothing now: refused politely, nothing recorded.
    press(channel, first[4]["callback_data"], capture)
    assert "This survey is over" in texts_sent(bot_api)[-1]
    assert not SurveyAnswer.objects.filter(ticket=ticket).exists()


def test_forged_and_other_peoples_buttons_are_refused(
    bot_api, channel, agent, django_capture_on_commit_callbacks
):
    capture = django_capture_on_commit_callbacks
    ticket = telegram_ticket_resolved(bot_api, channel, agent, capture)
    data = last_keyboard(bot_api)[4]["callback_data"]
    key = data.split(":")[1]
    forgeries = (data.replace(key, "A" * len(key)), data.replace(key, "ключ"), data + "0")
    for forged in (*forgeries, data.replace(":speed:", ":tone:")):
        press(channel, forged, capture)
        assert "This survey is over" in texts_sent(bot_api)[-1]
    # The same button pressed by another Telegram user: refused in their chat.
    press(channel, data, capture, user_id=7777)
    assert bot_api.sent("sendMessage")[-1]["chat_id"] == "7777"
    assert ChatSurvey.objects.get(ticket=ticket).step == "speed"
    assert not SurveyAnswer.objects.filter(ticket=ticket).exists()
    assert len(bot_api.sent("answerCallbackQuery")) == 5


def test_an_expired_survey_refuses_its_buttons_and_a_late_digit_is_a_message(
    bot_api, channel, agent, django_capture_on_commit_callbacks
):
    capture = django_capture_on_commit_callbacks
    ticket = telegram_ticket_resolved(bot_api, channel, agent, capture)
    data = last_keyboard(bot_api)[4]["callback_data"]
    ChatSurvey.objects.filter(ticket=ticket).update(expires_at=timezone.now() - timedelta(1))
    press(channel, data, capture)
    assert "This survey is over" in texts_sent(bot_api)[-1]
    tg.post(channel, tg.update("5"), capture)
    assert ticket.messages.filter(body="5").exists()


# --- WhatsApp, Messenger, Instagram ---------------------------------------------------------


def wa_answer(whatsapp: dict[str, Any], graph: Any, index: int, capture: Any) -> None:
    [*_, last] = [c for c in graph.sent("/messages") if graph_standin.choices(c)]
    kind = graph_standin.interactive(last)["type"]
    payload, title = graph_standin.choices(last)[index]
    message = graph_standin.wa_reply(
        payload,
        title,
        list_row=kind == "list",
        sender=meta.WA_USER,
        message_id=f"wamid.reply{next(IDS)}",
    )
    assert meta.post(whatsapp, meta.wa_payload(message), capture).status_code == 200


def test_whatsapp_asks_scores_in_a_list_and_yes_no_with_reply_buttons(
    graph, whatsapp, agent, django_capture_on_commit_callbacks
):
    capture = django_capture_on_commit_callbacks
    meta.post(whatsapp, meta.wa_payload(meta.wa_message(body="Parcel lost")), capture)
    ticket = meta.ticket_of(meta.WA_USER)
    graph.calls.clear()
    resolve(agent, ticket)
    [*_, first] = graph.sent("/messages")
    listed = graph_standin.interactive(first)
    assert listed["type"] == "list" and len(listed["action"]["sections"][0]["rows"]) == 5
    assert len(listed["action"]["button"]) <= 20
    for index in (0, 1, 0):  # 1, 2, 1
        wa_answer(whatsapp, graph, index, capture)
    [*_, solved] = graph.sent("/messages")
    assert graph_standin.interactive(solved)["type"] == "button"
    assert [t for _p, t in graph_standin.choices(solved)] == ["Yes", "No"]
    wa_answer(whatsapp, graph, 0, capture)  # solved, but the scores are low: unhappy
    answer = SurveyAnswer.objects.get(ticket=ticket)
    assert (answer.speed, answer.clarity, answer.tone, answer.solved) == (1, 2, 1, True)
    ticket.refresh_from_db()
    assert ticket.status == "open" and ticket.priority != "low"
    wa_answer(whatsapp, graph, 0, capture)  # skip
    assert graph.sent("/messages")[-1]["text"]["body"] == "Thank you for your answer!"


@pytest.mark.parametrize("kind", ["messenger", "instagram"])
def test_messenger_and_instagram_ask_with_quick_replies_and_take_typed_answers(
    request, graph, agent, django_capture_on_commit_callbacks, kind
):
    capture = django_capture_on_commit_callbacks
    added = request.getfixturevalue(kind)
    obj = "page" if kind == "messenger" else "instagram"
    first = meta.fb_item(message={"mid": f"m_{next(IDS)}", "text": "Where is my order?"})
    meta.post(added, meta.fb_payload(obj, first), capture)
    ticket = meta.ticket_of(meta.PSID)
    graph.calls.clear()
    resolve(agent, ticket)
    asked = graph.sent("me/messages")[-1]
    replies = graph_standin.choices(asked)
    assert [t for _p, t in replies] == ["1", "2", "3", "4", "5"]
    tapped = graph_standin.quick_reply(*replies[3], mid=f"m_{next(IDS)}")
    meta.post(added, meta.fb_payload(obj, meta.fb_item(message=tapped)), capture)
    for typed in ("5", "4"):  # typed instead of tapped
        item = meta.fb_item(message={"mid": f"m_{next(IDS)}", "text": typed})
        meta.post(added, meta.fb_payload(obj, item), capture)
    yes = graph_standin.choices(graph.sent("me/messages")[-1])[0]
    tapped = graph_standin.quick_reply(*yes, mid=f"m_{next(IDS)}")
    meta.post(added, meta.fb_payload(obj, meta.fb_item(message=tapped)), capture)
    answer = SurveyAnswer.objects.get(ticket=ticket)
    assert (answer.speed, answer.clarity, answer.tone, answer.solved) == (4, 5, 4, True)
    assert ticket.messages.count() == 2


def test_outside_the_24_hour_window_the_survey_is_not_sent_to_the_chat(
    graph, whatsapp, agent, django_capture_on_commit_callbacks, outbox
):
    capture = django_capture_on_commit_callbacks
    meta.post(whatsapp, meta.wa_payload(meta.wa_message(body="Parcel lost")), capture)
    ticket = meta.ticket_of(meta.WA_USER)
    meta.wrote_hours_ago(meta.WA_USER, 25)
    graph.calls.clear()
    # The agent's reply would be refused outside the window: resolved without one.
    response = agent.patch(f"tickets/{ticket.number}", {"status": "resolved"})
    assert response.status_code == 200, response.content
    assert not graph.sent("/messages")
    # The contact's own address reaches no one: no survey at all.
    assert not SurveySent.objects.filter(ticket=ticket).exists()
    assert not [m for m in outbox if "How did we do" in m.subject]


def test_outside_the_window_a_linked_customer_gets_the_survey_by_mail(
    graph, whatsapp, agent, users, django_capture_on_commit_callbacks, outbox
):
    capture = django_capture_on_commit_callbacks
    meta.post(whatsapp, meta.wa_payload(meta.wa_message(body="Parcel lost")), capture)
    ticket = meta.ticket_of(meta.WA_USER)
    # The chat was linked to the customer's own account (verified address).
    customer = users["customer"]
    Contact.objects.filter(external_user_id=meta.WA_USER).update(
        customer=customer, linked_at=timezone.now()
    )
    Ticket.objects.filter(pk=ticket.pk).update(customer=customer)
    assert customer.email_verified_at is not None
    meta.wrote_hours_ago(meta.WA_USER, 25)
    graph.calls.clear()
    response = agent.patch(f"tickets/{ticket.number}", {"status": "resolved"})
    assert response.status_code == 200, response.content
    assert not graph.sent("/messages")
    assert SurveySent.objects.get(ticket=ticket).via == "email"
    assert [m for m in outbox if m.to == [customer.email] and "How did we do" in m.subject]


def test_an_older_bots_webhook_is_set_again_to_receive_button_presses(bot_api, channel):
    call_command("channels", "set-webhook", "--id", str(channel["id"]), stdout=io.StringIO())
    [hook] = bot_api.sent("setWebhook")
    assert "callback_query" in hook["allowed_updates"]


def test_a_persian_customer_is_asked_in_persian_with_persian_digits(
    graph, whatsapp, agent, django_capture_on_commit_callbacks
):
    capture = django_capture_on_commit_callbacks
    words = "سلام، بسته من هنوز نرسیده است و پیگیری کار نمی‌کند"
    meta.post(whatsapp, meta.wa_payload(meta.wa_message(body=words)), capture)
    ticket = meta.ticket_of(meta.WA_USER)
    assert Contact.objects.get(external_user_id=meta.WA_USER).language == "fa"
    graph.calls.clear()
    resolve(agent, ticket)
    [*_, first] = graph.sent("/messages")
    listed = graph_standin.interactive(first)
    assert listed["action"]["button"] == "انتخاب کنید"  # WhatsApp's list button, in Persian
    assert [t for _p, t in graph_standin.choices(first)] == ["۱", "۲", "۳", "۴", "۵"]
    for typed in ("۵", "4", "٥", "بله"):  # Persian, Latin and Arabic digits, a Persian yes
        message = meta.wa_message(body=typed)
        meta.post(whatsapp, meta.wa_payload(message), capture)
    answer = SurveyAnswer.objects.get(ticket=ticket)
    assert (answer.speed, answer.clarity, answer.tone, answer.solved) == (5, 4, 5, True)


def test_an_unhappy_answer_after_the_reopen_window_opens_a_follow_up_the_customer_reads_in_the_chat(
    bot_api, channel, agent, django_capture_on_commit_callbacks
):
    capture = django_capture_on_commit_callbacks
    ticket = telegram_ticket_resolved(bot_api, channel, agent, capture)
    days = ticket.department.reopen_window_days + 1
    Ticket.objects.filter(pk=ticket.pk).update(
        status="closed", closed_at=timezone.now() - timedelta(days=days)
    )
    for index in (1, 2, 3):  # 2, 3, 4
        press(channel, last_keyboard(bot_api)[index]["callback_data"], capture)
    press(channel, last_keyboard(bot_api)[1]["callback_data"], capture)  # not solved
    follow_up = Ticket.objects.get(related_to=ticket)
    assert Ticket.objects.get(pk=ticket.pk).status == "closed"
    # The customer is told the follow-up's number, not that the closed ticket is open again,
    assert f"#{follow_up.number}" in texts_sent(bot_api)[-1]
    tg.post(channel, tg.update("It still does not boot after the restart"), capture)
    # their comment reaches the agents who work the follow-up,
    note = follow_up.messages.filter(internal=True, body__contains="added to their rating").get()
    assert "It still does not boot" in note.body
    # and the agents' reply on the follow-up goes to the chat they answered in.
    assert follow_up.channel == "telegram"
    bot_api.calls.clear()
    with capture(execute=True):
        reply = agent.post(f"tickets/{follow_up.number}/messages", {"body": "Looking again now."})
    assert reply.status_code == 201, reply.content
    assert "Looking again now." in texts_sent(bot_api)


def test_a_ticket_moved_to_another_customer_cannot_be_rated_from_the_old_contacts_chat(
    bot_api, channel, agent, users, django_capture_on_commit_callbacks
):
    capture = django_capture_on_commit_callbacks
    ticket = telegram_ticket_resolved(bot_api, channel, agent, capture)
    # An agent moves the ticket to the customer it really belongs to.
    Ticket.objects.filter(pk=ticket.pk).update(customer=users["customer"])
    for index in (1, 2, 3):
        press(channel, last_keyboard(bot_api)[index]["callback_data"], capture)
    press(channel, last_keyboard(bot_api)[1]["callback_data"], capture)  # not solved
    assert not SurveyAnswer.objects.filter(ticket=ticket).exists()
    ticket.refresh_from_db()
    assert ticket.status == "resolved"  # not reopened by someone else's rating
    assert texts_sent(bot_api)[-1] == "This survey cannot be answered any more. Thank you!"
