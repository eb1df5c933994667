"""WhatsApp, Messenger and Instagram as channels, against a stand-in Graph API on loopback:
added by command, the webhook verified and signed as Meta does it, messages of each type
filed once, and the agents' replies arriving at the stand-in split at each platform's
limit; an expired token flags the channel and the replies wait."""

from __future__ import annotations

import hashlib
import hmac
import io
import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
from django.core.management import call_command
from django.test import Client

from destek.accounts.models import User
from destek.messaging.choices import Health, OutboundState
from destek.messaging.models import Contact, InboundEvent, MessagingChannel, OutboundMessage
from destek.messaging.tests import graph_standin
from destek.messaging.tests.graph_standin import TOKEN
from destek.tickets.models import Attachment, Department, Ticket

APP_SECRET = "0123456789abcdef0123456789abcdef"
PHONE_ID = "106540352242922"
PAGE_ID = "1234567890"
WA_USER = "994501234567"
PSID = "7001002003"


@pytest.fixture
def graph(settings: Any) -> Iterator[graph_standin.GraphApi]:
    api, server = graph_standin.start()
    settings.DESTEK_GRAPH_API_URL = api.url
    settings.DESTEK_GRAPH_API_VERSION = graph_standin.VERSION
    yield api
    server.shutdown()
    server.server_close()


def add(kind: str, account_id: str, **extra: str) -> dict[str, Any]:
    out = io.StringIO()
    args = [f"add-{kind}", "--name", f"Allin {kind}", "--token", TOKEN,
            "--account-id", account_id, "--app-secret", APP_SECRET]  # fmt: skip
    for key, value in extra.items():
        args += [f"--{key.replace('_', '-')}", value]
    call_command("channels", *args, stdout=out)
    return dict(json.loads(out.getvalue()))


def in_department(added: dict[str, Any], users: dict[str, User]) -> dict[str, Any]:
    MessagingChannel.objects.filter(pk=added["id"]).update(
        department=Department.objects.filter(members=users["agent"]).first()
    )
    return added


@pytest.fixture
def whatsapp(graph: graph_standin.GraphApi, users: dict[str, User]) -> dict[str, Any]:
    added = in_department(add("whatsapp", PHONE_ID, templates="order_update,hello_world"), users)
    graph.calls.clear()
    return added


@pytest.fixture
def messenger(graph: graph_standin.GraphApi, users: dict[str, User]) -> dict[str, Any]:
    added = in_department(add("messenger", PAGE_ID), users)
    graph.calls.clear()
    return added


@pytest.fixture
def instagram(graph: graph_standin.GraphApi, users: dict[str, User]) -> dict[str, Any]:
    added = in_department(add("instagram", "17841400000000001"), users)
    graph.calls.clear()
    return added


IDS = iter(range(1000, 10**6))


def wa_message(kind: str = "text", *, sender: str = WA_USER, **body: Any) -> dict[str, Any]:
    message: dict[str, Any] = {
        "from": sender,
        "id": f"wamid.HBgM{next(IDS)}",
        "timestamp": str(int(time.time())),
        "type": kind,
    }
    message[kind] = body
    return message


def wa_payload(*messages: dict[str, Any], statuses: list[Any] | None = None) -> dict[str, Any]:
    value: dict[str, Any] = {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "994125550000", "phone_number_id": PHONE_ID},
        "contacts": [{"profile": {"name": "Aysel Məmmədova"}, "wa_id": WA_USER}],
        "messages": list(messages),
    }
    if statuses:
        value["statuses"] = statuses
    return {
        "object": "whatsapp_business_account",
        "entry": [{"id": "102290129340398", "changes": [{"value": value, "field": "messages"}]}],
    }


def fb_item(*, sender: str = PSID, **item: Any) -> dict[str, Any]:
    return {
        "sender": {"id": sender},
        "recipient": {"id": PAGE_ID},
        "timestamp": int(time.time() * 1000),
        **item,
    }


def fb_payload(obj: str, *items: dict[str, Any]) -> dict[str, Any]:
    return {"object": obj, "entry": [{"id": PAGE_ID, "time": 1, "messaging": list(items)}]}


def post(
    added: dict[str, Any], payload: dict[str, Any], capture: Any, secret: str = APP_SECRET
) -> Any:
    body = json.dumps(payload).encode()
    signature = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    with capture(execute=True):
        return Client().post(
            f"/channels/{added['kind']}/{added['id']}/webhook",
            data=body,
            content_type="application/json",
            headers={"X-Hub-Signature-256": signature},
        )


def ticket_of(user_id: str) -> Ticket:
    return Ticket.objects.get(customer__messenger_contacts__external_user_id=user_id)


def test_an_admin_adds_each_meta_platform_and_gets_what_to_paste_in_the_dashboard(
    graph, users, caplog
):
    caplog.set_level("DEBUG")
    for kind, account in (("whatsapp", PHONE_ID), ("messenger", PAGE_ID), ("instagram", "178")):
        added = add(kind, account)
        assert set(added) >= {"id", "webhook_url", "secret", "verify_token"}
        assert added["webhook_url"].endswith(f"/channels/{kind}/{added['id']}/webhook")
        channel = MessagingChannel.objects.get(pk=added["id"])
        assert channel.health == Health.HEALTHY, channel.last_error
        assert channel.token() == TOKEN and channel.app_secret() == APP_SECRET
        assert TOKEN not in channel.credentials_encrypted
    assert TOKEN not in caplog.text
    # The token is sent in the Authorization header, never in an address.
    assert all(TOKEN not in call.path for call in graph.calls)
    assert {call.authorization for call in graph.calls} == {f"Bearer {TOKEN}"}


def test_meta_verifies_the_webhook_with_the_channels_verify_token(whatsapp):
    url = f"/channels/whatsapp/{whatsapp['id']}/webhook"
    right = {
        "hub.mode": "subscribe",
        "hub.verify_token": whatsapp["secret"],
        "hub.challenge": "1158201444",
    }
    answer = Client().get(url, right)
    assert answer.status_code == 200 and answer.content == b"1158201444"
    assert Client().get(url, {**right, "hub.verify_token": "guess"}).status_code == 403
    assert Client().get(f"/channels/messenger/{whatsapp['id']}/webhook", right).status_code == 403


def test_a_whatsapp_message_becomes_a_ticket_and_the_agents_reply_reaches_the_chat(
    graph, whatsapp, agent, django_capture_on_commit_callbacks
):
    text = "My order 4471 has not arrived"
    response = post(whatsapp, wa_payload(wa_message(body=text)), django_capture_on_commit_callbacks)
    assert response.status_code == 200
    ticket = ticket_of(WA_USER)
    body = agent.get(f"tickets/{ticket.number}").json()
    assert body["channel"] == "whatsapp" and body["subject"] == text
    assert ticket.customer.full_name == "Aysel Məmmədova"
    [filed] = graph.sent(f"/{PHONE_ID}/messages")
    assert filed["to"] == WA_USER and f"#{ticket.number}" in filed["text"]["body"]
    graph.calls.clear()
    assert (
        agent.post(f"tickets/{ticket.number}/messages", {"body": "It leaves today."}).status_code
        == 201
    )
    assert graph.sent(f"/{PHONE_ID}/messages") == [
        {"messaging_product": "whatsapp", "recipient_type": "individual", "to": WA_USER,
         "type": "text", "text": {"body": "It leaves today."}}
    ]  # fmt: skip


def test_whatsapp_messages_of_every_type_are_filed_and_statuses_are_not(
    graph, whatsapp, django_capture_on_commit_callbacks
):
    messages = [
        wa_message("image", id="wa-photo-1", mime_type="image/jpeg", caption="The parcel"),
        wa_message("document", id="wa-doc-1", mime_type="application/pdf", filename="invoice.pdf"),
        wa_message("audio", id="wa-voice-9", mime_type="audio/ogg", voice=True),
        wa_message("sticker", id="wa-st-1", mime_type="image/webp"),
        wa_message("location", latitude=40.4093, longitude=49.8671, name="Allin office"),
        wa_message("reaction", message_id="wamid.x", emoji="👍"),
        wa_message("unsupported"),
    ]
    contacts = wa_message("text")
    contacts.update(
        type="contacts",
        contacts=[{"name": {"formatted_name": "Rauf"}, "phones": [{"phone": "+994 50 111 22 33"}]}],
    )
    messages.append(contacts)
    status = {"id": "wamid.sent1", "status": "delivered", "timestamp": "1", "recipient_id": WA_USER}
    payload = wa_payload(*messages, statuses=[status])
    assert post(whatsapp, payload, django_capture_on_commit_callbacks).status_code == 200
    assert InboundEvent.objects.count() == len(messages)  # the status is not kept
    ticket = ticket_of(WA_USER)
    bodies = [m.body for m in ticket.messages.order_by("pk")]
    assert bodies[0] == "The parcel"
    assert bodies[1] == "A document was sent."
    assert bodies[2] == "A voice message was sent."
    assert bodies[2 + 1] == "A sticker was sent."
    assert "A location was sent." in bodies[4] and "40.4093, 49.8671" in bodies[4]
    assert "A reaction was sent." in bodies[5] and "👍" in bodies[5]
    assert bodies[6] == "A message was sent that cannot be shown here."
    assert "A contact card was sent." in bodies[7] and "Rauf: +994 50 111 22 33" in bodies[7]
    files = {a.filename: a.file.read() for a in Attachment.objects.filter(ticket=ticket)}
    assert (
        files[next(n for n in files if n.endswith((".jpg", ".jpeg", ".jpe")))]
        == graph_standin.PHOTO_BYTES
    )
    assert files["invoice.pdf"] == graph_standin.PDF_BYTES
    assert graph_standin.VOICE_BYTES in files.values()
    media_calls = [c for c in graph.calls if c.path.startswith("/media-files/")]
    assert media_calls and all(c.authorization == f"Bearer {TOKEN}" for c in media_calls)
    assert InboundEvent.objects.filter(state="done").count() == len(messages)


def test_the_same_delivery_twice_is_stored_and_filed_once(
    graph, whatsapp, django_capture_on_commit_callbacks
):
    payload = wa_payload(wa_message(body="Where is my invoice?"))
    assert post(whatsapp, payload, django_capture_on_commit_callbacks).status_code == 200
    assert post(whatsapp, payload, django_capture_on_commit_callbacks).status_code == 200
    assert InboundEvent.objects.count() == 1
    assert ticket_of(WA_USER).messages.count() == 1


def test_a_wrong_signature_is_refused_and_nothing_is_stored(
    graph, whatsapp, messenger, django_capture_on_commit_callbacks
):
    wrong = "f" * 32
    assert (
        post(
            whatsapp, wa_payload(wa_message(body="hi")), django_capture_on_commit_callbacks, wrong
        ).status_code
        == 403
    )
    item = fb_item(message={"mid": "m_1", "text": "hi"})
    assert (
        post(
            messenger, fb_payload("page", item), django_capture_on_commit_callbacks, wrong
        ).status_code
        == 403
    )
    unsigned = Client().post(
        f"/channels/whatsapp/{whatsapp['id']}/webhook", data=b"{}", content_type="application/json"
    )
    assert unsigned.status_code == 403
    assert not InboundEvent.objects.exists() and not Contact.objects.exists()


def test_messenger_texts_files_and_buttons_are_filed_and_echoes_are_not(
    graph, messenger, agent, django_capture_on_commit_callbacks
):
    photo = {"type": "image", "payload": {"url": f"{graph.url}/cdn/parcel.jpg"}}
    payload = fb_payload(
        "page",
        fb_item(message={"mid": "m_text", "text": "The app logs me out"}),
        fb_item(message={"mid": "m_photo", "attachments": [photo]}),
        fb_item(postback={"mid": "m_button", "title": "Talk to support", "payload": "SUPPORT"}),
        fb_item(
            sender=PAGE_ID,
            recipient={"id": PSID},
            message={"mid": "m_echo", "text": "Hi", "is_echo": True},
        ),
        fb_item(delivery={"mids": ["m_x"], "watermark": 1}),
    )
    assert post(messenger, payload, django_capture_on_commit_callbacks).status_code == 200
    assert set(InboundEvent.objects.values_list("external_id", flat=True)) == {
        "m_text",
        "m_photo",
        "m_button",
    }
    ticket = ticket_of(PSID)
    assert agent.get(f"tickets/{ticket.number}").json()["channel"] == "messenger"
    bodies = [m.body for m in ticket.messages.order_by("pk")]
    assert bodies == ["The app logs me out", "A photo was sent.", "Talk to support"]
    [attachment] = Attachment.objects.filter(ticket=ticket)
    assert attachment.file.read() == graph_standin.PHOTO_BYTES
    graph.calls.clear()
    assert (
        agent.post(
            f"tickets/{ticket.number}/messages", {"body": "Update the app, please."}
        ).status_code
        == 201
    )
    assert graph.sent("/me/messages") == [
        {
            "recipient": {"id": PSID},
            "messaging_type": "RESPONSE",
            "message": {"text": "Update the app, please."},
        }
    ]


@pytest.mark.parametrize(
    ("platform", "limit"), [("whatsapp", 4096), ("messenger", 2000), ("instagram", 1000)]
)
def test_a_long_reply_is_split_at_the_platforms_limit(
    platform, limit, graph, users, agent, django_capture_on_commit_callbacks
):
    if platform == "whatsapp":
        added = in_department(add("whatsapp", PHONE_ID), users)
        payload, user, path = (
            wa_payload(wa_message(body="Send the whole log")),
            WA_USER,
            f"/{PHONE_ID}/messages",
        )
    else:
        added = in_department(add(platform, PAGE_ID), users)
        obj = "page" if platform == "messenger" else "instagram"
        payload = fb_payload(obj, fb_item(message={"mid": "m_log", "text": "Send the whole log"}))
        user, path = PSID, "/me/messages"
    post(added, payload, django_capture_on_commit_callbacks)
    ticket = ticket_of(user)
    graph.calls.clear()
    long = "\n".join(f"line {n}: " + "x" * 90 for n in range(90))  # about 9000 characters
    assert agent.post(f"tickets/{ticket.number}/messages", {"body": long}).status_code == 201
    sent = graph.sent(path)
    parts = [s["text"]["body"] if platform == "whatsapp" else s["message"]["text"] for s in sent]
    assert len(parts) == -(-len(long) // limit) or len(parts) == -(-len(long) // limit) + 1
    assert all(len(part) <= limit for part in parts)
    assert "\n".join(parts) == long


def test_an_expired_token_flags_the_channel_keeps_the_reply_and_sends_it_later(
    graph, instagram, agent, django_capture_on_commit_callbacks
):
    payload = fb_payload(
        "instagram", fb_item(message={"mid": "m_ig1", "text": "Is the shop open?"})
    )
    post(instagram, payload, django_capture_on_commit_callbacks)
    ticket = ticket_of(PSID)
    graph.token_expired = True
    assert (
        agent.post(f"tickets/{ticket.number}/messages", {"body": "Yes, until 8."}).status_code
        == 201
    )
    stored = MessagingChannel.objects.get(pk=instagram["id"])
    assert stored.health == Health.FAILING and "Session has expired" in stored.last_error
    kept = OutboundMessage.objects.get(message__body="Yes, until 8.")
    assert kept.state == OutboundState.PENDING
    # The admin gives a new token (here: the same one, valid again); the sweep sends.
    graph.token_expired = False
    out = io.StringIO()
    call_command(
        "channels", "set-token", "--id", str(instagram["id"]), "--token", TOKEN, stdout=out
    )
    assert json.loads(out.getvalue())["health"] == Health.HEALTHY
    from destek.messaging import jobs

    jobs.send_waiting.call_local()
    kept.refresh_from_db()
    assert kept.state == OutboundState.SENT
    assert graph.sent("/me/messages")[-1]["message"] == {"text": "Yes, until 8."}


def test_meta_being_down_keeps_the_reply_for_another_try(
    graph, whatsapp, agent, django_capture_on_commit_callbacks
):
    post(whatsapp, wa_payload(wa_message(body="Hello?")), django_capture_on_commit_callbacks)
    ticket = ticket_of(WA_USER)
    graph.fail_with = 503
    assert agent.post(f"tickets/{ticket.number}/messages", {"body": "Here"}).status_code == 201
    kept = OutboundMessage.objects.get(message__body="Here")
    assert kept.state == OutboundState.PENDING and kept.attempts == 1
    assert MessagingChannel.objects.get(pk=whatsapp["id"]).health == Health.HEALTHY


def test_a_message_to_another_page_of_the_same_meta_app_is_not_filed_on_this_channel(
    graph, messenger, django_capture_on_commit_callbacks
):
    # Two pages of one app share its secret: the signature is good, the page is not ours.
    other = fb_item(recipient={"id": "9988776655"}, message={"mid": "m_other", "text": "Hi"})
    response = post(messenger, fb_payload("page", other), django_capture_on_commit_callbacks)
    assert response.status_code == 200
    assert not Ticket.objects.filter(customer__messenger_contacts__external_user_id=PSID).exists()


def test_a_file_goes_to_whatsapp_by_upload_and_to_messenger_with_the_message(
    graph, whatsapp, messenger
):
    from destek.messaging import meta
    from destek.messaging import whatsapp as wa

    wa.PLATFORM.send_file(
        MessagingChannel.objects.get(pk=whatsapp["id"]), WA_USER, name="invoice.pdf",
        content_type="application/pdf", data=graph_standin.PDF_BYTES,
    )  # fmt: skip
    [upload] = graph.sent(f"/{PHONE_ID}/media")
    assert upload["file"]["data"] == graph_standin.PDF_BYTES
    [sent] = graph.sent(f"/{PHONE_ID}/messages")
    assert sent["type"] == "document" and sent["document"]["filename"] == "invoice.pdf"
    meta.MESSENGER.send_file(
        MessagingChannel.objects.get(pk=messenger["id"]), PSID, name="screen.jpg",
        content_type="image/jpeg", data=graph_standin.PHOTO_BYTES,
    )  # fmt: skip
    [photo] = graph.sent("/me/messages")
    assert photo["filedata"]["data"] == graph_standin.PHOTO_BYTES
    assert json.loads(photo["recipient"]) == {"id": PSID}


# --- Meta's 24-hour reply window --------------------------------------------------------------


def desk_page(users: dict[str, User], ticket: Ticket) -> tuple[Client, str]:
    User.objects.filter(pk=users["agent"].pk).update(language="en")  # the words checked below
    desk = Client()
    desk.force_login(users["agent"])
    return desk, desk.get(f"/desk/tickets/{ticket.number}/").content.decode()


def wrote_hours_ago(user_id: str, hours: float) -> None:
    from datetime import timedelta

    from django.utils import timezone

    Contact.objects.filter(external_user_id=user_id).update(
        last_inbound_at=timezone.now() - timedelta(hours=hours)
    )


def test_the_composer_says_how_long_the_window_stays_open(
    graph, whatsapp, users, django_capture_on_commit_callbacks
):
    post(
        whatsapp,
        wa_payload(wa_message(body="Hello, my card was charged twice")),
        django_capture_on_commit_callbacks,
    )
    ticket = ticket_of(WA_USER)
    wrote_hours_ago(WA_USER, 19)
    _desk, page = desk_page(users, ticket)
    assert 'id="reply-window"' in page and "takes free replies for another" in page
    assert "4\xa0hours" in page or "4 hours" in page
    assert 'id="reply-window-closed"' not in page


def test_outside_the_window_free_text_is_refused_by_the_desk_and_the_api(
    graph, messenger, users, agent, django_capture_on_commit_callbacks
):
    item = fb_item(message={"mid": "m_old", "text": "The app crashes on start"})
    payload = fb_payload("page", item)
    post(messenger, payload, django_capture_on_commit_callbacks)
    ticket = ticket_of(PSID)
    wrote_hours_ago(PSID, 25)
    graph.calls.clear()
    desk, page = desk_page(users, ticket)
    # No address of theirs: the composer is switched off and says why.
    assert '<fieldset id="reply-window-closed" disabled>' in page
    assert "No e-mail address or phone number of theirs is known" in page
    # The server refuses it too: the API, and a desk form sent anyway.
    refused = agent.post(f"tickets/{ticket.number}/messages", {"body": "Fixed."})
    assert refused.status_code == 409 and refused.json()["code"] == "reply_window_closed"
    with django_capture_on_commit_callbacks(execute=True):
        sent = desk.post(
            f"/desk/tickets/{ticket.number}/reply/", {"body": "Fixed.", "status": "pending"}
        )
    assert sent.status_code == 200 and "24 hours ago" in sent.content.decode()
    assert not ticket.messages.filter(body="Fixed.").exists()
    assert not OutboundMessage.objects.filter(text="Fixed.").exists()
    assert graph.sent("/me/messages") == []
    # An internal note is still written.
    assert (
        agent.post(
            f"tickets/{ticket.number}/messages", {"body": "called", "internal": True}
        ).status_code
        == 201
    )


def test_outside_the_window_the_agent_sends_by_e_mail_instead(
    graph, whatsapp, users, outbox, django_capture_on_commit_callbacks
):
    post(
        whatsapp,
        wa_payload(wa_message(body="The invoice is wrong")),
        django_capture_on_commit_callbacks,
    )
    ticket = ticket_of(WA_USER)
    # A customer linked to their account has a real address.
    User.objects.filter(pk=ticket.customer_id).update(email="aysel@example.com")
    wrote_hours_ago(WA_USER, 30)
    graph.calls.clear()
    desk, page = desk_page(users, ticket)
    assert '<fieldset id="reply-window-closed">' in page
    assert "Send by e-mail to aysel@example.com instead" in page
    with django_capture_on_commit_callbacks(execute=True):
        sent = desk.post(
            f"/desk/tickets/{ticket.number}/reply/",
            {"body": "The corrected invoice is attached to your ticket.", "status": "pending",
             "via": "email"},
        )  # fmt: skip
    assert sent.status_code == 302
    message = ticket.messages.get(body="The corrected invoice is attached to your ticket.")
    assert message.channel == "email"
    assert graph.sent(f"/{PHONE_ID}/messages") == []
    assert not OutboundMessage.objects.filter(message=message).exists()
    # The mail carries it, once (the ticket was filed with its mail off: the chat's).
    assert len([m for m in outbox if "aysel@example.com" in m.to and "corrected" in m.body]) == 1
    # When they write again, the window opens again.
    post(whatsapp, wa_payload(wa_message(body="Thanks!")), django_capture_on_commit_callbacks)
    _desk, page = desk_page(users, ticket)
    assert 'id="reply-window-closed"' not in page and "takes free replies for another" in page


def test_outside_the_window_an_approved_whatsapp_template_can_be_sent(
    graph, whatsapp, users, django_capture_on_commit_callbacks
):
    post(
        whatsapp, wa_payload(wa_message(body="Salam, sifariş")), django_capture_on_commit_callbacks
    )
    ticket = ticket_of(WA_USER)
    wrote_hours_ago(WA_USER, 48)
    graph.calls.clear()
    desk, page = desk_page(users, ticket)
    assert 'id="send-template"' in page and '<option value="order_update">' in page
    with django_capture_on_commit_callbacks(execute=True):
        refused = desk.post(f"/desk/tickets/{ticket.number}/template/", {"name": "made_up"})
    assert refused.status_code == 200 and graph.sent(f"/{PHONE_ID}/messages") == []
    with django_capture_on_commit_callbacks(execute=True):
        sent = desk.post(f"/desk/tickets/{ticket.number}/template/", {"name": "order_update"})
    assert sent.status_code == 302
    [template] = graph.sent(f"/{PHONE_ID}/messages")
    assert template["type"] == "template" and template["to"] == WA_USER
    assert template["template"]["name"] == "order_update"
    note = ticket.messages.get(internal=True)
    assert "order_update" in note.body


def test_a_token_past_its_end_flags_the_channel(graph, users):
    added = add("messenger", PAGE_ID, token_expires="2020-01-01")
    from destek.messaging import jobs

    jobs.send_waiting.call_local()
    stored = MessagingChannel.objects.get(pk=added["id"])
    assert stored.health == Health.FAILING and "expired" in stored.last_error
