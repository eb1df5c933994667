"""Business time: add working minutes to an instant, count working minutes between instants.

Pure functions over a `Schedule` (a time zone, weekly hours, closed dates and special dates);
no Django, no database. Instants are aware datetimes; results are aware datetimes in UTC.

How local hours become real time
--------------------------------
Every local wall-clock time `w` on a date is mapped to one instant `f(w)`, and a range
`[start, end)` on that date is the real time `[f(start), f(end))`. `f` is:

* the usual conversion where the wall time exists once;
* the first occurrence (`fold=0`) where it exists twice (the repeated hour when clocks go
  back), for starts and ends alike;
* the instant the clock jumps where it does not exist (the skipped hour when clocks go
  forward).

`f` never decreases as wall time increases, so ranges never have negative length, ranges
that are apart on the wall clock never overlap in real time, and a range that ends at 24:00
touches one that starts at 00:00 the next day. Working time is real elapsed time: on the
days clocks change, 00:00-24:00 lasts 23 or 25 hours and 01:00-04:00 lasts 2 or 4 hours; a
range inside the skipped hour lasts nothing; a range that starts in the repeated hour starts
at its first occurrence.

Speed
-----
A schedule's working time is precomputed per local year, on first use, as sorted UTC
intervals (integer microseconds) with running totals, cached on the schedule itself. Adding
and counting are then two binary searches, whatever the distance, plus one step per local
year crossed.
"""

from __future__ import annotations

import math
import operator
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from types import MappingProxyType
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

__all__ = [
    "Schedule",
    "add_business_minutes",
    "business_minutes_between",
    "holiday_dates",
    "is_working_time",
]

MINUTES_PER_DAY = 1440

Range = tuple[int, int]
DayHours = tuple[Range, ...]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_ONE_US = timedelta(microseconds=1)
_US_PER_MINUTE = 60_000_000
_US_PER_SECOND = 1_000_000
_US_PER_DAY = 86_400_000_000
_EPOCH_ORDINAL = _EPOCH.toordinal()
# A local year is the unit of precomputation. The first and last years supported by
# `datetime` are left out so that converting their edges to UTC cannot overflow.
_FIRST_YEAR = 2
_LAST_YEAR = 9998
# Adding minutes gives up after this many consecutive local years without working time
# rather than walking towards year 9998: such a schedule is a configuration mistake.
_EMPTY_YEARS_LIMIT = 3


@dataclass(frozen=True, slots=True)
class _Year:
    """Working time of one local year as sorted, disjoint UTC intervals in microseconds.

    `lo`/`hi` are the instants of local midnight on 1 January of the year and of the next
    year: every interval lies inside [lo, hi], and consecutive years' spans touch.
    `before[i]`/`through[i]` are the working microseconds of the year before interval i
    starts and once it ends."""

    lo: int
    hi: int
    starts: list[int]
    ends: list[int]
    before: list[int]
    through: list[int]
    total: int

    def worked(self, us: int) -> int:
        """Working microseconds of this year before the instant `us` (lo <= us < hi)."""
        i = bisect_right(self.ends, us)
        if i == len(self.ends):
            return self.total
        return self.before[i] + max(0, us - self.starts[i])


@dataclass(frozen=True)
class Schedule:
    """A working calendar.

    * `time_zone`: an IANA zone name, in which all hours and dates are read.
    * `weekly`: seven entries, Monday to Sunday, each a tuple of `(start, end)` ranges in
      minutes after local midnight, `0 <= start < end <= 1440` (1440 is midnight at the end
      of the day), sorted and not overlapping. Touching ranges are merged.
    * `closed_dates`: local dates with no working time (public holidays, one-off closures).
    * `special_dates`: local dates whose hours replace the weekly hours (an extra working
      Saturday, a short day); an empty tuple closes the date. An explicit special date wins
      over `closed_dates`: it is the more specific statement, so a company can work on a
      public holiday without editing the holiday list.

    Construction validates and normalises (ValueError on an unknown zone, a range out of
    bounds or overlapping another, a datetime where a date is expected). Schedules are
    immutable and hashable; each one caches its precomputed years, so reuse one instance
    rather than building it anew per call.
    """

    time_zone: str
    weekly: tuple[DayHours, ...]
    closed_dates: frozenset[date] = frozenset()
    special_dates: Mapping[date, DayHours] = field(default_factory=dict, hash=False)
    _zone: ZoneInfo = field(init=False, repr=False, compare=False, hash=False)
    # Mutated after construction (the object is frozen, the cache is not): filling it twice
    # from two threads builds the same value twice, which is harmless.
    _years: dict[int, _Year] = field(init=False, repr=False, compare=False, hash=False)

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        set_(self, "_zone", _zone(self.time_zone))
        weekly = tuple(self.weekly)
        if len(weekly) != 7:
            raise ValueError(f"weekly must have 7 entries (Monday..Sunday), got {len(weekly)}")
        set_(
            self,
            "weekly",
            tuple(_day_hours(day, f"weekday {i}") for i, day in enumerate(weekly)),
        )
        closed = frozenset(self.closed_dates)
        for d in closed:
            _check_date(d, "closed_dates")
        set_(self, "closed_dates", closed)
        special: dict[date, DayHours] = {}
        for d, hours in sorted(self.special_dates.items()):
            _check_date(d, "special_dates")
            special[d] = _day_hours(hours, f"special date {d.isoformat()}")
        set_(self, "special_dates", MappingProxyType(special))
        set_(self, "_years", {})

    def __reduce__(self) -> tuple[type[Schedule], tuple[object, ...]]:
        # Pickle (for a cache shared between processes) the definition, not the year cache;
        # the read-only view of special_dates cannot be pickled as it is.
        return (
            type(self),
            (self.time_zone, self.weekly, self.closed_dates, dict(self.special_dates)),
        )

    @classmethod
    def build(
        cls,
        time_zone: str,
        weekly: Mapping[int, Iterable[Range]],
        closed: Iterable[date] = (),
        special: Mapping[date, Iterable[Range]] | None = None,
    ) -> Schedule:
        """A schedule from friendlier input: `weekly` maps weekday numbers (Monday is 0, as
        in `date.weekday()`) to ranges in any order; missing weekdays are closed."""
        unknown = sorted(set(weekly) - set(range(7)))
        if unknown:
            raise ValueError(f"weekday keys must be 0 (Monday) to 6 (Sunday), got {unknown}")
        return cls(
            time_zone=time_zone,
            weekly=tuple(tuple(weekly.get(i, ())) for i in range(7)),
            closed_dates=frozenset(closed),
            special_dates={d: tuple(r) for d, r in (special or {}).items()},
        )

    @classmethod
    def always(cls, time_zone: str = "UTC") -> Schedule:
        """24/7: every instant is working time, so adding minutes is plain addition."""
        return cls(time_zone=time_zone, weekly=(((0, MINUTES_PER_DAY),),) * 7)

    def hours_on(self, day: date) -> DayHours:
        """The ranges that apply on a local date: special hours, else none if closed, else
        the weekly hours."""
        special = self.special_dates.get(day)
        if special is not None:
            return special
        if day in self.closed_dates:
            return ()
        return self.weekly[day.weekday()]

    def _year(self, year: int) -> _Year:
        cached = self._years.get(year)
        if cached is None:
            cached = self._years[year] = self._build_year(year)
        return cached

    def _build_year(self, year: int) -> _Year:
        if not _FIRST_YEAR <= year <= _LAST_YEAR:
            raise ValueError(f"business time is supported for years {_FIRST_YEAR}-{_LAST_YEAR}")
        zone = self._zone
        starts: list[int] = []
        ends: list[int] = []
        day = date(year, 1, 1)
        one_day = timedelta(days=1)
        while day.year == year:
            for start_minute, end_minute in self.hours_on(day):
                start = _local_to_us(zone, day, start_minute)
                end = _local_to_us(zone, day, end_minute)
                if end <= start:
                    continue  # wholly inside a skipped hour
                if ends and ends[-1] == start:
                    ends[-1] = end  # continues the previous range (e.g. over midnight)
                else:
                    starts.append(start)
                    ends.append(end)
            day += one_day
        before: list[int] = []
        through: list[int] = []
        total = 0
        for start, end in zip(starts, ends, strict=True):
            before.append(total)
            total += end - start
            through.append(total)
        return _Year(
            lo=_local_to_us(zone, date(year, 1, 1), 0),
            hi=_local_to_us(zone, date(year, 12, 31), MINUTES_PER_DAY),
            starts=starts,
            ends=ends,
            before=before,
            through=through,
            total=total,
        )

    def _locate(self, us: int, guess: int) -> tuple[int, _Year]:
        """The local year whose span holds the instant `us`, starting from a guess at most a
        year or so off (the instant's year in any zone)."""
        year = guess
        while True:
            block = self._year(year)
            if us < block.lo:
                year -= 1
            elif us >= block.hi:
                year += 1
            else:
                return year, block


def holiday_dates(
    country: str, years: Iterable[int], subdivision: str | None = None
) -> frozenset[date]:
    """Public holidays of a country (ISO 3166-1 code, e.g. "AZ", "TR", "RU", "IR") in the
    given years, from the `holidays` package, including the days off it lists in lieu of
    holidays that fall on a weekend. ValueError for a country or subdivision it does not know.

    An in-lieu day is listed under its own year: a holiday on 31 December whose day off is 2
    January is only returned when the next year is asked for too, so ask for one year more
    than the schedule must cover."""
    # Imported here: the package takes ~80 ms to import and only calendar set-up needs it.
    import holidays

    try:
        calendar = holidays.country_holidays(
            country.upper(), subdiv=subdivision, years=sorted(set(years))
        )
    except NotImplementedError as exc:  # how the package says "unknown country/subdivision"
        raise ValueError(str(exc)) from exc
    return frozenset(calendar.keys())


def add_business_minutes(schedule: Schedule, start: datetime, minutes: float) -> datetime:
    """The instant, in UTC, at which `minutes` of working time have elapsed after `start`.

    `start` must be timezone-aware and `minutes` finite and >= 0 (ValueError otherwise).
    Minutes are counted to the microsecond. For more than zero minutes the result is the
    earliest such instant: it lies inside a working range or exactly at its end (a range
    ending 18:00 with 30 minutes left at 17:30 gives 18:00, not the next morning), never
    strictly outside working time, even when `start` is. Adding zero (or less than half a
    microsecond) returns the same instant as `start`, in UTC, even outside working time.
    ValueError if the search crosses three consecutive local years without working time,
    or goes past the year 9998.
    """
    us = _instant_us(start, "start")
    amount = _minutes_us(minutes)
    if amount == 0:
        return start.astimezone(UTC)
    year, block = schedule._locate(us, start.year)
    target = block.worked(us) + amount
    empty_years = 0
    while target > block.total:
        target -= block.total
        year += 1
        block = schedule._year(year)
        empty_years = empty_years + 1 if block.total == 0 else 0
        if empty_years >= _EMPTY_YEARS_LIMIT:
            raise ValueError(
                f"schedule has no working time in the {_EMPTY_YEARS_LIMIT} local years up to {year}"
            )
    i = bisect_left(block.through, target)
    return _EPOCH + _ONE_US * (block.starts[i] + target - block.before[i])


def business_minutes_between(schedule: Schedule, start: datetime, end: datetime) -> float:
    """Working minutes in [start, end); 0 if `end` is not after `start`. Both must be
    timezone-aware (ValueError otherwise). Counted to the microsecond, so counts over
    adjacent spans add up exactly."""
    start_us = _instant_us(start, "start")
    end_us = _instant_us(end, "end")
    if end_us <= start_us:
        return 0.0
    year, block = schedule._locate(start_us, start.year)
    last_year, last_block = schedule._locate(end_us, end.year)
    if year == last_year:
        worked = block.worked(end_us) - block.worked(start_us)
    else:
        worked = block.total - block.worked(start_us)
        for middle in range(year + 1, last_year):
            worked += schedule._year(middle).total
        worked += last_block.worked(end_us)
    return worked / _US_PER_MINUTE


def is_working_time(schedule: Schedule, instant: datetime) -> bool:
    """Whether an aware instant is inside a working range: the start of a range is working
    time, its end is not."""
    us = _instant_us(instant, "instant")
    _, block = schedule._locate(us, instant.year)
    i = bisect_right(block.ends, us)
    return i < len(block.ends) and block.starts[i] <= us


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, TypeError) as exc:
        raise ValueError(f"unknown time zone {name!r}") from exc


def _check_date(value: object, where: str) -> None:
    # A datetime is a date too, but it never equals the dates it would be looked up with.
    if not isinstance(value, date) or isinstance(value, datetime):
        raise ValueError(f"{where} must hold dates, got {value!r}")


def _day_hours(ranges: Iterable[Range], where: str) -> DayHours:
    """Validate one day's ranges; return them sorted, with touching ranges merged."""
    cleaned: list[Range] = []
    for pair in ranges:
        try:
            start, end = (operator.index(x) for x in pair)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"{where}: {pair!r} is not a (start, end) pair of minutes") from exc
        if not 0 <= start < end <= MINUTES_PER_DAY:
            raise ValueError(
                f"{where}: range ({start}, {end}) must satisfy 0 <= start < end <= 1440"
            )
        cleaned.append((start, end))
    cleaned.sort()
    merged: list[Range] = []
    for start, end in cleaned:
        if merged and start < merged[-1][1]:
            raise ValueError(f"{where}: range ({start}, {end}) overlaps {merged[-1]}")
        if merged and start == merged[-1][1]:
            merged[-1] = (merged[-1][0], end)
        else:
            merged.append((start, end))
    return tuple(merged)


def _instant_us(value: datetime, name: str) -> int:
    if not isinstance(value, datetime):
        raise ValueError(f"{name} must be a datetime, got {value!r}")
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware, got naive {value.isoformat()}")
    return (value - _EPOCH) // _ONE_US


def _minutes_us(minutes: float) -> int:
    if not math.isfinite(minutes) or minutes < 0:
        raise ValueError(f"minutes must be finite and >= 0, got {minutes!r}")
    return round(minutes * _US_PER_MINUTE)


def _local_to_us(zone: ZoneInfo, day: date, minute: int) -> int:
    """`f` of the module docstring: the instant (UTC microseconds) of a local wall time,
    given as a date and minutes after its midnight (1440 is the next midnight)."""
    if minute == MINUTES_PER_DAY:
        day += timedelta(days=1)
        minute = 0
    wall = datetime(day.year, day.month, day.day, minute // 60, minute % 60, tzinfo=zone)
    # zoneinfo reads a repeated or skipped wall time with the offset before the change when
    # fold=0 and the one after it when fold=1: equal offsets mean the time exists once; a
    # larger offset after means clocks went forward over it.
    offset = wall.utcoffset()
    offset_after = wall.replace(fold=1).utcoffset()
    assert offset is not None and offset_after is not None  # a ZoneInfo always answers
    if offset_after > offset:
        return _jump_us(zone, wall.replace(tzinfo=None))
    wall_us = (day.toordinal() - _EPOCH_ORDINAL) * _US_PER_DAY + minute * _US_PER_MINUTE
    return wall_us - offset // _ONE_US


def _jump_us(zone: ZoneInfo, wall: datetime) -> int:
    """The instant the clock jumps over a non-existent wall time."""
    # Read with the offsets before and after the jump, the wall time gives one instant on
    # each side of it; bisect the seconds between (tzdb transitions are whole seconds).
    a = (wall.replace(tzinfo=zone, fold=0) - _EPOCH) // timedelta(seconds=1)
    b = (wall.replace(tzinfo=zone, fold=1) - _EPOCH) // timedelta(seconds=1)
    lo, hi = min(a, b), max(a, b)
    offset_before = _offset_at(zone, lo)
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if _offset_at(zone, mid) == offset_before:
            lo = mid
        else:
            hi = mid
    return hi * _US_PER_SECOND


def _offset_at(zone: ZoneInfo, seconds: int) -> timedelta | None:
    return datetime.fromtimestamp(seconds, zone).utcoffset()
