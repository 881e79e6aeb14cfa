"""Shared bikes' tables: imported trips and parked-bike snapshots, the register of parking
zones with their over-supply episodes, and the operators' GBFS feeds.

A trip's start and end points and times are whereabouts of the person who rode it (PIPL
Art. 28), even without a rider's name: they are declared sensitive fields of the dataset
``bike_trips``, sealed at rest, and leave the database only through governance's door. What
departments see is the coarse copy kept beside them on import, in the clear: the H3 cell
(resolution ``bikes_h3_resolution``, about 0.74 km² at 8) and the hour a trip started and
ended, counted per cell and hour (``service.heat_cells``). Parked-bike snapshots name a bike
and where it stands, never a rider: they are public operator data.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from twonets.core.db import Base, UTCDateTime
from twonets.core.privacy import DataClass, SensitiveKind, all_public, dataset, public, sensitive

WHEREABOUTS = sensitive(SensitiveKind.WHEREABOUTS)


class BikeTrip(Base):
    """One ride of a shared bike, as an operator reported it."""

    __tablename__ = "bike_trip"
    __table_args__ = (
        Index("ix_bike_trip_start", "start_cell", "start_hour"),
        Index("ix_bike_trip_end", "end_cell", "end_hour"),
        {
            "info": dataset(
                "bike_trips",
                subject="bike_id",
                subject_kind="bike",
                time="started_at",
                default=DataClass.PERSONAL,
            )
        },
    )

    id: Mapped[int] = mapped_column(primary_key=True, info=public())
    batch: Mapped[str] = mapped_column(String(36), index=True, info=public())
    operator: Mapped[str] = mapped_column(String(32), index=True, info=public())
    bike_id: Mapped[str] = mapped_column(String(32))
    # Sealed at rest (AES-GCM, the dataset's key): ISO 8601 times and decimal degrees as text.
    started_at: Mapped[str] = mapped_column(Text, info=WHEREABOUTS)
    start_lat: Mapped[str] = mapped_column(Text, info=WHEREABOUTS)
    start_lon: Mapped[str] = mapped_column(Text, info=WHEREABOUTS)
    ended_at: Mapped[str] = mapped_column(Text, info=WHEREABOUTS)
    end_lat: Mapped[str] = mapped_column(Text, info=WHEREABOUTS)
    end_lon: Mapped[str] = mapped_column(Text, info=WHEREABOUTS)
    # The coarse copy departments count: cell at the configured resolution, start of the hour.
    resolution: Mapped[int] = mapped_column(Integer, info=public())
    start_cell: Mapped[str] = mapped_column(String(16), info=public())
    start_hour: Mapped[datetime] = mapped_column(UTCDateTime, info=public())
    end_cell: Mapped[str] = mapped_column(String(16), info=public())
    end_hour: Mapped[datetime] = mapped_column(UTCDateTime, info=public())


class BikeSnapshot(Base):
    """A bike seen parked at a moment (an operator's free-bike status)."""

    __tablename__ = "bike_snapshot"
    __table_args__ = (
        Index("ix_bike_snapshot_cell", "cell", "hour"),
        {"info": all_public()},
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    batch: Mapped[str] = mapped_column(String(36), index=True)
    operator: Mapped[str] = mapped_column(String(32), index=True)
    bike_id: Mapped[str] = mapped_column(String(32))
    seen_at: Mapped[datetime] = mapped_column(UTCDateTime)
    lat: Mapped[float] = mapped_column(Float)
    lon: Mapped[float] = mapped_column(Float)
    resolution: Mapped[int] = mapped_column(Integer)
    cell: Mapped[str] = mapped_column(String(16))
    hour: Mapped[datetime] = mapped_column(UTCDateTime)


class BikeZone(Base):
    """A place where bikes must not pile up: a no-parking area (capacity 0) or a metro exit
    whose racks hold ``capacity`` bikes; bikes within ``radius_m`` of the point count."""

    __tablename__ = "bike_zone"
    __table_args__ = ({"info": all_public()},)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    kind: Mapped[str] = mapped_column(String(16))
    lat: Mapped[float] = mapped_column(Float)
    lon: Mapped[float] = mapped_column(Float)
    capacity: Mapped[int] = mapped_column(Integer)
    radius_m: Mapped[int] = mapped_column(Integer)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class BikeOversupply(Base):
    """An episode of a zone over its capacity: consecutive hours, one operations case."""

    __tablename__ = "bike_oversupply"
    __table_args__ = (
        Index("ix_bike_oversupply_zone", "zone_id", "open"),
        {"info": all_public()},
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    zone_id: Mapped[int] = mapped_column(ForeignKey("bike_zone.id", ondelete="CASCADE"))
    first_hour: Mapped[datetime] = mapped_column(UTCDateTime)
    last_hour: Mapped[datetime] = mapped_column(UTCDateTime)
    parked: Mapped[int] = mapped_column(Integer)  # the most bikes counted in the episode
    case_number: Mapped[str] = mapped_column(String(32))
    open: Mapped[bool] = mapped_column(Boolean, default=True)


class BikeFeed(Base):
    """An operator's GBFS feed the server fetches on its schedule (a ``gbfs.json`` discovery
    document or a ``free_bike_status`` / ``station_status`` URL)."""

    __tablename__ = "bike_feed"
    __table_args__ = ({"info": all_public()},)

    id: Mapped[int] = mapped_column(primary_key=True)
    operator: Mapped[str] = mapped_column(String(32))
    url: Mapped[str] = mapped_column(String(512), unique=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    fetched_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    fetched_rows: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(Text)
