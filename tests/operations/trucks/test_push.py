"""Smart push: alerts to the district's inspectors, escalation for repeat offenders, the
company notified and reading its notices, company scores, and who may read and acknowledge
(403s)."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from builders import create_department, create_enterprise, next_credit_code
from operations.trucks.test_service import NIGHT, PLATE, World, _payload, _register, world
from twonets.core.auth import Principal
from twonets.core.db import unit_of_work
from twonets.core.errors import Forbidden
from twonets.core.models import AccountKind, DepartmentLevel, Role
from twonets.operations.trucks import service
from twonets.operations.trucks.consumer import PositionConsumer
from twonets.operations.trucks.models import TruckAlert, TruckCompany, TruckViolation
from twonets.operations.trucks.service.overview import company_score

__all__ = ["world"]


def _night(
    factory: sessionmaker[Session], live: service.LiveSupervision, start: datetime
) -> list[str]:
    """One night's drive with a detour, checked as it arrives; the kinds opened."""
    shift = start - NIGHT
    opened = []
    for i in range(0, 60, 10):
        payloads = []
        for k in range(i, i + 10):
            p = _payload(k, north_m=400.0 if 20 <= k < 30 else 0.0)
            p["time"] = (datetime.fromisoformat(str(p["time"])) + shift).isoformat()
            if k >= 57:
                p["speed_kmh"] = 0.0  # parked at the yard: no silence while moving overnight
            payloads.append(p)
        with unit_of_work(factory) as session:
            rows = service.positions_from_events(session, payloads)
            service.record_positions(session, rows)
            now = rows[-1]["time"]
            opened += [v.kind for v in service.check_arrivals(session, live, rows, now=now)]
    return opened


def _firm(session: Session, code: str) -> Principal:
    enterprise = create_enterprise(session, credit_code=code, district_code="310115")
    return Principal(
        account_id=90_000 + enterprise.id,
        username=f"firm{enterprise.id}",
        display_name=enterprise.name,
        kind=AccountKind.ENTERPRISE,
        roles=frozenset({Role.ENTERPRISE}),
        enterprise_id=enterprise.id,
    )


def test_a_repeat_offender_is_escalated_to_the_citys_inspectors(
    session_factory: sessionmaker[Session], world: World
) -> None:
    with unit_of_work(session_factory) as session:
        _register(session, world)
        city = create_department(
            session, code="tr.city.urban", function="urban-management", level=DepartmentLevel.CITY
        )
    live = service.LiveSupervision()
    for night in range(3):
        assert _night(session_factory, live, NIGHT + timedelta(days=night)) == ["off_route"]
    with session_factory() as session:
        alerts = session.scalars(select(TruckAlert).order_by(TruckAlert.id)).all()
        by_night = [
            sorted((a.audience, a.prior_violations) for a in alerts if a.violation_id == v)
            for v in sorted({a.violation_id for a in alerts})
        ]
    assert by_night == [
        [("company", 0), ("inspector", 0)],
        [("company", 1), ("inspector", 1)],
        [("company", 2), ("escalation", 2), ("inspector", 2)],
    ]
    assert [a.department_code for a in alerts if a.audience == "escalation"] == [city.code]


def test_the_company_reads_its_notices_and_inspectors_acknowledge_their_own(
    session_factory: sessionmaker[Session], world: World
) -> None:
    with unit_of_work(session_factory) as session:
        _register(session, world)
        code = session.scalars(select(TruckCompany.credit_code)).one()
        firm = _firm(session, code)
        stranger = _firm(session, next_credit_code(region="310115"))
    _night(session_factory, service.LiveSupervision(), NIGHT)
    now = NIGHT + timedelta(hours=1)
    with unit_of_work(session_factory) as session:
        (notice,) = service.list_alerts(session, firm, now=now)
        assert (notice.audience, notice.plate, notice.kind) == ("company", PLATE, "off_route")
        with pytest.raises(Forbidden):
            service.list_alerts(session, stranger, now=now)
        (alert,) = service.list_alerts(session, world.pudong_inspector, now=now)
        assert alert.read_at is None
        # Huangpu's inspectors and the company touch none of Pudong's inspector alerts.
        for who in (world.huangpu_inspector, firm, world.clerk, world.other_region_operator):
            with pytest.raises(Forbidden):
                service.acknowledge_alert(session, who, alert.id, now=now)
        read = service.acknowledge_alert(session, world.pudong_inspector, alert.id, now=now)
        assert read.read_by == world.pudong_inspector.username
        service.acknowledge_alert(session, firm, notice.id, now=now)
    with session_factory() as session:
        (alert,) = service.list_alerts(session, world.pudong_inspector, now=now)
        assert alert.read_at == now
        for who in (world.clerk, world.other_region_operator):
            with pytest.raises(Forbidden):
                service.list_alerts(session, who, now=now)


def test_company_scores_weigh_violations_per_truck() -> None:
    assert company_score({}, 6) == 100
    assert company_score({"suspected_dumping": 1}, 1) == 80
    assert company_score({"suspected_dumping": 1}, 10) == 98
    assert company_score({"off_route": 3, "speeding": 2}, 2) == 83
    assert company_score({"suspected_dumping": 9}, 1) == 0


def test_a_terminal_silent_while_moving_is_alerted_while_it_lasts(
    session_factory: sessionmaker[Session], world: World
) -> None:
    with unit_of_work(session_factory) as session:
        _register(session, world)
    clock = [NIGHT]
    consumer = PositionConsumer(
        session_factory, batch_size=1000, live=service.LiveSupervision(), clock=lambda: clock[0]
    )
    for k in range(20):  # a third of the way, moving, then nothing more
        consumer.hold(_payload(k))
    clock[0] = NIGHT + timedelta(minutes=10)
    assert consumer.flush() == 20
    assert consumer.check_silences() == 0  # the last fix came 30 s before the eleventh minute
    clock[0] = NIGHT + timedelta(minutes=16)
    assert consumer.check_silences() == 1
    assert consumer.check_silences() == 0  # once, not every round
    with session_factory() as session:
        (violation,) = session.scalars(select(TruckViolation)).all()
        assert violation.kind == "silent"
        assert violation.case_number is None  # recorded and alerted; no case
        audiences = sorted(session.scalars(select(TruckAlert.audience)).all())
        assert audiences == ["company", "inspector"]
