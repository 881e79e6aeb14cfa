"""Muck-truck supervision's tables: companies, trucks, zones, permits, positions, violations.

The trucks are transport enterprises' vehicles under the city's muck-transport permits (the
same vehicles whose terminals device intake enrols): a position identifies a company's
vehicle, not a person, and no driver is recorded, so the columns are declared enterprise
(public-class) data, as device intake's are. A track still tells where a vehicle and its
crew were: who may read one is decided in ``service`` (operations staff of the home region;
a district's staff only inside their district), never by a page.

Geometry is kept as GeoJSON in WGS-84 (``JSON`` columns work the same on SQLite and
PostgreSQL); the checks build shapely shapes from it.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from twonets.core.db import Base, UTCDateTime
from twonets.core.privacy import all_public

# SQLite gives rowids only to INTEGER PRIMARY KEY; PostgreSQL needs 64 bits for positions.
BigId = BigInteger().with_variant(Integer, "sqlite")


class TruckCompany(Base):
    """A transport enterprise holding muck trucks (GB 32100 unified social credit code)."""

    __tablename__ = "truck_company"
    __table_args__ = {"info": all_public()}

    id: Mapped[int] = mapped_column(primary_key=True)
    credit_code: Mapped[str] = mapped_column(String(18), unique=True)
    name: Mapped[str] = mapped_column(String(128))
    registered_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Truck(Base):
    """A muck truck: its plate, the phone number its JT/T 808 terminal reports under."""

    __tablename__ = "truck"
    __table_args__ = {"info": all_public()}

    id: Mapped[int] = mapped_column(primary_key=True)
    plate: Mapped[str] = mapped_column(String(16), unique=True)
    terminal_phone: Mapped[str | None] = mapped_column(String(20), unique=True)
    company_id: Mapped[int] = mapped_column(ForeignKey("truck_company.id"), index=True)
    registered_at: Mapped[datetime] = mapped_column(UTCDateTime)


class TruckZone(Base):
    """A construction site, a disposal site or a no-go zone (a polygon, optional hours)."""

    __tablename__ = "truck_zone"
    __table_args__ = {"info": all_public()}

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(128), unique=True)
    kind: Mapped[str] = mapped_column(String(32))
    # The district the zone's representative point lies in (WGS-84 boundaries).
    district_code: Mapped[str | None] = mapped_column(String(6), index=True)
    geometry: Mapped[dict[str, Any]] = mapped_column(JSON)
    hours: Mapped[str | None] = mapped_column(String(11))
    registered_at: Mapped[datetime] = mapped_column(UTCDateTime)


class TruckPermit(Base):
    """A transport permit: one truck, or a company's whole fleet (``truck_id`` empty), from
    an origin site to a destination site along a corridor, in hours, between dates."""

    __tablename__ = "truck_permit"
    __table_args__ = {"info": all_public()}

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(32), unique=True)
    company_id: Mapped[int] = mapped_column(ForeignKey("truck_company.id"), index=True)
    truck_id: Mapped[int | None] = mapped_column(ForeignKey("truck.id"), index=True)
    origin_id: Mapped[int] = mapped_column(ForeignKey("truck_zone.id"))
    destination_id: Mapped[int] = mapped_column(ForeignKey("truck_zone.id"))
    route: Mapped[dict[str, Any]] = mapped_column(JSON)
    corridor_m: Mapped[float] = mapped_column(Float)
    hours: Mapped[str] = mapped_column(String(11))
    valid_from: Mapped[date] = mapped_column(Date)
    valid_to: Mapped[date] = mapped_column(Date)
    issued_by: Mapped[str] = mapped_column(String(64))
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime)


class TruckPosition(Base):
    """One reported position of a truck (WGS-84), kept ``retention_days`` for tracks."""

    __tablename__ = "truck_position"
    __table_args__ = (
        Index("ix_truck_position_truck_time", "truck_id", "time"),
        Index("ix_truck_position_time", "time"),
        {"info": all_public()},
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    truck_id: Mapped[int] = mapped_column(ForeignKey("truck.id", ondelete="CASCADE"))
    time: Mapped[datetime] = mapped_column(UTCDateTime)
    lon: Mapped[float] = mapped_column(Float)
    lat: Mapped[float] = mapped_column(Float)
    speed_kmh: Mapped[float] = mapped_column(Float)


class TruckViolation(Base):
    """One violation episode of a truck, once (truck, kind, start), and the case it opened."""

    __tablename__ = "truck_violation"
    __table_args__ = (
        UniqueConstraint("truck_id", "kind", "start_at", name="uq_truck_violation_episode"),
        {"info": all_public()},
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    truck_id: Mapped[int] = mapped_column(ForeignKey("truck.id"), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    start_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    end_at: Mapped[datetime] = mapped_column(UTCDateTime)
    lon: Mapped[float] = mapped_column(Float)
    lat: Mapped[float] = mapped_column(Float)
    district_code: Mapped[str | None] = mapped_column(String(6), index=True)
    evidence: Mapped[dict[str, Any]] = mapped_column(JSON)
    case_number: Mapped[str | None] = mapped_column(String(32))
    # The department the case's dispatch rule names: the inspector responsible there.
    department_code: Mapped[str | None] = mapped_column(String(64))
    detected_at: Mapped[datetime] = mapped_column(UTCDateTime)


class TruckAlert(Base):
    """One push about a violation: to the inspectors of a department (the district's, or the
    city's on escalation) or to the truck's company, read in the app."""

    __tablename__ = "truck_alert"
    __table_args__ = (
        Index("ix_truck_alert_department", "department_code", "created_at"),
        Index("ix_truck_alert_company", "company_id", "created_at"),
        {"info": all_public()},
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    violation_id: Mapped[int] = mapped_column(ForeignKey("truck_violation.id"), index=True)
    # "inspector" (a department's inspectors), "escalation" (the city's), "company".
    audience: Mapped[str] = mapped_column(String(16))
    department_code: Mapped[str | None] = mapped_column(String(64))
    company_id: Mapped[int | None] = mapped_column(ForeignKey("truck_company.id"))
    # The truck's violations in the 30 days before this one (a repeat offender has several).
    prior_violations: Mapped[int] = mapped_column(Integer)
    message: Mapped[str] = mapped_column(String(256))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    read_by: Mapped[str | None] = mapped_column(String(64))


class TruckSighting(Base):
    """A road camera's or a patrol drone's event (uncovered load, spilled material, dirty
    wheels) with its image, matched to the truck that was there and joined to its trip."""

    __tablename__ = "truck_sighting"
    __table_args__ = (
        UniqueConstraint("source", "device", "event_id", name="uq_truck_sighting_event"),
        {"info": all_public()},
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    source: Mapped[str] = mapped_column(String(8))  # camera, drone
    device: Mapped[str] = mapped_column(String(64))
    event_id: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(32))
    time: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    lon: Mapped[float] = mapped_column(Float)
    lat: Mapped[float] = mapped_column(Float)
    image_ref: Mapped[str] = mapped_column(String(512))
    truck_id: Mapped[int | None] = mapped_column(ForeignKey("truck.id"), index=True)
    # The matched fix: how far and how long from the event; the first fix of its trip.
    distance_m: Mapped[float | None] = mapped_column(Float)
    seconds: Mapped[float | None] = mapped_column(Float)
    trip_start_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)
