"""Who is told of incidents and maintenance: subscribers by address (after confirming),
signed-in customers, and the users of the affected services; once per address and event,
in each reader's language, gathered per incident, with a link that unsubscribes."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine
from django.conf import settings
from django.test import Client
from django.utils import timezone

from conftest import signed_in_client
from destek.accounts.models import ContactAddress, Organisation, User
from destek.announcements import actions, notices, subscribing
from destek.announcements.jobs import run_maintenance_windows
from destek.announcements.models import (
    Area,
    Incident,
    Maintenance,
    Notice,
    Service,
    ServiceUser,
    Subscription,
)
from destek.announcements.notice_jobs import send_status_notices

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 12, 4, 9, 0, tzinfo=UTC)


@pytest.fixture
def services() -> dict[str, Service]:
    Area.objects.create(slug="baku", name="Baku DC", names={"fa": "مرکز داده باکو"})
    return {
        slug: Service.objects.create(slug=slug, name=slug.title())
        for slug in ("website", "api", "payments")
    }


@pytest.fixture
def now() -> Iterator[datetime]:
    with time_machine.travel(T0, tick=False):
        yield T0


@pytest.fixture
def committing(django_capture_on_commit_callbacks: Any) -> Any:
    """Run a block as a request would: what it queues after commit (the notices job, then
    the outbox) runs too."""
    return lambda: django_capture_on_commit_callbacks(execute=True)


def customer(email: str, language: str = "en", **extra: Any) -> User:
    return User.objects.create_user(email, "pw", language=language, **extra)


def mails_to(outbox: list[Any], address: str) -> list[Any]:
    return [m for m in outbox if address in m.to]


def open_incident(committing: Any, services: list[str], **extra: Any) -> Incident:
    with committing():
        return actions.create_incident(
            None,
            title={
                "en": "Website is down",
                "ru": "Сайт недоступен",
                "fa": "وب‌سایت از دسترس خارج است",
            },
            body={"en": "We are looking into it.", "ru": "Мы разбираемся."},
            services=services,
            **extra,
        )


def update(committing: Any, incident: Incident, text: str, state: str | None = None) -> None:
    with committing():
        actions.add_incident_update(None, incident, body={"en": text}, state=state)


def same_page(response: Any) -> str:
    """The page without what differs per response (the CSP nonce, the CSRF token)."""
    text = response.content.decode()
    return re.sub(r'(nonce|value|content)="[A-Za-z0-9+/=_-]{20,}"', "", text)


def link_in(message: Any, pattern: str) -> str:
    found = re.search(rf"https?://\S+{pattern}\S+/", message.body)
    assert found, message.body
    return found.group(0)


# --- subscribing ---------------------------------------------------------------------------


def test_an_address_is_told_nothing_until_it_confirms_the_mailed_link(
    services: Any, committing: Any, outbox: Any
) -> None:
    client = Client()
    with committing():
        response = client.post(
            "/status/subscribe/", {"email": "Reader@Example.org", "scope": "all"}
        )
    assert response.status_code == 200
    assert "we mailed it a link" in response.content.decode()
    [confirmation] = mails_to(outbox, "reader@example.org")
    open_incident(committing, ["website"])
    assert len(mails_to(outbox, "reader@example.org")) == 1  # still only the confirmation

    link = link_in(confirmation, "/status/subscribe/confirm/")
    path = link.split("://", 1)[1].split("/", 1)[1]
    assert "Yes, send me notices" in client.get("/" + path).content.decode()
    assert not Subscription.objects.filter(confirmed_at__isnull=False).exists()  # GET: nothing
    client.post("/" + path)
    assert Subscription.objects.get().confirmed_at is not None
    open_incident(committing, ["api"])
    assert len(mails_to(outbox, "reader@example.org")) == 2


def test_an_address_that_never_confirms_is_forgotten_once_its_link_expired(
    services: Any, committing: Any, outbox: Any
) -> None:
    with committing():
        Client().post("/status/subscribe/", {"email": "late@example.org", "scope": "all"})
        Client().post("/status/subscribe/", {"email": "kept@example.org", "scope": "all"})
    kept = Subscription.objects.get(address="kept@example.org")
    kept.confirmed_at = timezone.now()
    kept.save(update_fields=["confirmed_at"])
    days = timedelta(days=settings.DESTEK_MAIL_CONFIRM_DAYS)
    assert subscribing.forget_unconfirmed(timezone.now() + days - timedelta(hours=1)) == 0
    assert subscribing.forget_unconfirmed(timezone.now() + days + timedelta(hours=1)) >= 1
    assert list(Subscription.objects.values_list("address", flat=True)) == ["kept@example.org"]


@pytest.mark.usefixtures("one_rate_window")
def test_subscribing_answers_the_same_for_a_subscribed_address_and_is_rate_limited(
    services: Any, committing: Any, outbox: Any
) -> None:
    client = Client()
    data = {"email": "someone@example.org", "scope": "all"}
    with committing():
        first = client.post("/status/subscribe/", data)
        subscribing.confirm(Subscription.objects.get().token)
        again = client.post("/status/subscribe/", data)
    assert same_page(first) == same_page(again)
    with committing():
        for _ in range(8):
            client.post("/status/subscribe/", {"email": "other@example.org", "scope": "all"})
    assert client.post("/status/subscribe/", data).status_code == 429
    # per address: three links an hour at most, the answer unchanged.
    assert len(mails_to(outbox, "someone@example.org")) == 2
    assert len(mails_to(outbox, "other@example.org")) == 3


def test_one_notice_per_subscriber_though_two_of_their_services_are_affected(
    services: Any, committing: Any, outbox: Any
) -> None:
    user = customer("two@example.org")
    subscribing.subscribe_account(user, via="email", services=[services["website"].pk])
    subscribing.subscribe_account(user, via="email", services=[s.pk for s in services.values()])
    ServiceUser.objects.create(user=user, service=services["api"])
    Subscription.objects.create(
        via="email", address="two@example.org", token="t", confirmed_at=T0, everything=True
    )
    open_incident(committing, ["website", "api"])
    assert len(mails_to(outbox, "two@example.org")) == 1
    assert Notice.objects.filter(key="email:two@example.org").count() == 1


def test_users_of_a_service_are_told_through_their_organisation_and_may_opt_out(
    services: Any, committing: Any, outbox: Any
) -> None:
    acme = Organisation.objects.create(name="Acme")
    member = customer("member@acme.example", organisation=acme)
    ServiceUser.objects.create(organisation=acme, service=services["payments"])
    open_incident(committing, ["payments"])
    assert len(mails_to(outbox, "member@acme.example")) == 1
    subscribing.set_automatic(member, on=False)
    open_incident(committing, ["payments"])
    assert len(mails_to(outbox, "member@acme.example")) == 1
    open_incident(committing, ["website"])  # not theirs
    assert len(mails_to(outbox, "member@acme.example")) == 1


def test_users_of_an_area_are_told_of_an_incident_limited_to_no_area_but_not_of_another_area(
    services: Any, committing: Any, outbox: Any
) -> None:
    customer("baku-user@example.org")
    ServiceUser.objects.create(
        user=User.objects.get(email="baku-user@example.org"), area=Area.objects.get(slug="baku")
    )
    istanbul = Area.objects.create(slug="istanbul", name="Istanbul DC")
    open_incident(committing, ["payments"])  # everywhere
    assert len(mails_to(outbox, "baku-user@example.org")) == 1
    open_incident(committing, ["payments"], areas=[istanbul.slug])  # elsewhere
    assert len(mails_to(outbox, "baku-user@example.org")) == 1


def test_mail_for_an_account_goes_to_its_announcements_address(
    services: Any, committing: Any, outbox: Any
) -> None:
    user = customer("owner@example.org")
    ContactAddress.objects.create(
        user=user, email="news@example.org", verified_at=T0, for_announcements=True
    )
    ServiceUser.objects.create(user=user, service=services["website"])
    open_incident(committing, ["website"])
    assert len(mails_to(outbox, "news@example.org")) == 1
    assert not mails_to(outbox, "owner@example.org")


def test_each_reader_gets_the_notice_in_their_language_with_the_fallback_marked(
    services: Any, committing: Any, outbox: Any
) -> None:
    for email, language in (("ru@example.org", "ru"), ("fa@example.org", "fa")):
        ServiceUser.objects.create(user=customer(email, language), service=services["website"])
    incident = open_incident(committing, ["website"])
    [ru] = mails_to(outbox, "ru@example.org")
    [fa] = mails_to(outbox, "fa@example.org")
    assert "Сайт недоступен" in ru.subject and "Мы разбираемся." in ru.body
    assert "Сайт недоступен" in ru.body and "Отписаться" not in ru.subject
    assert "وب‌سایت از دسترس خارج است" in fa.subject
    # No Persian text of the update: the English one is shown, marked as such.
    assert "We are looking into it." in fa.body
    assert "انگلیسی" in fa.body
    assert (
        f"/status/incidents/{incident.pk}/" in ru.body
        and f"/status/incidents/{incident.pk}/" in fa.body
    )
    html = fa.alternatives[0][0]
    assert 'dir="rtl"' in html


def test_updates_within_the_window_are_gathered_into_one_mail(
    services: Any, committing: Any, outbox: Any, now: datetime
) -> None:
    reader = customer("batch@example.org")
    ServiceUser.objects.create(user=reader, service=services["website"])
    incident = open_incident(committing, ["website"])
    assert len(mails_to(outbox, "batch@example.org")) == 1
    for minute, text in ((2, "First clue."), (4, "Found it."), (6, "Fix deployed.")):
        with time_machine.travel(now + timedelta(minutes=minute), tick=False):
            update(committing, incident, text)
    assert len(mails_to(outbox, "batch@example.org")) == 1
    with time_machine.travel(now + timedelta(minutes=10), tick=False), committing():
        send_status_notices()
        send_status_notices()  # a rerun sends nothing twice
    gathered = mails_to(outbox, "batch@example.org")
    assert len(gathered) == 2
    body = gathered[1].body
    assert body.index("First clue.") < body.index("Found it.") < body.index("Fix deployed.")
    # Long after the window: the next update goes at once.
    with time_machine.travel(now + timedelta(minutes=30), tick=False):
        update(committing, incident, "All good now.", state="resolved")
    assert len(mails_to(outbox, "batch@example.org")) == 3
    assert "All good now." in mails_to(outbox, "batch@example.org")[2].body


def test_the_announce_job_run_twice_sends_once(services: Any, committing: Any, outbox: Any) -> None:
    ServiceUser.objects.create(user=customer("twice@example.org"), service=services["api"])
    open_incident(committing, ["api"])
    event_id = Incident.objects.get().events.get().pk
    with committing():
        notices.announce(event_id)
    assert len(mails_to(outbox, "twice@example.org")) == 1


def test_unsubscribe_get_shows_a_page_and_only_its_post_unsubscribes(
    services: Any, committing: Any, outbox: Any
) -> None:
    user = customer("leaving@example.org")
    ServiceUser.objects.create(user=user, service=services["website"])
    subscribing.subscribe_account(user, via="email", everything=True)
    open_incident(committing, ["website"])
    [notice] = mails_to(outbox, "leaving@example.org")
    link = link_in(notice, "/status/unsubscribe/")
    assert notice.extra_headers["List-Unsubscribe"] == f"<{link}>"
    assert notice.extra_headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    path = "/" + link.split("://", 1)[1].split("/", 1)[1]
    client = Client(enforce_csrf_checks=True)
    page = client.get(path)
    assert page.status_code == 200 and "Unsubscribe" in page.content.decode()
    assert Subscription.objects.filter(user=user).exists()
    # One-click (RFC 8058): the mail provider posts without our CSRF cookie.
    done = client.post(path, {"List-Unsubscribe": "One-Click"})
    assert "will get no more status notices" in done.content.decode()
    assert not Subscription.objects.filter(user=user).exists()
    open_incident(committing, ["website"])
    assert len(mails_to(outbox, "leaving@example.org")) == 1


def test_a_maintenance_reminder_is_sent_once_when_the_job_runs_twice(
    services: Any, committing: Any, outbox: Any, now: datetime, settings: Any
) -> None:
    settings.DESTEK_MAINTENANCE_REMIND_MINUTES = 60
    ServiceUser.objects.create(user=customer("ops@example.org", "ru"), service=services["api"])
    with committing():
        window = actions.schedule_maintenance(
            None,
            title={"en": "Database upgrade", "ru": "Обновление базы данных"},
            body={"en": "Ten minutes of downtime."},
            services=["api"],
            starts_at=now + timedelta(hours=3),
            ends_at=now + timedelta(hours=4),
        )
    assert len(mails_to(outbox, "ops@example.org")) == 1  # scheduled
    with committing():
        run_maintenance_windows()  # three hours ahead: not yet
    assert len(mails_to(outbox, "ops@example.org")) == 1
    with time_machine.travel(now + timedelta(hours=2, minutes=15), tick=False), committing():
        run_maintenance_windows()
        run_maintenance_windows()
    mails = mails_to(outbox, "ops@example.org")
    assert len(mails) == 2
    assert "Обновление базы данных" in mails[1].subject
    assert Maintenance.objects.get(pk=window.pk).reminded_at is not None


def test_a_signed_in_customer_follows_an_incident_with_one_click(
    services: Any, committing: Any, outbox: Any
) -> None:
    incident = open_incident(committing, ["payments"])
    user = customer("follower@example.org", "fa")
    client = signed_in_client(user, "fa")
    page = client.get(f"/status/incidents/{incident.pk}/").content.decode()
    assert "follow" in page
    client.post(f"/status/incidents/{incident.pk}/follow/")
    update(committing, incident, "Payments are back.", state="resolved")
    [notice] = mails_to(outbox, "follower@example.org")
    assert "Payments are back." in notice.body


def test_an_anonymous_reader_follows_an_incident_after_confirming_by_mail(
    services: Any, committing: Any, outbox: Any
) -> None:
    incident = open_incident(committing, ["payments"])
    client = Client()
    with committing():
        client.post(f"/status/incidents/{incident.pk}/follow/", {"email": "anon@example.org"})
    [confirmation] = mails_to(outbox, "anon@example.org")
    assert "Website is down" in confirmation.body
    update(committing, incident, "Still looking.")
    assert len(mails_to(outbox, "anon@example.org")) == 1
    subscribing.confirm(Subscription.objects.get(address="anon@example.org").token)
    update(committing, incident, "Found it.")
    assert len(mails_to(outbox, "anon@example.org")) == 2


def test_the_status_notices_page_changes_a_customers_subscriptions(
    services: Any, django_assert_max_num_queries: Any
) -> None:
    user = customer("page@example.org", "fa")
    ServiceUser.objects.create(user=user, service=services["website"])
    client = signed_in_client(user, "fa")
    with django_assert_max_num_queries(20):
        page = client.get("/status/notices/")
    assert page.status_code == 200 and 'dir="rtl"' in page.content.decode()
    client.post(
        "/status/notices/",
        {"action": "set", "via": "email", "scope": "chosen", "services": [services["api"].pk]},
    )
    subscription = Subscription.objects.get(user=user)
    assert [s.slug for s in subscription.services.all()] == ["api"]
    refused = client.post("/status/notices/", {"action": "set", "via": "sms", "scope": "all"})
    assert refused.status_code == 422
    client.post("/status/notices/", {"action": "automatic", "on": "0"})
    assert user.status_opt_out is not None


def test_the_admin_lists_subscriptions_read_only(services: Any, users: Any) -> None:
    subscribing.subscribe_account(users["customer"], via="email", everything=True)
    Subscription.objects.create(via="sms", address="+994501234567", token="x", confirmed_at=T0)
    client = signed_in_client(users["admin"])
    listing = client.get("/admin/announcements/subscription/")
    assert listing.status_code == 200
    assert "+994501234567" in listing.content.decode()
    one = Subscription.objects.get(via="sms")
    page = client.get(f"/admin/announcements/subscription/{one.pk}/change/").content.decode()
    assert "+994501234567" in page and 'name="address"' not in page


def test_history_written_with_a_past_time_is_told_to_nobody(
    services: Any, committing: Any, outbox: Any
) -> None:
    ServiceUser.objects.create(user=customer("late@example.org"), service=services["api"])
    open_incident(committing, ["api"], at=timezone.now() - timedelta(days=3))
    assert not mails_to(outbox, "late@example.org")


def test_the_demos_sample_status_is_told_to_nobody(
    services: Any, committing: Any, outbox: Any
) -> None:
    from destek.notify.actions import outbox_paused

    ServiceUser.objects.create(user=customer("demo@example.org"), service=services["api"])
    with outbox_paused():
        open_incident(committing, ["api"])
    assert not mails_to(outbox, "demo@example.org")
    assert not Notice.objects.exists()


def test_my_notices_page_checks_nothing_at_first_and_titles_followed_incidents_in_my_language(
    services: Any, committing: Any
) -> None:
    incident = open_incident(committing, ["api"])
    user = customer("reader@example.org", "ru")
    subscribing.follow_incident(user, incident)
    page = signed_in_client(user, "ru").get("/status/notices/").content.decode()
    assert 'value="off" checked' in page and 'value="all" checked' not in page
    assert "Сайт недоступен" in page


def test_a_phone_number_confirms_by_sms_then_gets_a_short_notice(
    services: Any, committing: Any, settings: Any
) -> None:
    from destek.notify.models import Delivery

    settings.DESTEK_SMS_GATEWAY_URL = "http://127.0.0.1:9/sms"
    client = Client()
    client.cookies["django_language"] = "tr"
    client.post("/status/subscribe/", {"phone": "+994 50 123 45 67", "scope": "all"})
    [confirmation] = Delivery.objects.filter(recipient="+994501234567")
    assert (
        confirmation.transport == "sms" and "/status/subscribe/confirm/" in confirmation.body_text
    )
    open_incident(committing, ["website"])
    assert Delivery.objects.filter(recipient="+994501234567").count() == 1  # not confirmed
    subscribing.confirm(Subscription.objects.get().token)
    open_incident(committing, ["website"])
    notice = Delivery.objects.filter(recipient="+994501234567", template="status_notice").get()
    assert notice.body_text.startswith("Olay açıldı: Website is down")
    assert "/status/incidents/" in notice.body_text and len(notice.body_text) < 160


# --- review fixes --------------------------------------------------------------------------


def post_link(link: str) -> Any:
    return Client().post("/" + link.split("://", 1)[1].split("/", 1)[1])


def test_an_address_with_a_slash_is_told_and_unsubscribed_by_a_link_that_names_no_address(
    services: Any, committing: Any, outbox: Any
) -> None:
    # Django's validate_email accepts "/" in the local part.
    subscribing.clean_address(email="a/b@example.org")
    Subscription.objects.create(
        via="email", address="a/b@example.org", token="s", confirmed_at=T0, everything=True
    )
    ServiceUser.objects.create(user=customer("plain@example.org"), service=services["website"])
    open_incident(committing, ["website"])
    [notice] = mails_to(outbox, "a/b@example.org")
    assert len(mails_to(outbox, "plain@example.org")) == 1
    link = link_in(notice, "/status/unsubscribe/")
    assert "a/b" not in link and "example.org" not in link.split("/status/", 1)[1]
    page = Client().get("/" + link.split("://", 1)[1].split("/", 1)[1])
    assert page.status_code == 200 and "a/b@example.org" in page.content.decode()
    assert "will get no more status notices" in post_link(link).content.decode()
    open_incident(committing, ["website"])
    assert len(mails_to(outbox, "a/b@example.org")) == 1
    assert len(mails_to(outbox, "plain@example.org")) == 2


def test_a_reader_whose_message_fails_does_not_stop_the_others_nor_the_sweep(
    services: Any, committing: Any, outbox: Any, monkeypatch: Any, now: datetime
) -> None:
    def broken(address: str, text: str) -> None:
        raise RuntimeError("the chat carrier is broken")

    # A carrier registered as messaging registers Telegram, whose sending fails.
    monkeypatch.setattr(
        notices, "carriers", [notices.Carrier("telegram", lambda user: "chat-1", broken)]
    )
    chatty = customer("chatty@example.org")
    subscribing.subscribe_account(chatty, via="telegram", everything=True)
    for n in range(3):
        ServiceUser.objects.create(
            user=customer(f"reader{n}@example.org"), service=services["website"]
        )
    incident = open_incident(committing, ["website"])
    for n in range(3):
        assert len(mails_to(outbox, f"reader{n}@example.org")) == 1
    assert Notice.objects.filter(key__startswith="telegram:", sent_at__isnull=True).exists()
    with time_machine.travel(now + timedelta(minutes=2), tick=False):
        update(committing, incident, "Found it.")
    with time_machine.travel(now + timedelta(minutes=20), tick=False), committing():
        assert notices.send_due() == 3  # the three readers' gathered update; not the chat
    assert len(mails_to(outbox, "reader0@example.org")) == 2


def test_the_unsubscribe_link_of_an_address_mail_also_stops_an_accounts_notices_to_it(
    services: Any, committing: Any, outbox: Any
) -> None:
    user = customer("shared@example.org")
    ServiceUser.objects.create(user=user, service=services["website"])
    subscribing.subscribe_account(user, via="email", services=[services["api"].pk])
    Subscription.objects.create(
        via="email", address="shared@example.org", token="s", confirmed_at=T0, everything=True
    )
    open_incident(committing, ["website"])
    [notice] = mails_to(outbox, "shared@example.org")
    assert notice.to == ["shared@example.org"]
    post_link(link_in(notice, "/status/unsubscribe/"))
    open_incident(committing, ["website"])
    open_incident(committing, ["api"])
    assert len(mails_to(outbox, "shared@example.org")) == 1


def test_the_unsubscribe_link_also_stops_a_customer_whose_announcements_address_it_is(
    services: Any, committing: Any, outbox: Any
) -> None:
    user = customer("owner2@example.org")
    ContactAddress.objects.create(
        user=user, email="ops@example.org", verified_at=T0, for_announcements=True
    )
    ServiceUser.objects.create(user=user, service=services["website"])
    Subscription.objects.create(
        via="email", address="ops@example.org", token="s", confirmed_at=T0, everything=True
    )
    open_incident(committing, ["website"])
    [notice] = mails_to(outbox, "ops@example.org")
    post_link(link_in(notice, "/status/unsubscribe/"))
    open_incident(committing, ["website"])
    assert len(mails_to(outbox, "ops@example.org")) == 1


def _readers(count: int, services: dict[str, Service], first: int) -> None:
    for n in range(first, first + count):
        user = customer(f"many{n}@example.org", ("en", "ru", "fa")[n % 3])
        ServiceUser.objects.create(user=user, service=services["website"])
        if n % 2:
            ContactAddress.objects.create(
                user=user, email=f"alt{n}@example.org", verified_at=T0, for_announcements=True
            )


def _announce_queries(services: dict[str, Service]) -> int:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    incident = actions.create_incident(
        None, title={"en": "Slow"}, body={"en": "Looking."}, services=["website"]
    )
    actions.add_incident_update(None, incident, body={"en": "Found it."})
    first, second = incident.events.order_by("pk")
    notices.announce(first.pk)
    with CaptureQueriesContext(connection) as queries:
        told = notices.announce(second.pk, now=timezone.now() + timedelta(hours=1))
    assert told == Notice.objects.filter(event=second).count()
    return len(queries)


def test_announcing_to_forty_readers_costs_no_more_queries_per_reader_than_the_mail_checks(
    services: Any, outbox: Any
) -> None:
    _readers(10, services, 0)
    ten = _announce_queries(services)
    _readers(30, services, 10)
    forty = _announce_queries(services)
    # notify's own look-ups per mail (an unverified or automatic sender?) are all that grow:
    # who is told, the claims, the texts and the inserts are a fixed number of statements.
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from destek.notify.threads import answering_automatic_mail_from, answering_unverified_mail

    with CaptureQueriesContext(connection) as per_mail:
        answering_unverified_mail("many1@example.org")
        answering_automatic_mail_from("many1@example.org")
    assert forty <= ten + 30 * len(per_mail) + 2, (ten, forty, len(per_mail))


def test_a_window_moved_after_its_reminder_is_told_and_reminded_again(
    services: Any, committing: Any, outbox: Any, now: datetime, settings: Any, users: Any
) -> None:
    settings.DESTEK_MAINTENANCE_REMIND_MINUTES = 60
    ServiceUser.objects.create(user=customer("moved@example.org"), service=services["api"])
    with committing():
        window = actions.schedule_maintenance(
            None,
            title={"en": "Database upgrade"},
            body={"en": "Ten minutes of downtime."},
            services=["api"],
            starts_at=now + timedelta(hours=3),
            ends_at=now + timedelta(hours=4),
        )
    with time_machine.travel(now + timedelta(hours=2, minutes=30), tick=False), committing():
        run_maintenance_windows()
    assert len(mails_to(outbox, "moved@example.org")) == 2  # scheduled, reminder
    # The admin moves it a day later, in its change form.
    later = timezone.localtime(now + timedelta(days=1, hours=3))
    form = {
        "title_en": "Database upgrade",
        "body_en": "Ten minutes of downtime.",
        "services": [services["api"].pk],
        "starts_at_0": later.strftime("%Y-%m-%d"),
        "starts_at_1": later.strftime("%H:%M:%S"),
        "ends_at_0": later.strftime("%Y-%m-%d"),
        "ends_at_1": (later + timedelta(hours=1)).strftime("%H:%M:%S"),
    }
    admin = signed_in_client(users["admin"])
    with time_machine.travel(now + timedelta(hours=2, minutes=31), tick=False), committing():
        changed = admin.post(f"/admin/announcements/maintenance/{window.pk}/change/", form)
    assert changed.status_code == 302
    window.refresh_from_db()
    assert window.starts_at == later and window.reminded_at is None
    moved = mails_to(outbox, "moved@example.org")
    assert len(moved) == 3 and "rescheduled" in moved[2].subject
    assert later.strftime("%H:%M") in moved[2].body
    with time_machine.travel(now + timedelta(hours=3, minutes=5), tick=False), committing():
        run_maintenance_windows()  # the old start: nothing starts, nobody is told
    assert Maintenance.objects.get(pk=window.pk).state == "scheduled"
    reminder_time = now + timedelta(days=1, hours=2, minutes=30)
    with time_machine.travel(reminder_time, tick=False), committing():
        run_maintenance_windows()
    assert len(mails_to(outbox, "moved@example.org")) == 4  # reminded of the new start


def test_a_window_planned_to_start_soon_gets_no_reminder_a_minute_after_its_notice(
    services: Any, committing: Any, outbox: Any, now: datetime, settings: Any
) -> None:
    settings.DESTEK_MAINTENANCE_REMIND_MINUTES = 60
    ServiceUser.objects.create(user=customer("soon@example.org"), service=services["api"])
    with committing():
        actions.schedule_maintenance(
            None,
            title={"en": "Quick restart"},
            body={},
            services=["api"],
            starts_at=now + timedelta(minutes=30),
            ends_at=now + timedelta(minutes=40),
        )
    with time_machine.travel(now + timedelta(minutes=1), tick=False), committing():
        run_maintenance_windows()
    assert len(mails_to(outbox, "soon@example.org")) == 1


def test_unfollowing_or_choosing_an_id_that_is_no_number_is_refused_not_an_error(
    services: Any, committing: Any
) -> None:
    incident = open_incident(committing, ["api"])
    user = customer("typo@example.org")
    subscribing.follow_incident(user, incident)
    client = signed_in_client(user)
    for bad in ("abc", "²", ""):
        refused = client.post("/status/notices/", {"action": "unfollow", "incident": bad})
        assert refused.status_code == 400
        assert "Choose an incident to stop following." in refused.content.decode()
    assert Subscription.objects.filter(user=user, incident=incident).exists()
    chosen = client.post(
        "/status/notices/",
        {"action": "set", "via": "email", "scope": "chosen", "services": ["²", services["api"].pk]},
    )
    assert chosen.status_code == 302
    assert [s.slug for s in Subscription.objects.get(user=user, incident=None).services.all()] == [
        "api"
    ]


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(
    "postgres" not in os.environ.get("DATABASE_URL", ""),
    reason="two transactions at once need PostgreSQL (SQLite has one writer)",
)
def test_two_announce_jobs_of_one_incident_at_once_send_one_message(
    services: Any, outbox: Any
) -> None:
    import threading
    import time

    from django.db import connection, transaction

    from destek.notify.actions import outbox_paused

    ServiceUser.objects.create(user=customer("race@example.org"), service=services["website"])
    with outbox_paused():  # written without their jobs: the threads below are the jobs
        incident = actions.create_incident(
            None, title={"en": "Down"}, body={"en": "Looking."}, services=["website"]
        )
        actions.add_incident_update(None, incident, body={"en": "Found it."})
    opened, updated = incident.events.order_by("pk")
    first_done, results = threading.Event(), {}

    def first() -> None:
        try:
            with transaction.atomic():
                results["first"] = notices.announce(opened.pk)
                first_done.set()
                time.sleep(0.5)  # still uncommitted while the second runs
        finally:
            first_done.set()
            connection.close()

    def second() -> None:
        try:
            first_done.wait(5)
            results["second"] = notices.announce(updated.pk)
        finally:
            connection.close()

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert results == {"first": 1, "second": 0}  # the update waits for the window's end
    assert Notice.objects.filter(key="email:race@example.org", sent_at__isnull=True).count() == 1


def test_a_resolution_is_named_once_in_the_notice(
    services: Any, committing: Any, outbox: Any
) -> None:
    Subscription.objects.create(
        via="email", address="olga@example.net", everything=True, language="ru",
        confirmed_at=T0,
    )  # fmt: skip
    incident = open_incident(committing, ["payments"])
    with time_machine.travel(timezone.now() + timedelta(hours=1)):
        update(committing, incident, "Fixed.", state="resolved")
        send_status_notices()
    last = mails_to(outbox, "olga@example.net")[-1]
    assert "Проблема решена (Проблема решена)" not in last.body
    assert "Проблема решена" in last.body
