"""The MQTT subscriber: payload validation, and end to end against the real broker."""

from __future__ import annotations

import asyncio
import contextlib
import os
import uuid
from datetime import UTC, datetime

import aiomqtt
import pytest
from sqlalchemy import Engine, select

from conftest import unavailable
from twonets.core.db import make_session_factory
from twonets.core.geo import wgs84_to_gcj02
from twonets.core.models import OutboxEvent
from twonets.operations.devices.mqtt_intake import (
    MqttIntake,
    PayloadError,
    database_writer,
    parse_message,
)

MQTT_URL = os.environ.get("TWONETS_TEST_MQTT_URL", "mqtt://127.0.0.1:1883")
NOW = datetime(2026, 11, 30, 2, 0, tzinfo=UTC)


def test_a_reading_is_parsed_from_topic_and_payload() -> None:
    reading = parse_message(
        "city/a/meters/water/WM-0001",
        b'{"value": 12.5, "unit": "m3", "time": "2026-11-30T08:00:00+08:00",'
        b' "lon": 121.47, "lat": 31.23}',
        prefix="city/a",
        now=NOW,
    )
    assert (reading.device, reading.kind, reading.value, reading.unit) == (
        "WM-0001",
        "water",
        12.5,
        "m3",
    )
    assert reading.time == datetime(2026, 11, 30, 0, 0, tzinfo=UTC)
    assert (reading.lon, reading.lat) == (121.47, 31.23)
    bare = parse_message(
        "twonets/meters/noise/n1", b'{"value": 61, "unit": "dB"}', prefix="twonets", now=NOW
    )
    assert bare.time == NOW
    assert bare.lon is None


@pytest.mark.parametrize(
    ("topic", "payload", "reason"),
    [
        ("twonets/meters/water", b'{"value": 1, "unit": "m3"}', "topic"),
        ("other/meters/water/x", b'{"value": 1, "unit": "m3"}', "topic"),
        ("twonets/meters/coffee/x", b'{"value": 1, "unit": "cup"}', "kind"),
        ("twonets/meters/water/bad device", b'{"value": 1, "unit": "m3"}', "device"),
        ("twonets/meters/water/x", b"not json", "payload"),
        ("twonets/meters/water/x", b'{"value": "NaN", "unit": "m3"}', "payload"),
        ("twonets/meters/water/x", b'{"value": 1, "unit": "m3", "lon": 121}', "payload"),
        (
            "twonets/meters/water/x",
            b'{"value": 1, "unit": "m3", "time": "2026-11-30T08:00"}',
            "payload",
        ),
        ("twonets/meters/water/x", b'{"value": 1, "unit": "m3", "extra": 1}', "payload"),
        ("twonets/meters/water/x", b" " * 5000, "size"),
    ],
)
def test_bad_messages_are_refused_with_a_reason(topic: str, payload: bytes, reason: str) -> None:
    with pytest.raises(PayloadError) as caught:
        parse_message(topic, payload, prefix="twonets", now=NOW)
    assert caught.value.reason == reason
    assert topic in str(caught.value)


@pytest.mark.services
@pytest.mark.asyncio
async def test_readings_from_the_broker_become_events(engine: Engine) -> None:
    host, _, port = MQTT_URL.removeprefix("mqtt://").partition(":")
    try:
        async with aiomqtt.Client(host, int(port or 1883), timeout=3):
            pass
    except aiomqtt.MqttError as exc:
        unavailable(f"MQTT broker at {MQTT_URL}", type(exc).__name__)
    prefix = f"twonets-test-{uuid.uuid4().hex[:10]}"
    factory = make_session_factory(engine)
    intake = MqttIntake(
        MQTT_URL,
        database_writer(factory, lambda: NOW),
        prefix=prefix,
        clock=lambda: NOW,
        linger=0.01,
    )
    stop = asyncio.Event()
    task = asyncio.create_task(intake.run(stop))
    try:
        await asyncio.wait_for(intake.subscribed.wait(), 10)
        async with aiomqtt.Client(host, int(port or 1883)) as client:
            for i in range(5):
                await client.publish(
                    f"{prefix}/meters/electricity/EM-{i}",
                    f'{{"value": {i * 1.5}, "unit": "kWh", "lon": 121.47, "lat": 31.23}}',
                    qos=1,
                )
            await client.publish(f"{prefix}/meters/electricity/EM-9", b"{oops", qos=1)
            await client.publish(
                f"{prefix}/meters/unknown/EM-9", b'{"value": 1, "unit": "x"}', qos=1
            )
        for _ in range(200):
            if intake.stats.readings == 5 and sum(intake.stats.rejected.values()) == 2:
                break
            await asyncio.sleep(0.05)
    finally:
        stop.set()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(task, 10)
    assert intake.stats.readings == 5
    assert intake.stats.rejected == {"payload": 1, "kind": 1}
    with factory() as session:
        payloads = [
            e.payload
            for e in session.scalars(
                select(OutboxEvent).where(OutboxEvent.topic == "ops.device.reading")
            )
        ]
    assert sorted(p["device"] for p in payloads) == [f"EM-{i}" for i in range(5)]
    one = next(p for p in payloads if p["device"] == "EM-2")
    assert (one["kind"], one["value"], one["unit"]) == ("electricity", 3.0, "kWh")
    assert one["time"] == NOW.isoformat()
    assert one["wgs84"] == {"lon": 121.47, "lat": 31.23}
    assert one["gcj02"]["lon"] == pytest.approx(wgs84_to_gcj02(121.47, 31.23)[0], abs=1e-6)
