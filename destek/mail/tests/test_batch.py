"""Many messages at once (the spool, IMAP): one transaction for a batch, and still an outcome
of its own for each message: a ticket, a refusal, a quarantine, a duplicate."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from destek.mail import actions as mail_actions
from destek.mail import spool
from destek.mail.actions import (
    Incoming,
    Outcome,
    TemporaryFailure,
    Unacceptable,
    process_batch,
)
from destek.mail.jobs import drain_mail_spool_now
from destek.mail.models import InboundMessage, InboundStatus
from destek.mail.tests.test_pipeline import compose, mails_to
from destek.tickets.models import Ticket

pytestmark = pytest.mark.django_db


@pytest.fixture
def file_batch(demo: None, django_capture_on_commit_callbacks: Any, outbox: list[Any]) -> Any:
    def run(*raws: bytes) -> list[Any]:
        with django_capture_on_commit_callbacks(execute=True):
            return process_batch([Incoming(raw, "test") for raw in raws])

    return run


def raw_files(settings: Any) -> list[Path]:
    root = Path(settings.MEDIA_ROOT) / "mail" / "raw"
    return sorted(root.rglob("*.eml")) if root.exists() else []


def test_each_message_of_a_batch_gets_its_own_outcome(file_batch: Any, settings: Any) -> None:
    first = compose(subject="Kartla ödəniş keçmir", message_id="<batch-1@example.org>")
    results = file_batch(
        first,
        compose(
            sender="away@example.net",
            subject="Out of office: back on Monday",
            body="I am away.",
        ),
        b"  \r\n",
        b"\x00\x01\x02 not a mail at all \xff\xfe",
        first,  # the same message twice in one batch
        compose(sender="ivan@example.ru", subject="Не проходит оплата", body="Ошибка 51."),
    )
    stored, away, empty, unreadable, again, other = results
    assert stored.status == InboundStatus.STORED
    assert (away.status, away.reason) == (InboundStatus.IGNORED, "out-of-office")
    assert isinstance(empty, Unacceptable)
    assert unreadable.status == InboundStatus.QUARANTINED
    assert again.duplicate and again.ticket_number == stored.ticket_number
    assert other.status == InboundStatus.STORED and other.ticket_number != stored.ticket_number
    assert Ticket.objects.count() == 2
    assert InboundMessage.objects.count() == 4  # the empty one is refused, the copy is a duplicate
    assert len(raw_files(settings)) == 4, "no raw file without its record"
    assert mails_to("leyla@example.org") and mails_to("ivan@example.ru")


def test_a_fault_in_one_message_of_a_batch_quarantines_that_one_only(
    file_batch: Any, monkeypatch: pytest.MonkeyPatch, users: dict[str, Any]
) -> None:
    real = mail_actions._thread

    def broken_for_one(parsed: Any, *args: Any) -> Any:
        if "broken" in parsed.subject:
            raise RuntimeError("injected fault")
        return real(parsed, *args)

    monkeypatch.setattr(mail_actions, "_thread", broken_for_one)
    before, bad, after = file_batch(
        compose(subject="Hesab-faktura səhvdir"),
        compose(sender="ivan@example.ru", subject="This one is broken", body="Ошибка."),
        compose(sender="reza@example.ir", subject="پرداخت انجام نمی‌شود", body="خطا"),
    )
    assert before.status == after.status == InboundStatus.STORED
    assert bad.status == InboundStatus.QUARANTINED
    assert "injected fault" in InboundMessage.objects.get(pk=bad.inbound_id).error
    assert sorted(Ticket.objects.values_list("subject", flat=True)) == [
        "Hesab-faktura səhvdir",
        "پرداخت انجام نمی‌شود",
    ]
    assert len(mails_to(users["admin"].email)) == 1, "the admins hear of the one quarantine"


def test_a_temporary_failure_in_a_batch_keeps_what_came_before_and_leaves_the_rest(
    file_batch: Any, monkeypatch: pytest.MonkeyPatch, settings: Any
) -> None:
    real = mail_actions._store_parts

    def disk_full_for_one(user: Any, parts: Any) -> Any:
        if parts:
            raise TemporaryFailure("no room to store the attachments")
        return real(user, parts)

    monkeypatch.setattr(mail_actions, "_store_parts", disk_full_for_one)
    with_file = compose(
        sender="ivan@example.ru",
        subject="Счёт во вложении",
        body="Смотрите файл.",
        files=(("invoice.pdf", b"%PDF-1.4 0000", "application/pdf"),),
    )
    results = file_batch(
        compose(subject="Hesab-faktura səhvdir"),
        with_file,
        compose(sender="reza@example.ir", subject="پرداخت انجام نمی‌شود", body="خطا"),
    )
    assert len(results) == 2, "the third is not tried: its adapter keeps it"
    filed, failed = results
    assert isinstance(filed, Outcome) and filed.status == InboundStatus.STORED
    assert isinstance(failed, TemporaryFailure)
    assert list(Ticket.objects.values_list("subject", flat=True)) == ["Hesab-faktura səhvdir"]
    waiting = InboundMessage.objects.get(status=InboundStatus.RECEIVED)
    assert waiting.subject == "Счёт во вложении"  # kept waiting; the next delivery files it
    assert len(raw_files(settings)) == 2, "the untried message left no raw file behind"

    monkeypatch.undo()
    [again] = file_batch(with_file)
    assert again.status == InboundStatus.STORED
    assert Ticket.objects.get(number=again.ticket_number).attachments.count() == 1


def test_the_spool_files_its_messages_in_a_batch_and_keeps_the_rest_after_a_failure(
    demo: None, settings: Any, tmp_path: Path, run_job: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings.DESTEK_MAIL_SPOOL_DIR = root = tmp_path / "spool"
    for subject in ("Birinci", "İkinci", "Üçüncü"):
        spool.write(compose(subject=subject), root, source="pipe")

    def then_the_database_goes(mails: list[Incoming]) -> list[Any]:
        return [*process_batch(mails[:1]), TemporaryFailure("the database is away")]

    monkeypatch.setattr("destek.mail.jobs.process_batch", then_the_database_goes)
    [first] = run_job(drain_mail_spool_now)
    assert Ticket.objects.get(number=first.ticket_number).subject == "Birinci"
    assert len(list((root / "cur").iterdir())) == 1, "the failed one stays claimed"
    assert len(spool.waiting(root)) == 1, "the untried one waits again"

    monkeypatch.undo()
    spool.reclaim(root, older_than=-1)
    assert len(run_job(drain_mail_spool_now)) == 2
    assert sorted(Ticket.objects.values_list("subject", flat=True)) == [
        "Birinci",
        "Üçüncü",
        "İkinci",
    ]
    assert not list((root / "cur").iterdir()) and not spool.waiting(root)
