"""The meter feed's faults: repeats counted once, registers and resets, jumps held, hours."""

from __future__ import annotations

import json
import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import func, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from twonets.core.db import unit_of_work
from twonets.operations.rentals import feed, service, service_meters
from twonets.operations.rentals.data import HouseholdRow
from twonets.operations.rentals.models import (
    HourlyMonth,
    Household,
    Meter,
    MeterMessage,
    Reading,
)
from twonets.operations.rentals.service_meters import (
    MeterRules,
    add_meter_readings,
    hour_parts,
    month_shares,
)

from .conftest import NOW, Housing

SHANGHAI = service_meters.SHANGHAI


def _msg(utility: str, body: dict[str, Any], household: str = "H0") -> service_meters.MeterReading:
    reading = feed.parse(
        f"t/meters/{utility}/{household}", json.dumps(body).encode(), prefix="t", now=NOW
    )
    assert reading is not None
    return reading


def _at(hours: float) -> str:
    """A time ``hours`` after 01:00 on 30 November in Shanghai (NOW is 10:00 that day)."""
    start = datetime(2026, 11, 30, 1, 0, tzinfo=SHANGHAI)
    return (start + timedelta(hours=hours)).isoformat()


def _homes(session: Session, housing: Housing) -> None:
    homes = [
        HouseholdRow("H0", "B1", "310115", 60, 2, 2, "residential"),
        HouseholdRow("X0", "B7", "310104", 60, 2, 2, "residential"),
    ]
    service.import_rows(session, housing.city, homes, [], now=NOW)


def _month(session: Session, household: str = "H0", month: str = "2026-11") -> Reading:
    row = session.scalar(
        select(Reading)
        .join(Household, Household.id == Reading.household_pk)
        .where(Household.household_id == household, Reading.month == month)
    )
    assert row is not None
    return row


def _meter(session: Session, utility: str, household: str = "H0") -> Meter:
    row = session.scalar(
        select(Meter)
        .join(Household, Household.id == Meter.household_pk)
        .where(Household.household_id == household, Meter.utility == utility)
    )
    assert row is not None
    return row


# --- messages --------------------------------------------------------------------------------


def test_a_register_message_with_its_id_and_reset() -> None:
    reading = _msg("gas", {"register": 12345.6, "unit": "m3", "id": 77, "reset": True})
    assert (reading.value, reading.register, reading.reset, reading.timed) == (
        12345.6,
        True,
        True,
        False,
    )
    again = _msg("gas", {"register": 1.0, "unit": "m3", "id": "77"})
    assert reading.key == again.key is not None  # the id names the message, whatever it says


def test_a_message_without_id_is_known_by_its_time_and_value_only() -> None:
    timed = {"value": 1.5, "unit": "m3", "time": _at(0)}
    assert _msg("water", timed).key == _msg("water", dict(timed)).key is not None
    assert _msg("water", timed).key != _msg("water", {**timed, "value": 1.6}).key
    assert _msg("water", timed).key != _msg("water", {**timed, "time": _at(1)}).key
    assert _msg("water", {"value": 1.5, "unit": "m3"}).key is None  # nothing to know it by


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        ({"value": 1, "register": 2, "unit": "m3"}, "value"),
        ({"unit": "m3"}, "value"),
        ({"register": -1, "unit": "m3"}, "value"),
        ({"register": "12", "unit": "m3"}, "value"),
        ({"value": 1, "unit": "m3", "reset": True}, "reset"),
        ({"register": 1, "unit": "m3", "reset": "yes"}, "reset"),
        ({"value": 1, "unit": "m3", "id": True}, "id"),
        ({"value": 1, "unit": "m3", "id": ""}, "id"),
        ({"value": 1, "unit": "m3", "id": "x" * 129}, "id"),
        ({"value": 1, "unit": "m3", "id": [1]}, "id"),
    ],
)
def test_a_broken_register_or_id_says_why(payload: dict[str, Any], reason: str) -> None:
    with pytest.raises(feed.BadMessage) as caught:
        feed.parse("t/meters/water/H1", json.dumps(payload).encode(), prefix="t", now=NOW)
    assert caught.value.reason == reason


# --- hours ----------------------------------------------------------------------------------


def test_an_interval_splits_at_the_clock_hours_into_peak_and_valley() -> None:
    start = datetime(2026, 11, 27, 21, 30, tzinfo=SHANGHAI)
    parts = hour_parts(start, start + timedelta(hours=1), 3.0)
    assert [(p.start.hour, p.hours, p.kwh, p.valley) for p in parts] == [
        (21, 0.5, 1.5, False),
        (22, 0.5, 1.5, True),
    ]
    assert hour_parts(start, start, 1.0) == []
    saturday = hour_parts(datetime(2026, 11, 28, 6, 30, tzinfo=SHANGHAI), start, 1.0)
    assert saturday == []  # an interval that ends before it starts covers nothing


@given(
    st.datetimes(min_value=datetime(2020, 1, 1), max_value=datetime(2030, 1, 1)),
    st.integers(1, 5400),
    st.floats(0, 1e4),
)
def test_hour_parts_keep_the_use_and_the_time(start: datetime, seconds: int, kwh: float) -> None:
    a = start.replace(tzinfo=UTC)
    parts = hour_parts(a, a + timedelta(seconds=seconds), kwh)
    assert sum(p.hours for p in parts) == pytest.approx(seconds / 3600)
    assert sum(p.kwh for p in parts) == pytest.approx(kwh, abs=1e-6)
    for p in parts:
        assert 0 < p.hours <= 1
        end = p.start + timedelta(hours=p.hours)
        assert (end - timedelta(microseconds=1)).hour == p.start.hour  # inside one clock hour
        assert p.valley == (p.start.hour >= 22 or p.start.hour < 6)
        assert p.night == (p.start.hour >= 23 or p.start.hour < 7)


def _sums(**values: float) -> HourlyMonth:
    m = HourlyMonth(household_pk=1, month="2026-11")
    for name in (
        "kwh",
        "hours",
        "valley_kwh",
        "valley_hours",
        "peak_kwh",
        "peak_hours",
        "night_kwh",
        "weekend_kwh",
    ):
        setattr(m, name, values.get(name, 0.0))
    return m


def test_month_shares_from_hourly_sums() -> None:
    m = _sums(
        kwh=36.0,
        hours=48,
        valley_kwh=4.0,
        valley_hours=16,
        peak_kwh=32.0,
        peak_hours=32,
        night_kwh=9.0,
        weekend_kwh=18.0,
    )
    assert month_shares(m) == (0.25, 0.5, 0.75)  # valley 0.25 kWh an hour, peak 1
    assert month_shares(_sums(kwh=10.0, hours=23, peak_kwh=10, peak_hours=23)) is None
    only_peak = month_shares(_sums(kwh=10.0, hours=30, peak_kwh=10, peak_hours=30))
    assert only_peak == (0.0, 0.0, None)  # no valley hours: no difference to tell
    night_owl = _sums(kwh=10, hours=30, valley_kwh=10, valley_hours=8, peak_hours=22)
    assert month_shares(night_owl) == (0.0, 0.0, 0.0)  # more in the valley: clipped to 0


_kwh = st.floats(0, 1e4, allow_nan=False)
_hours = st.floats(0, 800, allow_nan=False)


@given(_kwh, _kwh, _hours, _hours, st.floats(0, 1), st.floats(0, 1))
def test_month_shares_lie_between_0_and_1(
    valley: float, peak: float, vh: float, ph: float, night: float, weekend: float
) -> None:
    total = valley + peak
    m = _sums(
        kwh=total,
        hours=vh + ph,
        valley_kwh=valley,
        valley_hours=vh,
        peak_kwh=peak,
        peak_hours=ph,
        night_kwh=total * night,
        weekend_kwh=total * weekend,
    )
    shares = month_shares(m)
    if shares is None:
        assert vh + ph < service_meters.MIN_HOURS or total <= 0
        return
    for share in shares:
        assert share is None or 0 <= share <= 1


# --- the store (SQLite and PostgreSQL) -------------------------------------------------------


def test_a_message_sent_twice_is_added_once(
    session_factory: sessionmaker[Session], housing: Housing
) -> None:
    with unit_of_work(session_factory) as session:
        _homes(session, housing)
    named = _msg("water", {"value": 1.5, "unit": "m3", "id": "w-1", "time": _at(0)})
    timed = _msg("water", {"value": 0.5, "unit": "m3", "time": _at(1)})
    untimed = _msg("water", {"value": 0.25, "unit": "m3"})
    with unit_of_work(session_factory) as session:
        first = add_meter_readings(session, [named, named, timed, untimed, untimed], now=NOW)
    assert (first.added, first.duplicates) == (4, 1)  # nothing tells the untimed two apart
    resent = _msg("water", {"value": 9.0, "unit": "m3", "id": "w-1"})  # the id decides
    with unit_of_work(session_factory) as session:
        second = add_meter_readings(session, [timed, resent], now=NOW)
    assert (second.added, second.duplicates) == (0, 2)
    with session_factory() as session:
        assert _month(session).water_m3 == pytest.approx(2.5)
        assert (_meter(session, "water").taken, _meter(session, "water").duplicates) == (4, 3)


def test_the_unique_key_holds_in_the_database(
    session_factory: sessionmaker[Session], housing: Housing
) -> None:
    with unit_of_work(session_factory) as session:
        _homes(session, housing)
        pk = session.scalar(select(Household.id).where(Household.household_id == "H0"))
        session.add(MeterMessage(household_pk=pk, utility="gas", key="k" * 64, at=NOW))
    with pytest.raises(IntegrityError), unit_of_work(session_factory) as session:
        session.add(MeterMessage(household_pk=pk, utility="gas", key="k" * 64, at=NOW))


def _until_waiting(factory: sessionmaker[Session]) -> None:
    """Until another transaction of this database waits on a lock (at most 10 s)."""
    waiting = text(
        "SELECT count(*) FROM pg_stat_activity"
        " WHERE datname = current_database() AND wait_event_type = 'Lock'"
    )
    for _ in range(200):
        with factory() as session:
            if session.scalar(waiting):
                return
        time.sleep(0.05)


def test_a_key_kept_meanwhile_by_another_transaction_is_a_repeat(
    session_factory: sessionmaker[Session], housing: Housing
) -> None:
    if session_factory.kw["bind"].dialect.name != "postgresql":
        pytest.skip("SQLite lets one writer at a time; PostgreSQL is where workers race")
    with unit_of_work(session_factory) as session:
        _homes(session, housing)
        pk = session.scalar(select(Household.id).where(Household.household_id == "H0"))
    assert pk is not None
    kept, new = "k" * 64, "n" * 64
    fresh: list[set[tuple[int, str, str]]] = []

    def other_worker() -> None:
        with unit_of_work(session_factory) as session:
            keys = [(pk, "water", kept, NOW), (pk, "water", new, NOW)]
            fresh.append(service_meters._fresh(session, keys))

    with unit_of_work(session_factory) as session:
        session.add(MeterMessage(household_pk=pk, utility="water", key=kept, at=NOW))
        session.flush()
        worker = threading.Thread(target=other_worker)
        worker.start()
        _until_waiting(session_factory)  # its insert waits on this uncommitted key
    worker.join(60)
    assert fresh == [{(pk, "water", new)}]  # one savepoint per key once the batch collided
    with session_factory() as session:
        assert session.scalar(select(func.count(MeterMessage.id))) == 2


def test_two_workers_add_one_message_once(
    session_factory: sessionmaker[Session], housing: Housing
) -> None:
    if session_factory.kw["bind"].dialect.name != "postgresql":
        pytest.skip("SQLite lets one writer at a time; PostgreSQL is where workers race")
    with unit_of_work(session_factory) as session:
        _homes(session, housing)
    batch = [_msg("gas", {"value": 1.0, "unit": "m3", "id": "g-1"})]
    results: list[service_meters.Applied] = []

    def other_worker() -> None:
        with unit_of_work(session_factory) as session:
            results.append(add_meter_readings(session, batch, now=NOW))

    with unit_of_work(session_factory) as session:
        results.append(add_meter_readings(session, batch, now=NOW))
        worker = threading.Thread(target=other_worker)
        worker.start()
        _until_waiting(session_factory)  # on this transaction's meter
    worker.join(60)
    assert not worker.is_alive()
    assert sorted((r.added, r.duplicates) for r in results) == [(0, 1), (1, 0)]
    with session_factory() as session:
        assert _month(session).gas_m3 == 1.0


def test_registers_count_from_their_baseline_and_resets_add_nothing(
    session_factory: sessionmaker[Session], housing: Housing
) -> None:
    with unit_of_work(session_factory) as session:
        _homes(session, housing)
    sequence = [
        (0, {"register": 100.0}),  # the baseline
        (1, {"register": 101.5}),  # +1.5
        (2, {"register": 103.0}),  # +1.5
        (3, {"register": 2.0}),  # lower: a new meter, a new baseline, nothing added
        (4, {"register": 2.5}),  # +0.5
        (5, {"register": 0.7, "reset": True}),  # said to be since a reset: +0.7
        (0.5, {"register": 50.0}),  # older than the baseline: late
    ]
    batch = [
        _msg("gas", {**body, "unit": "m3", "time": _at(hours)}) for hours, body in sequence[:4]
    ]
    with unit_of_work(session_factory) as session:
        first = add_meter_readings(session, batch, now=NOW)
    assert (first.added, first.resets) == (2, 1)
    batch = [
        _msg("gas", {**body, "unit": "m3", "time": _at(hours)}) for hours, body in sequence[4:]
    ]
    with unit_of_work(session_factory) as session:
        second = add_meter_readings(session, batch, now=NOW)
    assert (second.added, second.resets, second.late) == (2, 1, 1)
    with session_factory() as session:
        assert _month(session).gas_m3 == pytest.approx(4.2)
        gas = _meter(session, "gas")
        assert (gas.last_register, gas.resets, gas.late, gas.taken) == (0.7, 2, 1, 4)


def test_a_jump_beyond_the_ceiling_is_held_back(
    session_factory: sessionmaker[Session], housing: Housing
) -> None:
    with unit_of_work(session_factory) as session:
        _homes(session, housing)
    batch = [
        _msg("electricity", {"value": 1.0, "unit": "kWh", "time": _at(0)}),
        _msg("electricity", {"value": 500.0, "unit": "kWh", "time": _at(1)}),  # 500 kW
        _msg("electricity", {"value": 30.0, "unit": "kWh", "time": _at(3)}),  # 15 kW for 2 h
        _msg("gas", {"register": 10.0, "unit": "m3", "time": _at(0)}),
        _msg("gas", {"register": 99999.0, "unit": "m3", "time": _at(1)}),  # a register gone wild
        _msg("gas", {"register": 100001.0, "unit": "m3", "time": _at(2)}),  # +2 from there
    ]
    with unit_of_work(session_factory) as session:
        applied = add_meter_readings(session, batch, now=NOW)
    assert (applied.added, applied.implausible) == (3, 2)
    with session_factory() as session:
        month = _month(session)
        assert (month.electricity_kwh, month.gas_m3) == (31.0, 2.0)
        power = _meter(session, "electricity")
        assert (power.implausible, power.held) == (1, 500.0)
    strict = MeterRules(ceilings={"water": 3.0, "electricity": 10.0, "gas": 6.0})
    more = [_msg("electricity", {"value": 25.0, "unit": "kWh", "time": _at(4)})]
    with unit_of_work(session_factory) as session:
        assert add_meter_readings(session, more, now=NOW, rules=strict).implausible == 1


def test_keys_are_pruned_and_older_messages_refused(
    session_factory: sessionmaker[Session], housing: Housing
) -> None:
    with unit_of_work(session_factory) as session:
        _homes(session, housing)
    rules = MeterRules(retention=timedelta(days=1))
    message = _msg("water", {"value": 1.0, "unit": "m3", "id": "w-9", "time": _at(0)})
    old = _msg("water", {"value": 1.0, "unit": "m3", "time": (NOW - timedelta(days=2)).isoformat()})
    with unit_of_work(session_factory) as session:
        applied = add_meter_readings(session, [message, old], now=NOW, rules=rules)
    assert (applied.added, applied.late) == (1, 1)
    later = NOW + timedelta(days=2)
    fresh = _msg("water", {"value": 2.0, "unit": "m3", "id": "w-10", "time": later.isoformat()})
    with unit_of_work(session_factory) as session:
        again = add_meter_readings(session, [message, fresh], now=later, rules=rules)
        keys = session.scalar(select(func.count(MeterMessage.id)))
    assert (again.added, again.late, again.duplicates) == (1, 1, 0)  # too old to tell: refused
    assert keys == 1  # w-9's key is gone, w-10's kept


def test_hourly_electricity_gives_the_month_its_shares_and_peak_valley(
    session_factory: sessionmaker[Session], housing: Housing
) -> None:
    with unit_of_work(session_factory) as session:
        _homes(session, housing)
    friday = datetime(2026, 11, 27, 0, 0, tzinfo=SHANGHAI)
    batch = [_msg("electricity", {"value": 0.0, "unit": "kWh", "time": friday.isoformat()})]
    for hour in range(48):  # Friday and Saturday, each hour's use sent at its end
        start = friday + timedelta(hours=hour)
        use = 0.2 if start.hour >= 22 or start.hour < 6 else 1.0
        end = (start + timedelta(hours=1)).isoformat()
        batch.append(_msg("electricity", {"value": use, "unit": "kWh", "time": end}))
    with unit_of_work(session_factory) as session:
        add_meter_readings(session, batch[:20], now=NOW)
    with session_factory() as session:
        month = _month(session)
        assert (month.night_share, month.peak_valley) == (None, None)  # under a day of hours
    with unit_of_work(session_factory) as session:
        add_meter_readings(session, batch[20:], now=NOW)
    with session_factory() as session:
        month = _month(session)
        # Each day: 8 valley hours of 0.2 and 16 peak hours of 1 (17.6 kWh); the night
        # (23:00-07:00) is 7 valley hours and 06:00-07:00: 2.4 kWh.
        assert month.electricity_kwh == pytest.approx(35.2)
        assert month.peak_valley == pytest.approx(0.8)
        assert month.night_share == pytest.approx(4.8 / 35.2, abs=1e-6)
        assert month.weekend_share == pytest.approx(0.5)
        _, readings, _ = service._stored(session, None)
    assert [r.peak_valley for r in readings] == [pytest.approx(0.8)]


def test_the_import_keeps_peak_valley_for_detection(
    session_factory: sessionmaker[Session], housing: Housing
) -> None:
    with unit_of_work(session_factory) as session:
        _homes(session, housing)
        text = (
            "household_id,month,water_m3,electricity_kwh,gas_m3,peak_valley\n"
            "H0,2026-10,7,200,12,0.62\n"
            "X0,2026-10,7,200,12,\n"
        )
        service.import_uploads(
            session,
            housing.city,
            households=None,
            readings=("readings.csv", text.encode()),
            now=NOW,
        )
    with session_factory() as session:
        assert _month(session, "H0", "2026-10").peak_valley == 0.62
        _, readings, _ = service._stored(session, None)
    assert sorted((r.household_id, r.peak_valley) for r in readings) == [
        ("H0", 0.62),
        ("X0", None),
    ]
