"""A small world for the requests tests (tests/requests/): departments, firms, residents, staff."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.orm import Session, sessionmaker

from builders import (
    PASSWORD,
    create_citizen,
    create_department,
    create_staff,
    next_credit_code,
    purpose_for_function,
)
from twonets.core import auth
from twonets.core import service as core_service
from twonets.core.auth import Principal
from twonets.core.db import unit_of_work
from twonets.core.models import DepartmentLevel, Role
from twonets.governance.catalogue import Catalogue
from twonets.governance.service import Governance
from twonets.operations.cases import catalogue
from twonets.requests import service

# Monday 30 November 2026, 10:00 in Shanghai.
NOW = datetime(2026, 11, 30, 2, 0, tzinfo=UTC)
ROOT_SECRET = b"r" * 48
# People's Square, Huangpu (WGS-84).
HUANGPU = (121.4737, 31.2304)


def fixed(category: str, confidence: float) -> service.Classify:
    """A classifier that always proposes ``category`` with ``confidence``."""

    def classify(text: str) -> Sequence[tuple[str, float]]:
        return [(category, confidence), ("ent-subsidy", 1 - confidence)]

    return classify


@dataclass(frozen=True)
class World:
    """Who acts in the requests tests."""

    firm: Principal
    other_firm: Principal
    foreign_firm: Principal
    resident: Principal
    dispatcher: Principal
    market_huangpu: Principal  # staff of Huangpu's market regulation
    market_city: Principal  # staff of the city's market regulation
    hub: Principal  # staff of the city's government services office (the 12345 hub)
    greening: Principal  # staff of Huangpu's greening department
    gov: Governance


def _firm(session: Session, *, district: str, industry: str | None = None) -> Principal:
    account = core_service.register_enterprise(
        session,
        credit_code=next_credit_code(),
        name="上海测试有限公司",
        password=PASSWORD,
        district_code=district,
        industry=industry,
        now=NOW,
    )
    return auth.principal_of(account)


@pytest.fixture
def world(session_factory: sessionmaker[Session]) -> World:
    """Departments of Huangpu and the city, two firms of Huangpu, one foreign-invested."""
    with unit_of_work(session_factory) as session:
        catalogue.ensure_elements(session)
        create_department(session, code="t.ops", function="operations")
        market_huangpu = create_department(
            session,
            code="t.310101.market",
            function="market-regulation",
            level=DepartmentLevel.DISTRICT,
            district_code="310101",
        )
        market_city = create_department(session, code="t.market", function="market-regulation")
        hub = create_department(session, code="t.services", function="government-services")
        greening = create_department(
            session,
            code="t.310101.greening",
            function="greening",
            level=DepartmentLevel.DISTRICT,
            district_code="310101",
        )
        centre = create_department(session, code="t.centre", function="operations")
        purpose_for_function(
            session,
            code=service.CONTACT_PURPOSE,
            name="handling requests",
            owner="t.services",
            function="market-regulation",
            dataset=service.CONTACT_DATASET,
            fields={"request_id": "keep", "name": "keep", "phone": "partial:3:4"},
            since=NOW - timedelta(days=30),
        )
        resident = auth.principal_of(create_citizen(session, name="王五"))
        staff = [
            create_staff(session, roles=(Role.OPERATOR,), department=centre),
            create_staff(session, roles=(Role.STAFF,), department=market_huangpu),
            create_staff(session, roles=(Role.STAFF,), department=market_city),
            create_staff(session, roles=(Role.STAFF,), department=hub),
            create_staff(session, roles=(Role.STAFF,), department=greening),
        ]
        people = [auth.principal_of(a) for a in staff]
        return World(
            firm=_firm(session, district="310101"),
            other_firm=_firm(session, district="310101"),
            foreign_firm=_firm(session, district="310101", industry="foreign-invested"),
            resident=resident,
            dispatcher=people[0],
            market_huangpu=people[1],
            market_city=people[2],
            hub=people[3],
            greening=people[4],
            gov=Governance(Catalogue(), ROOT_SECRET),
        )
