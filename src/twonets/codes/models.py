"""The code service's tables: scenarios, holders and their revocations, health inputs and
appeals, scan records."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from twonets.core.db import Base, UTCDateTime, utcnow
from twonets.core.privacy import (
    DataClass,
    SensitiveKind,
    all_public,
    dataset,
    personal,
    sensitive,
)

# 64-bit keys on PostgreSQL (billions of scans); SQLite only numbers INTEGER PRIMARY KEYs.
BigId = BigInteger().with_variant(Integer(), "sqlite")


class AppealStatus(StrEnum):
    """Where an appeal against an automated health status is."""

    PENDING = "pending"
    UPHELD = "upheld"
    REJECTED = "rejected"


class Scenario(Base):
    """Where a code is used: who holds it, what a scan discloses, who scans, how long kept."""

    __tablename__ = "code_scenario"
    __table_args__ = {"info": all_public()}

    code: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(128))
    name_en: Mapped[str] = mapped_column(String(128))
    holder_kinds: Mapped[list[str]] = mapped_column(JSON)
    disclosed: Mapped[list[str]] = mapped_column(JSON)
    # Organisation codes (department codes, enterprise credit codes) or "citizen" (any resident).
    verifiers: Mapped[list[str]] = mapped_column(JSON)
    purpose_code: Mapped[str] = mapped_column(String(64))
    retention_days: Mapped[int] = mapped_column(Integer)
    # The department function that decides about holders for this scenario: its codes
    # authorities (Role.CODES_AUTHORITY) revoke and restore, and decide health appeals.
    authority: Mapped[str] = mapped_column(String(64))
    # The status a code carries is the holder's health colour (green/yellow/red).
    health: Mapped[bool] = mapped_column(Boolean, default=False)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class CodeHolder(Base):
    """The holder behind a pseudonymous token: a resident or an enterprise of this platform."""

    __tablename__ = "code_holder"
    __table_args__ = {
        "info": dataset(
            "codes.holder",
            subject="citizen_id",
            subject_kind="citizen",
            time="created_at",
            default=DataClass.PUBLIC,
        )
    }

    id: Mapped[int] = mapped_column(primary_key=True)
    token: Mapped[str] = mapped_column(String(32), unique=True, info=personal())
    region_code: Mapped[str] = mapped_column(String(8))
    citizen_id: Mapped[int | None] = mapped_column(ForeignKey("citizen.id"), unique=True)
    enterprise_id: Mapped[int | None] = mapped_column(ForeignKey("enterprise.id"), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Revocation(Base):
    """One revocation of a holder's codes for one scenario, and its restoration: the history.

    A row without ``restored_at`` is in force. A revocation for the identity scenario
    withholds every scenario's code (see docs/codes.md).
    """

    __tablename__ = "code_revocation"
    __table_args__ = (
        # The scan path asks, per scan, for the holder's revocations in force.
        Index("ix_code_revocation_holder_scenario", "holder_id", "scenario_code"),
        {
            "info": dataset(
                "codes.revocation",
                subject="citizen_id",
                subject_kind="citizen",
                time="revoked_at",
                default=DataClass.PUBLIC,
            )
        },
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    holder_id: Mapped[int] = mapped_column(ForeignKey("code_holder.id"))
    # The data subject (empty for an enterprise holder, as in code_holder).
    citizen_id: Mapped[int | None] = mapped_column(ForeignKey("citizen.id"), index=True)
    scenario_code: Mapped[str] = mapped_column(String(32))
    reason: Mapped[str] = mapped_column(Text, info=personal())
    revoked_by: Mapped[str] = mapped_column(String(64), info=personal())
    revoked_department: Mapped[str] = mapped_column(String(64))
    revoked_at: Mapped[datetime] = mapped_column(UTCDateTime)
    restored_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    restored_by: Mapped[str | None] = mapped_column(String(64), info=personal())
    restored_department: Mapped[str | None] = mapped_column(String(64))
    restore_reason: Mapped[str | None] = mapped_column(Text, info=personal())


class HealthInput(Base):
    """One fact a health department reports about a resident: a test, a contact, a journey."""

    __tablename__ = "code_health_input"
    __table_args__ = {
        "info": dataset(
            "codes.health_input",
            subject="citizen_id",
            subject_kind="citizen",
            time="observed_at",
            default=DataClass.PUBLIC,
        )
    }

    id: Mapped[int] = mapped_column(primary_key=True)
    citizen_id: Mapped[int] = mapped_column(ForeignKey("citizen.id"), index=True)
    kind: Mapped[str] = mapped_column(Text, info=sensitive(SensitiveKind.HEALTH))
    value: Mapped[str] = mapped_column(Text, info=sensitive(SensitiveKind.HEALTH))
    observed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    source_department_code: Mapped[str] = mapped_column(ForeignKey("department.code"))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class HealthAppeal(Base):
    """A resident's appeal against their automated health status, and its decision."""

    __tablename__ = "code_health_appeal"
    __table_args__ = {
        "info": dataset(
            "codes.health_appeal",
            subject="citizen_id",
            subject_kind="citizen",
            time="filed_at",
            default=DataClass.PUBLIC,
        )
    }

    id: Mapped[int] = mapped_column(primary_key=True)
    citizen_id: Mapped[int] = mapped_column(ForeignKey("citizen.id"), index=True)
    filed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    colour_at_filing: Mapped[str] = mapped_column(Text, info=sensitive(SensitiveKind.HEALTH))
    reasons_at_filing: Mapped[str] = mapped_column(Text, info=sensitive(SensitiveKind.HEALTH))
    statement: Mapped[str] = mapped_column(Text, info=sensitive(SensitiveKind.HEALTH))
    status: Mapped[AppealStatus] = mapped_column(
        String(16), default=AppealStatus.PENDING, index=True
    )
    decided_by: Mapped[str | None] = mapped_column(String(64), info=personal())
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decided_colour: Mapped[str | None] = mapped_column(Text, info=sensitive(SensitiveKind.HEALTH))
    decision: Mapped[str | None] = mapped_column(Text, info=sensitive(SensitiveKind.HEALTH))


class ScanRecord(Base):
    """One scan of one code at one place: whereabouts, kept for its scenario's purpose only."""

    __tablename__ = "code_scan"
    __table_args__ = (
        # Replay detection looks up the sightings of one code; retention deletes by keep_until;
        # statistics group by day and scenario.
        Index("ix_code_scan_code_id", "code_id"),
        # A code admits once: of concurrent first scans of one code, one insert wins and the
        # other is decided again (a repeat at the same checkpoint, a replay at another).
        Index(
            "uq_code_scan_admitted",
            "code_id",
            unique=True,
            sqlite_where=text("result = 'admitted'"),
            postgresql_where=text("result = 'admitted'"),
        ),
        Index("ix_code_scan_day_scenario", "day", "scenario_code"),
        {
            "info": dataset(
                "codes.scan",
                subject="citizen_id",
                subject_kind="citizen",
                district="district_code",
                time="scanned_at",
                default=DataClass.PUBLIC,
            )
        },
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    scenario_code: Mapped[str] = mapped_column(String(32))
    purpose_code: Mapped[str] = mapped_column(String(64))
    # The resident this record is about (the data subject): the holder, or for an enterprise's
    # code the resident who scanned it. Empty for another region's holder, known here only by
    # the pseudonymous token.
    citizen_id: Mapped[int | None] = mapped_column(Integer, index=True)
    enterprise_id: Mapped[int | None] = mapped_column(Integer)
    holder_token: Mapped[str] = mapped_column(String(32), info=personal())
    holder_region: Mapped[str] = mapped_column(String(8))
    # Who scanned (organisation code) and where (the checkpoint, sealed).
    verifier_code: Mapped[str] = mapped_column(String(64), info=personal())
    place: Mapped[str] = mapped_column(Text, info=sensitive(SensitiveKind.WHEREABOUTS))
    place_key: Mapped[str] = mapped_column(String(24), info=personal())
    district_code: Mapped[str | None] = mapped_column(String(6))
    code_id: Mapped[str] = mapped_column(String(24))
    result: Mapped[str] = mapped_column(String(16))
    scanned_at: Mapped[datetime] = mapped_column(UTCDateTime)
    day: Mapped[date] = mapped_column(Date)
    minute: Mapped[int] = mapped_column(BigInteger)
    keep_until: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


def scenario_json(scenario: Scenario) -> dict[str, Any]:
    """A scenario as JSON."""
    return {
        "code": scenario.code,
        "name": scenario.name,
        "name_en": scenario.name_en,
        "holder_kinds": list(scenario.holder_kinds),
        "disclosed": list(scenario.disclosed),
        "verifiers": list(scenario.verifiers),
        "purpose_code": scenario.purpose_code,
        "retention_days": scenario.retention_days,
        "authority": scenario.authority,
        "health": scenario.health,
        "active": scenario.active,
    }
