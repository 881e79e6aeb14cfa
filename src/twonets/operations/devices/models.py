"""Device intake's tables: enrolled terminals and their last known positions.

The vehicle terminals enrolled here are fitted to muck trucks held by transport enterprises
under the city's muck-transport permits: a terminal identifies a company's vehicle (plate and
unified social credit code), not a person, and no driver is recorded. Positions are therefore
declared enterprise (non-personal) data; the vehicles layer is still served to operations
staff only. A terminal's authentication code is a credential: only its SHA-256 is kept. Were
terminals ever fitted to private vehicles, their positions would be whereabouts (PIPL Art. 28)
and would have to be declared ``sensitive`` and read through governance.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Float, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from twonets.core.db import Base, UTCDateTime
from twonets.core.privacy import SensitiveKind, all_public, sensitive


class Terminal(Base):
    """A JT/T 808 vehicle terminal, enrolled by operations staff before it may register.

    ``enrolled_at`` is empty only for terminals that registered on their own before enrolment
    existed: they are refused until staff enrol them. ``code_serial`` counts the codes issued
    and withdrawn; a gateway session remembers the serial it authenticated under, so a reset
    ends it.
    """

    __tablename__ = "device_terminal"
    __table_args__ = {"info": all_public()}

    id: Mapped[int] = mapped_column(primary_key=True)
    phone: Mapped[str] = mapped_column(String(20), unique=True)
    plate: Mapped[str] = mapped_column(String(16), index=True)
    plate_colour: Mapped[int] = mapped_column(Integer, default=0)
    # The transport enterprise holding the vehicle (GB 32100 unified social credit code).
    credit_code: Mapped[str | None] = mapped_column(String(18), index=True)
    enrolled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    enrolled_by: Mapped[str | None] = mapped_column(String(64))
    # What the terminal said about itself when it registered.
    terminal_id: Mapped[str] = mapped_column(String(30), default="")
    manufacturer: Mapped[str] = mapped_column(String(32), default="")
    model: Mapped[str] = mapped_column(String(32), default="")
    province: Mapped[int] = mapped_column(Integer, default=0)
    city: Mapped[int] = mapped_column(Integer, default=0)
    protocol_version: Mapped[int | None] = mapped_column(Integer)
    auth_code_hash: Mapped[str | None] = mapped_column(
        String(64), info=sensitive(SensitiveKind.CREDENTIAL)
    )
    code_serial: Mapped[int] = mapped_column(Integer, default=0)
    code_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    registered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    authenticated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class LastPosition(Base):
    """The latest position a terminal reported (WGS-84 as received, GCJ-02 for the map)."""

    __tablename__ = "device_last_position"
    __table_args__ = {"info": all_public()}

    terminal_pk: Mapped[int] = mapped_column(
        ForeignKey("device_terminal.id", ondelete="CASCADE"), primary_key=True
    )
    lon: Mapped[float] = mapped_column(Float)
    lat: Mapped[float] = mapped_column(Float)
    gcj_lon: Mapped[float] = mapped_column(Float)
    gcj_lat: Mapped[float] = mapped_column(Float)
    speed_kmh: Mapped[float] = mapped_column(Float)
    heading: Mapped[int] = mapped_column(Integer)
    altitude_m: Mapped[int] = mapped_column(Integer)
    alarm_flags: Mapped[int] = mapped_column(BigInteger)
    status_flags: Mapped[int] = mapped_column(BigInteger)
    reported_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)
