"""Working time: deadlines counted in working hours over a calendar of working days.

Time limits of cases are stated in working hours (工作时): by default Monday to Friday,
09:00 to 17:00 Asia/Shanghai, without public holidays, with adjusted working days (调休, a
Saturday or Sunday worked in exchange for a holiday) counted as working days. Pure
functions on plain values: the service passes in the holidays it keeps in its tables.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, timezone, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

try:
    SHANGHAI: tzinfo = ZoneInfo("Asia/Shanghai")
except ZoneInfoNotFoundError:  # no tz database: Shanghai has kept UTC+8 without DST since 1991
    SHANGHAI = timezone(timedelta(hours=8), "CST")

SECONDS_PER_HOUR = 3600


@dataclass(frozen=True)
class WorkingCalendar:
    """Working days and the daily working window, in one time zone."""

    start: time = time(9, 0)
    end: time = time(17, 0)
    holidays: frozenset[date] = field(default_factory=frozenset)
    workdays: frozenset[date] = field(default_factory=frozenset)
    zone: tzinfo = SHANGHAI

    def __post_init__(self) -> None:
        if not self.start < self.end:
            raise ValueError("the working day should start before it ends")

    @classmethod
    def of(cls, *, holidays: Iterable[date] = (), workdays: Iterable[date] = ()) -> WorkingCalendar:
        """The default calendar with these holidays and adjusted working days."""
        return cls(holidays=frozenset(holidays), workdays=frozenset(workdays))

    @property
    def day_seconds(self) -> int:
        """Length of one working day in seconds."""
        return (
            datetime.combine(date.min, self.end) - datetime.combine(date.min, self.start)
        ).seconds

    def is_working_day(self, day: date) -> bool:
        """Whether ``day`` is worked: an adjusted working day, or a weekday not a holiday."""
        if day in self.workdays:
            return True
        return day.weekday() < 5 and day not in self.holidays

    def _window(self, day: date) -> tuple[datetime, datetime]:
        return (
            datetime.combine(day, self.start, self.zone),
            datetime.combine(day, self.end, self.zone),
        )


def _local(moment: datetime, calendar: WorkingCalendar) -> datetime:
    if moment.tzinfo is None:
        raise ValueError("working time needs timezone-aware moments")
    return moment.astimezone(calendar.zone)


def add_working_hours(start: datetime, hours: float, calendar: WorkingCalendar) -> datetime:
    """The moment ``hours`` working hours after ``start`` (in UTC).

    A start outside working time counts from the next opening. A deadline that falls
    exactly at the end of a working day stays there (it does not roll to the next morning).
    """
    if hours < 0:
        raise ValueError("hours should not be negative")
    remaining = round(hours * SECONDS_PER_HOUR, 6)
    moment = _local(start, calendar)
    day = moment.date()
    # Guard against a calendar without working days (every day a holiday).
    for _ in range(366 * 50):
        if calendar.is_working_day(day):
            opening, closing = calendar._window(day)
            begin = max(moment, opening)
            if begin < closing:
                available = (closing - begin).total_seconds()
                if remaining <= available:
                    return (begin + timedelta(seconds=remaining)).astimezone(UTC)
                remaining -= available
        day += timedelta(days=1)
        moment = datetime.combine(day, time(0, 0), calendar.zone)
    raise ValueError("the calendar has no working day in fifty years")


def working_seconds_between(start: datetime, end: datetime, calendar: WorkingCalendar) -> float:
    """Working seconds from ``start`` to ``end`` (negative when ``end`` comes first)."""
    a, b = _local(start, calendar), _local(end, calendar)
    if b < a:
        return -working_seconds_between(end, start, calendar)
    total = 0.0
    day = a.date()
    while day <= b.date():
        if calendar.is_working_day(day):
            opening, closing = calendar._window(day)
            lo, hi = max(a, opening), min(b, closing)
            if hi > lo:
                total += (hi - lo).total_seconds()
        day += timedelta(days=1)
    return total


def working_hours_between(start: datetime, end: datetime, calendar: WorkingCalendar) -> float:
    """Working hours from ``start`` to ``end``."""
    return working_seconds_between(start, end, calendar) / SECONDS_PER_HOUR
