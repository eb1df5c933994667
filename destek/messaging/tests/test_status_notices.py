"""Status notices reach a customer's linked Telegram chat (the carrier messaging registers
into announcements), against the Telegram stand-in."""

from __future__ import annotations

from typing import Any

import pytest

from destek.announcements import actions, subscribing
from destek.announcements.models import Service
from destek.messaging.tests import test_telegram as tg
from destek.messaging.tests.test_linking import answers, deep_link

pytestmark = pytest.mark.django_db


@pytest.fixture
def say(channel: dict[str, Any], django_capture_on_commit_callbacks: Any) -> Any:
    """The Telegram user writes `text` to the bot."""

    def write(text: str) -> None:
        response = tg.post(channel, tg.update(text), django_capture_on_commit_callbacks)
        assert response.status_code == 200

    return write


def test_a_linked_telegram_chat_gets_the_incident_notice_in_the_customers_language(
    bot_api: Any, channel: Any, say: Any, users: Any, django_capture_on_commit_callbacks: Any
) -> None:
    customer = users["customer"]  # reads Azerbaijani
    say(f"/start {deep_link(customer, channel)}")
    bot_api.calls.clear()
    Service.objects.get_or_create(slug="vps", defaults={"name": "VPS"})
    subscribing.subscribe_account(customer, via="telegram", everything=True)
    with django_capture_on_commit_callbacks(execute=True):
        incident = actions.create_incident(
            None,
            title={"en": "VPS outage", "az": "VPS xidmətində nasazlıq"},
            body={"en": "Hosts in Baku do not answer.", "az": "Bakıdakı serverlər cavab vermir."},
            services=["vps"],
        )
    [notice] = [text for text in answers(bot_api) if "VPS" in text]
    assert "VPS xidmətində nasazlıq" in notice
    assert "Bakıdakı serverlər cavab vermir." in notice
    assert f"/status/incidents/{incident.pk}/" in notice


def test_without_a_linked_chat_telegram_cannot_be_chosen(users: Any) -> None:
    from destek.lib.errors import ActionRefused

    with pytest.raises(ActionRefused):
        subscribing.subscribe_account(users["customer2"], via="telegram", everything=True)
