"""The housing department of a city and two districts, with the purpose and policy to read."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import ibis
import pytest
from sqlalchemy import make_url
from sqlalchemy.orm import Session, sessionmaker

from builders import create_department, create_staff, purpose_for_function
from twonets.core import auth
from twonets.core.auth import Principal
from twonets.core.db import unit_of_work
from twonets.core.models import DepartmentLevel, Role
from twonets.governance.catalogue import Catalogue
from twonets.governance.service import (
    Governance,
)
from twonets.operations.cases import catalogue
from twonets.operations.rentals import service, synthetic
from twonets.operations.rentals.models import HOUSEHOLD_DATASET

from ..conftest import MONDAY_10

NOW = MONDAY_10
GOV = Governance(Catalogue(), b"r" * 48)


@pytest.fixture
def ibis_postgres(fresh_postgres_url: str) -> Iterator[Any]:
    """An Ibis connection to a new, empty PostgreSQL database (the same expressions as DuckDB's)."""
    url = make_url(fresh_postgres_url)
    con = ibis.postgres.connect(
        host=url.host,
        port=url.port or 5432,
        user=url.username,
        password=url.password or "",
        database=url.database,
    )
    try:
        yield con
    finally:
        con.disconnect()


@dataclass(frozen=True)
class Housing:
    city: Principal  # the city's housing administration
    pudong: Principal  # Pudong's housing department (310115)
    xuhui: Principal  # Xuhui's (310104)
    field: Principal  # housing, but not staff
    other: Principal  # staff of another department


@pytest.fixture
def housing(session_factory: sessionmaker[Session]) -> Housing:
    with unit_of_work(session_factory) as session:
        catalogue.ensure_elements(session)
        city = create_department(session, code="t.housing", function="housing")
        pudong = create_department(
            session,
            code="t.310115.housing",
            function="housing",
            level=DepartmentLevel.DISTRICT,
            district_code="310115",
        )
        xuhui = create_department(
            session,
            code="t.310104.housing",
            function="housing",
            level=DepartmentLevel.DISTRICT,
            district_code="310104",
        )
        health = create_department(session, code="t.health", function="health")
        purpose_for_function(
            session,
            code=service.PURPOSE,
            name="群租整治 Group-rental enforcement",
            owner=city.code,
            function="housing",
            dataset=HOUSEHOLD_DATASET,
            fields=dict.fromkeys(service.HOUSEHOLD_FIELDS, "keep"),
            since=NOW - timedelta(days=30),
            retention_days=180,
            reason="inspectors go to the address; figures tell them what to look for",
        )
        accounts = [
            create_staff(session, department=city),
            create_staff(session, department=pudong),
            create_staff(session, department=xuhui),
            create_staff(session, roles=(Role.FIELD,), department=pudong),
            create_staff(session, department=health),
        ]
        return Housing(*(auth.principal_of(a) for a in accounts))


@pytest.fixture
def leads(session_factory: sessionmaker[Session], housing: Housing) -> list[int]:
    """The synthetic city imported by the city's housing administration, and detected."""
    city = synthetic.generate(seed=11, households=400)
    with unit_of_work(session_factory) as session:
        service.import_rows(session, housing.city, city.households, city.readings, now=NOW)
        return [lead.id for lead in service.detect_leads(session, housing.city, now=NOW)]
