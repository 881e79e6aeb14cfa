"""Tables of licences: the licences, their history, delegations, and verification counts."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import Date, ForeignKey, Index, Integer, String, Text, UniqueConstraint, text
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


class LicenceStatus(StrEnum):
    """Where a licence is in its life."""

    ACTIVE = "active"
    SUSPENDED = "suspended"
    REVOKED = "revoked"
    SUPERSEDED = "superseded"


class LicenceAction(StrEnum):
    """What happened to a licence version, as its history records it."""

    ISSUED = "issued"
    # A new version replacing an older one (which gets a "superseded" entry).
    AMENDED = "amended"
    SUPERSEDED = "superseded"
    SUSPENDED = "suspended"
    RESUMED = "resumed"
    REVOKED = "revoked"


class Licence(Base):
    """One version of one electronic licence; its claims are sealed at rest."""

    __tablename__ = "licence"
    __table_args__ = (
        # One licence a position: a list of the region, and an index in it.
        UniqueConstraint("region_code", "status_list", "status_index"),
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

    # A list number left to the database's default is read when first used, not returned by
    # every insert.
    __mapper_args__ = {"eager_defaults": False}

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
    # Which of the region's numbered status lists holds the licence (0: the first, at the
    # URI without a number), and its position there, drawn at random so it reveals nothing.
    # (The database's default, so that a row written without it is in list 0.)
    status_list: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    status_index: Mapped[int] = mapped_column(Integer)
    valid_from: Mapped[date] = mapped_column(Date)
    valid_until: Mapped[date | None] = mapped_column(Date)
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    supersedes_id: Mapped[int | None] = mapped_column(ForeignKey("licence.id"))
    status_changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    status_reason: Mapped[str | None] = mapped_column(Text)


class StatusListFill(Base):
    """Where a region's new licences go: its current status list and how many positions of it
    are taken. Issuing locks the region's row while it draws, so issuers of one region take
    their positions in turn and the next list is opened once."""

    __tablename__ = "licence_status_list_fill"
    __table_args__ = {"info": all_public()}

    region_code: Mapped[str] = mapped_column(String(8), primary_key=True)
    current_list: Mapped[int] = mapped_column(Integer)
    used: Mapped[int] = mapped_column(Integer)


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


class LicenceHistory(Base):
    """One change in the life of a licence version: what, from which status, by whom, why."""

    __tablename__ = "licence_history"
    __table_args__ = (
        Index("ix_licence_history_licence_at", "licence_id", "at"),
        {"info": all_public()},
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    licence_id: Mapped[int] = mapped_column(ForeignKey("licence.id"))
    action: Mapped[LicenceAction] = mapped_column(String(16))
    # None when the version came into being with this entry (issued, amended).
    from_status: Mapped[LicenceStatus | None] = mapped_column(String(16))
    to_status: Mapped[LicenceStatus] = mapped_column(String(16))
    version: Mapped[int] = mapped_column(Integer)
    # The member of staff and their department; the holder is shown the department only.
    actor: Mapped[str] = mapped_column(String(64), info=personal())
    department_code: Mapped[str | None] = mapped_column(String(64))
    reason: Mapped[str | None] = mapped_column(Text, info=personal())
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class LicenceDelegation(Base):
    """A department a region's policy names to change another department's licences of a type.

    Only departments of the region itself are named; the actions are a comma-separated subset
    of amend, suspend, resume and revoke.
    """

    __tablename__ = "licence_delegation"
    __table_args__ = (
        UniqueConstraint("type_code", "issuer_department_code", "delegate_department_code"),
        {"info": all_public()},
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    region_code: Mapped[str] = mapped_column(ForeignKey("region.code"))
    type_code: Mapped[str] = mapped_column(String(6))
    issuer_department_code: Mapped[str] = mapped_column(ForeignKey("department.code"))
    delegate_department_code: Mapped[str] = mapped_column(ForeignKey("department.code"), index=True)
    actions: Mapped[str] = mapped_column(String(64))
    reason: Mapped[str] = mapped_column(Text)
    granted_by: Mapped[str] = mapped_column(String(64), info=personal())
    granted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class HolderKey(Base):
    """A wallet's public key that an account registered for one device (a phone's browser,
    a command-line wallet). The private key never leaves the device; the platform binds the
    credentials it issues to this public key (``cnf.jwk``)."""

    __tablename__ = "licence_holder_key"
    __table_args__ = (
        UniqueConstraint("account_id", "thumbprint"),
        {"info": all_public()},
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("account.id"), index=True)
    # The holder's own name for the device, e.g. "my phone".
    device: Mapped[str] = mapped_column(String(64), info=personal())
    # The public JWK (EC P-256 or OKP Ed25519) as compact JSON; never a private member.
    jwk: Mapped[str] = mapped_column(Text, info=personal())
    # RFC 7638 SHA-256 thumbprint of the public key (base64url).
    thumbprint: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    removed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
