"""Every kind of Telegram message as the agent sees it in the desk (a file, a visible line,
what a place or a card says), replies and edits, and the agents' files sent to the chat,
against the stand-in Bot API on loopback."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from destek.accounts.models import User
from destek.messaging import jobs, telegram
from destek.messaging.choices import OutboundState
from destek.messaging.models import InboundEvent, OutboundMessage
from destek.messaging.tests import standin
from destek.messaging.tests import test_telegram as bot
from destek.messaging.tests.test_telegram import UPDATE_IDS, post, the_ticket, update
from destek.tickets.models import Attachment, Ticket

# The stand-in Bot API and the channel added by command, as in test_telegram.py.
bot_api = bot.bot_api
channel = bot.channel


def desk_page(users: dict[str, User], ticket: Ticket, language: str = "en") -> str:
    desk = Client(headers={"accept-language": language})
    desk.force_login(users["agent"])
    User.objects.filter(pk=users["agent"].pk).update(language=language)
    return desk.get(f"/desk/tickets/{ticket.number}/").content.decode()


def body(ticket: Ticket | None = None) -> str:
    return (ticket or the_ticket()).messages.order_by("pk").last().body  # type: ignore[union-attr]


VOICE = {"file_id": "voice1", "file_unique_id": "v1", "duration": 4, "mime_type": "audio/ogg"}
VIDEO = {"file_id": "video1", "file_unique_id": "vd1", "width": 640, "height": 360, "duration": 5}


@pytest.mark.parametrize(
    ("kind", "content", "name", "data", "line"),
    [
        ("voice", VOICE, r"voice-\d+\.ogg", standin.VOICE_BYTES, "A voice message was sent."),
        ("video", VIDEO, r"video-\d+\.mp4", standin.VIDEO_BYTES, "A video was sent."),
        (
            "video_note",
            {"file_id": "note1", "file_unique_id": "n1", "length": 240, "duration": 3},
            r"video-message-\d+\.mp4",
            standin.VIDEO_BYTES,
            "A video message was sent.",
        ),
        (
            "audio",
            {"file_id": "voice1", "file_unique_id": "a1", "duration": 4, "file_name": "song.ogg"},
            r"song\.ogg",
            standin.VOICE_BYTES,
            "An audio file was sent.",
        ),
    ],
)
def test_voice_video_and_audio_become_files_of_the_ticket(
    bot_api, channel, users, django_capture_on_commit_callbacks, kind, content, name, data, line
):
    post(channel, update(**{kind: content}), django_capture_on_commit_callbacks)
    ticket = the_ticket()
    [attachment] = Attachment.objects.filter(ticket=ticket)
    assert re.fullmatch(name, attachment.filename)
    assert attachment.file.read() == data
    assert ticket.messages.get().body == line
    page = desk_page(users, ticket)
    assert attachment.filename in page and line in page


def test_a_gif_is_kept_once_as_an_animation_and_not_again_as_a_document(
    bot_api, channel, django_capture_on_commit_callbacks
):
    animation = {
        "file_id": "video1", "file_unique_id": "g1", "width": 200, "height": 200,
        "duration": 2, "file_name": "dance.mp4", "mime_type": "video/mp4",
    }  # fmt: skip
    document = {"file_id": "video1", "file_unique_id": "g1", "file_name": "dance.mp4"}
    payload = update(animation=animation, document=document)
    post(channel, payload, django_capture_on_commit_callbacks)
    [attachment] = Attachment.objects.filter(ticket=the_ticket())
    assert attachment.filename == "dance.mp4"
    assert body() == "An animation was sent."


def test_a_sticker_shows_its_emoji(bot_api, channel, django_capture_on_commit_callbacks):
    sticker = {
        "file_id": "st1", "file_unique_id": "st1u", "width": 512, "height": 512,
        "is_animated": False, "is_video": False, "type": "regular", "emoji": "😀",
    }  # fmt: skip
    post(channel, update(sticker=sticker), django_capture_on_commit_callbacks)
    assert body() == "A sticker was sent.\n😀"
    assert not Attachment.objects.exists()  # a sticker is not downloaded


def test_a_location_and_a_place_are_lines_with_a_map_link(
    bot_api, channel, users, django_capture_on_commit_callbacks
):
    location = {"latitude": 40.409264, "longitude": 49.867092}
    post(channel, update(location=location), django_capture_on_commit_callbacks)
    link = "https://www.openstreetmap.org/?mlat=40.40926&amp;mlon=49.86709#map=17/40.40926/49.86709"
    assert body() == ("A location was sent.\n40.40926, 49.86709 " + link.replace("&amp;", "&"))
    venue = {
        "location": location, "title": "Allin Event office", "address": "Nizami 10, Baku",
    }  # fmt: skip
    post(channel, update(location=location, venue=venue), django_capture_on_commit_callbacks)
    assert body().splitlines() == [
        "A place was sent.",
        "Allin Event office",
        "Nizami 10, Baku",
        "40.40926, 49.86709 " + link.replace("&amp;", "&"),
    ]
    page = desk_page(users, the_ticket())
    assert "Allin Event office" in page and link in page


def test_a_contact_card_shows_the_name_and_the_phone(
    bot_api, channel, django_capture_on_commit_callbacks
):
    contact = {"phone_number": "+994501234567", "first_name": "Rəşad", "last_name": "Əliyev"}
    post(channel, update(contact=contact), django_capture_on_commit_callbacks)
    assert body() == "A contact card was sent.\nRəşad Əliyev: +994501234567"


def test_polls_dice_games_and_unknown_messages_are_placeholders_and_the_chat_goes_on(
    bot_api, channel, django_capture_on_commit_callbacks
):
    # This poll lacks a field the library wants (Bot API 9.6): read by hand, still a poll.
    poll = {
        "id": "p1", "question": "Which day?", "options": [
            {"text": "Monday", "voter_count": 0}, {"text": "Friday", "voter_count": 0}
        ],
        "total_voter_count": 0, "is_closed": False, "is_anonymous": True,
        "type": "regular", "allows_multiple_answers": False,
    }  # fmt: skip
    game = {"title": "Lucky", "description": "A game", "photo": []}
    story = {"chat": {"id": 77, "type": "private"}, "id": 3}
    sent: list[tuple[dict[str, Any], str]] = [
        ({"poll": poll}, "A poll was sent."),
        ({"dice": {"emoji": "🎲", "value": 4}}, "A dice was thrown."),
        ({"game": game}, "A game was sent."),
        ({"story": story}, "A message was sent that cannot be shown here."),
    ]
    for extra, line in sent:
        post(channel, update(**extra), django_capture_on_commit_callbacks)
        assert body() == line
    post(channel, update("Still there?"), django_capture_on_commit_callbacks)
    assert body() == "Still there?"
    assert set(InboundEvent.objects.values_list("state", flat=True)) == {"done"}


def test_a_reply_quotes_the_first_line_of_the_message_it_answers(
    bot_api, channel, django_capture_on_commit_callbacks
):
    first = update("Invoice 2211 is charged twice\nI paid on Monday.")
    post(channel, first, django_capture_on_commit_callbacks)
    answered = {**first["message"], "text": "changed by the platform, not what we kept"}
    post(
        channel,
        update("Here is the bank statement", reply_to_message=answered),
        django_capture_on_commit_callbacks,
    )
    # The quote has a line of its own: its words keep their order in a line of another script.
    assert body() == "In reply to:\n“Invoice 2211 is charged twice”\nHere is the bank statement"
    # A message we never kept (the bot's own): quoted from what Telegram sends along.
    bots = {
        "message_id": 3, "date": 1700000000, "chat": {"id": 5551, "type": "private"},
        "from": {"id": 1, "is_bot": True, "first_name": "Allin bot"},
        "text": "Thank you! Your ticket #12 is filed.",
    }  # fmt: skip
    post(channel, update("Thanks", reply_to_message=bots), django_capture_on_commit_callbacks)
    assert body() == "In reply to:\n“Thank you! Your ticket #12 is filed.”\nThanks"


def edit_of(sent: dict[str, Any], text: str) -> dict[str, Any]:
    message = {**sent["message"], "text": text, "edit_date": 1700000100}
    return {"update_id": next(UPDATE_IDS), "edited_message": message}


@pytest.mark.parametrize(
    ("language", "words"),
    [("en", "The ticket price is {} AZN"), ("fa", "قیمت بلیت روی سایت {} منات است")],
)
def test_an_edit_is_a_new_message_marked_as_an_edit_and_the_first_words_stay(
    bot_api, channel, users, django_capture_on_commit_callbacks, language, words
):
    first = update(words.format(100), language=language)
    post(channel, first, django_capture_on_commit_callbacks)
    post(channel, edit_of(first, words.format(120)), django_capture_on_commit_callbacks)
    ticket = the_ticket()
    kept, edit = ticket.messages.order_by("pk")
    assert kept.body == words.format(100)
    label, quote, said = edit.body.split("\n")
    assert said == words.format(120)
    assert words.format(100) in quote
    assert ("Edited" in label) == (language == "en")  # said in the customer's language
    # A second edit says what the first edit said.
    post(channel, edit_of(first, words.format(90)), django_capture_on_commit_callbacks)
    assert words.format(120) in body().split("\n")[1]
    assert ticket.messages.count() == 3


def test_a_voice_note_over_the_attachment_limit_is_a_line_and_nothing_is_fetched(
    bot_api, channel, settings, django_capture_on_commit_callbacks
):
    settings.DESTEK_MAX_ATTACHMENT_MB = 1
    big = {**VOICE, "file_size": 3 * 1024 * 1024}
    post(channel, update(voice=big), django_capture_on_commit_callbacks)
    assert body() == (
        "A voice message was sent.\n"
        "A file was sent that is larger than the limit of 1 MB; it was not kept."
    )
    assert not bot_api.sent("getFile") and not Attachment.objects.exists()
    # Telegram did not say the size in the update: getFile does, and it is not downloaded.
    bot_api.remote["voice2"] = ("voice/file_big.oga", b"OggS" + b"x" * (1024 * 1024 + 10))
    post(channel, update(voice={**VOICE, "file_id": "voice2"}), django_capture_on_commit_callbacks)
    assert "larger than the limit of 1 MB" in body()
    assert not Attachment.objects.exists()


def reply_with_files(
    users: dict[str, User], ticket: Ticket, capture: Any, files: list[SimpleUploadedFile]
) -> Any:
    desk = Client()
    desk.force_login(users["agent"])
    page = desk.get(f"/desk/tickets/{ticket.number}/").content.decode()
    seen = re.search(r'name="seen" value="(\d+)"', page)
    assert seen
    with capture(execute=True):
        return desk.post(
            f"/desk/tickets/{ticket.number}/reply/",
            {"body": "Here are the screenshot and the invoice.", "status": "pending",
             "seen": seen.group(1), "attachments": files},
        )  # fmt: skip


def agents_files() -> list[SimpleUploadedFile]:
    return [
        SimpleUploadedFile("fixed.jpg", standin.PHOTO_BYTES, content_type="image/jpeg"),
        SimpleUploadedFile("invoice.pdf", b"%PDF-1.4 the invoice", content_type="application/pdf"),
    ]


def test_an_agents_photo_and_pdf_reach_the_chat_after_the_text(
    bot_api, channel, users, django_capture_on_commit_callbacks
):
    post(channel, update("Send me the invoice please"), django_capture_on_commit_callbacks)
    ticket = the_ticket()
    bot_api.calls.clear()
    response = reply_with_files(users, ticket, django_capture_on_commit_callbacks, agents_files())
    assert response.status_code == 302
    assert [name for name, _data in bot_api.calls] == ["sendMessage", "sendPhoto", "sendDocument"]
    [photo] = bot_api.sent("sendPhoto")
    assert photo["chat_id"] == "5551" and photo["photo"]["data"] == standin.PHOTO_BYTES
    [document] = bot_api.sent("sendDocument")
    assert document["document"]["filename"] == "invoice.pdf"
    assert document["document"]["data"] == b"%PDF-1.4 the invoice"
    assert OutboundMessage.objects.get(files_sent=2).state == OutboundState.SENT


def test_a_retry_after_a_502_sends_only_what_did_not_go(
    bot_api, channel, users, django_capture_on_commit_callbacks
):
    post(channel, update("Send me the invoice please"), django_capture_on_commit_callbacks)
    ticket = the_ticket()
    bot_api.calls.clear()
    bot_api.fail_once["sendDocument"] = 502
    reply_with_files(users, ticket, django_capture_on_commit_callbacks, agents_files())
    kept = OutboundMessage.objects.get(files__isnull=False, files__filename="invoice.pdf")
    assert kept.state == OutboundState.PENDING
    assert (kept.parts_sent, kept.files_sent) == (1, 1)
    jobs.send_waiting.call_local()
    kept.refresh_from_db()
    assert kept.state == OutboundState.SENT
    assert [name for name, _data in bot_api.calls] == [
        "sendMessage", "sendPhoto", "sendDocument", "sendDocument"
    ]  # fmt: skip


def test_a_file_over_telegrams_upload_limit_is_a_line_in_the_chat(
    bot_api, channel, users, monkeypatch, django_capture_on_commit_callbacks
):
    asked = update("Пришлите мне, пожалуйста, запись разговора", language="ru")
    post(channel, asked, django_capture_on_commit_callbacks)
    ticket = the_ticket()
    bot_api.calls.clear()
    monkeypatch.setattr(telegram, "FILE_LIMIT", 1000)  # a bot may upload 50 MB
    big = SimpleUploadedFile("recording.mp4", b"\x00" * 2000, content_type="video/mp4")
    reply_with_files(users, ticket, django_capture_on_commit_callbacks, [big])
    assert not bot_api.sent("sendDocument")
    _text, note = (sent["text"] for sent in bot_api.sent("sendMessage"))
    assert "recording.mp4" in note and "too large" not in note  # said in Russian
    assert OutboundMessage.objects.get(files_sent=1).state == OutboundState.SENT


def test_an_image_telegram_will_not_show_as_a_photo_goes_as_a_document(
    bot_api, channel, users, django_capture_on_commit_callbacks
):
    post(channel, update("Send me the seating plan"), django_capture_on_commit_callbacks)
    ticket = the_ticket()
    bot_api.calls.clear()
    bot_api.fail_once["sendPhoto"] = 400  # Telegram: PHOTO_INVALID_DIMENSIONS
    plan = SimpleUploadedFile("plan.png", b"\x89PNG a long thin plan", content_type="image/png")
    reply_with_files(users, ticket, django_capture_on_commit_callbacks, [plan])
    [document] = bot_api.sent("sendDocument")
    assert document["document"]["filename"] == "plan.png"
    assert OutboundMessage.objects.get(files_sent=1).state == OutboundState.SENT
