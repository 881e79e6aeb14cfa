"""Bikes piling up where parking is banned or crowded become operations cases."""

from __future__ import annotations

from datetime import UTC, datetime

import pandas as pd
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from twonets.core.db import unit_of_work
from twonets.core.errors import Forbidden
from twonets.operations.bikes import service
from twonets.operations.cases.models import Case

# People's Square metro exit, Huangpu (WGS-84), as in the case-loop tests.
LON, LAT = 121.4737, 31.2304
HOUR = datetime(2026, 11, 30, 1, 0, tzinfo=UTC)
NOW = datetime(2026, 11, 30, 2, 0, tzinfo=UTC)


def parked(count: int) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "bike_id": [f"B{i}" for i in range(count)],
            "operator": "hello",
            "seen_at": pd.Timestamp(HOUR) + pd.Timedelta(minutes=10),
            "lat": LAT,
            "lon": LON,
        }
    )


def test_a_crowded_metro_exit_becomes_a_case(
    session_factory: sessionmaker[Session], ops_world
) -> None:
    zones = [
        service.ParkingZone("人民广场地铁站3号口", LAT, LON, capacity=5),
        service.ParkingZone("roomy", LAT, LON, capacity=50),
    ]
    with unit_of_work(session_factory) as session:
        service.import_snapshots(session, ops_world.operator, parked(8), resolution=8, now=NOW)
        opened = service.oversupply_cases(
            session, ops_world.operator, zones, hour=HOUR, resolution=8, now=NOW
        )
    assert [(o.zone.name, o.parked) for o in opened] == [("人民广场地铁站3号口", 8)]
    with unit_of_work(session_factory) as session:
        case = session.scalars(select(Case)).one()  # governance: the test reads its own case
        assert case.category_code == "E0506"
        assert case.source_kind == "detector"
        assert case.number == opened[0].case_number
        assert "停放8辆" in case.description


def test_only_operations_operators_raise_them(
    session_factory: sessionmaker[Session], ops_world
) -> None:
    zone = service.ParkingZone("banned", LAT, LON, capacity=0)
    with unit_of_work(session_factory) as session, pytest.raises(Forbidden):
        service.oversupply_cases(
            session, ops_world.handler, [zone], hour=HOUR, resolution=8, now=NOW
        )
