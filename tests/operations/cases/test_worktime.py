"""Working time: deadlines over weekdays 9:00-17:00 Shanghai, holidays and adjusted days."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from twonets.operations.cases.worktime import (
    SHANGHAI,
    WorkingCalendar,
    add_working_hours,
    working_hours_between,
)

CAL = WorkingCalendar.of()


def sh(y: int, m: int, d: int, hh: int, mm: int = 0) -> datetime:
    """A moment given in Shanghai time."""
    return datetime(y, m, d, hh, mm, tzinfo=SHANGHAI)


@pytest.mark.parametrize(
    ("start", "hours", "expected"),
    [
        (sh(2026, 11, 30, 10), 4, sh(2026, 11, 30, 14)),  # Monday, within the day
        (sh(2026, 11, 30, 15), 4, sh(2026, 12, 1, 11)),  # over the night
        (sh(2026, 12, 4, 16), 2, sh(2026, 12, 7, 10)),  # Friday to Monday
        (sh(2026, 12, 5, 12), 1, sh(2026, 12, 7, 10)),  # Saturday counts from Monday 9:00
        (sh(2026, 11, 30, 7), 8, sh(2026, 11, 30, 17)),  # before opening: a full day
        (sh(2026, 11, 30, 18), 0, sh(2026, 12, 1, 9)),  # after closing, no time: next opening
        (sh(2026, 11, 30, 9), 8, sh(2026, 11, 30, 17)),  # ends exactly at closing
        (sh(2026, 11, 30, 9), 40, sh(2026, 12, 4, 17)),  # a working week
    ],
)
def test_deadlines(start: datetime, hours: float, expected: datetime) -> None:
    assert add_working_hours(start, hours, CAL) == expected.astimezone(UTC)


def test_holidays_are_skipped_and_adjusted_days_worked() -> None:
    # National Day 2026: 1-7 October off; Sunday 27 September and Saturday 10 October worked.
    holidays = [date(2026, 10, d) for d in range(1, 8)]
    cal = WorkingCalendar.of(holidays=holidays, workdays=[date(2026, 9, 27), date(2026, 10, 10)])

    assert add_working_hours(sh(2026, 9, 30, 16), 2, cal) == sh(2026, 10, 8, 10).astimezone(UTC)
    assert add_working_hours(sh(2026, 9, 26, 12), 1, cal) == sh(2026, 9, 27, 10).astimezone(UTC)
    assert add_working_hours(sh(2026, 10, 9, 16), 2, cal) == sh(2026, 10, 10, 10).astimezone(UTC)


def test_naive_moments_are_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        add_working_hours(datetime(2026, 11, 30, 10), 1, CAL)


def test_negative_hours_are_refused() -> None:
    with pytest.raises(ValueError, match="negative"):
        add_working_hours(sh(2026, 11, 30, 10), -1, CAL)


moments = st.datetimes(
    min_value=datetime(2024, 1, 1), max_value=datetime(2028, 12, 31), timezones=st.just(UTC)
)
holiday_sets = st.frozensets(
    st.dates(min_value=date(2024, 1, 1), max_value=date(2029, 3, 1)), max_size=40
)


@settings(max_examples=300, deadline=None)
@given(start=moments, hours=st.floats(min_value=0, max_value=200), holidays=holiday_sets)
def test_the_deadline_is_exactly_that_many_working_hours_later(
    start: datetime, hours: float, holidays: frozenset[date]
) -> None:
    cal = WorkingCalendar.of(holidays=holidays)
    deadline = add_working_hours(start, hours, cal)

    assert deadline >= start
    assert working_hours_between(start, deadline, cal) == pytest.approx(hours, abs=1e-6)
    local = deadline.astimezone(SHANGHAI)
    assert cal.is_working_day(local.date())
    assert cal.start <= local.time() <= cal.end


@settings(max_examples=200, deadline=None)
@given(start=moments, a=st.floats(0, 100), b=st.floats(0, 100))
def test_adding_in_two_steps_is_adding_once(start: datetime, a: float, b: float) -> None:
    once = add_working_hours(start, a + b, CAL)
    twice = add_working_hours(add_working_hours(start, a, CAL), b, CAL)

    assert abs((once - twice).total_seconds()) < 1e-3 or (
        # A step ending exactly at closing continues next morning: the same working moment.
        working_hours_between(once, twice, CAL) == pytest.approx(0, abs=1e-6)
    )


@settings(max_examples=200, deadline=None)
@given(a=moments, b=moments)
def test_working_hours_are_antisymmetric_and_bounded(a: datetime, b: datetime) -> None:
    forward = working_hours_between(a, b, CAL)

    assert forward == pytest.approx(-working_hours_between(b, a, CAL))
    assert abs(forward) <= abs((b - a).total_seconds()) / 3600 + 1e-9
    assert abs(forward) <= (abs((b - a).days) + 2) * 8


def test_a_week_has_forty_working_hours() -> None:
    start = sh(2026, 11, 30, 0)
    assert working_hours_between(start, start + timedelta(days=7), CAL) == 40
