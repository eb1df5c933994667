"""Business time on real calendars: the issue's Baku example, breaks and shifts, midnight and
year ends, daylight-saving days, holidays and special dates, then properties over random
schedules. Pure functions: no database."""

from __future__ import annotations

import dataclasses
import math
import pickle
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from destek.sla.engine import (
    Schedule,
    add_business_minutes,
    business_minutes_between,
    holiday_dates,
    is_working_time,
)

BAKU = ZoneInfo("Asia/Baku")
BERLIN = ZoneInfo("Europe/Berlin")
H = 60  # minutes in an hour, for readable ranges: (9 * H, 18 * H)
OFFICE_HOURS = ((9 * H, 18 * H),)
LUNCH_BREAK_HOURS = ((9 * H, 13 * H), (14 * H, 18 * H))
WEEKDAYS = range(5)


def baku_office(closed: frozenset[date] = frozenset()) -> Schedule:
    return Schedule.build("Asia/Baku", dict.fromkeys(WEEKDAYS, OFFICE_HOURS), closed=closed)


def baku(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0
) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=BAKU)


def berlin(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=BERLIN)


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def every_day(ranges: tuple[tuple[int, int], ...], zone: str = "UTC") -> Schedule:
    return Schedule.build(zone, dict.fromkeys(range(7), ranges))


def minutes_of_day(schedule: Schedule, day: datetime) -> float:
    return business_minutes_between(schedule, day, day + timedelta(days=1))


# The example ------------------------------------------------------------------------

AZ_HOLIDAYS = holiday_dates("AZ", range(2025, 2029))


def test_the_chosen_ordinary_week_has_no_az_holiday() -> None:
    assert date(2026, 4, 10) not in AZ_HOLIDAYS  # Friday
    assert date(2026, 4, 13) not in AZ_HOLIDAYS  # Monday


def test_ticket_filed_friday_evening_in_baku_is_due_monday_midday() -> None:
    due = add_business_minutes(baku_office(AZ_HOLIDAYS), baku(2026, 4, 10, 17, 30), 4 * H)

    assert due.astimezone(BAKU) == baku(2026, 4, 13, 12, 30)
    assert due.tzinfo is UTC


def test_ticket_filed_friday_evening_is_due_tuesday_when_monday_is_a_holiday() -> None:
    office = baku_office(AZ_HOLIDAYS | {date(2026, 4, 13)})

    due = add_business_minutes(office, baku(2026, 4, 10, 17, 30), 4 * H)

    assert due == baku(2026, 4, 14, 12, 30)


def test_real_az_holiday_on_a_monday_moves_the_due_time_to_tuesday() -> None:
    assert date(2026, 6, 15) in AZ_HOLIDAYS  # National Liberation Day, a Monday

    due = add_business_minutes(baku_office(AZ_HOLIDAYS), baku(2026, 6, 12, 17, 30), 4 * H)

    assert due == baku(2026, 6, 16, 12, 30)


def test_ticket_filed_before_novruz_skips_novruz_and_the_days_off_in_lieu() -> None:
    # In 2026 Novruz (20-24 March) meets Eid al-Fitr (20-21 March); `holidays` gives the
    # days off in lieu as 25-27 and 30 March, so the week after Novruz is closed too.
    novruz_and_in_lieu = [date(2026, 3, d) for d in (20, 23, 24, 25, 26, 27, 30)]
    assert set(novruz_and_in_lieu) <= AZ_HOLIDAYS

    due = add_business_minutes(baku_office(AZ_HOLIDAYS), baku(2026, 3, 19, 17, 30), 4 * H)

    assert due == baku(2026, 3, 31, 12, 30)


def test_counting_the_baku_example_back_gives_four_hours() -> None:
    minutes = business_minutes_between(
        baku_office(AZ_HOLIDAYS), baku(2026, 4, 10, 17, 30), baku(2026, 4, 13, 12, 30)
    )

    assert minutes == 4 * H


# Breaks, shifts, midnight -------------------------------------------------------------------


def test_lunch_break_is_skipped() -> None:
    office = Schedule.build("Asia/Baku", dict.fromkeys(WEEKDAYS, LUNCH_BREAK_HOURS))

    assert add_business_minutes(office, baku(2026, 4, 14, 12, 30), H) == baku(2026, 4, 14, 14, 30)
    assert not is_working_time(office, baku(2026, 4, 14, 13, 30))
    assert minutes_of_day(office, baku(2026, 4, 14)) == 8 * H


def test_ticket_filed_in_the_lunch_break_starts_counting_after_it() -> None:
    office = Schedule.build("Asia/Baku", dict.fromkeys(WEEKDAYS, LUNCH_BREAK_HOURS))

    assert add_business_minutes(office, baku(2026, 4, 14, 13, 10), 30) == baku(2026, 4, 14, 14, 30)


def test_split_shift_jumps_from_morning_to_evening() -> None:
    shifts = every_day(((6 * H, 10 * H), (16 * H, 20 * H)), "Europe/Istanbul")
    istanbul = ZoneInfo("Europe/Istanbul")

    due = add_business_minutes(shifts, datetime(2026, 5, 4, 9, 0, tzinfo=istanbul), 2 * H)

    assert due == datetime(2026, 5, 4, 17, 0, tzinfo=istanbul)


def test_range_up_to_midnight_ends_at_the_next_midnight() -> None:
    evenings = every_day(((18 * H, 24 * H),), "Asia/Baku")

    assert add_business_minutes(evenings, baku(2026, 4, 13, 23, 30), 30) == baku(2026, 4, 14)
    assert add_business_minutes(evenings, baku(2026, 4, 13, 23, 30), 60) == baku(
        2026, 4, 14, 18, 30
    )
    assert is_working_time(evenings, baku(2026, 4, 13, 23, 59, 59))
    assert not is_working_time(evenings, baku(2026, 4, 14))


def test_overnight_shift_continues_after_midnight() -> None:
    night = Schedule.build("Asia/Baku", {0: [(20 * H, 24 * H)], 1: [(0, 2 * H)]})

    assert add_business_minutes(night, baku(2026, 4, 13, 23), 2 * H) == baku(2026, 4, 14, 1)
    assert is_working_time(night, baku(2026, 4, 14))
    assert business_minutes_between(night, baku(2026, 4, 13), baku(2026, 4, 15)) == 6 * H


def test_always_schedule_adds_plain_minutes() -> None:
    start = utc(2026, 12, 31, 23, 0)

    assert add_business_minutes(Schedule.always(), start, 1234.5) == start + timedelta(
        minutes=1234.5
    )


def test_always_schedule_in_a_daylight_saving_zone_still_adds_plain_minutes() -> None:
    start = berlin(2026, 3, 28, 12)

    due = add_business_minutes(Schedule.always("Europe/Berlin"), start, 48 * H)

    # Real hours: `start + timedelta` would be wall-clock arithmetic in Berlin's zone.
    assert due == start.astimezone(UTC) + timedelta(hours=48)
    assert due.astimezone(BERLIN).hour == 13  # one wall-clock hour was skipped on the way


# Year ends ----------------------------------------------------------------------------------


def test_ticket_filed_on_new_years_eve_is_due_on_the_second_of_january() -> None:
    office = Schedule.build("UTC", dict.fromkeys(WEEKDAYS, OFFICE_HOURS), closed={date(2026, 1, 1)})

    due = add_business_minutes(office, utc(2025, 12, 31, 17), 2 * H)

    assert due == utc(2026, 1, 2, 10)


def test_counting_across_a_local_new_year_that_is_still_the_old_year_in_utc() -> None:
    # Baku's New Year starts at 20:00 UTC on 31 December.
    always = Schedule.always("Asia/Baku")

    assert add_business_minutes(always, utc(2025, 12, 31, 19), 2 * H) == utc(2025, 12, 31, 21)
    assert business_minutes_between(always, utc(2025, 12, 31, 19), utc(2026, 1, 1, 1)) == 6 * H


def test_counting_across_several_years_adds_every_year() -> None:
    always = Schedule.always("Europe/Berlin")

    minutes = business_minutes_between(always, berlin(2024, 6, 1), berlin(2028, 6, 1))

    assert minutes == (datetime(2028, 6, 1) - datetime(2024, 6, 1)).days * 24 * H


# Daylight saving (Europe/Berlin: forward 2026-03-29 02:00, back 2026-10-25 03:00) ------------


def test_whole_day_lasts_23_hours_when_clocks_go_forward() -> None:
    assert minutes_of_day(Schedule.always("Europe/Berlin"), berlin(2026, 3, 29)) == 23 * H


def test_whole_day_lasts_25_hours_when_clocks_go_back() -> None:
    assert minutes_of_day(Schedule.always("Europe/Berlin"), berlin(2026, 10, 25)) == 25 * H


def test_range_across_the_skipped_hour_lasts_an_hour_less() -> None:
    early = every_day(((1 * H, 4 * H),), "Europe/Berlin")

    assert minutes_of_day(early, berlin(2026, 3, 29)) == 2 * H
    assert add_business_minutes(early, berlin(2026, 3, 29, 1, 30), H) == berlin(2026, 3, 29, 3, 30)


def test_range_across_the_repeated_hour_lasts_an_hour_more() -> None:
    early = every_day(((1 * H, 4 * H),), "Europe/Berlin")

    assert minutes_of_day(early, berlin(2026, 10, 25)) == 4 * H
    # 01:30 CEST plus three real hours is 03:30 CET, the clock having gone back once.
    assert add_business_minutes(early, berlin(2026, 10, 25, 1, 30), 3 * H) == utc(
        2026, 10, 25, 2, 30
    )


def test_range_starting_in_the_skipped_hour_starts_when_the_clock_jumps() -> None:
    sunday = Schedule.build("Europe/Berlin", {6: [(2 * H + 30, 5 * H)]})

    assert minutes_of_day(sunday, berlin(2026, 3, 29)) == 2 * H
    assert add_business_minutes(sunday, berlin(2026, 3, 29), 1) == utc(2026, 3, 29, 1, 1)


def test_range_inside_the_skipped_hour_has_no_working_time() -> None:
    sunday = Schedule.build("Europe/Berlin", {6: [(2 * H + 15, 2 * H + 45)]})

    assert minutes_of_day(sunday, berlin(2026, 3, 29)) == 0
    assert add_business_minutes(sunday, berlin(2026, 3, 29), 1) == berlin(2026, 4, 5, 2, 16)


def test_range_inside_the_repeated_hour_counts_its_first_occurrence() -> None:
    sunday = Schedule.build("Europe/Berlin", {6: [(2 * H, 2 * H + 30)]})

    assert minutes_of_day(sunday, berlin(2026, 10, 25)) == 30
    assert is_working_time(sunday, utc(2026, 10, 25, 0, 15))  # 02:15 CEST
    assert not is_working_time(sunday, utc(2026, 10, 25, 1, 15))  # 02:15 CET


def test_new_york_office_day_keeps_its_length_when_clocks_change_at_night() -> None:
    new_york = ZoneInfo("America/New_York")
    office = Schedule.build("America/New_York", dict.fromkeys(range(7), OFFICE_HOURS))

    for day in (datetime(2026, 3, 8, tzinfo=new_york), datetime(2026, 11, 1, tzinfo=new_york)):
        assert minutes_of_day(office, day) == 9 * H


# Holidays and special dates -----------------------------------------------------------------


def test_extra_working_saturday_is_used() -> None:
    office = Schedule.build(
        "Asia/Baku",
        dict.fromkeys(WEEKDAYS, OFFICE_HOURS),
        special={date(2026, 4, 11): [(10 * H, 14 * H)]},
    )

    assert add_business_minutes(office, baku(2026, 4, 10, 17, 30), H) == baku(2026, 4, 11, 10, 30)


def test_special_date_wins_over_a_holiday() -> None:
    office = Schedule.build(
        "Asia/Baku",
        dict.fromkeys(WEEKDAYS, OFFICE_HOURS),
        closed={date(2026, 4, 13)},
        special={date(2026, 4, 13): [(9 * H, 13 * H)]},
    )

    assert add_business_minutes(office, baku(2026, 4, 10, 17, 30), 4 * H) == baku(
        2026, 4, 13, 12, 30
    )
    assert minutes_of_day(office, baku(2026, 4, 13)) == 4 * H


def test_special_date_without_hours_closes_the_day() -> None:
    office = Schedule.build(
        "Asia/Baku", dict.fromkeys(WEEKDAYS, OFFICE_HOURS), special={date(2026, 4, 13): []}
    )

    assert minutes_of_day(office, baku(2026, 4, 13)) == 0


def test_one_off_closure_is_skipped() -> None:
    office = baku_office(frozenset({date(2026, 4, 15)}))

    due = add_business_minutes(office, baku(2026, 4, 14, 17), 2 * H)

    assert due == baku(2026, 4, 16, 10)


def test_holiday_dates_know_the_countries_of_the_region() -> None:
    for country in ("AZ", "TR", "RU", "IR"):
        assert holiday_dates(country, [2026])
    assert date(2026, 3, 21) in holiday_dates("az", [2026])  # Novruz; the code's case is free


# Boundaries ---------------------------------------------------------------------------------


def test_start_of_a_range_is_working_time_and_its_end_is_not() -> None:
    office = baku_office()

    assert is_working_time(office, baku(2026, 4, 13, 9))
    assert not is_working_time(office, baku(2026, 4, 13, 18))


def test_minutes_that_end_exactly_at_closing_time_end_at_closing_time() -> None:
    assert add_business_minutes(baku_office(), baku(2026, 4, 10, 17, 30), 30) == baku(
        2026, 4, 10, 18
    )


def test_adding_zero_returns_the_start_even_outside_working_time() -> None:
    saturday = baku(2026, 4, 11, 12)

    assert add_business_minutes(baku_office(), saturday, 0) == saturday


def test_adding_from_outside_working_time_starts_at_the_next_opening() -> None:
    assert add_business_minutes(baku_office(), baku(2026, 4, 11, 12), 1) == baku(2026, 4, 13, 9, 1)


def test_counting_backwards_gives_zero() -> None:
    assert business_minutes_between(baku_office(), baku(2026, 4, 14), baku(2026, 4, 13)) == 0


def test_touching_ranges_are_merged() -> None:
    office = Schedule.build("UTC", {0: [(13 * H, 18 * H), (9 * H, 13 * H)]})

    assert office.weekly[0] == ((9 * H, 18 * H),)


def test_equal_schedules_are_equal_and_hashable() -> None:
    assert baku_office() == baku_office()
    assert len({baku_office(), baku_office()}) == 1


def test_schedule_survives_pickling_for_a_shared_cache() -> None:
    office = Schedule.build(
        "Asia/Baku",
        dict.fromkeys(WEEKDAYS, OFFICE_HOURS),
        special={date(2026, 4, 11): [(600, 840)]},
    )
    minutes_of_day(office, baku(2026, 4, 13))  # fills the cache, which is not pickled

    copy = pickle.loads(pickle.dumps(office))  # noqa: S301  (our own bytes)

    assert copy == office
    assert minutes_of_day(copy, baku(2026, 4, 11)) == 4 * H


# Validation ---------------------------------------------------------------------------------


def test_naive_start_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        add_business_minutes(baku_office(), datetime(2026, 4, 13, 10), 30)


def test_naive_end_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        business_minutes_between(baku_office(), baku(2026, 4, 13), datetime(2026, 4, 14))


@pytest.mark.parametrize("minutes", [-1, -0.001, math.nan, math.inf])
def test_negative_or_non_finite_minutes_are_refused(minutes: float) -> None:
    with pytest.raises(ValueError, match="minutes"):
        add_business_minutes(baku_office(), baku(2026, 4, 13, 10), minutes)


def test_overlapping_ranges_are_refused() -> None:
    with pytest.raises(ValueError, match="overlaps"):
        Schedule.build("UTC", {0: [(9 * H, 13 * H), (12 * H, 18 * H)]})


@pytest.mark.parametrize("bad_range", [(-1, 60), (60, 1441), (600, 600), (700, 600)])
def test_out_of_range_minutes_are_refused(bad_range: tuple[int, int]) -> None:
    with pytest.raises(ValueError, match="0 <= start < end <= 1440"):
        Schedule.build("UTC", {0: [bad_range]})


def test_unknown_weekday_is_refused() -> None:
    with pytest.raises(ValueError, match="weekday"):
        Schedule.build("UTC", {7: OFFICE_HOURS})


def test_weekly_hours_need_seven_days() -> None:
    with pytest.raises(ValueError, match="7 entries"):
        Schedule("UTC", weekly=((),) * 6)


def test_datetime_as_closed_date_is_refused() -> None:
    with pytest.raises(ValueError, match="dates"):
        Schedule.build("UTC", {0: OFFICE_HOURS}, closed=[utc(2026, 1, 1)])


@pytest.mark.parametrize("zone", ["Asia/Bakuu", "", "../etc/passwd"])
def test_unknown_time_zone_is_refused(zone: str) -> None:
    with pytest.raises(ValueError, match="time zone"):
        Schedule.always(zone)


def test_unknown_country_is_refused() -> None:
    with pytest.raises(ValueError, match="XX"):
        holiday_dates("XX", [2026])


def test_unknown_subdivision_is_refused() -> None:
    with pytest.raises(ValueError, match="ZZ"):
        holiday_dates("TR", [2026], subdivision="ZZ")


def test_schedule_without_working_time_is_refused_instead_of_looping() -> None:
    with pytest.raises(ValueError, match="no working time"):
        add_business_minutes(Schedule.build("UTC", {}), utc(2026, 1, 1), 1)


def test_schedule_closed_for_years_is_refused() -> None:
    office = Schedule.build(
        "UTC",
        dict.fromkeys(WEEKDAYS, OFFICE_HOURS),
        closed=[date(2027, 1, 1) + timedelta(days=n) for n in range(4 * 366)],
    )

    with pytest.raises(ValueError, match="no working time"):
        add_business_minutes(office, utc(2026, 12, 31, 17), 2 * H)


# Properties over random schedules -----------------------------------------------------------

ZONES = [
    "Asia/Baku",
    "Europe/Istanbul",
    "Europe/Moscow",
    "Asia/Tehran",
    "Europe/Berlin",
    "America/New_York",
    "UTC",
]
# None of these changes its clocks between 2024 and 2030, so minute-by-minute wall-clock
# readings can serve as an independent oracle there.
ZONES_WITHOUT_DST = ["Asia/Baku", "Europe/Istanbul", "Europe/Moscow", "Asia/Tehran", "UTC"]
PROPERTY_SETTINGS = settings(max_examples=200, deadline=None)


@st.composite
def day_hours(draw: st.DrawFn) -> list[tuple[int, int]]:
    # Boundaries on a five-minute grid keep the sparsest weekly schedule at five minutes,
    # so 20,000 minutes never need more than a few decades of precomputation.
    bounds = sorted(draw(st.lists(st.integers(0, 288), unique=True, max_size=6)))
    bounds = [b * 5 for b in bounds[: len(bounds) // 2 * 2]]
    return list(zip(bounds[::2], bounds[1::2], strict=True))


calendar_dates = st.dates(date(2024, 1, 1), date(2030, 12, 31))


@st.composite
def schedules(draw: st.DrawFn, zones: list[str] = ZONES) -> Schedule:
    weekly = {day: draw(day_hours()) for day in range(7)}
    assume(any(weekly.values()))
    return Schedule.build(
        draw(st.sampled_from(zones)),
        weekly,
        closed=draw(st.frozensets(calendar_dates, max_size=40)),
        special=draw(st.dictionaries(calendar_dates, day_hours(), max_size=5)),
    )


instants = st.datetimes(
    min_value=datetime(2024, 1, 1),
    max_value=datetime(2028, 12, 31, 23, 59),
    timezones=st.sampled_from([UTC, *(ZoneInfo(zone) for zone in ZONES)]),
)
minute_counts = st.one_of(
    st.integers(0, 20_000), st.floats(0, 20_000, allow_nan=False, allow_infinity=False)
)


@PROPERTY_SETTINGS
@given(schedules(), instants, minute_counts)
def test_counting_what_was_added_gives_back_the_minutes(
    schedule: Schedule, start: datetime, minutes: float
) -> None:
    due = add_business_minutes(schedule, start, minutes)

    assert business_minutes_between(schedule, start, due) == pytest.approx(minutes, abs=1e-6)


@PROPERTY_SETTINGS
@given(schedules(), instants, minute_counts)
def test_result_never_lands_outside_working_time(
    schedule: Schedule, start: datetime, minutes: float
) -> None:
    assume(minutes >= 1e-6)  # smaller amounts round to zero microseconds

    due = add_business_minutes(schedule, start, minutes)

    # The microsecond before the result is working time: the result is inside a working
    # range or exactly at its end.
    assert is_working_time(schedule, due - timedelta(microseconds=1))
    assert due > start


@PROPERTY_SETTINGS
@given(schedules(), instants, instants, minute_counts, minute_counts)
def test_adding_preserves_order(
    schedule: Schedule, t1: datetime, t2: datetime, m1: float, m2: float
) -> None:
    t1, t2 = sorted([t1, t2])
    m1, m2 = sorted([m1, m2])

    assert add_business_minutes(schedule, t1, m1) <= add_business_minutes(schedule, t1, m2)
    assert add_business_minutes(schedule, t1, m1) <= add_business_minutes(schedule, t2, m1)


@PROPERTY_SETTINGS
@given(schedules(), instants, instants, instants)
def test_counting_is_additive(schedule: Schedule, a: datetime, b: datetime, c: datetime) -> None:
    a, b, c = sorted([a, b, c])

    parts = business_minutes_between(schedule, a, b) + business_minutes_between(schedule, b, c)

    assert parts == pytest.approx(business_minutes_between(schedule, a, c), abs=1e-6)


@PROPERTY_SETTINGS
@given(st.sampled_from(ZONES), instants, minute_counts)
def test_always_schedule_is_plain_addition_in_every_zone(
    zone: str, start: datetime, minutes: float
) -> None:
    due = add_business_minutes(Schedule.always(zone), start, minutes)

    plain = start.astimezone(UTC) + timedelta(minutes=minutes)
    assert abs(due - plain) <= timedelta(microseconds=1)


@settings(max_examples=100, deadline=None)
@given(
    schedules(ZONES_WITHOUT_DST),
    st.datetimes(datetime(2024, 1, 1), datetime(2028, 12, 31)),
    st.integers(0, 3 * 24 * H),
)
def test_counting_matches_reading_the_wall_clock_minute_by_minute(
    schedule: Schedule, naive_start: datetime, span: int
) -> None:
    # Whole UTC minutes are whole local minutes in these zones (offsets are multiples of 30).
    start = naive_start.replace(second=0, microsecond=0, tzinfo=UTC)
    zone = ZoneInfo(schedule.time_zone)
    expected = 0
    for n in range(span):
        wall = (start + timedelta(minutes=n)).astimezone(zone)
        minute = wall.hour * H + wall.minute
        expected += any(s <= minute < e for s, e in schedule.hours_on(wall.date()))

    assert business_minutes_between(schedule, start, start + timedelta(minutes=span)) == expected


# Regression guard for the cache: a copy with other dates must not reuse the original's years.
def test_replacing_closed_dates_recomputes_working_time() -> None:
    office = baku_office()
    minutes_of_day(office, baku(2026, 4, 13))  # fills the cache

    closed = dataclasses.replace(office, closed_dates=frozenset({date(2026, 4, 13)}))

    assert minutes_of_day(closed, baku(2026, 4, 13)) == 0
    assert minutes_of_day(office, baku(2026, 4, 13)) == 9 * H
