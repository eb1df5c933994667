"""Every .eml fixture through the whole pipeline, as a mail server's pipe would deliver it:
nothing crashes, nothing is lost, and what a person would expect happens to each."""

from __future__ import annotations

import contextlib
import random
from pathlib import Path
from typing import Any

import pytest
from django.core.mail import EmailMessage
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from destek.mail.actions import TemporaryFailure, Unacceptable, process_message
from destek.mail.models import InboundMessage, InboundStatus
from destek.tickets.models import Ticket

pytestmark = pytest.mark.django_db

FIXTURES = Path(__file__).parent / "fixtures"
CORPUS = sorted(FIXTURES.glob("*.eml"))

#: Fixtures that must not open a ticket (bounces, auto-replies, lists...), by name.
NO_TICKET = {
    "bounce_exim.eml",
    "dsn_delayed.eml",
    "dsn_permanent.eml",
    "ooo_exchange.eml",
}


@pytest.fixture
def deliver(demo: None, django_capture_on_commit_callbacks: Any, outbox: list[EmailMessage]) -> Any:
    def run(raw: bytes) -> Any:
        with django_capture_on_commit_callbacks(execute=True):
            return process_message(raw, "corpus")

    return run


@pytest.mark.parametrize("path", CORPUS, ids=[p.name for p in CORPUS])
def test_each_real_world_message_is_kept_and_ends_in_a_ticket_or_a_reason(
    deliver: Any, path: Path
) -> None:
    raw = path.read_bytes()
    try:
        outcome = deliver(raw)
    except Unacceptable:
        assert not raw.strip(), f"{path.name} was refused but is not empty"
        return
    kept = InboundMessage.objects.get(pk=outcome.inbound_id)
    with kept.raw.open("rb") as handle:
        assert handle.read() == raw, "the raw bytes are kept as they came"
    assert outcome.status in (
        InboundStatus.STORED,
        InboundStatus.IGNORED,
        InboundStatus.QUARANTINED,
    )
    if outcome.status == InboundStatus.STORED:
        ticket = Ticket.objects.get(number=outcome.ticket_number)
        assert ticket.messages.exists()
    elif outcome.status == InboundStatus.IGNORED:
        assert outcome.reason, "an ignored message says why"
    else:
        assert kept.error and kept.keep
    if path.name in NO_TICKET:
        assert outcome.status == InboundStatus.IGNORED, outcome


def test_the_whole_corpus_twice_files_each_ticket_once(deliver: Any) -> None:
    for path in CORPUS:
        with contextlib.suppress(Unacceptable):
            deliver(path.read_bytes())
    tickets, inbound = Ticket.objects.count(), InboundMessage.objects.count()
    for path in CORPUS:
        with contextlib.suppress(Unacceptable):
            assert deliver(path.read_bytes()).duplicate
    assert (Ticket.objects.count(), InboundMessage.objects.count()) == (tickets, inbound)


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture], max_examples=60)
@given(seed=st.integers(min_value=0, max_value=2**32 - 1), flips=st.integers(1, 40))
def test_damaged_messages_never_crash_the_pipeline(deliver: Any, seed: int, flips: int) -> None:
    rng = random.Random(seed)
    # Without its Message-ID, and marked with the seed: a new message each time, not a duplicate.
    original = rng.choice(CORPUS).read_bytes().replace(b"Message-ID:", b"X-Was-Message-ID:")
    raw = bytearray(b"X-Mutation: " + str(seed).encode() + b"\r\n" + original)
    for _ in range(flips):
        raw[rng.randrange(len(raw))] = rng.randrange(256)
    try:
        outcome = deliver(bytes(raw))
    except (Unacceptable, TemporaryFailure):
        return
    assert outcome.status in (
        InboundStatus.STORED,
        InboundStatus.IGNORED,
        InboundStatus.QUARANTINED,
    )


def test_bytes_no_charset_can_decode_are_stored_as_replacement_characters(deliver: Any) -> None:
    raw = (
        b"From: =?x-unknown?B?zsvL?= <weird@example.org>\r\n"
        b"To: support@destek.localhost\r\n"
        b"Subject: Payment \xcb\xcc failed for order 81\r\n"
        b"Content-Type: text/plain; charset=x-unknown\r\n\r\n"
        b"The card payment \xff\xfe failed twice.\r\n"
    )
    outcome = deliver(raw)
    assert outcome.status == InboundStatus.STORED
    ticket = Ticket.objects.get(number=outcome.ticket_number)
    assert "failed for order 81" in ticket.subject
