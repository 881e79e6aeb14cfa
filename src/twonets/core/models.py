"""Tables of the core: places, registers, principals, credentials, logins, outbox, idempotency."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from twonets.core.db import Base, UTCDateTime, utcnow
from twonets.core.privacy import (
    DataClass,
    SensitiveKind,
    all_public,
    dataset,
    personal,
    sensitive,
)


class Role(StrEnum):
    """What an account may do; staff accounts hold one or more, citizens and firms one."""

    CITIZEN = "citizen"
    ENTERPRISE = "enterprise"
    STAFF = "staff"
    OPERATOR = "operator"
    FIELD = "field"
    VERIFIER = "verifier"
    # Revokes and restores holders' codes, and decides appeals, for the scenarios whose
    # authority is its department's function (codes.scenarios names one per scenario).
    CODES_AUTHORITY = "codes_authority"
    # Verifies handled operations cases (never the handler's own).
    SUPERVISOR = "supervisor"
    HEALTH_PLANNER = "health_planner"
    DPO = "dpo"
    ADMIN = "admin"


class AccountKind(StrEnum):
    """Whom an account speaks for."""

    CITIZEN = "citizen"
    ENTERPRISE = "enterprise"
    STAFF = "staff"


class DepartmentLevel(StrEnum):
    """The administrative level of a department."""

    CITY = "city"
    DISTRICT = "district"
    STREET = "street"


class Region(Base):
    """A trust region (a province-level government) whose issuers sign credentials."""

    __tablename__ = "region"
    __table_args__ = {"info": all_public()}

    code: Mapped[str] = mapped_column(String(8), primary_key=True)
    admin_code: Mapped[str] = mapped_column(String(6), unique=True)
    name: Mapped[str] = mapped_column(String(64))
    name_en: Mapped[str] = mapped_column(String(64))
    population_2020: Mapped[int] = mapped_column(Integer)
    home: Mapped[bool] = mapped_column(Boolean, default=False)


class District(Base):
    """A district of the home city (GB/T 2260 code), with its census population."""

    __tablename__ = "district"
    __table_args__ = {"info": all_public()}

    code: Mapped[str] = mapped_column(String(6), primary_key=True)
    region_code: Mapped[str] = mapped_column(ForeignKey("region.code"))
    name: Mapped[str] = mapped_column(String(64))
    name_en: Mapped[str] = mapped_column(String(64))
    population_2020: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(16))


class Department(Base):
    """A government department: a function at a level, in a region and maybe a district."""

    __tablename__ = "department"
    __table_args__ = {"info": all_public()}

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(128))
    name_en: Mapped[str] = mapped_column(String(128))
    function: Mapped[str] = mapped_column(String(64), index=True)
    level: Mapped[DepartmentLevel] = mapped_column(String(16))
    region_code: Mapped[str] = mapped_column(ForeignKey("region.code"))
    district_code: Mapped[str | None] = mapped_column(ForeignKey("district.code"))
    credit_code: Mapped[str | None] = mapped_column(String(18), unique=True)


class Citizen(Base):
    """A resident known by their GB 11643 ID number (personal data: read via governance)."""

    __tablename__ = "citizen"
    __table_args__ = {
        "info": dataset(
            "core.citizen",
            subject="id",
            subject_kind="citizen",
            district="district_code",
            time="created_at",
            minor_birth_date="birth_date",
            default=DataClass.PUBLIC,
        )
    }

    id: Mapped[int] = mapped_column(primary_key=True)
    id_number: Mapped[str] = mapped_column(String(18), unique=True, info=personal())
    name: Mapped[str] = mapped_column(String(64), info=personal())
    birth_date: Mapped[date] = mapped_column(Date, info=personal())
    sex: Mapped[str] = mapped_column(String(8), info=personal())
    phone: Mapped[str | None] = mapped_column(String(20), info=personal())
    district_code: Mapped[str | None] = mapped_column(ForeignKey("district.code"), index=True)
    address: Mapped[str | None] = mapped_column(String(256), info=personal())
    # A precise home location is whereabouts (PIPL Art. 28): sealed at rest, as text.
    home_lon: Mapped[str | None] = mapped_column(Text, info=sensitive(SensitiveKind.WHEREABOUTS))
    home_lat: Mapped[str | None] = mapped_column(Text, info=sensitive(SensitiveKind.WHEREABOUTS))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Enterprise(Base):
    """An organisation known by its GB 32100 unified social credit code."""

    __tablename__ = "enterprise"
    __table_args__ = {
        "info": dataset(
            "core.enterprise",
            subject="id",
            subject_kind="enterprise",
            district="district_code",
            time="created_at",
            default=DataClass.PUBLIC,
        )
    }

    id: Mapped[int] = mapped_column(primary_key=True)
    credit_code: Mapped[str] = mapped_column(String(18), unique=True)
    name: Mapped[str] = mapped_column(String(128))
    legal_representative: Mapped[str | None] = mapped_column(String(64), info=personal())
    industry: Mapped[str | None] = mapped_column(String(64))
    district_code: Mapped[str | None] = mapped_column(ForeignKey("district.code"), index=True)
    address: Mapped[str | None] = mapped_column(String(256))
    lon: Mapped[float | None]
    lat: Mapped[float | None]
    # The phone on record for the enterprise: sign-up codes go to it (often a person's own).
    contact_phone: Mapped[str | None] = mapped_column(String(20), info=personal())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Account(Base):
    """A login: a citizen, an enterprise or a member of staff of one department."""

    __tablename__ = "account"
    __table_args__ = {"info": all_public()}

    id: Mapped[int] = mapped_column(primary_key=True)
    # A resident's user name is their ID number.
    username: Mapped[str] = mapped_column(String(64), unique=True, info=personal())
    display_name: Mapped[str] = mapped_column(String(128), info=personal())
    password_hash: Mapped[str] = mapped_column(
        String(256), info=sensitive(SensitiveKind.CREDENTIAL)
    )
    kind: Mapped[AccountKind] = mapped_column(String(16))
    citizen_id: Mapped[int | None] = mapped_column(ForeignKey("citizen.id"), unique=True)
    enterprise_id: Mapped[int | None] = mapped_column(ForeignKey("enterprise.id"), unique=True)
    department_id: Mapped[int | None] = mapped_column(ForeignKey("department.id"), index=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    roles: Mapped[list[AccountRole]] = relationship(
        back_populates="account", cascade="all, delete-orphan", lazy="selectin"
    )
    department: Mapped[Department | None] = relationship(lazy="joined")


class AccountRole(Base):
    """One role held by one account."""

    __tablename__ = "account_role"
    __table_args__ = {"info": all_public()}

    account_id: Mapped[int] = mapped_column(
        ForeignKey("account.id", ondelete="CASCADE"), primary_key=True
    )
    role: Mapped[Role] = mapped_column(String(32), primary_key=True)

    account: Mapped[Account] = relationship(back_populates="roles")


class AuthToken(Base):
    """A bearer token (pages keep it in a cookie); only its SHA-256 is stored."""

    __tablename__ = "auth_token"
    __table_args__ = {"info": all_public()}

    token_hash: Mapped[str] = mapped_column(
        String(64), primary_key=True, info=sensitive(SensitiveKind.CREDENTIAL)
    )
    account_id: Mapped[int] = mapped_column(ForeignKey("account.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class SignupMessageKind(StrEnum):
    """What a sign-up message to the phone on record carries."""

    CODE = "code"  # a one-time code that opens the account
    NOTICE = "notice"  # the subject already has an account: told so instead of a code


class SignupStatus(StrEnum):
    """Where a sign-up message stands."""

    SENT = "sent"  # a notice: nothing to confirm
    PENDING = "pending"  # a code that may still be confirmed
    USED = "used"
    BURNED = "burned"  # too many wrong tries
    EXPIRED = "expired"
    SUPERSEDED = "superseded"  # a newer code was sent


class SignupMessage(Base):
    """A message sent to a register entry's phone on record when someone asked to sign up."""

    __tablename__ = "signup_message"
    __table_args__ = {"info": all_public()}

    id: Mapped[int] = mapped_column(primary_key=True)
    citizen_id: Mapped[int | None] = mapped_column(
        ForeignKey("citizen.id", ondelete="CASCADE"), index=True
    )
    enterprise_id: Mapped[int | None] = mapped_column(
        ForeignKey("enterprise.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[SignupMessageKind] = mapped_column(String(16))
    status: Mapped[SignupStatus] = mapped_column(String(16))
    # An argon2 hash of the six digits; the code itself is only in the message.
    code_hash: Mapped[str | None] = mapped_column(
        String(256), info=sensitive(SensitiveKind.CREDENTIAL)
    )
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class LoginOutcome(StrEnum):
    """How one login attempt ended, as the audit records it."""

    FAILURE = "failure"  # wrong user name or password
    LOCKED = "locked"  # refused: the user name is locked after repeated failures
    REFUSED = "refused"  # refused: too many failures from the client's address
    SUCCESS_AFTER_FAILURES = "success_after_failures"


class LoginAttempt(Base):
    """One audited login attempt: who (as typed), from where, when, and how it ended.

    Plain successes are not recorded (they are not slowed either); a success that follows
    failures is, because it ends a run an administrator may want to see.
    """

    __tablename__ = "login_attempt"
    __table_args__ = {"info": all_public()}

    id: Mapped[int] = mapped_column(primary_key=True)
    # As typed: it may name no account at all, so it is not a foreign key.
    username: Mapped[str] = mapped_column(String(64), index=True, info=personal())
    account_id: Mapped[int | None] = mapped_column(
        ForeignKey("account.id", ondelete="SET NULL"), index=True
    )
    address: Mapped[str] = mapped_column(String(64), index=True, info=personal())
    at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    outcome: Mapped[LoginOutcome] = mapped_column(String(32))


class LoginLock(Base):
    """A user name locked after repeated failed logins, until a time or an administrator."""

    __tablename__ = "login_lock"
    __table_args__ = {"info": all_public()}

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), index=True, info=personal())
    account_id: Mapped[int | None] = mapped_column(ForeignKey("account.id", ondelete="SET NULL"))
    address: Mapped[str] = mapped_column(String(64), info=personal())
    locked_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    locked_until: Mapped[datetime] = mapped_column(UTCDateTime)
    unlocked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    unlocked_by: Mapped[int | None] = mapped_column(ForeignKey("account.id", ondelete="SET NULL"))


class OutboxEvent(Base):
    """An event written in the same transaction as the change it announces."""

    __tablename__ = "outbox_event"
    __table_args__ = {"info": all_public()}

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[str] = mapped_column(String(36), unique=True)
    topic: Mapped[str] = mapped_column(String(128), index=True)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    dispatched_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)


class IdempotencyRecord(Base):
    """The outcome of a write that a client may retry under the same key."""

    __tablename__ = "idempotency_record"
    __table_args__ = (UniqueConstraint("scope", "key"), {"info": all_public()})

    id: Mapped[int] = mapped_column(primary_key=True)
    scope: Mapped[str] = mapped_column(String(128))
    key: Mapped[str] = mapped_column(String(128))
    request_hash: Mapped[str] = mapped_column(String(64))
    response: Mapped[dict[str, Any]] = mapped_column(JSON, info=personal())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class DemoSeed(Base):
    """Which demo city (seed and scale) a database holds, so reseeding is a decision."""

    __tablename__ = "demo_seed"
    __table_args__ = {"info": all_public()}

    id: Mapped[int] = mapped_column(primary_key=True)
    seed: Mapped[int] = mapped_column(Integer)
    scale: Mapped[int] = mapped_column(Integer)
    seeded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # The demo's printed logins include residents' ID numbers.
    steps: Mapped[list[str]] = mapped_column(JSON, info=personal())


class WorkLease(Base):
    """Who runs one piece of background work now, across the server's worker processes.

    A holder renews its lease well before ``expires_at``; once a lease has expired (its holder
    died or lost the database) another worker takes it over (see ``core/leases.py``).
    """

    __tablename__ = "work_lease"
    __table_args__ = {"info": all_public()}

    name: Mapped[str] = mapped_column(String(200), primary_key=True)
    holder: Mapped[str] = mapped_column(String(200))
    acquired_at: Mapped[datetime] = mapped_column(UTCDateTime)
    renewed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    takeovers: Mapped[int] = mapped_column(Integer, default=0)
