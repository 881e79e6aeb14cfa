"""End to end: a simulated JT/T 808 terminal drives its permitted route over TCP into the
gateway; the outbox relay hands the positions to the trucks' consumer, which checks them as
they arrive. A planted deviation gives exactly one alert to the district's inspectors, one
notice to the company and one case, while the truck is still driving."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import datetime, timedelta

import pytest
import pytest_asyncio
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from operations.devices.test_gateway import Terminal808
from operations.trucks.test_service import (
    EAST,
    FRAME,
    LAT,
    NIGHT,
    PHONE,
    PLATE,
    WEST,
    World,
    _register,
    world,
)
from twonets.core.db import make_session_factory, unit_of_work
from twonets.core.events import Event, InProcessBus, OutboxRelay
from twonets.operations.cases.models import Case
from twonets.operations.devices import enrolment as device_enrolment
from twonets.operations.devices import jt808
from twonets.operations.devices.gateway import DatabaseBackend, Gateway
from twonets.operations.devices.jt808 import CHINA_STANDARD_TIME, Frame, Header
from twonets.operations.devices.service import LOCATION_TOPIC
from twonets.operations.trucks import service
from twonets.operations.trucks.consumer import PositionConsumer
from twonets.operations.trucks.models import TruckAlert, TruckCompany, TruckPosition, TruckViolation

__all__ = ["world"]  # the fixture, shared with the service tests

FIXES = 60
DETOUR = range(20, 30)  # ten fixes 400 m north of the corridor


class Clock:
    """The gateway's and the consumer's clock, moved along with the drive."""

    def __init__(self) -> None:
        self.now = NIGHT

    def __call__(self) -> datetime:
        return self.now


@pytest_asyncio.fixture
async def gateway(engine: Engine) -> AsyncIterator[tuple[Gateway, Clock]]:
    clock = Clock()
    factory = make_session_factory(engine)
    gateway = Gateway(
        DatabaseBackend(factory, clock=clock, code_ttl=timedelta(days=1)), clock=clock
    )
    await gateway.start()
    yield gateway, clock
    await gateway.close()


def _location(i: int) -> jt808.Location:
    lon = WEST + (EAST - WEST) * i / (FIXES - 1)
    lat = LAT + (400.0 if i in DETOUR else 0.0) / FRAME.m_per_deg_lat
    return jt808.Location(
        alarm_flags=0,
        status_flags=0b11,
        latitude_e6=round(lat * 1e6),
        longitude_e6=round(lon * 1e6),
        altitude_m=4,
        speed_dkmh=300,
        direction=90,
        time=(NIGHT + timedelta(seconds=30 * i)).astimezone(CHINA_STANDARD_TIME),
        satellites=11,
    )


def _counts(factory: sessionmaker[Session]) -> tuple[int, int, int, int]:
    with factory() as session:
        return (
            len(session.scalars(select(TruckPosition.id)).all()),
            len(session.scalars(select(TruckViolation.id)).all()),
            len(session.scalars(select(TruckAlert.id)).all()),
            len(session.scalars(select(Case.id)).all()),
        )


@pytest.mark.asyncio
async def test_a_planted_deviation_over_tcp_gives_one_alert_and_one_case(
    gateway: tuple[Gateway, Clock], engine: Engine, world: World
) -> None:
    server, clock = gateway
    factory = make_session_factory(engine)
    with unit_of_work(factory) as session:
        _register(session, world)
        device_enrolment.enrol_terminal(
            session,
            world.city_operator,
            phone=PHONE,
            plate=PLATE,
            credit_code=session.scalars(select(TruckCompany.credit_code)).one(),
            now=NIGHT,
        )
    consumer = PositionConsumer(
        factory, batch_size=1000, live=service.LiveSupervision(), clock=clock
    )
    bus = InProcessBus()

    async def on_location(event: Event) -> None:
        consumer.hold(event.payload)

    bus.subscribe(LOCATION_TOPIC, on_location)
    relay = OutboxRelay(factory, [bus])
    term = await Terminal808.connect(server.port)
    try:
        serial = 0

        def frame(message_id: int, body: jt808.Body) -> bytes:
            nonlocal serial
            serial += 1
            return jt808.encode(Frame(Header(message_id, PHONE, serial), body))

        registration = jt808.Registration(31, 115, "SHMUC", "MT-808", "T000001", 2, PLATE)
        (reply,) = await term.send(frame(0x0100, registration), replies=1)
        assert isinstance(reply.body, jt808.RegistrationReply)
        assert reply.body.auth_code
        (ok,) = await term.send(
            frame(0x0102, jt808.Authentication(reply.body.auth_code)), replies=1
        )
        assert ok.body.result == jt808.GeneralResponse.SUCCESS  # type: ignore[union-attr]
        seen_at: int | None = None
        for i in range(FIXES):
            clock.now = NIGHT + timedelta(seconds=30 * i)
            (ack,) = await term.send(frame(0x0200, _location(i)), replies=1)
            assert ack.body.result == jt808.GeneralResponse.SUCCESS  # type: ignore[union-attr]
            if i % 4 == 3:  # the relay and the consumer run every two minutes of driving
                await relay.relay_once()
                await asyncio.to_thread(consumer.flush)
                if seen_at is None and _counts(factory)[1]:
                    seen_at = i
        await relay.relay_once()
        await asyncio.to_thread(consumer.flush)
    finally:
        await term.close()

    positions, violations, alerts, cases = _counts(factory)
    assert positions == FIXES
    # Found while the truck was still out (within a few fixes of the third one off route),
    # not after the night.
    assert seen_at is not None
    assert DETOUR.start + 2 <= seen_at <= DETOUR.start + 6
    assert (violations, cases) == (1, 1)
    with factory() as session:
        (violation,) = session.scalars(select(TruckViolation)).all()
        assert violation.kind == "off_route"
        assert violation.start_at == NIGHT + timedelta(seconds=30 * DETOUR.start)
        # The episode's end came with the first fixes back on the corridor.
        assert violation.end_at == NIGHT + timedelta(seconds=30 * (DETOUR.stop - 1))
        (case,) = session.scalars(select(Case)).all()
        assert case.number == violation.case_number
        audiences = sorted(
            (a.audience, a.department_code or "") for a in session.scalars(select(TruckAlert)).all()
        )
        assert audiences == [("company", ""), ("inspector", world.pudong_department)]
    assert alerts == 2
    # The Pudong inspector reads the alert; the Huangpu one sees none.
    with factory() as session:
        (alert,) = service.list_alerts(session, world.pudong_inspector, now=clock.now)
        assert alert.plate == PLATE
        assert alert.kind == "off_route"
        assert alert.case_number == violation.case_number
        assert service.list_alerts(session, world.huangpu_inspector, now=clock.now) == []
