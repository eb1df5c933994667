"""The outbox under faults: the database away right after a send, a killed worker, a lost
queue, an SMTP server that goes down and comes back."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.core import mail
from django.core.mail import EmailMessage
from django.db import OperationalError, connection
from django.utils import timezone

from destek.notify import claims, journal
from destek.notify.jobs import PROBE_DELAYS, deliver_now, probe_now, sweep_outbox_now
from destek.notify.models import Delivery, OutboxWorker, TransportState

pytestmark = pytest.mark.django_db

LOCMEM = "django.core.mail.backends.locmem.EmailBackend"
HERE = "destek.notify.tests.test_reliability"


@pytest.fixture(autouse=True)
def _own_journal(settings: Any, tmp_path: Any) -> None:
    settings.DESTEK_OUTBOX_JOURNAL_DIR = tmp_path / "journal"


class Database:
    """Takes the database away (every query fails as with PostgreSQL stopped) and back."""

    def __init__(self) -> None:
        self.down = False
        self.failures_left: int | None = None

    def __call__(
        self, execute: Callable[..., Any], sql: str, params: Any, many: bool, context: Any
    ) -> Any:
        if self.down:
            if self.failures_left is not None:
                self.failures_left -= 1
                if self.failures_left <= 0:
                    self.down = False
            raise OperationalError("server closed the connection unexpectedly")
        return execute(sql, params, many, context)


DATABASE = Database()


@pytest.fixture
def database() -> Iterator[Database]:
    DATABASE.down, DATABASE.failures_left = False, None
    with connection.execute_wrapper(DATABASE):
        yield DATABASE
    DATABASE.down = False


class SendsThenDatabaseGoes:
    """An SMTP server that accepts the message, after which the database is gone."""

    def __init__(self, **kwargs: Any) -> None:
        pass

    def send_messages(self, messages: Any) -> int:
        mail.outbox.extend(messages)
        DATABASE.down = True
        return len(messages)


class DownBackend:
    """An SMTP server that is not there; counts the tries."""

    tries = 0

    def __init__(self, **kwargs: Any) -> None:
        pass

    def send_messages(self, messages: Any) -> int:
        DownBackend.tries += 1
        raise ConnectionRefusedError(111, "Connection refused")


def one_delivery(customer: Any, settings: Any) -> Delivery:
    """A ticket's confirmation to the customer, waiting (the SMTP server was down)."""
    settings.EMAIL_BACKEND = f"{HERE}.DownBackend"
    customer.file_ticket()
    Delivery.objects.update(status="queued", next_attempt_at=timezone.now(), attempts=0)
    TransportState.objects.all().delete()
    return Delivery.objects.get(recipient="customer@example.com")


def sent_copies(delivery: Delivery) -> int:
    return sum(1 for m in mail.outbox if m.extra_headers["Message-ID"] == delivery.message_id)


@pytest.mark.django_db(transaction=True)
def test_a_mail_sent_just_before_the_database_goes_away_is_not_sent_again(
    customer: Any, settings: Any, database: Database, outbox: list[EmailMessage]
) -> None:
    delivery = one_delivery(customer, settings)
    settings.EMAIL_BACKEND = f"{HERE}.SendsThenDatabaseGoes"
    assert deliver_now(delivery.pk) == "sent_unrecorded"
    database.down = False
    delivery.refresh_from_db()
    assert delivery.status == "sending", "the database never heard of the send"
    assert journal.lookup(delivery.message_id) is not None
    settings.EMAIL_BACKEND = LOCMEM
    # The claim goes stale and every sweep after the outage looks for due mail.
    with time_machine.travel(timezone.now() + timedelta(minutes=15), tick=False):
        sweep_outbox_now()
        sweep_outbox_now()
    delivery.refresh_from_db()
    assert delivery.status == "sent"
    assert sent_copies(delivery) == 1
    assert journal.lookup(delivery.message_id) is None, "replayed and forgotten"


@pytest.mark.django_db(transaction=True)
def test_a_dead_workers_claim_that_the_journal_shows_sent_is_marked_sent_not_resent(
    customer: Any, settings: Any, database: Database, outbox: list[EmailMessage]
) -> None:
    delivery = one_delivery(customer, settings)
    settings.EMAIL_BACKEND = f"{HERE}.SendsThenDatabaseGoes"
    assert deliver_now(delivery.pk) == "sent_unrecorded"
    database.down = False
    # That worker process on this machine then died; another one finds its claim.
    dead = f"{claims.host()}:999999:dead"
    Delivery.objects.filter(pk=delivery.pk).update(claimed_by=dead)
    settings.EMAIL_BACKEND = LOCMEM
    with time_machine.travel(timezone.now() + timedelta(minutes=2), tick=False):
        assert deliver_now(delivery.pk) == "already_sent"
    delivery.refresh_from_db()
    assert delivery.status == "sent"
    assert sent_copies(delivery) == 1


@pytest.mark.django_db(transaction=True)
def test_marking_a_mail_sent_is_retried_when_the_database_is_back_within_seconds(
    customer: Any, settings: Any, database: Database, outbox: list[EmailMessage]
) -> None:
    delivery = one_delivery(customer, settings)
    settings.EMAIL_BACKEND = f"{HERE}.SendsThenDatabaseGoes"
    database.failures_left = 2
    assert deliver_now(delivery.pk) == "sent"
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == ("sent", 1)


def test_a_killed_workers_claim_is_taken_over_once_its_heartbeat_is_a_minute_old(
    customer: Any, settings: Any, outbox: list[EmailMessage]
) -> None:
    delivery = one_delivery(customer, settings)
    settings.EMAIL_BACKEND = LOCMEM
    start = timezone.now()
    OutboxWorker.objects.create(name="other:1:abc", host="other", pid=1, seen_at=start)
    Delivery.objects.filter(pk=delivery.pk).update(
        status="sending", claimed_at=start, claimed_by="other:1:abc"
    )
    claims.touch(start - timedelta(minutes=5))  # this worker has been up for a while
    with time_machine.travel(start + timedelta(seconds=30), tick=False):
        assert deliver_now(delivery.pk) == "skipped", "its worker is alive"
    with time_machine.travel(start + timedelta(minutes=3), tick=False):
        OutboxWorker.objects.filter(name="other:1:abc").update(seen_at=timezone.now())
        assert deliver_now(delivery.pk) == "skipped", "a long send of a live worker"
    with time_machine.travel(start + timedelta(minutes=4, seconds=5), tick=False):
        assert deliver_now(delivery.pk) == "sent", "silent for over a minute: dead"
    assert sent_copies(delivery) == 1


def test_after_losing_the_database_a_worker_waits_a_minute_before_taking_over_claims(
    customer: Any, settings: Any, outbox: list[EmailMessage]
) -> None:
    delivery = one_delivery(customer, settings)
    settings.EMAIL_BACKEND = LOCMEM
    start = timezone.now()
    OutboxWorker.objects.create(
        name="other:1:abc", host="other", pid=1, seen_at=start - timedelta(minutes=5)
    )
    Delivery.objects.filter(pk=delivery.pk).update(
        status="sending", claimed_at=start, claimed_by="other:1:abc"
    )
    # Every heartbeat is old after an outage: the other worker may well be alive.
    claims.touch(start, restart=True)
    assert deliver_now(delivery.pk) == "skipped"
    with time_machine.travel(start + timedelta(seconds=61), tick=False):
        assert deliver_now(delivery.pk) == "sent"


def test_the_sweep_drains_everything_due_in_one_run_not_200_a_minute(
    customer: Any, settings: Any, outbox: list[EmailMessage]
) -> None:
    template = one_delivery(customer, settings)
    settings.EMAIL_BACKEND = LOCMEM
    now = timezone.now()
    Delivery.objects.bulk_create(
        Delivery(
            template=template.template,
            recipient=f"c{i}@example.com",
            language="en",
            subject="s",
            body_text="b",
            message_id=f"<bulk.{i}@destek.localhost>",
            next_attempt_at=now,
        )
        for i in range(450)
    )
    due = Delivery.objects.count()
    assert due > 450
    assert sweep_outbox_now() == due
    assert not Delivery.objects.exclude(status="sent").exists()
    assert len(outbox) == due


def test_while_smtp_is_down_one_probe_tries_it_at_5_15_30_then_60_seconds(
    customer: Any, settings: Any, outbox: list[EmailMessage]
) -> None:
    assert PROBE_DELAYS == (5, 15, 30, 60)
    settings.EMAIL_BACKEND = f"{HERE}.DownBackend"
    DownBackend.tries = 0
    for i in range(3):
        customer.file_ticket(subject=f"Report {i} is blank", body=f"Report {i} shows nothing.")
    assert DownBackend.tries == 1, "once down, nothing else is tried"
    state = TransportState.objects.get(transport="email")
    assert state.next_probe_at is not None and state.down_since is not None
    assert state.next_probe_at - state.down_since == timedelta(seconds=5)
    at = state.next_probe_at
    waiting = Delivery.objects.filter(status="queued", attempts=0).first()
    assert waiting is not None
    with time_machine.travel(at - timedelta(seconds=1), tick=False):
        assert deliver_now(waiting.pk) == "deferred"
        assert sweep_outbox_now() == 0
    for delay in (15, 30, 60, 60):
        with time_machine.travel(at, tick=False):
            assert probe_now("email") == "retry"
        state = TransportState.objects.get(transport="email")
        assert state.next_probe_at is not None
        assert state.next_probe_at - at == timedelta(seconds=delay)
        at = state.next_probe_at
    assert DownBackend.tries == 5


def test_when_smtp_comes_back_every_waiting_mail_goes_out_within_seconds(
    customer: Any, settings: Any, outbox: list[EmailMessage]
) -> None:
    settings.EMAIL_BACKEND = f"{HERE}.DownBackend"
    for i in range(3):
        customer.file_ticket(subject=f"Report {i} is blank", body=f"Report {i} shows nothing.")
    waiting = Delivery.objects.count()
    assert waiting >= 3 and not Delivery.objects.filter(status="sent").exists()
    settings.EMAIL_BACKEND = LOCMEM
    back = TransportState.objects.get().next_probe_at
    with time_machine.travel(back, tick=False):
        assert probe_now("email") == "sent"
    # The first mail's own backoff said a minute; the probe 5 seconds; all went at once.
    assert Delivery.objects.filter(status="sent").count() == waiting
    assert TransportState.objects.get().failures == 0


@pytest.mark.django_db(transaction=True)
def test_a_queued_delivery_during_a_database_outage_waits_for_the_sweep_quietly(
    customer: Any, settings: Any, database: Database, caplog: pytest.LogCaptureFixture
) -> None:
    from destek.lib import outage
    from destek.notify.jobs import deliver, sweep_outbox

    outage.forget()
    delivery = one_delivery(customer, settings)
    settings.EMAIL_BACKEND = LOCMEM
    database.down = True
    for _ in range(20):
        assert deliver.call_local(delivery.pk) == "database_unavailable"
    assert sweep_outbox.call_local() == 0
    database.down = False
    outage.forget()
    lines = [r for r in caplog.records if r.name == "destek.outage"]
    assert len(lines) == 1 and lines[0].exc_info is None
    assert sweep_outbox_now() >= 1
    delivery.refresh_from_db()
    assert delivery.status == "sent"


class SlowBackend:
    """An SMTP server that takes 20 ms a message."""

    def __init__(self, **kwargs: Any) -> None:
        pass

    def send_messages(self, messages: Any) -> int:
        import time

        time.sleep(0.02)
        mail.outbox.extend(messages)
        return len(messages)


def test_the_sweep_stops_at_its_time_budget_and_leaves_the_rest_due(
    customer: Any, settings: Any, outbox: list[EmailMessage]
) -> None:
    one_delivery(customer, settings)
    settings.EMAIL_BACKEND = f"{HERE}.SlowBackend"
    due = Delivery.objects.count()
    Delivery.objects.bulk_create(
        Delivery(
            template="ticket_created",
            recipient=f"c{i}@example.com",
            language="en",
            subject="s",
            body_text="b",
            message_id=f"<slow.{i}@destek.localhost>",
        )
        for i in range(60)
    )
    handled = sweep_outbox_now(budget=0.3)
    assert 0 < handled < due + 60
    assert Delivery.objects.filter(status="queued").count() == due + 60 - handled


def test_a_journal_that_cannot_be_written_does_not_stop_the_mail_being_marked_sent(
    customer: Any, settings: Any, tmp_path: Any, outbox: list[EmailMessage]
) -> None:
    delivery = one_delivery(customer, settings)
    settings.EMAIL_BACKEND = LOCMEM
    blocked = tmp_path / "not-a-directory"
    blocked.write_text("")
    settings.DESTEK_OUTBOX_JOURNAL_DIR = blocked
    assert deliver_now(delivery.pk) == "sent"
    delivery.refresh_from_db()
    assert delivery.status == "sent"
    assert sweep_outbox_now() >= 0, "the sweep carries on without its journal"
