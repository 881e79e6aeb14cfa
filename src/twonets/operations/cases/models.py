"""The operations centre's tables: element categories, components, cases and their history."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Date, Float, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from twonets.core.db import Base, UTCDateTime, utcnow
from twonets.core.privacy import DataClass, all_public, dataset, personal


class Category(Base):
    """A minor category of management element, with its dispatch rule and time limits."""

    __tablename__ = "ops_category"
    __table_args__ = {"info": all_public()}

    code: Mapped[str] = mapped_column(String(8), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    major: Mapped[str] = mapped_column(String(2))
    minor: Mapped[str] = mapped_column(String(2))
    name: Mapped[str] = mapped_column(String(64))
    name_en: Mapped[str] = mapped_column(String(128))
    major_name: Mapped[str] = mapped_column(String(64))
    major_name_en: Mapped[str] = mapped_column(String(128))
    # Dispatch rule: the function of the department that handles it (district first).
    department_function: Mapped[str] = mapped_column(String(64))
    # Working hours from dispatch to the handler's feedback, per urgency.
    limits_hours: Mapped[dict[str, float]] = mapped_column(JSON)
    extension: Mapped[bool] = mapped_column(Boolean, default=False)
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class CalendarDay(Base):
    """A day that departs from the usual week: a public holiday, or a weekend day worked."""

    __tablename__ = "ops_calendar_day"
    __table_args__ = {"info": all_public()}

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    # "holiday" (a weekday not worked) or "workday" (a weekend day worked, 调休)
    kind: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(64))


class Component(Base):
    """One registered component (部件), identified by district, category and sequence."""

    __tablename__ = "ops_component"
    __table_args__ = {"info": all_public()}

    id: Mapped[int] = mapped_column(primary_key=True)
    identifier: Mapped[str] = mapped_column(String(16), unique=True)
    category_code: Mapped[str] = mapped_column(ForeignKey("ops_category.code"), index=True)
    district_code: Mapped[str] = mapped_column(ForeignKey("district.code"), index=True)
    sequence: Mapped[int] = mapped_column(Integer)
    lon: Mapped[float] = mapped_column(Float)
    lat: Mapped[float] = mapped_column(Float)
    note: Mapped[str | None] = mapped_column(String(256))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Case(Base):
    """A problem in the city, from intake to closure (positions in WGS-84)."""

    __tablename__ = "ops_case"
    __table_args__ = {"info": all_public()}

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(32), unique=True)
    category_code: Mapped[str] = mapped_column(ForeignKey("ops_category.code"), index=True)
    component_identifier: Mapped[str | None] = mapped_column(String(16))
    district_code: Mapped[str] = mapped_column(ForeignKey("district.code"), index=True)
    lon: Mapped[float] = mapped_column(Float)
    lat: Mapped[float] = mapped_column(Float)
    # Where the reporter says it is (a street and number, a landmark), for the people sent.
    address: Mapped[str | None] = mapped_column(String(256))
    description: Mapped[str] = mapped_column(Text)
    urgency: Mapped[str] = mapped_column(String(16))
    source_kind: Mapped[str] = mapped_column(String(16))
    source_ref: Mapped[str | None] = mapped_column(String(128))
    state: Mapped[str] = mapped_column(String(16), index=True)
    reported_at: Mapped[datetime] = mapped_column(UTCDateTime)
    filed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    dispatched_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    deadline_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    handled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    department_id: Mapped[int | None] = mapped_column(ForeignKey("department.id"), index=True)
    handler_account_id: Mapped[int | None] = mapped_column(ForeignKey("account.id"))
    verifier_account_id: Mapped[int | None] = mapped_column(ForeignKey("account.id"))
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("ops_case.id"))
    report_count: Mapped[int] = mapped_column(Integer, default=1)
    rework_count: Mapped[int] = mapped_column(Integer, default=0)
    # Whether a time limit was ever missed (a late feedback, or overdue when last checked).
    breached: Mapped[bool] = mapped_column(Boolean, default=False)
    evaluation: Mapped[int | None] = mapped_column(Integer)
    evaluation_note: Mapped[str | None] = mapped_column(String(500))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)


class CaseStep(Base):
    """One entry of a case's history: who moved it from which state to which, and why."""

    __tablename__ = "ops_case_step"
    __table_args__ = {"info": all_public()}

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("ops_case.id"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    action: Mapped[str] = mapped_column(String(32))
    from_state: Mapped[str | None] = mapped_column(String(16))
    to_state: Mapped[str] = mapped_column(String(16))
    actor_account_id: Mapped[int | None] = mapped_column(ForeignKey("account.id"))
    actor_name: Mapped[str | None] = mapped_column(String(128))
    note: Mapped[str | None] = mapped_column(Text)
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class CaseReport(Base):
    """One report of a problem; several merge into one case. Who reported is personal."""

    __tablename__ = "ops_case_report"
    __table_args__ = {
        "info": dataset(
            "operations.report",
            subject="reporter_citizen_id",
            subject_kind="citizen",
            time="reported_at",
            default=DataClass.PUBLIC,
        )
    }

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("ops_case.id"), index=True)
    source_kind: Mapped[str] = mapped_column(String(16))
    source_ref: Mapped[str | None] = mapped_column(String(128))
    reporter_citizen_id: Mapped[int | None] = mapped_column(
        ForeignKey("citizen.id"), index=True, info=personal()
    )
    lon: Mapped[float] = mapped_column(Float)
    lat: Mapped[float] = mapped_column(Float)
    description: Mapped[str] = mapped_column(Text)
    reported_at: Mapped[datetime] = mapped_column(UTCDateTime)


class CasePhoto(Base):
    """A photo a handler took, stored under ``var/operations/photos`` by its SHA-256."""

    __tablename__ = "ops_case_photo"
    __table_args__ = {"info": all_public()}

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("ops_case.id"), index=True)
    sha256: Mapped[str] = mapped_column(String(64))
    content_type: Mapped[str] = mapped_column(String(32))
    size: Mapped[int] = mapped_column(Integer)
    uploaded_by: Mapped[int] = mapped_column(ForeignKey("account.id"))
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime)
