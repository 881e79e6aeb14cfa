"""The closed loop: the meter feed on the real broker, street teams' caps, thresholds, outcomes."""

from __future__ import annotations

import asyncio
import contextlib
import os
import uuid
from datetime import UTC, datetime, timedelta

import aiomqtt
import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from conftest import unavailable
from twonets.core.db import unit_of_work
from twonets.core.errors import Conflict, Forbidden, Invalid
from twonets.operations.cases.states import CaseState, get_case
from twonets.operations.rentals import feed, model, service, service_loop
from twonets.operations.rentals.data import HouseholdRow
from twonets.operations.rentals.models import Household, Lead, Reading

from .conftest import NOW, Housing

MQTT_URL = os.environ.get("TWONETS_TEST_MQTT_URL", "mqtt://127.0.0.1:1883")


def test_a_meter_message_is_a_household_reading() -> None:
    reading = feed.parse(
        "city/meters/water/H000001",
        b'{"value": 0.5, "unit": "m3", "time": "2026-12-01T07:00:00+08:00"}',
        prefix="city",
        now=NOW,
    )
    assert reading == service_loop.MeterReading(
        "H000001", "water", 0.5, datetime(2026, 11, 30, 23, 0, tzinfo=UTC)
    )
    assert (
        feed.parse("city/meters/noise/N1", b'{"value": 60, "unit": "dB"}', prefix="city", now=NOW)
        is None
    )


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (b"oops", "payload"),
        (b"[1]", "payload"),
        (b'{"value": -1, "unit": "m3"}', "value"),
        (b'{"value": true, "unit": "m3"}', "value"),
        (b'{"value": 1, "unit": "kWh"}', "unit"),
        (b'{"value": 1, "unit": "m3", "time": "yesterday"}', "time"),
        (b'{"value": 1, "unit": "m3", "time": "2026-12-01T07:00:00"}', "time"),
    ],
)
def test_a_broken_meter_message_says_why(payload: bytes, reason: str) -> None:
    with pytest.raises(feed.BadMessage) as caught:
        feed.parse("t/meters/water/H1", payload, prefix="t", now=NOW)
    assert caught.value.reason == reason


@given(st.binary(max_size=200))
def test_no_payload_breaks_the_parser(payload: bytes) -> None:
    try:
        reading = feed.parse("t/meters/gas/H1", payload, prefix="t", now=NOW)
    except feed.BadMessage:
        return
    assert reading is not None
    assert reading.value >= 0
    assert reading.utility == "gas"


def _homes(session: Session, housing: Housing) -> None:
    homes = [
        HouseholdRow(f"H{i}", "B1", "310115", 60, 2, 2, "residential", street="310115005")
        for i in range(3)
    ]
    service.import_rows(session, housing.city, homes, [], now=NOW)


@pytest.mark.services
@pytest.mark.asyncio
async def test_readings_from_the_broker_add_to_households_months(
    session_factory: sessionmaker[Session], housing: Housing
) -> None:
    host, _, port = MQTT_URL.removeprefix("mqtt://").partition(":")
    try:
        async with aiomqtt.Client(host, int(port or 1883), timeout=3):
            pass
    except aiomqtt.MqttError as exc:
        unavailable(f"MQTT broker at {MQTT_URL}", type(exc).__name__)
    with unit_of_work(session_factory) as session:
        _homes(session, housing)
    prefix = f"twonets-test-{uuid.uuid4().hex[:10]}"
    meter_feed = feed.MeterFeed(
        MQTT_URL, session_factory, prefix=prefix, clock=lambda: NOW, linger=0.05
    )
    stop = asyncio.Event()
    task = asyncio.create_task(meter_feed.run(stop))
    try:
        await asyncio.wait_for(meter_feed.subscribed.wait(), 10)
        async with aiomqtt.Client(host, int(port or 1883)) as client:
            for value in (1.5, 2.5):
                await client.publish(
                    f"{prefix}/meters/water/H1", f'{{"value": {value}, "unit": "m3"}}', qos=1
                )
            await client.publish(
                f"{prefix}/meters/electricity/H1",
                b'{"value": 40, "unit": "kWh", "time": "2026-12-01T08:00:00+08:00"}',
                qos=1,
            )
            await client.publish(f"{prefix}/meters/gas/WM-77", b'{"value": 3, "unit": "m3"}', qos=1)
            await client.publish(f"{prefix}/meters/gas/H2", b'{"value": -3, "unit": "m3"}', qos=1)
        for _ in range(200):
            if meter_feed.stats.added == 3 and meter_feed.stats.not_households == 1:
                break
            await asyncio.sleep(0.05)
    finally:
        stop.set()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(task, 10)
    assert (meter_feed.stats.added, meter_feed.stats.not_households) == (3, 1)
    assert meter_feed.stats.rejected == {"value": 1}
    with session_factory() as session:
        rows = session.execute(
            select(Reading.month, Reading.water_m3, Reading.electricity_kwh)
            .join(Household, Household.id == Reading.household_pk)
            .where(Household.household_id == "H1")
            .order_by(Reading.month)
        ).all()
    # NOW is 30 November in Shanghai; the electricity reading is of 1 December.
    assert [tuple(r) for r in rows] == [("2026-11", 4.0, 0.0), ("2026-12", 0.0, 40.0)]


def test_a_street_team_inspects_at_most_its_daily_cap(
    session_factory: sessionmaker[Session], housing: Housing, leads: list[int]
) -> None:
    with unit_of_work(session_factory) as session:
        pudong = session.scalars(
            select(Lead).where(Lead.district_code == "310115").order_by(Lead.id)
        ).all()
        assert len(pudong) >= 3
        team, district = service_loop.team_of(session, pudong[0].household_pk)
        assert (team[:6], district) == ("310115", "310115")  # the household's street
        for lead in pudong[1:3]:  # three leads of one street
            home = session.get(Household, lead.household_pk)
            assert home is not None
            home.street_code = team
        service_loop.set_cap(session, housing.pudong, team, "310115", 2, now=NOW)
        service.refer_lead(session, housing.pudong, pudong[0].id, now=NOW)
        service.refer_lead(session, housing.pudong, pudong[1].id, now=NOW)
        with pytest.raises(Conflict, match="daily cap is 2"):
            service.refer_lead(session, housing.pudong, pudong[2].id, now=NOW)
        # The next day in Shanghai the team takes leads again.
        service.refer_lead(session, housing.pudong, pudong[2].id, now=NOW + timedelta(days=1))
        with pytest.raises(Forbidden):
            service_loop.set_cap(session, housing.xuhui, team, "310115", 9, now=NOW)
        with pytest.raises(Forbidden):
            service_loop.set_cap(session, housing.other, "310115", "310115", 9, now=NOW)
        with pytest.raises(Invalid):
            service_loop.set_cap(session, housing.pudong, "310115", "310115", -1, now=NOW)


def test_thresholds_show_their_effect_before_they_apply(
    session_factory: sessionmaker[Session], housing: Housing, leads: list[int]
) -> None:
    with unit_of_work(session_factory) as session:
        first, second = leads[:2]
        for lead_id, state in ((first, CaseState.CLOSED), (second, CaseState.REJECTED)):
            referred = service.refer_lead(session, housing.city, lead_id, now=NOW)
            get_case(session, referred.case_id or 0).state = state.value
        assert service.record_outcomes(session, now=NOW) == 2
        effects = service_loop.propose_thresholds(session, housing.city, now=NOW)
        current = next(e for e in effects if e.current)
        assert current.thresholds == model.DEFAULT
        assert (current.confirmed, current.not_confirmed) == (1, 1)
        assert current.leads == len(leads)
        strict = next(e for e in effects if e.thresholds == model.Thresholds(high=3.0, agreement=3))
        assert strict.leads < current.leads
        # Nothing changed by looking.
        assert service_loop.thresholds_for(session, None) == model.DEFAULT
        with pytest.raises(Forbidden):
            service_loop.propose_thresholds(session, housing.other, now=NOW)
        with pytest.raises(Forbidden):
            service_loop.apply_thresholds(session, housing.field, strict.thresholds, now=NOW)
        with pytest.raises(Invalid):
            service_loop.apply_thresholds(
                session, housing.city, model.Thresholds(high=0.1), now=NOW
            )
        service_loop.apply_thresholds(session, housing.city, strict.thresholds, now=NOW)
        assert service_loop.thresholds_for(session, "310115") == strict.thresholds
        rescored = service.detect_leads(session, housing.city, now=NOW + timedelta(days=1))
        assert len(rescored) < len(leads) + 1
        over_time = service_loop.precision_over_time(session, housing.city)
        assert [(m.month, m.inspected, m.confirmed) for m in over_time] == [("2026-11", 2, 1)]
        decided = [session.get(Lead, x) for x in (first, second)]
        in_xuhui = sum(1 for lead in decided if lead is not None and lead.district_code == "310104")
        xuhui = service_loop.precision_over_time(session, housing.xuhui)
        assert sum(m.inspected for m in xuhui) == in_xuhui


@pytest.mark.asyncio
async def test_the_server_learns_outcomes_on_its_clock(
    session_factory: sessionmaker[Session], housing: Housing, leads: list[int]
) -> None:
    from types import SimpleNamespace

    from twonets.operations.rentals import api

    with unit_of_work(session_factory) as session:
        referred = service.refer_lead(session, housing.city, leads[0], now=NOW)
        get_case(session, referred.case_id or 0).state = CaseState.CLOSED.value
    app = SimpleNamespace(state=SimpleNamespace(session_factory=session_factory, clock=lambda: NOW))
    stop = asyncio.Event()
    task = asyncio.create_task(api.learn_outcomes(app, stop, every=0.05))  # type: ignore[arg-type]
    for _ in range(100):
        with session_factory() as session:
            lead = session.get(Lead, leads[0])
            if lead is not None and lead.label is not None:
                break
        await asyncio.sleep(0.05)
    stop.set()
    await asyncio.wait_for(task, 10)
    assert lead is not None
    assert (lead.state, lead.label) == ("confirmed", 1)
