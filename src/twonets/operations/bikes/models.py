"""Shared bikes' tables: imported trips and parked-bike snapshots.

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

from sqlalchemy import Float, Index, Integer, String, Text
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
