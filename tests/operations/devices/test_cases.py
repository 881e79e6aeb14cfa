"""Device alarms open cases through the operations centre's intake, once per alarm."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from builders import create_staff, create_terminal
from twonets.core.auth import principal_of
from twonets.core.models import OutboxEvent, Role
from twonets.operations.cases import catalogue
from twonets.operations.cases.models import Case
from twonets.operations.devices import enrolment as device_enrolment
from twonets.operations.devices import service as device_service
from twonets.operations.devices.models import LastPosition
from twonets.operations.devices.mqtt_intake import MqttIntake
from twonets.operations.devices.service import Position, Reading, TerminalRef

NOW = datetime(2026, 11, 30, 2, 0, tzinfo=UTC)
ROLLOVER = 1 << 30
EMERGENCY = 1 << 0
OVERSPEED = 1 << 1


def _truck(session: Session) -> TerminalRef:
    catalogue.ensure_elements(session)
    return create_terminal(session, phone="13911112222", plate="沪D54321")


def _at(ref: TerminalRef, minutes: int, flags: int, lon: float = 121.4691) -> Position:
    return Position(ref, lon, 31.2286, 20.0, 0, 4, NOW - timedelta(minutes=minutes), flags)


def _cases(session: Session) -> list[Case]:
    return list(session.scalars(select(Case).order_by(Case.id)))


def test_an_alarm_coming_on_opens_one_case(session_factory: sessionmaker[Session]) -> None:
    with session_factory() as session, session.begin():
        ref = _truck(session)
        device_service.record_positions(
            session,
            [_at(ref, 10, 0), _at(ref, 9, OVERSPEED), _at(ref, 8, ROLLOVER), _at(ref, 7, ROLLOVER)],
            now=NOW,
        )
    with session_factory() as session:
        (case,) = _cases(session)
        assert case.category_code == "E0303"
        assert case.source_kind == "device"
        assert case.urgency == "emergency"
        assert "沪D54321" in case.description
        assert case.reported_at == NOW - timedelta(minutes=8)
        assert case.district_code == "310101"
        # The case names the position event that raised it.
        event = session.scalar(select(OutboxEvent).where(OutboxEvent.event_id == case.source_ref))
        assert event is not None
        assert event.payload["alarm_flags"] == ROLLOVER
    # The alarm still on in the next batch opens nothing; off then on again opens a new one.
    with session_factory() as session, session.begin():
        device_service.record_positions(session, [_at(ref, 6, ROLLOVER), _at(ref, 5, 0)], now=NOW)
        device_service.record_positions(session, [_at(ref, 1, EMERGENCY | ROLLOVER)], now=NOW)
    with session_factory() as session:
        categories = sorted(c.category_code for c in _cases(session))
        assert categories == ["E0303", "E0303", "E0601"]


def test_a_refused_case_keeps_the_positions(session_factory: sessionmaker[Session]) -> None:
    with session_factory() as session, session.begin():
        ref = _truck(session)
        # Out at sea east of the city: the intake refuses the point, the position stays.
        device_service.record_positions(session, [_at(ref, 1, EMERGENCY, lon=123.5)], now=NOW)
    with session_factory() as session:
        assert _cases(session) == []
        (row,) = session.scalars(select(LastPosition)).all()
        assert row.lon == 123.5


def test_a_level_sensor_crossing_its_threshold_opens_a_flooding_case(
    session_factory: sessionmaker[Session],
) -> None:
    def reading(value: float, *, crossed: bool) -> Reading:
        return Reading("LV-7", "level", value, "cm", NOW, 121.4691, 31.2286, crossed)

    with session_factory() as session, session.begin():
        catalogue.ensure_elements(session)
        device_service.record_readings(
            session, [reading(10, crossed=False), reading(22, crossed=True)], now=NOW
        )
    with session_factory() as session:
        (case,) = _cases(session)
        assert case.category_code == "E0405"
        assert case.description == "water 22 cm deep on the road at LV-7"


@pytest.mark.asyncio
async def test_the_subscriber_marks_only_the_crossing() -> None:
    written: list[Reading] = []

    async def write(readings: list[Reading]) -> None:
        written.extend(readings)

    intake = MqttIntake("mqtt://127.0.0.1:1", write, clock=lambda: NOW, linger=0)
    for value in (10, 20, 25, 5, 30):
        payload = f'{{"value": {value}, "unit": "cm", "lon": 121.47, "lat": 31.23}}'.encode()
        await intake.handle("twonets/meters/level/LV-1", payload)
    await intake.handle("twonets/meters/water/WM-1", b'{"value": 99, "unit": "m3"}')
    assert [r.crossed for r in written] == [False, True, False, False, True, False]


def test_a_fault_in_case_intake_keeps_the_positions(
    session_factory: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("intake is broken")

    monkeypatch.setattr(device_service.cases, "intake", broken)
    with session_factory() as session, session.begin():
        ref = _truck(session)
        device_service.record_positions(session, [_at(ref, 1, ROLLOVER)], now=NOW)
    with session_factory() as session:
        assert _cases(session) == []
        (row,) = session.scalars(select(LastPosition)).all()
        assert row.alarm_flags == ROLLOVER
        events = session.scalars(
            select(OutboxEvent).where(OutboxEvent.topic == device_service.LOCATION_TOPIC)
        ).all()
        assert len(events) == 1


def test_an_alarm_from_a_reset_session_opens_no_case(
    session_factory: sessionmaker[Session],
) -> None:
    with session_factory() as session, session.begin():
        ref = _truck(session)
        operator = principal_of(create_staff(session, roles=(Role.OPERATOR,)))
        device_enrolment.reset_enrolment(session, operator, phone=ref.phone, now=NOW)
        recorded = device_service.record_positions(session, [_at(ref, 1, EMERGENCY)], now=NOW)
    assert recorded.stored == 0
    assert recorded.refused == {(ref.pk, ref.code_serial)}
    with session_factory() as session:
        assert _cases(session) == []
        assert session.scalars(select(LastPosition)).all() == []
        assert session.scalars(select(OutboxEvent)).all() == []
