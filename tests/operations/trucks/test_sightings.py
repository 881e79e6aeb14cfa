"""Camera and drone events over MQTT: parsing (with arbitrary input), and end to end against
the real broker, matched to the truck that was there and joined to its trip."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import uuid
from datetime import UTC, timedelta

import aiomqtt
import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from conftest import unavailable
from operations.trucks.test_service import (
    EAST,
    LAT,
    NIGHT,
    PLATE,
    WEST,
    World,
    _drive,
    _register,
    world,
)
from twonets.core.db import unit_of_work
from twonets.core.geo import wgs84_to_gcj02
from twonets.operations.trucks import service
from twonets.operations.trucks.models import TruckSighting
from twonets.operations.trucks.sightings_intake import EventError, SightingIntake, parse_event

__all__ = ["world"]

MQTT_URL = os.environ.get("TWONETS_TEST_MQTT_URL", "mqtt://127.0.0.1:1883")


def _event(i: int, **extra: object) -> bytes:
    """An event at the truck's fix ``i`` of the night's drive, 5 s later."""
    body = {
        "id": f"E-{i:04d}",
        "kind": "uncovered_load",
        "time": (NIGHT + timedelta(seconds=30 * i + 5)).isoformat(),
        "lon": WEST + (EAST - WEST) * i / 59,
        "lat": LAT,
        "image": f"s3://patrol/2026-11-30/E-{i:04d}.jpg",
    }
    return json.dumps(body | extra).encode()


def test_an_event_is_parsed_and_gcj02_converted_at_the_boundary() -> None:
    event = parse_event("city/trucks/drone/UAV-7", _event(10), prefix="city")
    assert (event.source, event.device, event.event_id, event.kind) == (
        "drone",
        "UAV-7",
        "E-0010",
        "uncovered_load",
    )
    assert event.time == NIGHT + timedelta(seconds=305)
    assert event.time.tzinfo is UTC
    lon, lat = WEST + (EAST - WEST) * 10 / 59, LAT
    glon, glat = wgs84_to_gcj02(lon, lat)
    converted = parse_event(
        "city/trucks/camera/C1", _event(10, lon=glon, lat=glat, crs="gcj02"), prefix="city"
    )
    assert converted.lon == pytest.approx(lon, abs=1e-5)
    assert converted.lat == pytest.approx(lat, abs=1e-5)


@pytest.mark.parametrize(
    ("topic", "payload", "reason"),
    [
        ("twonets/trucks/camera", _event(1), "topic"),
        ("twonets/meters/camera/x", _event(1), "topic"),
        ("twonets/trucks/satellite/x", _event(1), "source"),
        ("twonets/trucks/camera/bad device", _event(1), "device"),
        ("twonets/trucks/camera/x", b"{", "payload"),
        ("twonets/trucks/camera/x", _event(1, kind="graffiti"), "payload"),
        ("twonets/trucks/camera/x", _event(1, time="2026-11-30T23:00:00"), "payload"),
        ("twonets/trucks/camera/x", _event(1, lon=2.35), "payload"),
        ("twonets/trucks/camera/x", _event(1, image=""), "payload"),
        ("twonets/trucks/camera/x", b" " * 5000, "size"),
    ],
)
def test_bad_events_are_refused_with_a_reason(topic: str, payload: bytes, reason: str) -> None:
    with pytest.raises(EventError) as caught:
        parse_event(topic, payload, prefix="twonets")
    assert caught.value.reason == reason
    assert topic in str(caught.value)


@given(topic=st.text(max_size=60), payload=st.binary(max_size=300))
def test_any_message_is_an_event_or_a_refusal(topic: str, payload: bytes) -> None:
    reason = None
    try:
        event = parse_event(topic, payload, prefix="twonets")
    except EventError as exc:
        reason = exc.reason
    else:
        assert event.source in service.SOURCES
    assert reason in {None, "topic", "source", "device", "size", "payload"}


@given(
    fields=st.fixed_dictionaries(
        {},
        optional={
            "id": st.one_of(st.text(max_size=70), st.integers()),
            "kind": st.sampled_from(["uncovered_load", "dirty_wheels", "x", ""]),
            "time": st.datetimes(timezones=st.just(UTC)).map(lambda d: d.isoformat()),
            "lon": st.floats(allow_nan=True),
            "lat": st.floats(allow_nan=True),
            "image": st.text(max_size=600),
            "crs": st.sampled_from(["wgs84", "gcj02", "bd09"]),
        },
    )
)
def test_any_json_object_is_an_event_or_a_refusal(fields: dict[str, object]) -> None:
    try:
        event = parse_event(
            "twonets/trucks/camera/C1", json.dumps(fields).encode(), prefix="twonets"
        )
    except EventError as exc:
        reason: str | None = exc.reason
    else:
        reason = None
        assert 73 <= event.lon <= 136 or fields.get("crs") == "gcj02"
        assert event.time.tzinfo is not None
    assert reason in {None, "payload", "size"}


@pytest.mark.services
@pytest.mark.asyncio
async def test_events_from_the_broker_are_matched_to_the_truck_and_its_trip(
    session_factory: sessionmaker[Session], world: World
) -> None:
    host, _, port = MQTT_URL.removeprefix("mqtt://").partition(":")
    try:
        async with aiomqtt.Client(host, int(port or 1883), timeout=3):
            pass
    except aiomqtt.MqttError as exc:
        unavailable(f"MQTT broker at {MQTT_URL}", type(exc).__name__)
    with unit_of_work(session_factory) as session:
        _register(session, world)
    _drive(session_factory, detour=False)
    prefix = f"twonets-test-{uuid.uuid4().hex[:10]}"
    intake = SightingIntake(
        MQTT_URL, session_factory, prefix=prefix, clock=lambda: NIGHT + timedelta(hours=1)
    )
    stop = asyncio.Event()
    task = asyncio.create_task(intake.run(stop))
    try:
        await asyncio.wait_for(intake.subscribed.wait(), 10)
        async with aiomqtt.Client(host, int(port or 1883)) as client:
            await client.publish(f"{prefix}/trucks/drone/UAV-7", _event(25), qos=1)
            await client.publish(f"{prefix}/trucks/drone/UAV-7", _event(25), qos=1)  # again
            far = _event(40, id="E-far", lat=LAT + 0.01)  # 1 km north: no truck there
            await client.publish(f"{prefix}/trucks/camera/CAM-3", far, qos=1)
            await client.publish(f"{prefix}/trucks/camera/CAM-3", b"{oops", qos=1)
        for _ in range(200):
            if intake.stats.messages == 4:
                break
            await asyncio.sleep(0.05)
    finally:
        stop.set()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(task, 10)
    assert intake.stats.messages == 4
    assert intake.stats.rejected == {"payload": 1}
    assert (intake.stats.recorded, intake.stats.matched) == (3, 1)
    with session_factory() as session:
        rows = {r.event_id: r for r in session.scalars(select(TruckSighting))}
        assert sorted(rows) == ["E-0025", "E-far"]  # the repeated delivery kept once
        seen = rows["E-0025"]
        assert seen.truck_id is not None
        assert seen.trip_start_at == NIGHT  # the trip's first fix
        assert seen.seconds == 5
        assert seen.image_ref == "s3://patrol/2026-11-30/E-0025.jpg"
        assert rows["E-far"].truck_id is None
        listed = service.list_sightings(
            session, world.pudong_inspector, now=NIGHT + timedelta(hours=1)
        )
        assert [(s.plate, s.kind) for s in listed] == [
            (None, "uncovered_load"),
            (PLATE, "uncovered_load"),
        ]
        assert service.list_sightings(session, world.huangpu_inspector, now=NIGHT) == []
