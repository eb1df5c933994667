"""The chat widget's page: languages, who is asked for a name, the identity a site vouches
for, whether anyone is there, and which pages other sites may frame."""

from __future__ import annotations

import re
import time
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from destek.accounts.models import User
from destek.chat import identity as chat_identity
from destek.chat.availability import availability
from destek.chat.choices import Presence
from destek.chat.models import AgentPresence
from destek.tickets.models import Department

pytestmark = pytest.mark.django_db

SECRET = "a-long-random-secret-shared-with-the-shop"


def page(client: Client, query: str = "", **headers: str) -> Any:
    response = client.get(f"/chat/widget/{query}", headers=headers)
    assert response.status_code == 200
    return response


def html(response: Any) -> str:
    return str(response.content.decode())


def signed_query(
    user_id: str = "u-981", email: str = "leyla@shop.example", at: int | None = None
) -> str:
    timestamp = str(int(time.time()) if at is None else at)
    signature = chat_identity.signature_for(SECRET, user_id, email, timestamp)
    return f"?site=shop&uid={user_id}&email={email}&ts={timestamp}&sig={signature}&name=Leyla"


def identity_in(response: Any) -> chat_identity.Identity | None:
    config = response.context["config"]
    return chat_identity.read(config["identity"]) if config["identity"] else None


@pytest.fixture
def shop(settings: Any) -> None:
    settings.DESTEK_CHAT_SITES = {"shop": SECRET}


def go_online(user: User) -> None:
    AgentPresence.objects.update_or_create(
        agent=user, defaults={"status": Presence.ONLINE, "last_seen_at": timezone.now()}
    )


def test_the_persian_widget_reads_right_to_left(demo: None) -> None:
    text = html(page(Client(), "?lang=fa"))
    assert re.search(r'<html lang="fa" dir="rtl">', text)


def test_the_persian_rating_reads_in_persian_digits(demo: None) -> None:
    text = html(page(Client(), "?lang=fa"))
    assert 'value="5"> ۵ ' in text and 'value="1"> ۱ ' in text
    assert 'value="5"> 5 ' in html(page(Client(), "?lang=en"))


def test_the_widget_speaks_the_language_the_embedding_page_asks_for(demo: None) -> None:
    text = html(page(Client(), "?lang=ru-RU", **{"Accept-Language": "tr"}))
    assert '<html lang="ru" dir="ltr">' in text
    assert '<html lang="tr"' in html(page(Client(), "", **{"Accept-Language": "tr"}))


def test_an_anonymous_visitor_is_asked_for_name_and_email(demo: None) -> None:
    text = html(page(Client()))
    assert 'name="name"' in text
    assert 'name="email"' in text
    assert 'name="body"' in text
    assert 'id="chat-department"' in text


def test_a_signed_in_customer_is_known_and_not_asked_for_name_or_email(
    users: dict[str, User],
) -> None:
    client = Client()
    client.force_login(users["customer"])
    response = page(client)
    text = html(response)
    assert 'name="name"' not in text
    assert 'name="email"' not in text
    assert "customer@example.com" in text
    known = identity_in(response)
    assert known is not None and known.user_id == users["customer"].pk


def test_a_sites_signed_user_is_accepted_with_a_good_signature(demo: None, shop: None) -> None:
    response = page(Client(), signed_query())
    text = html(response)
    assert 'name="email"' not in text
    assert "leyla@shop.example" in text
    known = identity_in(response)
    assert known == chat_identity.Identity(
        email="leyla@shop.example", name="Leyla", site="shop", external_id="u-981"
    )


def test_a_bad_signature_is_refused_and_the_visitor_is_asked_who_they_are(
    demo: None, shop: None
) -> None:
    query = signed_query().replace("email=leyla@shop.example", "email=boss@shop.example")
    response = page(Client(), query)
    text = html(response)
    assert identity_in(response) is None
    assert "The sign-in of this site is not valid." in text
    assert 'name="email"' in text


def test_an_old_signature_is_refused(demo: None, shop: None) -> None:
    response = page(Client(), signed_query(at=int(time.time()) - 3600))
    assert identity_in(response) is None
    assert "has expired" in html(response)


def test_a_signature_of_an_unknown_site_is_refused(demo: None) -> None:
    response = page(Client(), signed_query())  # no DESTEK_CHAT_SITES
    assert identity_in(response) is None
    assert "not set up for live chat" in html(response)


def test_an_identity_token_changed_by_the_visitor_is_not_read(users: dict[str, User]) -> None:
    token = chat_identity.issue(chat_identity.for_customer(users["customer"]))
    assert chat_identity.read(token) is not None
    forged = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    assert chat_identity.read(forged) is None
    assert chat_identity.read(token, max_age=-1) is None


def test_only_the_widget_may_be_framed_by_other_sites(demo: None) -> None:
    widget = page(Client())
    assert "X-Frame-Options" not in widget.headers
    assert "frame-ancestors *" in widget.headers["Content-Security-Policy"]
    for path in ("/", "/kb/", "/sign-in/"):
        other = Client().get(path)
        assert other.headers["X-Frame-Options"] == "DENY", path
        assert "frame-ancestors 'none'" in other.headers["Content-Security-Policy"], path


def test_the_sites_allowed_to_frame_the_widget_are_configurable(demo: None, settings: Any) -> None:
    settings.DESTEK_CHAT_FRAME_ANCESTORS = "https://shop.example https://*.example.org"
    policy = page(Client()).headers["Content-Security-Policy"]
    assert "frame-ancestors 'self' https://shop.example https://*.example.org" in policy
    settings.DESTEK_CHAT_FRAME_ANCESTORS = ""
    assert "frame-ancestors 'self'" in page(Client()).headers["Content-Security-Policy"]


def test_the_widget_says_nobody_is_there_before_anything_is_typed(demo: None) -> None:
    text = html(page(Client(), "?department=technical"))
    assert 'data-online="0"' in text
    assert "Nobody is available to chat right now." in text
    assert "Send my question" in text


def test_the_widget_says_an_agent_is_there_when_one_of_the_department_is_online(
    users: dict[str, User],
) -> None:
    go_online(users["agent"])  # Technical
    assert 'data-online="1"' in html(page(Client(), "?department=technical"))
    assert 'data-online="0"' in html(page(Client(), "?department=finance"))


def test_an_agent_whose_heartbeat_stopped_counts_as_offline(users: dict[str, User]) -> None:
    go_online(users["agent"])
    AgentPresence.objects.update(last_seen_at=timezone.now() - timedelta(minutes=5))
    assert not availability(Department.objects.get(slug="technical")).online


def test_the_availability_endpoint_answers_anyone(users: dict[str, User]) -> None:
    client = Client()
    response = client.get("/api/v1/chats/availability?department=technical")
    assert response.json() == {"online": False, "estimated_wait_seconds": None}
    go_online(users["agent"])
    assert client.get("/api/v1/chats/availability").json()["online"] is True
    wrong = client.get("/api/v1/chats/availability?department=nope", HTTP_ACCEPT_LANGUAGE="en")
    assert wrong.status_code == 422
    assert wrong.json()["code"] == "invalid_department"


def test_every_portal_page_has_a_chat_button_for_visitors_and_customers(
    users: dict[str, User],
) -> None:
    anonymous = Client().get("/")
    assert 'id="chat-launcher"' in anonymous.content.decode()
    assert "chat-embed.js" in anonymous.content.decode()
    customer = Client()
    customer.force_login(users["customer"])
    assert 'id="chat-launcher"' in customer.get("/my/tickets/").content.decode()
    agent = Client()
    agent.force_login(users["agent"])
    assert 'id="chat-launcher"' not in agent.get("/my/profile/").content.decode()


def test_the_widget_hands_its_script_every_text_in_the_visitors_language(demo: None) -> None:
    response = page(Client(), "?lang=en")
    assert 'id="chat-strings"' in html(response)
    strings = response.context["strings"]
    assert strings["offline"] == "Nobody is available to chat right now."
    assert all(isinstance(value, str) and value for value in strings.values())
