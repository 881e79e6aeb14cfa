"""A small city for code tests: two regions, scenarios, verifier offices, authorities, residents."""

from __future__ import annotations

from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from builders import create_citizen, create_staff, next_credit_code, next_id_number
from twonets.codes import service
from twonets.codes.context import Coding
from twonets.core import service as core_service
from twonets.core.auth import Principal, principal_of
from twonets.core.db import unit_of_work
from twonets.core.ids import make_credit_code
from twonets.core.models import DepartmentLevel, Role
from twonets.governance.catalogue import Catalogue
from twonets.governance.models import GranteeKind, LegalBasis
from twonets.governance.service import Governance, create_purpose, set_policy
from twonets.trust import service as trust

ROOT = b"c" * 48
# Wall-clock time: trust lists are checked against the real clock by the offline command.
T = datetime.now(UTC).replace(microsecond=0)

OFFICES = (
    ("sh.health", "health", "SH", "00240011"),
    ("sh.culture", "culture", "SH", "00240012"),
    ("sh.education", "education", "SH", "00240013"),
    ("sh.civil", "civil-affairs", "SH", "00240014"),
    ("sh.services", "government-services", "SH", "00240015"),
    ("js.health", "health", "JS", "00240016"),
    ("sh.police", "police", "SH", "00240017"),
)


@dataclass
class World:
    """Everyone a code test needs."""

    ctx: Coding
    js_ctx: Coding
    gov: Governance
    resident: Principal
    resident_id_number: str
    other: Principal
    js_resident: Principal
    firm: Principal
    library: Principal
    library_account: str
    checkpoint: Principal
    school: Principal
    health_staff: Principal
    # Codes authorities: health (decides appeals), culture (library), police (identity), and
    # Jiangsu's health authority; the health planner holds staff but not the authority.
    health_authority: Principal
    culture_authority: Principal
    police_authority: Principal
    js_health_authority: Principal
    planner: Principal
    admin: Principal
    factory: sessionmaker[Session]

    def session(self) -> AbstractContextManager[Session]:
        """One transaction."""
        return unit_of_work(self.factory)


def _office(session: Session, code: str, function: str, region: str, body: str) -> None:
    core_service.create_department(
        session,
        code=code,
        name=code,
        name_en=code,
        function=function,
        level=DepartmentLevel.CITY,
        region_code=region,
        credit_code=make_credit_code(
            authority="1",
            kind="1",
            region_code="310000" if region == "SH" else "320000",
            organisation_body=body,
        ),
    )


def _staff(session: Session, department: str, roles: tuple[Role, ...]) -> tuple[Principal, str]:
    account = create_staff(
        session, department=core_service.get_department(session, department), roles=roles
    )
    return principal_of(account), account.username


@pytest.fixture
def world(engine: Engine, session_factory: sessionmaker[Session]) -> World:
    gov = Governance(Catalogue(), ROOT)
    with unit_of_work(session_factory) as session:
        # Keys from four months back, so that tests can sign codes in the past.
        since = T - timedelta(days=120)
        trust.ensure_issuing_region(session, region="SH", root_secret=ROOT, now=since)
        trust.ensure_issuing_region(
            session, region="JS", root_secret=ROOT, now=since, recognise=False
        )
        trust.recognise_region(
            session,
            anchor=trust.anchor_pem(session, "JS", ROOT),
            trust_list=trust.get_issuing_region(session, "JS").trust_list or "",
            now=since,
        )
        for office in OFFICES:
            _office(session, *office)
        service.ensure_scenarios(session, now=T)
        create_purpose(
            session,
            actor="dpo",
            code="codes.health-appeal",
            name="Health-status appeals",
            legal_basis=LegalBasis.PUBLIC_HEALTH_EMERGENCY,
            owner_department_code="sh.health",
            valid_from=T - timedelta(days=30),
            valid_until=None,
            retention_days=365,
            now=T - timedelta(days=30),
        )
        set_policy(
            session,
            gov.catalogue,
            actor="dpo",
            grantee_kind=GranteeKind.FUNCTION,
            grantee="health",
            purpose_code="codes.health-appeal",
            dataset="codes.health_appeal",
            fields={
                "id": "keep",
                "filed_at": "keep",
                "status": "keep",
                "colour_at_filing": "keep",
                "reasons_at_filing": "keep",
                "statement": "keep",
            },
            row_filter={},
            reason="health staff decide appeals",
            now=T - timedelta(days=30),
        )
        number = next_id_number(birth=date(1950, 3, 4))
        resident = principal_of(create_citizen(session, id_number=number, name="王小明"))
        other = principal_of(create_citizen(session, name="李四"))
        js_resident = principal_of(
            create_citizen(session, id_number=next_id_number(region="320102"), name="赵六")
        )
        firm = principal_of(
            core_service.register_enterprise(
                session,
                credit_code=next_credit_code(),
                name="上海星海科技有限公司",
                password="correct-horse-battery",
                now=T,
            )
        )
        library, library_account = _staff(session, "sh.culture", (Role.VERIFIER,))
        checkpoint, _ = _staff(session, "sh.health", (Role.VERIFIER,))
        school, _ = _staff(session, "sh.education", (Role.VERIFIER,))
        health_staff, _ = _staff(session, "sh.health", (Role.STAFF,))
        health_authority, _ = _staff(session, "sh.health", (Role.STAFF, Role.CODES_AUTHORITY))
        culture_authority, _ = _staff(session, "sh.culture", (Role.CODES_AUTHORITY,))
        police_authority, _ = _staff(session, "sh.police", (Role.CODES_AUTHORITY,))
        js_health_authority, _ = _staff(session, "js.health", (Role.CODES_AUTHORITY,))
        planner, _ = _staff(session, "sh.health", (Role.HEALTH_PLANNER, Role.STAFF))
        admin, _ = _staff(session, "sh.services", (Role.ADMIN,))
    return World(
        ctx=Coding(ROOT, gov),
        js_ctx=Coding(ROOT, gov, region="JS"),
        gov=gov,
        resident=resident,
        resident_id_number=number,
        other=other,
        js_resident=js_resident,
        firm=firm,
        library=library,
        library_account=library_account,
        checkpoint=checkpoint,
        school=school,
        health_staff=health_staff,
        health_authority=health_authority,
        culture_authority=culture_authority,
        police_authority=police_authority,
        js_health_authority=js_health_authority,
        planner=planner,
        admin=admin,
        factory=session_factory,
    )
