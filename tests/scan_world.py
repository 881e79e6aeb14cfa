"""A health-code scan dataset and the departments that read it, for governance tests."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Column, Engine, Integer, MetaData, String, Table, Text
from sqlalchemy.orm import Session, sessionmaker

from builders import NOW, create_citizen, create_department, create_staff
from twonets.core.auth import Principal, principal_of
from twonets.core.db import UTCDateTime, unit_of_work
from twonets.core.models import DepartmentLevel, Role
from twonets.core.privacy import SensitiveKind, dataset, personal, public, sensitive
from twonets.governance.catalogue import Catalogue
from twonets.governance.models import GranteeKind, LegalBasis
from twonets.governance.sealing import Keyring
from twonets.governance.service import Governance, create_purpose, set_policy

ROOT_SECRET = b"k" * 48

scan_metadata = MetaData()
scans = Table(
    "test_health_scan",
    scan_metadata,
    Column("id", Integer, primary_key=True, info=public()),
    Column("citizen_id", Integer, nullable=False, info=public()),
    Column("name", String(64), info=personal()),
    Column("phone", String(20), info=personal()),
    Column("place", Text, info=sensitive(SensitiveKind.WHEREABOUTS)),
    Column("district_code", String(6), info=public()),
    Column("scanned_at", UTCDateTime(), nullable=False, info=public()),
    info=dataset(
        "health.scan",
        subject="citizen_id",
        subject_kind="citizen",
        district="district_code",
        time="scanned_at",
        retention={"purpose": "epidemic.tracing", "time": "scanned_at", "action": "delete"},
    ),
)
visits = Table(
    "test_venue_visit",
    scan_metadata,
    Column("id", Integer, primary_key=True, info=public()),
    Column("citizen_id", Integer, nullable=False, info=public()),
    Column("name", String(64), info=personal()),
    Column("venue", String(64), info=public()),
    Column("visited_at", UTCDateTime(), nullable=False, info=public()),
    info=dataset(
        "health.visit",
        subject="citizen_id",
        subject_kind="citizen",
        time="visited_at",
        retention={"purpose": "epidemic.tracing", "time": "visited_at", "action": "anonymise"},
    ),
)


@dataclass
class World:
    """Departments, staff, residents and scans of one test."""

    gov: Governance
    health: Principal
    police: Principal
    housing: Principal
    district_ops: Principal
    citizens: list[int]
    citizen_usernames: list[str]


@contextmanager
def scan_tables(engine: Engine) -> Iterator[None]:
    """Create the scan tables on the test database and drop them afterwards."""
    scan_metadata.create_all(engine)
    try:
        yield
    finally:
        scan_metadata.drop_all(engine)


def build_world(factory: sessionmaker[Session], *, now: datetime = NOW) -> World:
    """Three departments with different grants on one scan dataset, and scans of 3 residents."""
    catalogue = Catalogue()
    catalogue.register(scans)
    catalogue.register(visits)
    gov = Governance(catalogue, ROOT_SECRET)
    keyring = Keyring(ROOT_SECRET)
    with unit_of_work(factory) as session:
        health_dept = create_department(session, code="sh.health", function="health")
        police_dept = create_department(session, code="sh.police", function="police")
        housing_dept = create_department(session, code="sh.housing", function="housing")
        ops_dept = create_department(
            session,
            code="310101.operations",
            function="operations",
            level=DepartmentLevel.DISTRICT,
            district_code="310101",
        )
        health = create_staff(session, username="tracer", department=health_dept)
        police = create_staff(session, username="officer", department=police_dept)
        housing = create_staff(session, username="inspector", department=housing_dept)
        ops = create_staff(
            session, username="ops", department=ops_dept, roles=(Role.STAFF, Role.OPERATOR)
        )
        residents = [
            create_citizen(session, name=name, district_code=district)
            for name, district in (("张三", "310101"), ("李四", "310104"), ("王五", "310101"))
        ]
        create_purpose(
            session,
            actor="dpo",
            code="epidemic.tracing",
            name="Epidemic tracing",
            legal_basis=LegalBasis.PUBLIC_HEALTH_EMERGENCY,
            owner_department_code="sh.health",
            valid_from=now - timedelta(days=60),
            valid_until=now + timedelta(days=60),
            retention_days=28,
            now=now,
        )
        create_purpose(
            session,
            actor="dpo",
            code="public-security.investigation",
            name="Investigation",
            legal_basis=LegalBasis.STATUTORY_DUTY,
            owner_department_code="sh.police",
            valid_from=now - timedelta(days=365),
            valid_until=None,
            retention_days=365,
            now=now,
        )
        grants = [
            (
                GranteeKind.FUNCTION,
                "health",
                "epidemic.tracing",
                {"name": "keep", "phone": "keep", "place": "keep", "district_code": "keep"},
                {},
            ),
            (
                GranteeKind.DEPARTMENT,
                "sh.police",
                "epidemic.tracing",
                {"name": "keep", "phone": "partial:3:4"},
                {},
            ),
            (
                GranteeKind.DEPARTMENT,
                "sh.police",
                "public-security.investigation",
                {"name": "partial:1:0", "district_code": "keep"},
                {},
            ),
            (
                GranteeKind.FUNCTION,
                "operations",
                "epidemic.tracing",
                {"name": "pseudonym", "district_code": "keep"},
                {"district": "own"},
            ),
        ]
        for kind, grantee, purpose, fields, row_filter in grants:
            set_policy(
                session,
                catalogue,
                actor="dpo",
                grantee_kind=kind,
                grantee=grantee,
                purpose_code=purpose,
                dataset="health.scan",
                fields=fields,
                row_filter=row_filter,
                reason="test grant",
                now=now,
            )
        rows = []
        for i, account in enumerate(residents):
            assert account.citizen_id is not None
            district = ("310101", "310104", "310101")[i]
            for day in (1, 10, 40):
                rows.append(
                    {
                        "citizen_id": account.citizen_id,
                        "name": account.display_name,
                        "phone": f"1380000{i:04d}",
                        "place": keyring.seal("health.scan", "place", f"人民广场 gate {day}"),
                        "district_code": district,
                        "scanned_at": now - timedelta(days=day),
                    }
                )
                session.execute(
                    visits.insert().values(
                        citizen_id=account.citizen_id,
                        name=account.display_name,
                        venue=f"library {day}",
                        visited_at=now - timedelta(days=day),
                    )
                )
        session.execute(scans.insert(), rows)
        principals = [principal_of(a) for a in (health, police, housing, ops)]
        citizens = [a.citizen_id for a in residents if a.citizen_id is not None]
        usernames = [a.username for a in residents]
    return World(gov, *principals, citizens=citizens, citizen_usernames=usernames)


def set_police_phone(session: Session, world: World, rule: str, *, now: datetime = NOW) -> None:
    """A new policy for the police's tracing reads of scans: the phone under ``rule``."""
    set_policy(
        session,
        world.gov.catalogue,
        actor="dpo",
        grantee_kind=GranteeKind.DEPARTMENT,
        grantee="sh.police",
        purpose_code="epidemic.tracing",
        dataset="health.scan",
        fields={"name": "keep", "phone": rule},
        reason="mask changed",
        now=now,
    )
