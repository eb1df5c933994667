"""Service-level clocks on tickets, through the API, with the clock moved by the tests."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.mail import EmailMessage

from destek.accounts.models import User
from destek.sla.models import Calendar, CalendarDate
from destek.tickets.clock_jobs import sla_sweep_now
from destek.tickets.models import Ticket, TicketEvent

pytestmark = pytest.mark.django_db

BAKU = ZoneInfo("Asia/Baku")


def baku(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=BAKU)


def at(instant: datetime) -> Any:
    return time_machine.travel(instant, tick=False)


def due(ticket: dict[str, Any], clock: str = "first_response_due") -> datetime:
    return datetime.fromisoformat(ticket[clock]).astimezone(BAKU)


def test_a_standard_ticket_filed_friday_1730_is_due_monday_1230(customer: Any) -> None:
    with at(baku(2026, 11, 27, 17, 30)):  # an ordinary Friday in Baku
        ticket = customer.file_ticket()
    assert due(ticket) == baku(2026, 11, 30, 12, 30)
    assert ticket["first_response_due"].endswith("+00:00")


def test_a_public_holiday_on_monday_moves_it_to_tuesday(customer: Any) -> None:
    office = Calendar.objects.get(name="Baku office")
    CalendarDate.objects.create(calendar=office, date=date(2026, 11, 30), closed=True)
    with at(baku(2026, 11, 27, 17, 30)):
        ticket = customer.file_ticket()
    assert due(ticket) == baku(2026, 12, 1, 12, 30)


def test_azerbaijani_public_holidays_come_from_the_calendar(customer: Any) -> None:
    # Monday 9 November 2026 is National Flag Day; Victory Day (Sunday the 8th) is observed
    # on Tuesday the 10th: a ticket filed on Friday evening is due on Wednesday.
    with at(baku(2026, 11, 6, 17, 30)):
        ticket = customer.file_ticket()
    assert due(ticket) == baku(2026, 11, 11, 12, 30)


def test_vip_customers_get_fifteen_minutes_around_the_clock(vip: Any) -> None:
    with at(baku(2026, 11, 28, 3, 0)):  # Saturday night
        ticket = vip.file_ticket()
    assert due(ticket) == baku(2026, 11, 28, 3, 15)


def test_the_confirmation_mail_and_answer_say_when_to_expect_an_answer(
    customer: Any, outbox: list[EmailMessage]
) -> None:
    with at(baku(2026, 11, 27, 17, 30)):
        customer.file_ticket()
    mail = next(m for m in outbox if m.to == ["customer@example.com"])
    assert "12:30" in mail.body  # the customer's time zone (Asia/Baku), their language


def test_a_priority_change_recomputes_from_the_start_not_from_now(
    customer: Any, agent: Any
) -> None:
    with at(baku(2026, 11, 27, 17, 30)):
        number = customer.file_ticket()["number"]
    with at(baku(2026, 11, 27, 17, 40)):
        changed = agent.patch(f"tickets/{number}", {"priority": "critical"})
    assert due(changed.json()) == baku(2026, 11, 27, 18, 30)  # 60 minutes, 24/7, from 17:30


def test_clocks_pause_while_awaiting_the_customer(customer: Any, agent: Any) -> None:
    with at(baku(2026, 11, 23, 10, 0)):  # Monday
        number = customer.file_ticket()["number"]
    with at(baku(2026, 11, 23, 10, 30)):
        paused = agent.post(f"tickets/{number}/messages", {"body": "Which browser?"})
    assert paused.status_code == 201
    ticket = customer.get(f"tickets/{number}").json()
    assert ticket["status"] == "pending"
    assert ticket["resolution_due"] is None, "paused: no due instant while we wait"
    with at(baku(2026, 11, 24, 10, 0)):  # Tuesday: the customer answers
        customer.post(f"tickets/{number}/messages", {"body": "Firefox 133 on Windows 11."})
    ticket = customer.get(f"tickets/{number}").json()
    # 30 minutes were used on Monday; 1,590 remain from Tuesday 10:00: Friday 09:30.
    assert due(ticket, "resolution_due") == baku(2026, 11, 27, 9, 30)
    assert due(ticket, "next_response_due") == baku(2026, 11, 24, 14, 0)


def test_a_nudge_never_moves_the_clocks(customer: Any) -> None:
    with at(baku(2026, 11, 23, 10, 0)):
        ticket = customer.file_ticket()
    with at(baku(2026, 11, 23, 11, 0)):
        customer.post(f"tickets/{ticket['number']}/messages", {"body": "any update?"})
    after = customer.get(f"tickets/{ticket['number']}").json()
    for clock in ("first_response_due", "next_response_due", "resolution_due"):
        assert after[clock] == ticket[clock]


def test_warning_then_breach_each_happen_once_and_raise_the_priority(
    customer: Any, agent: Any, run_job: Any, outbox: list[EmailMessage]
) -> None:
    with at(baku(2026, 11, 23, 10, 0)):  # "down" makes it high: 2 business hours
        number = customer.file_ticket(subject="Site is down", body="Nothing loads.")["number"]
    ticket = agent.get(f"tickets/{number}").json()
    assert (ticket["priority"], ticket["sla_policy"]) == ("high", "High priority")
    assert due(ticket) == baku(2026, 11, 23, 12, 0)
    outbox.clear()
    with at(baku(2026, 11, 23, 11, 40)):  # 80 % of 120 minutes
        run_job(sla_sweep_now)
        run_job(sla_sweep_now)
    with at(baku(2026, 11, 23, 12, 1)):
        run_job(sla_sweep_now)
        run_job(sla_sweep_now)
    kinds = list(
        TicketEvent.objects.filter(ticket__number=number, kind__startswith="sla_").values_list(
            "kind", "to_value"
        )
    )
    assert kinds[:2] == [("sla_warning", "first_response"), ("sla_breach", "first_response")]
    assert len(kinds) == len(set(kinds)), "each warning and breach happens once per clock"
    ticket = agent.get(f"tickets/{number}").json()
    assert ticket["priority"] == "critical"
    assert due(ticket, "first_response_breached_at") == baku(2026, 11, 23, 12, 0)
    assert {m.to[0] for m in outbox} >= {"agent@example.com"}


def test_customers_do_not_see_the_teams_bookkeeping(customer: Any) -> None:
    ticket = customer.file_ticket()
    assert ticket["sla_policy"] is None
    assert Ticket.objects.get(number=ticket["number"]).sla_policy is not None


def test_the_sweep_uses_the_index_and_is_safe_to_run_twice(customer: Any, run_job: Any) -> None:
    with at(baku(2026, 11, 23, 10, 0)):
        customer.file_ticket()
    with at(baku(2026, 11, 23, 10, 5)):
        assert run_job(sla_sweep_now) == 0, "nothing is due yet"
    later = baku(2026, 11, 23, 10, 0) + timedelta(days=10)
    with at(later):
        first = run_job(sla_sweep_now)
        second = run_job(sla_sweep_now)
    assert first >= 1
    assert second == 0


def test_the_agent_queue_puts_breached_first_then_nearest_due_then_vip(
    customer: Any, customer2: Any, vip: Any, agent: Any
) -> None:
    with at(baku(2026, 11, 23, 9, 0)):
        old = customer.file_ticket(subject="Export fails", body="CSV export never ends.")
    with at(baku(2026, 11, 23, 12, 0)):
        standard = customer2.file_ticket(subject="Report is blank", body="Nothing shows.")
        important = vip.file_ticket(subject="Cannot log in", body="Password rejected.")
    with at(baku(2026, 11, 23, 13, 30)):  # old is past its 13:00 due; VIP due 12:15 too
        queue = [t["number"] for t in agent.get("tickets").json()["items"]]
        breached = [t["number"] for t in agent.get("tickets?due=breached").json()["items"]]
        soon = [t["number"] for t in agent.get("tickets?due=hour").json()["items"]]
        vips = [t["number"] for t in agent.get("tickets?vip=true").json()["items"]]
    assert queue == [important["number"], old["number"], standard["number"]]
    assert breached == [important["number"], old["number"]]
    assert soon == []
    assert vips == [important["number"]]
    newest = [t["number"] for t in customer.get("tickets").json()["items"]]
    assert newest == [old["number"]]


def test_queue_pages_follow_the_cursor(customer: Any, agent: Any) -> None:
    for i in range(5):
        with at(baku(2026, 11, 23, 9, i)):
            customer.file_ticket(subject=f"Report {i} is blank", body=f"Report {i} is empty.")
    first = agent.get("tickets?limit=2").json()
    second = agent.get(f"tickets?limit=2&cursor={first['next_cursor']}").json()
    third = agent.get(f"tickets?limit=2&cursor={second['next_cursor']}").json()
    numbers = [t["number"] for page in (first, second, third) for t in page["items"]]
    assert len(numbers) == len(set(numbers)) == 5
    assert third["next_cursor"] is None


def test_the_sla_report_counts_met_and_breached_first_responses(
    customer: Any, customer2: Any, agent: Any, run_job: Any
) -> None:
    with at(baku(2026, 11, 23, 9, 0)):
        met = customer.file_ticket(subject="Export fails", body="CSV export never ends.")
        late = customer2.file_ticket(subject="Report is blank", body="Nothing shows.")
    with at(baku(2026, 11, 23, 10, 0)):
        agent.post(f"tickets/{met['number']}/messages", {"body": "Fixed."})
    with at(baku(2026, 11, 23, 14, 0)):
        run_job(sla_sweep_now)
        agent.post(f"tickets/{late['number']}/messages", {"body": "Sorry, fixed."})
        report = agent.get("reports/sla?start=2026-11-23T00:00:00%2B04:00").json()
    row = report["rows"][0]
    assert (row["department"], row["priority"], row["tickets"]) == ("technical", "normal", 2)
    assert (row["first_response_met"], row["first_response_breached"]) == (1, 1)
    assert row["share_met"] == 0.5
    assert row["median_first_response_business_minutes"] == 180.0  # median of 60 and 300


def test_customers_get_no_reports(customer: Any) -> None:
    assert customer.get("reports/sla").status_code == 403


def test_the_answer_says_when_to_expect_a_reply_in_the_customers_time_zone(
    customer: Any,
) -> None:
    with at(baku(2026, 11, 27, 17, 30)):
        ticket = customer.file_ticket()
    assert ticket["expected_answer"] == "We will answer by Monday 30 November, 12:30."


def test_a_tier_change_in_the_admin_moves_open_tickets_to_the_new_clocks(
    customer: Any, users: dict[str, User]
) -> None:
    from django.test import Client

    with at(baku(2026, 11, 27, 17, 30)):
        number = customer.file_ticket()["number"]
    admin = Client()
    admin.force_login(users["admin"])
    user = users["customer"]
    form = {
        "email": user.email,
        "full_name": user.full_name,
        "phone": "",
        "language": "az",
        "time_zone": "Asia/Baku",
        "role": "customer",
        "is_active": "on",
        "organisation": "",
        "tier": "vip",
        "date_joined_0": "2026-01-01",
        "date_joined_1": "00:00:00",
        "membership_set-TOTAL_FORMS": "0",
        "membership_set-INITIAL_FORMS": "0",
        "contact_addresses-TOTAL_FORMS": "0",
        "contact_addresses-INITIAL_FORMS": "0",
    }
    with at(baku(2026, 11, 27, 17, 35)):
        response = admin.post(f"/admin/accounts/user/{user.pk}/change/", form)
    assert response.status_code == 302, response.content[:2000]
    ticket = customer.get(f"tickets/{number}").json()
    assert due(ticket) == baku(2026, 11, 27, 17, 45), "VIP: 15 minutes from the start"


def sla_events(number: int) -> list[tuple[str, str]]:
    return list(
        TicketEvent.objects.filter(ticket__number=number, kind__startswith="sla_")
        .order_by("id")
        .values_list("kind", "to_value")
    )


def test_a_closed_or_resolved_ticket_never_breaches(
    customer: Any, agent: Any, run_job: Any
) -> None:
    with at(baku(2026, 11, 23, 10, 0)):
        closed = customer.file_ticket()["number"]
        answered = customer.file_ticket(subject="Export fails", body="CSV never ends.")["number"]
    with at(baku(2026, 11, 23, 10, 5)):
        customer.post(f"tickets/{closed}/close")
        agent.post(f"tickets/{answered}/messages", {"body": "Try now?"})
        customer.post(f"tickets/{answered}/messages", {"body": "It works now, thank you."})
        agent.patch(f"tickets/{answered}", {"status": "resolved"})
    with at(baku(2026, 11, 25, 16, 0)):
        run_job(sla_sweep_now)
        queue = agent.get("tickets?due=breached").json()["items"]
    assert sla_events(closed) == [] and sla_events(answered) == []
    assert queue == []


def test_a_reopened_ticket_is_not_charged_for_the_time_it_was_resolved(
    customer: Any, agent: Any
) -> None:
    with at(baku(2026, 11, 23, 10, 0)):  # Monday
        number = customer.file_ticket()["number"]
    with at(baku(2026, 11, 23, 10, 10)):
        agent.post(f"tickets/{number}/messages", {"body": "Fixed.", "status": "resolved"})
    with at(baku(2026, 11, 27, 10, 0)):  # Friday: it is back
        customer.post(f"tickets/{number}/messages", {"body": "The error is back today."})
    ticket = customer.get(f"tickets/{number}").json()
    # 10 minutes used on Monday; 1,610 business minutes remain from Friday 10:00.
    assert due(ticket, "resolution_due") == baku(2026, 12, 2, 9, 50)


def test_a_paused_next_response_is_not_warned_about_twice(
    customer: Any, agent: Any, run_job: Any
) -> None:
    with at(baku(2026, 11, 23, 9, 0)):
        number = customer.file_ticket()["number"]
    with at(baku(2026, 11, 23, 9, 10)):
        agent.post(f"tickets/{number}/messages", {"body": "Which browser?"})
    with at(baku(2026, 11, 23, 9, 20)):
        customer.post(f"tickets/{number}/messages", {"body": "Firefox 133."})
    with at(baku(2026, 11, 23, 12, 35)):  # 80 % of 240 minutes after 09:20
        run_job(sla_sweep_now)
    with at(baku(2026, 11, 23, 12, 40)):
        agent.patch(f"tickets/{number}", {"status": "pending"})
    with at(baku(2026, 11, 23, 12, 45)):
        agent.patch(f"tickets/{number}", {"status": "open"})
    with at(baku(2026, 11, 23, 12, 50)):
        run_job(sla_sweep_now)
    assert sla_events(number).count(("sla_warning", "next_response")) == 1


def test_a_priority_raised_by_a_breach_does_not_backdate_other_breaches(
    customer: Any, agent: Any, run_job: Any
) -> None:
    with at(baku(2026, 11, 27, 17, 30)):  # high: 2 business hours on the office calendar
        number = customer.file_ticket(subject="Site is down", body="Nothing loads.")["number"]
    with at(baku(2026, 11, 30, 10, 31)):
        run_job(sla_sweep_now)
    with at(baku(2026, 11, 30, 10, 32)):
        run_job(sla_sweep_now)
    ticket = agent.get(f"tickets/{number}").json()
    assert ticket["priority"] == "critical"
    assert ticket["sla_policy"] == "High priority"
    assert ticket["resolution_breached_at"] is None
    assert [kind for kind in sla_events(number) if kind[0] == "sla_breach"] == [
        ("sla_breach", "first_response")
    ]


def test_a_broken_calendar_never_stops_a_customer_filing(customer: Any) -> None:
    Calendar.objects.filter(name="Baku office").update(holiday_country="XX")
    response = customer.post("tickets", {"subject": "Printer offline", "body": "No paper."})
    assert response.status_code == 201


def test_a_calendar_with_an_unknown_country_or_zone_is_refused_in_the_admin() -> None:
    from django.core.exceptions import ValidationError

    for fields in ({"holiday_country": "XX"}, {"time_zone": "Mars/Olympus"}):
        calendar = Calendar(name="Bad", **{"time_zone": "UTC", **fields})
        with pytest.raises(ValidationError):
            calendar.clean()


def test_a_forged_queue_cursor_is_a_clear_error(agent: Any) -> None:
    import base64
    import json

    def cursor(raw: list[Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(raw).encode()).decode().rstrip("=")

    # 9999-12-31T23:00-05:00 is past year 9999 in UTC; a naive instant has no offset.
    for raw in (
        ["q", "9999-12-31T23:00:00-05:00", 1, False, 1],
        ["q", "2026-01-01T00:00", 1, False, 1],
    ):
        response = agent.get(f"tickets?cursor={cursor(raw)}")
        assert response.status_code == 400, raw
        assert response.json()["code"] == "invalid_cursor"


def test_agents_see_each_clock_with_business_time_left(customer: Any, agent: Any) -> None:
    with at(baku(2026, 11, 27, 17, 30)):
        number = customer.file_ticket()["number"]
    with at(baku(2026, 11, 30, 9, 0)):  # Monday morning: 30 minutes were used on Friday
        ticket = agent.get(f"tickets/{number}").json()
        seen_by_customer = customer.get(f"tickets/{number}").json()
    first = ticket["clocks"]["first_response"]
    assert first["business_minutes_left"] == 210.0
    assert first["running"] is True and first["breached_at"] is None
    assert ticket["clocks"]["next_response"]["running"] is False
    assert seen_by_customer["clocks"] is None


def test_changing_a_policy_in_the_admin_moves_open_tickets_clocks(
    customer: Any, users: dict[str, User], django_capture_on_commit_callbacks: Any
) -> None:
    from django.test import Client

    from destek.tickets.models import Policy

    with at(baku(2026, 11, 23, 10, 0)):
        number = customer.file_ticket()["number"]
    default = Policy.objects.get(name="Default")
    admin = Client()
    admin.force_login(users["admin"])
    form = {
        "name": "Default",
        "position": "1000",
        "enabled": "on",
        "if_priority": "",
        "if_tier": "",
        "if_department": "",
        "if_channel": "",
        "if_organisation": "",
        "calendar": str(default.calendar_id),
        "first_response_minutes": "60",
        "next_response_minutes": "240",
        "resolution_minutes": "1620",
        "warning_percent": "80",
    }
    with at(baku(2026, 11, 23, 10, 5)), django_capture_on_commit_callbacks(execute=True):
        response = admin.post(f"/admin/tickets/policy/{default.pk}/change/", form)
    assert response.status_code == 302, response.content[:1500]
    assert due(customer.get(f"tickets/{number}").json()) == baku(2026, 11, 23, 11, 0)
