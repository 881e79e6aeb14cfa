"""Importing into the tables, counting cells in SQL, and who may do either."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from builders import create_department, create_staff
from twonets.cli import app as cli_app
from twonets.core.auth import Principal, principal_of
from twonets.core.db import unit_of_work
from twonets.core.errors import Forbidden
from twonets.core.models import Role
from twonets.governance.sealing import Keyring, is_sealed
from twonets.operations.bikes import heat, service
from twonets.operations.bikes.models import BikeSnapshot, BikeTrip

NOW = datetime(2026, 12, 7, 3, 0, tzinfo=UTC)
APRIL = (datetime(2017, 4, 1, tzinfo=UTC), datetime(2017, 5, 1, tzinfo=UTC))
runner = CliRunner()
KEYRING = Keyring(b"bikes test root secret, 32 bytes!")


def staff(session: Session, function: str, role: Role, name: str) -> Principal:
    department = create_department(session, code=f"t.{name}", function=function)
    return principal_of(create_staff(session, username=name, roles=(role,), department=department))


@pytest.fixture
def people(session_factory: sessionmaker[Session]) -> dict[str, Principal]:
    with unit_of_work(session_factory) as session:
        return {
            "operator": staff(session, "operations", Role.OPERATOR, "bikes.op"),
            "transport": staff(session, "transport", Role.STAFF, "bikes.transport"),
            "health": staff(session, "health", Role.OPERATOR, "bikes.health"),
            "ops_field": staff(session, "operations", Role.FIELD, "bikes.field"),
        }


def test_imported_trips_count_in_sql_as_in_memory(
    session_factory: sessionmaker[Session], people: dict[str, Principal], citibike: pd.DataFrame
) -> None:
    sample = citibike.head(3000)
    with unit_of_work(session_factory) as session:
        done = service.import_trips(
            session, people["operator"], sample, keyring=KEYRING, resolution=8, now=NOW
        )
    assert done.rows == 3000
    with unit_of_work(session_factory) as session:
        stored = session.execute(
            select(BikeTrip.start_lat, BikeTrip.started_at).limit(
                1
            )  # governance: the test checks sealing
        ).one()
    assert is_sealed(stored.start_lat)
    assert (
        float(KEYRING.unseal("bike_trips", "start_lat", stored.start_lat))
        == sample["start_lat"].iloc[0]
    )
    assert (
        KEYRING.unseal("bike_trips", "started_at", stored.started_at)
        == sample["started_at"].iloc[0].isoformat()
    )
    with unit_of_work(session_factory) as session:
        cells = service.heat_cells(
            session, people["transport"], since=APRIL[0], until=APRIL[1], resolution=8
        )
    expected = heat.heat_table(sample, resolution=8)
    in_april = expected[expected["hour"] < pd.Timestamp(APRIL[1])]
    got = cells.set_index(["cell", "hour"])
    for column in ("starts", "arrivals"):
        want = in_april[in_april[column] > 0].set_index(["cell", "hour"])[column]
        assert (
            got.loc[got[column] > 0, column].sort_index().to_dict() == want.sort_index().to_dict()
        )
    assert cells["starts"].sum() == 3000
    assert (cells["supply"] == 0).all()  # no snapshots imported


def test_snapshots_give_the_sql_supply(
    session_factory: sessionmaker[Session], people: dict[str, Principal]
) -> None:
    seen = pd.DataFrame(
        {
            "bike_id": ["B1", "B2", "B1"],
            "operator": ["hello", "hello", "hello"],
            "seen_at": pd.to_datetime(
                ["2026-12-07T00:05Z", "2026-12-07T00:10Z", "2026-12-07T00:50Z"], utc=True
            ),
            "lat": [31.2304] * 3,
            "lon": [121.4737] * 3,
        }
    )
    with unit_of_work(session_factory) as session:
        service.import_snapshots(session, people["operator"], seen, resolution=8, now=NOW)
    with unit_of_work(session_factory) as session:
        cells = service.heat_cells(
            session,
            people["operator"],
            since=datetime(2026, 12, 7, tzinfo=UTC),
            until=datetime(2026, 12, 8, tzinfo=UTC),
            resolution=8,
            operator="hello",
        )
    assert cells[["cell", "supply", "imbalance"]].values.tolist() == [
        [heat.cells([31.2304], [121.4737], 8)[0], 2, 1.0]
    ]


@pytest.mark.parametrize("who", ["health", "ops_field", "transport"])
def test_only_the_operations_centre_imports(
    session_factory: sessionmaker[Session],
    people: dict[str, Principal],
    who: str,
    citibike: pd.DataFrame,
) -> None:
    with unit_of_work(session_factory) as session, pytest.raises(Forbidden):
        service.import_trips(
            session, people[who], citibike.head(5), keyring=KEYRING, resolution=8, now=NOW
        )


@pytest.mark.parametrize("who", ["health", "ops_field"])
def test_other_departments_and_roles_do_not_see_the_cells(
    session_factory: sessionmaker[Session], people: dict[str, Principal], who: str
) -> None:
    with unit_of_work(session_factory) as session, pytest.raises(Forbidden) as caught:
        service.heat_cells(session, people[who], since=APRIL[0], until=APRIL[1], resolution=8)
    assert caught.value.status == 403


def test_import_command_writes_all_or_nothing(
    session_factory: sessionmaker[Session],
    people: dict[str, Principal],
    migrated_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("TWONETS_DATABASE_URL", migrated_url)
    good = (
        "B1,hello,2026-12-07T08:00:00+08:00,31.23,121.47,2026-12-07T08:10:00+08:00,31.24,121.48\n"
    )
    bad = good.replace("31.24", "north")
    path = tmp_path / "trips.csv"
    path.write_text(",".join(service_columns()) + "\n" + good * 3 + bad, encoding="utf-8")
    result = runner.invoke(
        cli_app, ["ops", "bikes", "import", "--trips", str(path), "--as", "bikes.op"]
    )
    assert result.exit_code == 2
    assert "trips.csv, row 5, column end_lat" in result.output
    with unit_of_work(session_factory) as session:
        assert session.scalar(select(func.count()).select_from(BikeTrip)) == 0
    path.write_text(",".join(service_columns()) + "\n" + good * 3, encoding="utf-8")
    result = runner.invoke(
        cli_app, ["ops", "bikes", "import", "--trips", str(path), "--as", "bikes.op"]
    )
    assert result.exit_code == 0, result.output
    assert result.output.startswith("3 trips imported")
    refused = runner.invoke(
        cli_app, ["ops", "bikes", "import", "--trips", str(path), "--as", "bikes.health"]
    )
    assert refused.exit_code == 1
    with unit_of_work(session_factory) as session:
        assert session.scalar(select(func.count()).select_from(BikeTrip)) == 3
        assert session.scalar(select(func.count()).select_from(BikeSnapshot)) == 0


def service_columns() -> tuple[str, ...]:
    from twonets.operations.bikes.trips import TRIP_COLUMNS

    return TRIP_COLUMNS
