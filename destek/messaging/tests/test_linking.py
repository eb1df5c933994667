"""Linking a Telegram contact to an existing customer account, only by a verified step: a
one-time deep link made in the portal profile, or a code mailed to the account's address and
typed in the chat. Against the stand-in Bot API on loopback, updates posted to the webhook as
Telegram posts them."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from conftest import signed_in_client
from destek.accounts.models import ContactAddress, User
from destek.messaging.choices import Health
from destek.messaging.models import Contact, LinkToken, MailLink, MessagingChannel
from destek.messaging.tests import standin
from destek.messaging.tests.test_telegram import add_telegram, post, update
from destek.tickets.choices import EventKind
from destek.tickets.models import Department, Ticket

LINK_RE = re.compile(r"https://t\.me/allin_support_bot\?start=([A-Za-z0-9_-]+)")


@pytest.fixture
def bot_api() -> Iterator[standin.BotApi]:
    api, server = standin.start()
    yield api
    server.shutdown()
    server.server_close()


@pytest.fixture
def channel(bot_api: standin.BotApi, users: dict[str, User]) -> dict[str, Any]:
    added = add_telegram(bot_api.url)
    MessagingChannel.objects.filter(pk=added["id"]).update(
        department=Department.objects.filter(members=users["agent"]).first()
    )
    bot_api.calls.clear()
    return added


@pytest.fixture
def say(channel: dict[str, Any], django_capture_on_commit_callbacks: Any) -> Any:
    """The Telegram user writes `text` to the bot."""

    def write(text: str, **kwargs: Any) -> None:
        response = post(channel, update(text, **kwargs), django_capture_on_commit_callbacks)
        assert response.status_code == 200

    return write


def answers(bot_api: standin.BotApi) -> list[str]:
    return [sent["text"] for sent in bot_api.sent("sendMessage")]


def deep_link(user: User, channel: dict[str, Any], language: str = "en") -> str:
    """The customer presses "Connect" in the profile; the token of the link shown."""
    page = signed_in_client(user, language).post(
        "/my/profile/messengers/link/", {"channel": channel["id"]}
    )
    assert page.status_code == 200
    found = LINK_RE.search(page.content.decode())
    assert found, page.content.decode()
    return found.group(1)


def contact(user_id: int = 5551) -> Contact:
    return Contact.objects.select_related("customer").get(external_user_id=str(user_id))


def test_the_bots_username_is_kept_for_deep_links(channel):
    assert MessagingChannel.objects.get(pk=channel["id"]).bot_username == "allin_support_bot"


def test_a_customer_links_their_telegram_chat_by_deep_link_and_keeps_its_tickets(
    bot_api, channel, say, users, outbox, agent
):
    say("My invoice for November is wrong")
    placeholder = contact().customer
    ticket = Ticket.objects.get(customer=placeholder)
    customer = users["customer"]
    token = deep_link(customer, channel)
    assert 20 <= len(token) <= 64
    # Only the token's hash is stored.
    assert not LinkToken.objects.filter(token_hash=token).exists()
    bot_api.calls.clear()
    outbox.clear()

    say(f"/start {token}")

    linked = contact()
    assert linked.customer == customer and linked.linked_at is not None
    ticket.refresh_from_db()
    assert ticket.customer == customer
    assert ticket.messages.get().author == customer
    event = ticket.events.get(kind=EventKind.CUSTOMER)
    assert event.to_value == customer.email and "Aysel" in event.from_value
    placeholder.refresh_from_db()
    assert not placeholder.is_active
    [answer] = answers(bot_api)
    assert customer.email in answer and "connected" in answer
    # The account's owner is told by mail, with the way to undo it.
    [notice] = [m for m in outbox if customer.email in m.to]
    assert "/my/profile/" in notice.body and "Telegram" in notice.subject
    # The portal shows the ticket and the connected chat.
    portal = signed_in_client(customer)
    assert portal.get(f"/my/tickets/{ticket.number}/").status_code == 200
    profile = portal.get("/my/profile/").content.decode()
    assert 'id="messenger-contacts"' in profile and "Aysel" in profile
    # The next message continues the same ticket, and the agent's answer reaches the chat.
    say("It should be 40 AZN, not 400")
    assert ticket.messages.count() == 2
    bot_api.calls.clear()
    assert agent.post(f"tickets/{ticket.number}/messages", {"body": "Fixed."}).status_code == 201
    assert answers(bot_api) == ["Fixed."]


def test_a_used_expired_or_unknown_link_is_answered_and_changes_nothing(
    bot_api, channel, say, users
):
    customer = users["customer"]
    token = deep_link(customer, channel)
    say(f"/start {token}")
    assert contact().customer == customer
    bot_api.calls.clear()
    # Someone else opens the same link: it is used.
    say(f"/start {token}", user_id=7001, language="ru")
    stranger = contact(7001)
    assert stranger.linked_at is None and stranger.customer != customer
    [used] = answers(bot_api)
    assert "портал" in used.lower()  # in the user's language
    # An expired link.
    expired = deep_link(users["customer2"], channel)
    LinkToken.objects.filter(used_at__isnull=True).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )
    say(f"/start {expired}", user_id=7001)
    # Unknown and malformed ones.
    say("/start notatokenatall", user_id=7001)
    say("/start " + "x" * 65, user_id=7001)
    say("/start <script>", user_id=7001)
    assert contact(7001).linked_at is None
    assert not Ticket.objects.filter(customer=users["customer2"], channel="telegram").exists()
    assert len(set(answers(bot_api))) == 1  # the same clear answer each time


def test_linking_twice_or_with_another_accounts_link_is_answered_and_changes_nothing(
    bot_api, channel, say, users
):
    customer, other = users["customer"], users["customer2"]
    say(f"/start {deep_link(customer, channel)}")
    bot_api.calls.clear()
    say(f"/start {deep_link(customer, channel)}")
    assert "already connected to your account" in answers(bot_api)[0]
    say("/link")
    assert "already connected to your account" in answers(bot_api)[1]
    bot_api.calls.clear()
    foreign = deep_link(other, channel)
    say(f"/start {foreign}")
    assert contact().customer == customer
    assert "another account" in answers(bot_api)[0]
    # The other account's link was not spent: its owner still uses it from their own chat.
    say(f"/start {foreign}", user_id=7002)
    assert contact(7002).customer == other


def test_a_link_made_for_one_bot_does_not_work_in_another(bot_api, channel, say, users):
    other_bot = MessagingChannel.objects.create(
        kind="telegram", name="Other", health=Health.HEALTHY, bot_username="other_bot"
    )
    page = signed_in_client(users["customer"]).post(
        "/my/profile/messengers/link/", {"channel": other_bot.pk}
    )
    token = re.search(r"start=([A-Za-z0-9_-]+)", page.content.decode())
    assert token
    say(f"/start {token.group(1)}")
    assert contact().linked_at is None


def test_a_contact_links_by_a_code_mailed_to_the_accounts_address(
    bot_api, channel, say, users, outbox
):
    customer = users["customer"]
    say("My domain expired", language="fa")
    ticket = Ticket.objects.get(customer=contact().customer)
    bot_api.calls.clear()
    say("/link")
    assert MailLink.objects.filter(contact=contact(), email="").exists()
    say(customer.email.upper())
    [mailed] = [m for m in outbox if customer.email in m.to]
    code = re.search(r"\b(\d{6})\b", mailed.body)
    assert code
    assert (
        MailLink.objects.get().code_hash and code.group(1) not in MailLink.objects.get().code_hash
    )
    # Typed with Persian digits, as a phone in Persian types them.
    persian = code.group(1).translate(str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹"))
    say(persian)
    assert contact().customer == customer
    ticket.refresh_from_db()
    assert ticket.customer == customer
    assert not MailLink.objects.exists()
    # Neither the address nor the code became a ticket message.
    assert ticket.messages.count() == 1


def test_an_address_of_no_account_gets_the_same_answer_and_no_mail(
    bot_api, channel, say, users, outbox
):
    say("/link customer@example.com")
    known = answers(bot_api)[-1].replace("customer@example.com", "ADDRESS")
    say("/link nobody@example.com", user_id=7003)
    unknown = answers(bot_api)[-1].replace("nobody@example.com", "ADDRESS")
    assert known == unknown
    assert not [m for m in outbox if "nobody@example.com" in m.to]
    for guess in ("000000", "123456"):
        say(guess, user_id=7003)
    assert contact(7003).linked_at is None
    # An agent's address is not a customer account to link to, and is answered the same.
    say("/link agent@example.com", user_id=7004)
    assert answers(bot_api)[-1].replace("agent@example.com", "ADDRESS") == known
    assert not [m for m in outbox if "agent@example.com" in m.to]


def test_a_verified_contact_address_of_the_account_gets_the_code_too(
    bot_api, channel, say, users, outbox
):
    customer = users["customer"]
    ContactAddress.objects.create(
        user=customer, email="aysel.work@example.com", verified_at=timezone.now()
    )
    say("/link aysel.work@example.com")
    [mailed] = [m for m in outbox if "aysel.work@example.com" in m.to]
    code = re.search(r"\b(\d{6})\b", mailed.body)
    assert code
    say(f"{code.group(1)[:3]} {code.group(1)[3:]}")
    assert contact().customer == customer


def test_wrong_codes_are_counted_and_the_fifth_spends_the_code(
    bot_api, channel, say, users, outbox
):
    customer = users["customer"]
    say(f"/link {customer.email}")
    [mailed] = [m for m in outbox if customer.email in m.to]
    code = re.search(r"\b(\d{6})\b", mailed.body)
    assert code
    wrong = f"{(int(code.group(1)) + 1) % 1_000_000:06d}"
    for _attempt in range(5):
        say(wrong)
    assert MailLink.objects.filter(contact=contact()).count() == 0
    assert "/link" in answers(bot_api)[-1]
    # The right code now is just a message: the link was spent.
    say(code.group(1))
    assert contact().linked_at is None
    assert Ticket.objects.filter(customer=contact().customer).count() == 1


@pytest.mark.usefixtures("one_rate_window")
def test_codes_by_mail_are_limited_per_contact_and_per_address(
    bot_api, channel, say, users, outbox
):
    for _n in range(3):
        say("/link customer@example.com")
    assert len([m for m in outbox if "customer@example.com" in m.to]) == 3
    say("/link customer@example.com")
    assert "wait" in answers(bot_api)[-1]
    assert len([m for m in outbox if "customer@example.com" in m.to]) == 3
    # Another chat asking for the same address is held too: the address is not mail-bombed.
    say("/link customer@example.com", user_id=7005)
    assert "wait" in answers(bot_api)[-1]


def test_an_address_in_a_message_is_filed_when_no_link_is_under_way(bot_api, channel, say):
    say("customer@example.com")
    [ticket] = Ticket.objects.filter(customer=contact().customer)
    assert ticket.messages.get().body == "customer@example.com"
    say("123456")
    assert ticket.messages.count() == 2


def test_a_customer_disconnects_a_chat_and_its_tickets_stay_with_the_account(
    bot_api, channel, say, users, django_capture_on_commit_callbacks
):
    customer = users["customer"]
    say("Please call me back")
    say(f"/start {deep_link(customer, channel)}")
    ticket = Ticket.objects.get(customer=customer, channel="telegram")
    linked = contact()
    # Another customer cannot disconnect it (the same 404 as for no such chat).
    other = signed_in_client(users["customer2"])
    assert other.post("/my/profile/messengers/unlink/", {"contact": linked.pk}).status_code == 404
    assert other.post("/my/profile/messengers/unlink/", {"contact": "x"}).status_code == 404
    bot_api.calls.clear()
    with django_capture_on_commit_callbacks(execute=True):
        response = signed_in_client(customer).post(
            "/my/profile/messengers/unlink/", {"contact": linked.pk}
        )
    assert response.status_code == 302
    unlinked = contact()
    assert unlinked.linked_at is None and unlinked.customer != customer
    assert unlinked.customer.is_active and not unlinked.customer.has_usable_password()
    assert "no longer connected" in answers(bot_api)[0]
    ticket.refresh_from_db()
    assert ticket.customer == customer
    # What the chat writes now starts a ticket of its own placeholder, not the account's.
    say("Hello again")
    assert Ticket.objects.filter(customer=unlinked.customer).count() == 1
    assert 'id="messenger-contacts"' not in (
        signed_in_client(customer).get("/my/profile/").content.decode()
    )


def test_the_profile_offers_working_bots_to_customers_only(bot_api, channel, users):
    page = signed_in_client(users["customer"]).get("/my/profile/").content.decode()
    assert 'id="messengers"' in page and "Allin bot" in page
    assert (
        'id="messengers"'
        not in signed_in_client(users["agent"]).get("/my/profile/").content.decode()
    )
    refused = signed_in_client(users["agent"]).post(
        "/my/profile/messengers/link/", {"channel": channel["id"]}
    )
    assert refused.status_code == 302 and not LinkToken.objects.exists()
    MessagingChannel.objects.filter(pk=channel["id"]).update(health=Health.FAILING)
    page = signed_in_client(users["customer"]).get("/my/profile/").content.decode()
    assert 'id="messengers"' not in page
    missing = signed_in_client(users["customer"]).post(
        "/my/profile/messengers/link/", {"channel": channel["id"]}
    )
    assert missing.status_code == 404
    assert Client().post("/my/profile/messengers/link/", {"channel": 1}).status_code == 302


def test_the_profile_section_reads_in_persian(bot_api, channel, users):
    page = signed_in_client(users["customer"], "fa").post(
        "/my/profile/messengers/link/", {"channel": channel["id"]}
    )
    html = page.content.decode()
    assert 'dir="rtl"' in html and LINK_RE.search(html)
    assert "Open this link" not in html


def test_a_code_typed_after_it_expired_is_answered_and_links_nothing(
    bot_api, channel, say, users, outbox
):
    say("/link customer@example.com")
    [mailed] = [m for m in outbox if "customer@example.com" in m.to]
    code = re.search(r"\b(\d{6})\b", mailed.body)
    assert code
    MailLink.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    say(code.group(1))
    assert contact().linked_at is None
    assert "/link" in answers(bot_api)[-1]
    assert not Ticket.objects.exists()


def test_a_bot_added_before_usernames_were_kept_asks_telegram_for_it(bot_api, channel, users):
    MessagingChannel.objects.filter(pk=channel["id"]).update(bot_username="")
    token = deep_link(users["customer"], channel)
    assert token and bot_api.sent("getMe")
    assert MessagingChannel.objects.get(pk=channel["id"]).bot_username == "allin_support_bot"
