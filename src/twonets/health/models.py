"""Health's tables: hospitals, the clinical reserve, mobilisations, surveillance and lab samples."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    Float,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from twonets.core.db import Base, UTCDateTime, utcnow
from twonets.core.privacy import DataClass, all_public, dataset, personal


class Specialty(StrEnum):
    """The clinical specialties the reserve is counted in."""

    INFECTIOUS_DISEASES = "infectious-diseases"
    RESPIRATORY = "respiratory"
    CRITICAL_CARE = "critical-care"
    EMERGENCY = "emergency"
    NURSING = "nursing"
    INFECTION_CONTROL = "infection-control"


class TrainingKind(StrEnum):
    """The trainings a reservist must hold, each valid for a while."""

    INFECTIOUS_DISEASE_TREATMENT = "infectious-disease-treatment"
    INFECTION_CONTROL = "infection-control"
    DRILL = "drill"


class MobilisationStatus(StrEnum):
    """Where a mobilisation is."""

    OPEN = "open"
    CLOSED = "closed"


class AssignmentStatus(StrEnum):
    """A reservist's call-up within a mobilisation."""

    NOTIFIED = "notified"
    ACCEPTED = "accepted"
    REFUSED = "refused"


class AlertKind(StrEnum):
    """What raised an alert."""

    SYNDROME = "syndrome"  # an aberration in daily counts (EARS, Farrington)
    PATHOGEN = "pathogen"  # a lab positive for a notifiable or new pathogen


class Hospital(Base):
    """A general hospital where reservists work most of the time."""

    __tablename__ = "health_hospital"
    __table_args__ = {"info": all_public()}

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(128))
    district_code: Mapped[str] = mapped_column(ForeignKey("district.code"), index=True)
    lon: Mapped[float] = mapped_column(Float)  # WGS-84
    lat: Mapped[float] = mapped_column(Float)
    staff_total: Mapped[int] = mapped_column(Integer)
    # Clinical staff per specialty (the reserve may take only a share of each hospital's).
    staff_by_specialty: Mapped[dict[str, int]] = mapped_column(JSON, default=dict)


class Reservist(Base):
    """A clinician of the public-health reserve (personal data: read through governance)."""

    __tablename__ = "health_reservist"
    __table_args__ = {
        "info": dataset(
            "health.reservist",
            subject="citizen_id",
            subject_kind="citizen",
            district="district_code",
            time="created_at",
            default=DataClass.PUBLIC,
        )
    }

    id: Mapped[int] = mapped_column(primary_key=True)
    citizen_id: Mapped[int] = mapped_column(ForeignKey("citizen.id"), unique=True)
    id_number: Mapped[str] = mapped_column(String(18), info=personal())
    name: Mapped[str] = mapped_column(String(64), info=personal())
    # The professional qualification licence checked with the licence service at registration.
    licence_identifier: Mapped[str] = mapped_column(String(64), info=personal())
    specialty: Mapped[str] = mapped_column(String(32), index=True)
    hospital_id: Mapped[int] = mapped_column(ForeignKey("health_hospital.id"), index=True)
    district_code: Mapped[str] = mapped_column(ForeignKey("district.code"), index=True)
    available: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Training(Base):
    """One training a reservist completed, valid until it expires."""

    __tablename__ = "health_training"
    __table_args__ = {"info": all_public()}

    id: Mapped[int] = mapped_column(primary_key=True)
    reservist_id: Mapped[int] = mapped_column(ForeignKey("health_reservist.id"), index=True)
    kind: Mapped[str] = mapped_column(String(40))
    completed_on: Mapped[date] = mapped_column(Date)
    expires_on: Mapped[date] = mapped_column(Date)


class Mobilisation(Base):
    """A call-up of the reserve to meet demand per centre and specialty."""

    __tablename__ = "health_mobilisation"
    __table_args__ = {"info": all_public()}

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(128))
    status: Mapped[str] = mapped_column(String(16), default=MobilisationStatus.OPEN)
    max_share: Mapped[float] = mapped_column(Float)
    # [{"centre", "lon", "lat", "specialty", "count"}, ...]
    demand: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    rounds: Mapped[int] = mapped_column(Integer, default=1)
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    idempotency_key: Mapped[str | None] = mapped_column(String(128), unique=True)


class Assignment(Base):
    """One reservist called to one centre within a mobilisation."""

    __tablename__ = "health_assignment"
    __table_args__ = (
        UniqueConstraint("mobilisation_id", "reservist_id"),
        {"info": all_public()},
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    mobilisation_id: Mapped[int] = mapped_column(ForeignKey("health_mobilisation.id"), index=True)
    reservist_id: Mapped[int] = mapped_column(ForeignKey("health_reservist.id"), index=True)
    centre: Mapped[str] = mapped_column(String(128))
    specialty: Mapped[str] = mapped_column(String(32))
    distance_km: Mapped[float] = mapped_column(Float)
    round: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16), default=AssignmentStatus.NOTIFIED)
    notified_at: Mapped[datetime] = mapped_column(UTCDateTime)
    responded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class SyndromeCount(Base):
    """Cases of one syndrome (or pathogen) seen in one district on one day."""

    __tablename__ = "health_syndrome_count"
    __table_args__ = (
        UniqueConstraint("day", "district_code", "syndrome"),
        {"info": all_public()},
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    day: Mapped[date] = mapped_column(Date, index=True)
    district_code: Mapped[str] = mapped_column(ForeignKey("district.code"))
    syndrome: Mapped[str] = mapped_column(String(64))
    count: Mapped[int] = mapped_column(Integer)


class Alert(Base):
    """An alarm for the health department: an aberrant series or a notifiable lab positive."""

    __tablename__ = "health_alert"
    __table_args__ = (
        UniqueConstraint("kind", "district_code", "signal", "day", "method", "sample_id"),
        {"info": all_public()},
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    district_code: Mapped[str | None] = mapped_column(ForeignKey("district.code"))
    signal: Mapped[str] = mapped_column(String(64))  # the syndrome or pathogen
    day: Mapped[date] = mapped_column(Date, index=True)
    method: Mapped[str] = mapped_column(String(32))  # C1, C2, C3, farrington, notifiable, new
    observed: Mapped[float] = mapped_column(Float)
    threshold: Mapped[float | None] = mapped_column(Float)
    sample_id: Mapped[str] = mapped_column(String(64), default="")
    lab_department_code: Mapped[str | None] = mapped_column(String(64))
    detail: Mapped[str] = mapped_column(Text, default="")
    raised_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class LabSample(Base):
    """A sample tested by a lab; the patient is known to the platform only by a pseudonym."""

    __tablename__ = "health_lab_sample"
    __table_args__ = {
        "info": dataset(
            "health.lab-sample",
            subject="id",
            subject_kind="patient",
            district="district_code",
            time="collected_at",
            default=DataClass.PUBLIC,
        )
    }

    id: Mapped[int] = mapped_column(primary_key=True)
    sample_id: Mapped[str] = mapped_column(String(64), unique=True)
    patient_pseudonym: Mapped[str] = mapped_column(String(64), info=personal())
    lab_department_code: Mapped[str] = mapped_column(ForeignKey("department.code"), index=True)
    district_code: Mapped[str | None] = mapped_column(ForeignKey("district.code"))
    panel: Mapped[str] = mapped_column(String(64))
    result: Mapped[str] = mapped_column(String(64))  # "negative" or the pathogen found
    collected_at: Mapped[datetime] = mapped_column(UTCDateTime)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)
    reported_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
