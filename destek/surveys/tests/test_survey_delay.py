"""The survey goes out a number of business minutes after the ticket was resolved, on the
ticket's calendar; a sweep sends the ones a lost job never did."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from typing import Any

import pytest
import time_machine
from django.core.mail import EmailMessage

from destek.sla.models import Calendar, WeeklyHours
from destek.surveys import actions, jobs, timing
from destek.surveys.models import SurveySent
from destek.tickets.models import Policy, Ticket

pytestmark = pytest.mark.django_db

FRIDAY_1730 = datetime(2026, 12, 4, 17, 30, tzinfo=UTC)
MONDAY_0930 = datetime(2026, 12, 7, 9, 30, tzinfo=UTC)


@pytest.fixture
def office_hours(settings: Any) -> Policy:
    """Monday to Friday, 09:00-18:00 UTC, for every ticket; 60 business minutes of delay."""
    settings.DESTEK_SURVEY_DELAY_MINUTES = 60
    settings.DESTEK_SURVEY_EVERY_DAYS = 7
    calendar = Calendar.objects.create(name="Weekdays UTC", time_zone="UTC")
    for weekday in range(5):
        WeeklyHours.objects.create(calendar=calendar, weekday=weekday, start=time(9), end=time(18))
    return Policy.objects.create(name="Weekdays", position=0, calendar=calendar)


def resolve_at(when: datetime, customer: Any, agent: Any) -> Ticket:
    with time_machine.travel(when - timedelta(minutes=5), tick=False):
        number = int(customer.file_ticket()["number"])
    with time_machine.travel(when, tick=False):
        agent.post(f"tickets/{number}/messages", {"body": "Fixed.", "status": "resolved"})
    return Ticket.objects.get(number=number)


def survey_mails(outbox: list[EmailMessage]) -> list[EmailMessage]:
    return [m for m in outbox if "How did we do" in m.subject]


def test_resolved_friday_1730_with_60_business_minutes_is_due_monday_0930(
    office_hours: Policy, customer: Any, agent: Any
) -> None:
    ticket = resolve_at(FRIDAY_1730, customer, agent)
    assert ticket.sla_policy_id == office_hours.pk
    assert timing.survey_due(ticket) == MONDAY_0930


@pytest.mark.parametrize(
    ("resolved", "due"),
    [
        (datetime(2026, 12, 2, 10, 0, tzinfo=UTC), datetime(2026, 12, 2, 11, 0, tzinfo=UTC)),
        (datetime(2026, 12, 2, 17, 45, tzinfo=UTC), datetime(2026, 12, 3, 9, 45, tzinfo=UTC)),
        (datetime(2026, 12, 5, 12, 0, tzinfo=UTC), datetime(2026, 12, 7, 10, 0, tzinfo=UTC)),
        (datetime(2026, 12, 2, 6, 0, tzinfo=UTC), datetime(2026, 12, 2, 10, 0, tzinfo=UTC)),
    ],
)
def test_the_delay_counts_only_working_time(
    office_hours: Policy, customer: Any, resolved: datetime, due: datetime
) -> None:
    ticket = Ticket.objects.get(number=customer.file_ticket()["number"])
    ticket.sla_policy = office_hours
    assert timing.survey_due(ticket, resolved) == due


def test_zero_minutes_is_at_once_even_outside_working_hours(
    office_hours: Policy, customer: Any, settings: Any
) -> None:
    settings.DESTEK_SURVEY_DELAY_MINUTES = 0
    ticket = Ticket.objects.get(number=customer.file_ticket()["number"])
    ticket.sla_policy = office_hours
    assert timing.survey_due(ticket, FRIDAY_1730) == FRIDAY_1730


def test_the_job_is_scheduled_for_the_due_instant(
    office_hours: Policy, customer: Any, agent: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    scheduled: list[dict[str, Any]] = []
    monkeypatch.setattr(jobs.send_survey, "schedule", lambda **kw: scheduled.append(kw))
    ticket = resolve_at(FRIDAY_1730, customer, agent)
    assert scheduled == [{"args": (ticket.pk,), "eta": MONDAY_0930}]


def test_a_job_run_early_sends_nothing_and_the_sweep_sends_once_when_due(
    office_hours: Policy,
    customer: Any,
    agent: Any,
    outbox: list[EmailMessage],
    monkeypatch: pytest.MonkeyPatch,
    run_job: Any,
) -> None:
    monkeypatch.setattr(jobs.send_survey, "schedule", lambda **kw: None)  # the job is lost
    ticket = resolve_at(FRIDAY_1730, customer, agent)
    with time_machine.travel(FRIDAY_1730 + timedelta(minutes=61), tick=False):
        assert actions.send_due_survey(ticket.pk) is None  # wall-clock hour: not yet
        assert actions.sweep_due_surveys() == 0
    with time_machine.travel(MONDAY_0930 - timedelta(minutes=5), tick=False):
        assert actions.sweep_due_surveys() == 0
    with time_machine.travel(MONDAY_0930 + timedelta(minutes=1), tick=False):
        assert run_job(jobs.sweep_due_surveys.call_local) == 1
        assert actions.sweep_due_surveys() == 0
        assert run_job(jobs.send_survey.call_local, ticket.pk) is False  # late: nothing twice
    assert SurveySent.objects.filter(ticket=ticket).count() == 1
    assert len(survey_mails(outbox)) == 1


def test_the_sweep_is_bounded_per_run(
    office_hours: Policy, customer: Any, agent: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from destek.accounts.models import User

    monkeypatch.setattr(jobs.send_survey, "schedule", lambda **kw: None)
    monkeypatch.setattr(actions, "SWEEP_BATCH", 1)
    resolve_at(FRIDAY_1730, customer, agent)
    other = User.objects.get(email="customer2@example.com")
    Ticket.objects.filter(customer__email="customer@example.com").update(customer=other)
    resolve_at(FRIDAY_1730, customer, agent)
    with time_machine.travel(MONDAY_0930 + timedelta(minutes=1), tick=False):
        assert actions.sweep_due_surveys() == 1
        assert actions.sweep_due_surveys() == 1
        assert actions.sweep_due_surveys() == 0


def test_a_ticket_reopened_and_resolved_again_is_asked_after_the_latest_resolution(
    office_hours: Policy, customer: Any, agent: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(jobs.send_survey, "schedule", lambda **kw: None)
    ticket = resolve_at(datetime(2026, 12, 2, 10, 0, tzinfo=UTC), customer, agent)
    with time_machine.travel(datetime(2026, 12, 2, 10, 30, tzinfo=UTC), tick=False):
        agent.patch(f"tickets/{ticket.number}", {"status": "open"})
    resolve_again = datetime(2026, 12, 2, 10, 40, tzinfo=UTC)
    with time_machine.travel(resolve_again, tick=False):
        agent.patch(f"tickets/{ticket.number}", {"status": "resolved"})
    with time_machine.travel(datetime(2026, 12, 2, 11, 1, tzinfo=UTC), tick=False):
        assert actions.send_due_survey(ticket.pk) is None  # the first resolution's job
    with time_machine.travel(resolve_again + timedelta(minutes=61), tick=False):
        assert actions.send_due_survey(ticket.pk) is not None


def test_a_calendar_without_working_time_falls_back_to_wall_clock_minutes(
    office_hours: Policy, customer: Any
) -> None:
    office_hours.calendar.hours.all().delete()
    ticket = Ticket.objects.get(number=customer.file_ticket()["number"])
    ticket.sla_policy = office_hours
    assert timing.survey_due(ticket, FRIDAY_1730) == FRIDAY_1730 + timedelta(minutes=60)


def test_tickets_the_survey_cannot_reach_do_not_keep_the_sweep_from_the_others(
    office_hours: Policy,
    customer: Any,
    agent: Any,
    outbox: list[EmailMessage],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from destek.accounts.models import User

    monkeypatch.setattr(jobs.send_survey, "schedule", lambda **kw: None)  # the jobs are lost
    monkeypatch.setattr(actions, "SWEEP_BATCH", 1)
    # The oldest: mail switched off for it, so no survey can go (nor will: nothing changes).
    muted = resolve_at(FRIDAY_1730, customer, agent)
    Ticket.objects.filter(pk=muted.pk).update(notify_customer=False)
    other = User.objects.get(email="customer2@example.com")
    Ticket.objects.filter(pk=muted.pk).update(customer=other)
    reachable = resolve_at(FRIDAY_1730 + timedelta(minutes=1), customer, agent)
    with time_machine.travel(MONDAY_0930 + timedelta(minutes=5), tick=False):
        actions.sweep_due_surveys()
        actions.sweep_due_surveys()
    assert SurveySent.objects.filter(ticket=reachable).count() == 1
    assert not SurveySent.objects.filter(ticket=muted).exists()
