"""The meter feed's counters for housing staff (API and page), and the feed on the real broker."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import uuid

import aiomqtt
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from builders import PASSWORD
from conftest import unavailable
from twonets.core.db import unit_of_work
from twonets.core.errors import Forbidden
from twonets.operations.rentals import feed, service_meters
from twonets.operations.rentals.models import Meter
from twonets.operations.rentals.service_meters import add_meter_readings

from .conftest import NOW, Housing
from .test_meters import _at, _homes, _month, _msg

# --- what housing staff see ------------------------------------------------------------------


def _faults(session_factory: sessionmaker[Session], housing: Housing) -> None:
    with unit_of_work(session_factory) as session:
        _homes(session, housing)
    batch = [
        _msg("water", {"value": 1.0, "unit": "m3", "id": "a"}),
        _msg("water", {"value": 1.0, "unit": "m3", "id": "a"}),
        _msg("gas", {"value": 1.0, "unit": "m3", "id": "b", "time": _at(-1)}, household="X0"),
        _msg("gas", {"register": 5.0, "unit": "m3", "time": _at(0)}, household="X0"),
        _msg("gas", {"register": 1.0, "unit": "m3", "time": _at(1)}, household="X0"),
        _msg("electricity", {"value": 1.0, "unit": "kWh", "id": "c"}),  # no fault
    ]
    with unit_of_work(session_factory) as session:
        add_meter_readings(session, batch, now=NOW)


def test_housing_staff_see_their_meters_counters(
    session_factory: sessionmaker[Session], housing: Housing
) -> None:
    _faults(session_factory, housing)
    with session_factory() as session:
        city = service_meters.list_meters(session, housing.city)
        pudong = service_meters.list_meters(session, housing.pudong)
        every = service_meters.list_meters(session, housing.pudong, faulty_only=False)
        with pytest.raises(Forbidden):
            service_meters.list_meters(session, housing.other)
        with pytest.raises(Forbidden):
            service_meters.list_meters(session, housing.field)
    assert [(m.household_id, m.utility, m.duplicates, m.resets) for m in city] == [
        ("H0", "water", 1, 0),
        ("X0", "gas", 0, 1),
    ]
    assert [m.household_id for m in pudong] == ["H0"]
    assert [(m.utility, m.taken) for m in every] == [("water", 1), ("electricity", 1)]


def test_the_meters_over_http_and_403_outside_housing(
    client: TestClient,
    frozen_app: FastAPI,
    session_factory: sessionmaker[Session],
    housing: Housing,
) -> None:
    _faults(session_factory, housing)

    def token(username: str) -> dict[str, str]:
        answer = client.post(
            "/api/v1/auth/token", json={"username": username, "password": PASSWORD}
        )
        return {"Authorization": f"Bearer {answer.json()['access_token']}"}

    answer = client.get("/api/v1/ops/rentals/meters", headers=token(housing.xuhui.username))
    assert answer.status_code == 200
    assert answer.json()["meters"] == [
        {
            "household_id": "X0",
            "district": "310104",
            "utility": "gas",
            "taken": 1,
            "duplicates": 0,
            "resets": 1,
            "implausible": 0,
            "late": 0,
        }
    ]
    assert answer.json()["feed"] is None  # no broker set: no feed runs in this server
    for other in (housing.other, housing.field):
        refused = client.get("/api/v1/ops/rentals/meters", headers=token(other.username))
        assert refused.status_code == 403


# --- end to end on the real broker -----------------------------------------------------------

MQTT_URL = os.environ.get("TWONETS_TEST_MQTT_URL", "mqtt://127.0.0.1:1883")


@pytest.mark.services
@pytest.mark.asyncio
async def test_the_broker_s_repeats_resets_and_jumps_are_told_apart(
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
    messages = [
        ("water", {"value": 1.0, "unit": "m3", "id": "w-1", "time": _at(0)}),
        ("water", {"value": 1.0, "unit": "m3", "id": "w-1", "time": _at(0)}),  # sent again
        ("gas", {"register": 100.0, "unit": "m3", "time": _at(0)}),
        ("gas", {"register": 101.0, "unit": "m3", "time": _at(1)}),
        ("gas", {"register": 0.5, "unit": "m3", "time": _at(2)}),  # a new meter
        ("gas", {"register": 1.5, "unit": "m3", "time": _at(3)}),
        ("electricity", {"value": 2.0, "unit": "kWh", "time": _at(0)}),
        ("electricity", {"value": 400.0, "unit": "kWh", "time": _at(1)}),  # 400 kW: the meter
    ]
    stop = asyncio.Event()
    task = asyncio.create_task(meter_feed.run(stop))
    try:
        await asyncio.wait_for(meter_feed.subscribed.wait(), 10)
        async with aiomqtt.Client(host, int(port or 1883)) as client:
            for utility, body in messages:
                await client.publish(f"{prefix}/meters/{utility}/H0", json.dumps(body), qos=1)
        for _ in range(200):
            if meter_feed.stats.added == 4 and sum(meter_feed.stats.refused.values()) == 3:
                break
            await asyncio.sleep(0.05)
    finally:
        stop.set()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(task, 10)
    assert meter_feed.stats.messages == len(messages)
    assert meter_feed.stats.added == 4  # water once, gas twice (+1, +1), electricity 2 kWh
    assert meter_feed.stats.refused == {"duplicates": 1, "resets": 1, "implausible": 1}
    with session_factory() as session:
        month = _month(session)
        assert (month.water_m3, month.gas_m3, month.electricity_kwh) == (1.0, 2.0, 2.0)
        counters = {
            m.utility: (m.duplicates, m.resets, m.implausible)
            for m in session.scalars(select(Meter))
        }
    assert counters == {"water": (1, 0, 0), "gas": (0, 1, 0), "electricity": (0, 0, 1)}


def test_the_page_shows_the_district_s_faulty_meters(
    client: TestClient,
    frozen_app: FastAPI,
    session_factory: sessionmaker[Session],
    housing: Housing,
) -> None:
    _faults(session_factory, housing)
    client.cookies.clear()
    logged_in = client.post(
        "/login",
        data={"username": housing.pudong.username, "password": PASSWORD, "next": "/ops/rentals"},
        follow_redirects=False,
    )
    assert logged_in.status_code == 303
    client.headers["Accept-Language"] = "zh-CN"
    page = client.get("/ops/rentals")
    assert page.status_code == 200
    assert "异常表计" in page.text
    rows = re.findall(r'<tr data-meter="([^"]+)">(.*?)</tr>', page.text, re.S)
    assert [meter for meter, _ in rows] == ["H0/water"]  # Xuhui's meter is not Pudong's
    cells = re.findall(r"<td>([^<]*)</td>", rows[0][1])
    assert cells[2:] == ["用水", "1", "1", "0", "0", "0"]
