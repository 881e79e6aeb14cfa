"""Pydantic shapes of health's requests and responses."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import Field

from twonets.core.schemas import Strict


class HospitalIn(Strict):
    """A hospital and its clinical staff per specialty."""

    code: str = Field(min_length=1, max_length=32, pattern=r"^[a-z0-9][a-z0-9.-]*$")
    name: str = Field(min_length=1, max_length=128)
    district_code: str = Field(pattern=r"^\d{6}$")
    lon: float
    lat: float
    staff_by_specialty: dict[str, int]
    staff_total: int | None = Field(default=None, ge=0)


class ReservistIn(Strict):
    """A clinician to enrol: who, their qualification licence, specialty and hospital."""

    id_number: str = Field(min_length=15, max_length=18)
    name: str = Field(min_length=1, max_length=64)
    licence_identifier: str = Field(min_length=1, max_length=64)
    specialty: str
    hospital_code: str = Field(min_length=1, max_length=32)
    available: bool = True


class TrainingIn(Strict):
    """A completed training; it expires after its kind's validity unless told."""

    kind: str
    completed_on: date
    expires_on: date | None = None


class AvailabilityIn(Strict):
    """Whether the reservist can be called now."""

    available: bool


class DemandLineIn(Strict):
    """Posts of one specialty at one centre."""

    centre: str = Field(min_length=1, max_length=128)
    lon: float
    lat: float
    specialty: str
    count: int = Field(ge=1, le=10_000)


class MobilisationIn(Strict):
    """A call-up: its name, the demand, and the share of any hospital's staff it may take."""

    name: str = Field(min_length=1, max_length=128)
    demand: list[DemandLineIn] = Field(min_length=1, max_length=200)
    max_share: float = Field(default=0.1, gt=0, le=0.5)


class ResponseIn(Strict):
    """A reservist's answer to a call."""

    accept: bool


class CountIn(Strict):
    """One day's cases of a syndrome in a district."""

    day: date
    district_code: str = Field(pattern=r"^\d{6}$")
    syndrome: str = Field(min_length=1, max_length=64)
    count: int = Field(ge=0)


class CountsIn(Strict):
    """A batch of daily counts from hospitals and labs."""

    counts: list[CountIn] = Field(min_length=1, max_length=20_000)


class DetectIn(Strict):
    """Which days to look at and which detectors to run."""

    today: date | None = None
    window: int = Field(default=14, ge=1, le=366)
    methods: list[str] = Field(default_factory=lambda: ["C2"])
    farrington: bool = True


class LabResultIn(Strict):
    """A lab's result for one sample; the patient only by the lab's pseudonym."""

    sample_id: str = Field(min_length=1, max_length=64)
    patient_pseudonym: str = Field(min_length=1, max_length=64)
    panel: str = Field(min_length=1, max_length=64)
    result: str = Field(min_length=1, max_length=64)
    collected_at: datetime
    received_at: datetime
    reported_at: datetime
    district_code: str | None = Field(default=None, pattern=r"^\d{6}$")


class ProjectionIn(Strict):
    """CHIME parameters (defaults as penn-chime's)."""

    population: int = Field(default=3_600_000, ge=1)
    current_hospitalized: int = Field(default=69, ge=0)
    doubling_time: float = Field(default=5.0, gt=0)
    relative_contact_rate: float = Field(default=0.45, ge=0, lt=1)
    market_share: float = Field(default=0.15, gt=0, le=1)
    infectious_days: int = Field(default=10, ge=1)
    hospitalized_rate: float = Field(default=0.025, gt=0, le=1)
    hospitalized_los: int = Field(default=7, ge=1)
    icu_rate: float = Field(default=0.0075, ge=0, le=1)
    icu_los: int = Field(default=9, ge=1)
    ventilated_rate: float = Field(default=0.005, ge=0, le=1)
    ventilated_los: int = Field(default=10, ge=1)
    n_days: int = Field(default=100, ge=1, le=1000)
