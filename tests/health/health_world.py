"""Health's test world: departments, a planner, a clerk, a lab, hospitals, and helpers."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, sessionmaker

from builders import (
    create_citizen,
    create_department,
    create_staff,
    next_id_number,
    purpose_for_function,
)
from twonets.core import service as core_service
from twonets.core.auth import Principal, principal_of
from twonets.core.db import unit_of_work
from twonets.core.ids import make_credit_code
from twonets.core.models import DepartmentLevel, OutboxEvent, Role
from twonets.governance.catalogue import Catalogue
from twonets.governance.service import Governance
from twonets.health import service
from twonets.health.models import TrainingKind
from twonets.licences import service as licences
from twonets.trust import service as trust

ROOT = b"h" * 48
NOW = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
TODAY = NOW.date()


@dataclass
class World:
    """Departments, a planner, a licence clerk, a lab, two hospitals and a context."""

    ctx: service.HealthContext
    licensing: licences.Licensing
    planner: Principal
    clerk: Principal
    lab: Principal
    outsider: Principal


@pytest.fixture
def world(engine: Engine, session_factory: sessionmaker[Session]) -> World:
    with unit_of_work(session_factory) as session:
        trust.ensure_issuing_region(session, region="SH", root_secret=ROOT, now=NOW)
        health = create_department(session, code="sh.health", function="health")
        hrss = core_service.create_department(
            session,
            code="sh.hrss",
            name="人社局",
            name_en="Human Resources and Social Security Bureau",
            function="social-security",
            level=DepartmentLevel.CITY,
            region_code="SH",
            credit_code=make_credit_code(
                authority="1", kind="1", region_code="310000", organisation_body="00240077"
            ),
        )
        lab = create_department(session, code="sh.cdc.lab", function=service.LAB_FUNCTION)
        other = create_department(session, code="sh.police", function="police")
        planner = principal_of(
            create_staff(session, department=health, roles=(Role.HEALTH_PLANNER, Role.STAFF))
        )
        clerk = principal_of(create_staff(session, department=hrss))
        lab_staff = principal_of(create_staff(session, department=lab))
        outsider = principal_of(create_staff(session, department=other))
        for code, district, lon, lat, staff in (
            ("ruijin", "310101", 121.469, 31.213, 100),
            ("fifth", "310112", 121.381, 31.017, 40),
        ):
            service.create_hospital(
                session,
                code=code,
                name=code,
                district_code=district,
                lon=lon,
                lat=lat,
                staff_by_specialty={"nursing": staff // 2, "critical-care": staff // 10},
                staff_total=staff,
            )
        purpose_for_function(
            session,
            code=service.PURPOSE,
            name="reserve",
            owner="sh.health",
            function="health",
            dataset=service.RESERVIST_DATASET,
            fields={"name": "keep", "id_number": "partial:6:4", "specialty": "keep"},
            since=NOW - timedelta(days=30),
        )
    return World(
        service.HealthContext(gov=Governance(Catalogue(), ROOT)),
        licences.Licensing(ROOT),
        planner,
        clerk,
        lab_staff,
        outsider,
    )


def person(session: Session, name: str = "李医生") -> str:
    number = next_id_number(birth=date(1980, 6, 1))
    create_citizen(session, id_number=number, name=name)
    return number


def qualification(session: Session, world: World, number: str, name: str = "李医生") -> str:
    licence = licences.issue_licence(
        session,
        world.licensing,
        world.clerk,
        type_code="PQ",
        claims={
            "name": name,
            "id_number": number,
            "profession": "医师",
            "level": "senior",
            "awarded_on": "2010-07-01",
        },
        valid_from=TODAY - timedelta(days=100),
        now=NOW,
    )
    return licence.identifier


def enrol(
    session: Session,
    world: World,
    *,
    specialty: str = "nursing",
    hospital: str = "ruijin",
    trained: bool = True,
    available: bool = True,
) -> int:
    number = person(session)
    reservist = service.register_reservist(
        session,
        id_number=number,
        name="李医生",
        licence_identifier=qualification(session, world, number),
        specialty=specialty,
        hospital_code=hospital,
        available=available,
        now=NOW,
    )
    if trained:
        for kind in TrainingKind:
            service.record_training(
                session,
                reservist_id=reservist.id,
                kind=kind.value,
                completed_on=TODAY - timedelta(days=30),
                today=TODAY,
            )
    return reservist.id


def events(session: Session, topic: str) -> int:
    return int(
        session.scalar(
            select(func.count()).select_from(OutboxEvent).where(OutboxEvent.topic == topic)
        )
        or 0
    )
