"""On PostgreSQL the position table is partitioned by day: partitions made a week ahead,
positions landing in their day's partition, late days moved out of the default partition,
and retention dropping whole days. SQLite keeps the plain table."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, func, select, text
from sqlalchemy.orm import Session, sessionmaker

from operations.trucks.test_service import NOW, World, _register, world
from twonets.core.db import unit_of_work
from twonets.operations.trucks import service
from twonets.operations.trucks.models import Truck, TruckPosition

__all__ = ["world"]


def _rows(truck_id: int, *moments: datetime) -> list[dict[str, object]]:
    return [
        {"truck_id": truck_id, "time": t, "lon": 121.56, "lat": 31.22, "speed_kmh": 30.0}
        for t in moments
    ]


def _where(session: Session) -> dict[str, int]:
    """How many positions each partition holds."""
    return dict(
        session.execute(
            text("SELECT tableoid::regclass::text, count(*) FROM truck_position GROUP BY 1")
        ).all()
    )


def test_positions_are_kept_in_daily_partitions_and_old_days_dropped(
    engine: Engine, session_factory: sessionmaker[Session], world: World
) -> None:
    with unit_of_work(session_factory) as session:
        _register(session, world)
        truck_id = session.scalars(select(Truck.id)).one()
    if engine.dialect.name != "postgresql":
        with session_factory() as session:
            assert service.position_partitions(session) == []
            assert service.maintain_partitions(session, now=NOW, retention_days=30) == (0, 0)
        return
    with unit_of_work(session_factory) as session:
        created, dropped = service.maintain_partitions(session, now=NOW, retention_days=30)
        days = service.position_partitions(session)
    today = NOW.date()
    assert {today + timedelta(days=n) for n in range(8)} <= set(days)
    assert created >= 1
    assert dropped == 0
    old = datetime(2026, 9, 1, 12, 0, tzinfo=UTC)  # a day with no partition of its own
    with unit_of_work(session_factory) as session:
        service.record_positions(
            session,
            _rows(truck_id, NOW, NOW + timedelta(days=2), old, old + timedelta(hours=1)),
        )
    with session_factory() as session:
        held = _where(session)
    assert held[f"truck_partitions.truck_position_p{today:%Y%m%d}"] == 1
    assert held[f"truck_partitions.truck_position_p{today + timedelta(days=2):%Y%m%d}"] == 1
    assert held["truck_partitions.truck_position_default"] == 2
    # A scheduled run on that old day (a week ahead of it) moves its rows into their day.
    with unit_of_work(session_factory) as session:
        service.maintain_partitions(session, now=old, retention_days=3650)
    with session_factory() as session:
        held = _where(session)
        assert held[f"truck_partitions.truck_position_p{old:%Y%m%d}"] == 2
        assert "truck_partitions.truck_position_default" not in held
        assert session.scalar(select(func.count()).select_from(TruckPosition)) == 4
    # Retention drops the old days' partitions whole; the rows of kept days stay.
    with unit_of_work(session_factory) as session:
        deleted = service.purge_positions(session, now=NOW, retention_days=30)
        left = service.position_partitions(session)
    assert deleted == 0  # nothing deleted row by row: the old day went with its partition
    assert old.date() not in left
    assert min(left) >= (NOW - timedelta(days=31)).date()
    with session_factory() as session:
        assert session.scalar(select(func.count()).select_from(TruckPosition)) == 2
