"""The demo's sample tickets: a working desk for a visitor, made through the real actions."""

from __future__ import annotations

import time
from typing import Any

import pytest

from destek.demo.data import load_demo
from destek.notify.models import Delivery, DemoMail
from destek.tickets.choices import Channel, EventKind, TicketStatus
from destek.tickets.models import Ticket, TicketEvent

pytestmark = pytest.mark.django_db


@pytest.fixture
def samples(db: Any) -> float:
    started = time.monotonic()
    load_demo(knowledge_base=False, sample_tickets=True)
    return time.monotonic() - started


def test_the_demo_desk_has_forty_tickets_in_five_languages_every_status_channel_no_mail(
    samples: float,
) -> None:
    tickets = Ticket.objects.all()
    assert 38 <= tickets.count() <= 45
    assert set(tickets.values_list("language", flat=True)) == {"az", "en", "fa", "ru", "tr"}
    assert set(tickets.values_list("department__slug", flat=True)) == {"technical", "finance"}
    assert set(tickets.values_list("status", flat=True)) == set(TicketStatus.values)
    assert set(tickets.values_list("channel", flat=True)) == {c.value for c in Channel}
    assert TicketEvent.objects.filter(kind=EventKind.NOTE).exists()
    assert TicketEvent.objects.filter(kind=EventKind.REPLY).count() > 30
    # Made through the real actions, yet nobody is mailed: they are no one's real tickets.
    assert not Delivery.objects.exists()
    assert not DemoMail.objects.exists()


def test_the_demo_has_a_vip_ticket_a_breached_one_and_a_merged_one(samples: float) -> None:
    vip = Ticket.objects.get(subject="Checkout page times out for our event attendees")
    assert vip.customer_vip and vip.sla_policy is not None and vip.sla_policy.name == "VIP"
    breached = Ticket.objects.get(subject="Sunucu tamamen kullanılamıyor")
    assert breached.status == TicketStatus.NEW and breached.first_response_at is None
    assert breached.first_response_breached_at is not None
    assert TicketEvent.objects.filter(ticket=breached, kind=EventKind.SLA_BREACH).exists()
    duplicate = Ticket.objects.get(subject="Çıxarış sorğusu hələ də gözləmədədir")
    assert duplicate.merged_into is not None and duplicate.status == TicketStatus.CLOSED
    assert duplicate.merged_into.messages.count() >= 3


def test_the_sample_tickets_happened_in_the_past_in_order(samples: float) -> None:
    ticket = Ticket.objects.get(subject="Не проходит оплата продления хостинга картой")
    assert ticket.status == TicketStatus.RESOLVED
    times = list(ticket.messages.order_by("id").values_list("created_at", flat=True))
    assert times == sorted(times) and len(times) == 4
    assert ticket.created_at == times[0] < ticket.first_response_at  # type: ignore[operator]


def test_loading_the_demo_twice_does_not_double_the_tickets_and_is_quick(
    samples: float,
) -> None:
    count = Ticket.objects.count()
    load_demo(knowledge_base=False, sample_tickets=True)
    assert Ticket.objects.count() == count
    assert samples < 30  # a few seconds on a quiet machine


def test_the_test_suites_demo_has_no_sample_tickets(demo: None) -> None:
    assert not Ticket.objects.exists()
