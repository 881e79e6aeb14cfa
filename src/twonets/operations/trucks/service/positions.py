"""Position history: fixes from device intake's location events, kept, purged, read as tracks."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, insert, or_, select, text
from sqlalchemy.orm import Session

from twonets.core.auth import Principal
from twonets.core.errors import NotFound
from twonets.core.geo import locate_district
from twonets.operations.trucks.checks import Fix
from twonets.operations.trucks.models import (
    Truck,
    TruckCompany,
    TruckPosition,
)
from twonets.operations.trucks.service.authority import track_scope

log = logging.getLogger(__name__)


def positions_from_events(
    session: Session, payloads: Iterable[Mapping[str, Any]]
) -> list[dict[str, Any]]:
    """Rows for ``truck_position`` from ``ops.device.location`` payloads of registered trucks
    (by terminal phone number, else by plate); others are left out."""
    items = list(payloads)
    phones = {str(p.get("terminal")) for p in items}
    plates = {str(p.get("plate")) for p in items}
    by_phone: dict[str, int] = {}
    by_plate: dict[str, int] = {}
    for truck_id, phone, plate in session.execute(
        select(Truck.id, Truck.terminal_phone, Truck.plate).where(
            or_(Truck.terminal_phone.in_(phones), Truck.plate.in_(plates))
        )
    ):
        if phone:
            by_phone[phone] = truck_id
        by_plate[plate] = truck_id
    rows = []
    seen: set[tuple[int, datetime]] = set()
    for payload in items:
        found = by_phone.get(str(payload.get("terminal"))) or by_plate.get(
            str(payload.get("plate"))
        )
        if found is None:
            continue
        try:
            when = datetime.fromisoformat(str(payload["time"]))
            lon = float(payload["wgs84"]["lon"])
            lat = float(payload["wgs84"]["lat"])
            speed = float(payload.get("speed_kmh", 0.0))
        except (KeyError, TypeError, ValueError):
            log.warning("location event without a usable position: %r", payload)
            continue
        if when.tzinfo is None or (found, when) in seen:
            continue
        seen.add((found, when))
        rows.append({"truck_id": found, "time": when, "lon": lon, "lat": lat, "speed_kmh": speed})
    return rows


def record_positions(session: Session, rows: Sequence[Mapping[str, Any]]) -> int:
    """Write a batch of position rows in one statement (an executemany)."""
    if not rows:
        return 0
    session.execute(insert(TruckPosition), [dict(r) for r in rows])
    return len(rows)


# On PostgreSQL ``truck_position`` is partitioned by UTC day (migration 0019), the partitions
# in a schema of their own; anything outside them lands in the default partition.
PARTITIONS = "truck_partitions"
DAYS_AHEAD = 7


def _partitioned(session: Session) -> bool:
    bind = session.get_bind()
    if bind.dialect.name != "postgresql":
        return False
    return bool(
        session.scalar(
            text(
                "SELECT count(*) FROM pg_partitioned_table p"
                " JOIN pg_class c ON c.oid = p.partrelid WHERE c.relname = 'truck_position'"
                " AND c.relnamespace = current_schema()::regnamespace"
            )
        )
    )


def position_partitions(session: Session) -> list[date]:
    """The days that have a partition of their own (PostgreSQL; empty elsewhere)."""
    if not _partitioned(session):
        return []
    names = session.scalars(
        text(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid"
            " JOIN pg_namespace n ON n.oid = c.relnamespace"
            " WHERE i.inhparent = 'truck_position'::regclass AND n.nspname = :schema"
            " AND c.relname LIKE 'truck\\_position\\_p%'"
        ),
        {"schema": PARTITIONS},
    )
    return sorted(datetime.strptime(n[len("truck_position_p") :], "%Y%m%d").date() for n in names)


def _create_partition(session: Session, day: date) -> None:
    """A partition for one UTC day; rows of that day already in the default partition move
    into it first (attaching checks that none is left behind)."""
    name = f"{PARTITIONS}.truck_position_p{day:%Y%m%d}"
    start = datetime.combine(day, datetime.min.time(), tzinfo=UTC)
    end = start + timedelta(days=1)
    session.execute(text(f"CREATE TABLE {name} (LIKE truck_position INCLUDING DEFAULTS)"))
    session.execute(
        text(
            f"WITH moved AS (DELETE FROM {PARTITIONS}.truck_position_default"
            " WHERE time >= :start AND time < :end RETURNING *)"
            f" INSERT INTO {name} SELECT * FROM moved"
        ),
        {"start": start, "end": end},
    )
    # Literal bounds: a partition's bounds take no parameters (they come from a date).
    session.execute(
        text(
            f"ALTER TABLE truck_position ATTACH PARTITION {name} FOR VALUES"
            f" FROM ('{start.isoformat()}') TO ('{end.isoformat()}')"
        )
    )


def maintain_partitions(
    session: Session, *, now: datetime, retention_days: int, ahead_days: int = DAYS_AHEAD
) -> tuple[int, int]:
    """On PostgreSQL: create the partitions of the next ``ahead_days`` days that are missing
    and drop the partitions of days wholly past the retention (a dropped day costs nothing,
    where deleting its rows one by one would cost a scan and a vacuum). Created and dropped
    counts; nothing to do elsewhere."""
    if not _partitioned(session):
        return 0, 0
    have = set(position_partitions(session))
    today = now.astimezone(UTC).date()
    created = 0
    for n in range(ahead_days + 1):
        day = today + timedelta(days=n)
        if day not in have:
            _create_partition(session, day)
            created += 1
    cutoff = (now - timedelta(days=retention_days)).astimezone(UTC)
    dropped = 0
    for day in sorted(have):
        if datetime.combine(day + timedelta(days=1), datetime.min.time(), tzinfo=UTC) <= cutoff:
            session.execute(text(f"DROP TABLE {PARTITIONS}.truck_position_p{day:%Y%m%d}"))
            dropped += 1
    return created, dropped


def purge_positions(session: Session, *, now: datetime, retention_days: int) -> int:
    """Delete positions older than the retention (on PostgreSQL, whole days' partitions are
    dropped first and the partitions of the coming week created); the number of rows deleted
    one by one."""
    maintain_partitions(session, now=now, retention_days=retention_days)
    cutoff = now - timedelta(days=retention_days)
    result = session.execute(delete(TruckPosition).where(TruckPosition.time < cutoff))
    return int(getattr(result, "rowcount", 0) or 0)


def track(
    session: Session, caller: Principal, plate: str, *, since: datetime, until: datetime
) -> list[Fix]:
    """A truck's fixes between two moments, as far as ``caller`` may see them."""
    district = track_scope(session, caller)
    truck_id = session.scalar(select(Truck.id).where(Truck.plate == plate.strip().upper()))
    if truck_id is None:
        raise NotFound(f"no truck {plate} is registered")
    fixes = [
        Fix(plate.strip().upper(), t, lon, lat, speed)
        for t, lon, lat, speed in session.execute(
            select(
                TruckPosition.time, TruckPosition.lon, TruckPosition.lat, TruckPosition.speed_kmh
            )
            .where(
                TruckPosition.truck_id == truck_id,
                TruckPosition.time >= since,
                TruckPosition.time < until,
            )
            .order_by(TruckPosition.time)
        )
    ]
    if district is None:
        return fixes
    return [f for f in fixes if locate_district(f.lon, f.lat) == district]


@dataclass(frozen=True)
class LivePosition:
    """A truck's newest fix, as the map shows it."""

    plate: str
    company: str
    time: datetime
    lon: float
    lat: float
    speed_kmh: float


def live_positions(
    session: Session, caller: Principal, *, now: datetime, within: timedelta = timedelta(hours=24)
) -> list[LivePosition]:
    """Each truck's newest fix of the last ``within`` (a district's staff: the trucks whose
    newest fix lies in their district)."""
    district = track_scope(session, caller)
    newest = (
        select(TruckPosition.truck_id, func.max(TruckPosition.time).label("time"))
        .where(TruckPosition.time >= now - within, TruckPosition.time <= now)
        .group_by(TruckPosition.truck_id)
        .subquery()
    )
    out = []
    for plate, company, t, lon, lat, speed in session.execute(
        select(
            Truck.plate,
            TruckCompany.name,
            TruckPosition.time,
            TruckPosition.lon,
            TruckPosition.lat,
            TruckPosition.speed_kmh,
        )
        .join(
            newest,
            (newest.c.truck_id == TruckPosition.truck_id) & (newest.c.time == TruckPosition.time),
        )
        .join(Truck, Truck.id == TruckPosition.truck_id)
        .join(TruckCompany, TruckCompany.id == Truck.company_id)
        .order_by(Truck.plate)
    ):
        if district is not None and locate_district(lon, lat) != district:
            continue
        out.append(LivePosition(plate, company, t, lon, lat, speed))
    return out
