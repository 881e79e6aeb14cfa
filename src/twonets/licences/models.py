"""Tables of licences: the licences themselves and the count of every verification."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import Date, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from twonets.core.db import Base, UTCDateTime, utcnow
from twonets.core.privacy import DataClass, SensitiveKind, all_public, dataset, sensitive


class LicenceStatus(StrEnum):
    """Where a licence is in its life."""

    ACTIVE = "active"
    SUSPENDED = "suspended"
    REVOKED = "revoked"
    SUPERSEDED = "superseded"


class Licence(Base):
    """One version of one electronic licence; its claims are sealed at rest."""

    __tablename__ = "licence"
    __table_args__ = (
        UniqueConstraint("region_code", "status_index"),
        # The next licence number of a type and issuer is found through this index.
        Index("ix_licence_type_issuer_number", "type_code", "issuer_credit_code", "number"),
        {
            "info": dataset(
                "licences.licence",
                subject="citizen_id",
                subject_kind="citizen",
                time="issued_at",
                default=DataClass.PUBLIC,
            )
        },
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    identifier: Mapped[str] = mapped_column(String(64), unique=True)
    type_code: Mapped[str] = mapped_column(String(6), index=True)
    number: Mapped[int] = mapped_column(Integer)
    version: Mapped[int] = mapped_column(Integer)
    region_code: Mapped[str] = mapped_column(String(8))
    issuer_department_code: Mapped[str] = mapped_column(ForeignKey("department.code"))
    issuer_credit_code: Mapped[str] = mapped_column(String(18))
    # The holder: a resident (a data subject) or an enterprise.
    citizen_id: Mapped[int | None] = mapped_column(ForeignKey("citizen.id"), index=True)
    enterprise_id: Mapped[int | None] = mapped_column(ForeignKey("enterprise.id"), index=True)
    # Every claim of the licence as JSON, sealed with the dataset's key.
    claims: Mapped[str] = mapped_column(Text, info=sensitive(SensitiveKind.IDENTITY))
    status: Mapped[LicenceStatus] = mapped_column(String(16), default=LicenceStatus.ACTIVE)
    # Position in the region's status list, drawn at random so it reveals nothing.
    status_index: Mapped[int] = mapped_column(Integer)
    valid_from: Mapped[date] = mapped_column(Date)
    valid_until: Mapped[date | None] = mapped_column(Date)
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    supersedes_id: Mapped[int | None] = mapped_column(ForeignKey("licence.id"))
    status_changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    status_reason: Mapped[str | None] = mapped_column(Text)


class VerificationCount(Base):
    """How many verifications of one type, by one verifier, of one region, gave one result."""

    __tablename__ = "licence_verification_count"
    __table_args__ = (
        UniqueConstraint("day", "type_code", "verifier", "region_code", "result"),
        {"info": all_public()},
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    day: Mapped[date] = mapped_column(Date, index=True)
    type_code: Mapped[str] = mapped_column(String(16))
    verifier: Mapped[str] = mapped_column(String(64))
    region_code: Mapped[str] = mapped_column(String(8))
    result: Mapped[str] = mapped_column(String(32))
    count: Mapped[int] = mapped_column(Integer, default=0)
