"""Each ticket keeps the business minutes to its first answer and to its resolution, counted
on its policy's calendar as its clocks count them, and the reports' medians read them."""

from __future__ import annotations

from datetime import UTC, datetime, time
from typing import Any

import pytest
import time_machine
from django.core.management import call_command

from conftest import signed_in_client as desk_for
from destek.accounts.models import User
from destek.sla.models import Calendar, WeeklyHours
from destek.tickets import reports
from destek.tickets.models import Policy, Ticket

pytestmark = pytest.mark.django_db

FRIDAY_1700 = datetime(2026, 11, 27, 17, 0, tzinfo=UTC)
MONDAY_1000 = datetime(2026, 11, 30, 10, 0, tzinfo=UTC)
MONDAY_1200 = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


@pytest.fixture
def office_hours() -> Policy:
    """Monday to Friday, 09:00-18:00 UTC, for every ticket."""
    calendar = Calendar.objects.create(name="Weekdays UTC", time_zone="UTC")
    for weekday in range(5):
        WeeklyHours.objects.create(calendar=calendar, weekday=weekday, start=time(9), end=time(18))
    return Policy.objects.create(
        name="Weekdays", position=0, calendar=calendar, first_response_minutes=240
    )


def filed_friday_answered_monday(
    customer: Any, agent: Any, status: str = "open", subject: str = "Printer"
) -> Ticket:
    with time_machine.travel(FRIDAY_1700, tick=False):
        number = customer.file_ticket(subject, f"{subject}: nothing works.")["number"]
    with time_machine.travel(MONDAY_1000, tick=False):
        agent.post(f"tickets/{number}/messages", {"body": "Looking.", "status": status})
    return Ticket.objects.get(number=number)


def test_a_ticket_filed_friday_1700_and_answered_monday_1000_took_two_business_hours(
    office_hours: Policy, customer: Any, agent: Any
) -> None:
    ticket = filed_friday_answered_monday(customer, agent)
    assert ticket.first_response_business_minutes == 60 + 60
    assert ticket.resolution_business_minutes is None


def test_resolution_counts_business_minutes_from_filing(
    office_hours: Policy, customer: Any, agent: Any
) -> None:
    ticket = filed_friday_answered_monday(customer, agent)
    with time_machine.travel(MONDAY_1200, tick=False):
        agent.patch(f"tickets/{ticket.number}", {"status": "resolved"})
    ticket.refresh_from_db()
    assert (ticket.first_response_business_minutes, ticket.resolution_business_minutes) == (
        120,
        60 + 180,
    )


def test_time_awaiting_the_customer_does_not_count(
    office_hours: Policy, customer: Any, agent: Any
) -> None:
    ticket = filed_friday_answered_monday(customer, agent, status="pending")
    with time_machine.travel(MONDAY_1200, tick=False):
        agent.patch(f"tickets/{ticket.number}", {"status": "resolved"})
    ticket.refresh_from_db()
    assert ticket.resolution_business_minutes == 120


def test_a_reopened_ticket_resolved_again_counts_to_the_latest_resolution(
    office_hours: Policy, customer: Any, agent: Any
) -> None:
    ticket = filed_friday_answered_monday(customer, agent)
    with time_machine.travel(MONDAY_1200, tick=False):
        agent.patch(f"tickets/{ticket.number}", {"status": "resolved"})
    with time_machine.travel(datetime(2026, 12, 1, 10, 0, tzinfo=UTC), tick=False):
        agent.patch(f"tickets/{ticket.number}", {"status": "open"})
    with time_machine.travel(datetime(2026, 12, 1, 10, 30, tzinfo=UTC), tick=False):
        agent.patch(f"tickets/{ticket.number}", {"status": "resolved"})
    ticket.refresh_from_db()
    # 240 to the first resolution; resolved overnight does not count; 30 more on Tuesday.
    assert ticket.resolution_business_minutes == 240 + 30
    assert ticket.first_response_business_minutes == 120, "the first answer stays"


def test_without_a_policy_there_are_no_business_minutes(customer: Any, agent: Any) -> None:
    Policy.objects.all().delete()
    ticket = filed_friday_answered_monday(customer, agent)
    assert ticket.first_response_at is not None
    assert ticket.first_response_business_minutes is None


def test_the_reports_page_shows_the_median_in_business_hours(
    office_hours: Policy, customer: Any, agent: Any, users: dict[str, User]
) -> None:
    filed_friday_answered_monday(customer, agent)
    desk = desk_for(users["agent"])
    period = "start=2026-11-23&end=2026-11-30"
    page = desk.get(f"/desk/reports/?{period}").content.decode()
    assert "Median times in business hours" in page
    assert "2 hr" in page.split('id="report-times"')[1].split("</section>")[0]
    csv = desk.get(f"/desk/reports/?{period}&format=csv&section=times").content.decode()
    lines = csv.lstrip("\ufeff").splitlines()
    assert lines[0].startswith("first_response_business_minutes,resolution_business_minutes")
    assert lines[1] == "120.0,,1,0"


def test_the_median_is_of_the_business_minutes_kept(
    office_hours: Policy, customer: Any, agent: Any
) -> None:
    for minutes in (30, 120, 600):
        ticket = filed_friday_answered_monday(customer, agent, subject=f"Problem {minutes}")
        Ticket.objects.filter(pk=ticket.pk).update(first_response_business_minutes=minutes)
    found = reports.median_minutes(
        Ticket.objects.all(), datetime(2026, 11, 1, tzinfo=UTC), datetime(2026, 12, 1, tzinfo=UTC)
    )
    assert found["first_response_business_minutes"] == 120
    assert found["answered"] == 3


def test_the_backfill_fills_older_tickets_as_the_actions_would(
    office_hours: Policy, customer: Any, agent: Any
) -> None:
    ticket = filed_friday_answered_monday(customer, agent)
    with time_machine.travel(MONDAY_1200, tick=False):
        agent.patch(f"tickets/{ticket.number}", {"status": "resolved"})
    with time_machine.travel(datetime(2026, 12, 1, 10, 0, tzinfo=UTC), tick=False):
        agent.patch(f"tickets/{ticket.number}", {"status": "closed", "close_reason": "resolved"})
    Ticket.objects.update(first_response_business_minutes=None, resolution_business_minutes=None)
    call_command("backfill_business_minutes", batch=1)
    call_command("backfill_business_minutes")  # again: nothing left, nothing changes
    ticket.refresh_from_db()
    assert (ticket.first_response_business_minutes, ticket.resolution_business_minutes) == (
        120,
        240,
    )
