"""Request and response shapes of the operations centre."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from twonets.operations.cases.elements import Urgency


class SourceKind(StrEnum):
    """Where a report came from."""

    DETECTOR = "detector"  # an analysis of data (group rentals, truck trajectories, bikes)
    DEVICE = "device"  # a sensor or terminal reading past a threshold
    PATROL = "patrol"  # a supervisor on patrol (监督员)
    CITIZEN = "citizen"  # a resident's report
    ALARM = "alarm"  # another department's alarm (e.g. the health early-warning system)


class IntakeReport(BaseModel):
    """A problem found by a detector, a device, a patrol or a citizen.

    ``lon``/``lat`` are in the datum ``crs`` names: devices send WGS-84 (GPS), Chinese web
    maps give GCJ-02. The service converts GCJ-02 to WGS-84 once, at intake; cases keep WGS-84.
    """

    model_config = ConfigDict(extra="forbid")

    source_kind: SourceKind
    source_ref: str | None = Field(default=None, max_length=128)
    category: str = Field(description="minor category code, e.g. E0102 (exposed rubbish)")
    description: str = Field(min_length=1, max_length=2000)
    lon: float = Field(ge=-180, le=180)
    lat: float = Field(ge=-90, le=90)
    crs: Literal["wgs84", "gcj02"] = "wgs84"
    address: str | None = Field(
        default=None, max_length=256, description="a street and number, or a landmark"
    )
    urgency: Urgency = Urgency.NORMAL
    reported_at: AwareDatetime | None = None
    component_identifier: str | None = None


class CitizenReport(BaseModel):
    """What a resident sends: the problem, and where (on the map, and in words if they like)."""

    model_config = ConfigDict(extra="forbid")

    category: str
    description: str = Field(min_length=1, max_length=2000)
    lon: float = Field(ge=-180, le=180)
    lat: float = Field(ge=-90, le=90)
    crs: Literal["wgs84", "gcj02"] = "wgs84"
    address: str | None = Field(
        default=None, max_length=256, description="a street and number, or a landmark"
    )


class DispatchIn(BaseModel):
    """Dispatch to a department (by the category's rule when none is named)."""

    model_config = ConfigDict(extra="forbid")

    department_code: str | None = None
    note: str | None = Field(default=None, max_length=2000)


class NoteIn(BaseModel):
    """A transition with an optional note."""

    model_config = ConfigDict(extra="forbid")

    note: str | None = Field(default=None, max_length=2000)


class VerifyIn(BaseModel):
    """The verifier's finding on site: solved, or not (the case goes back to the handlers)."""

    model_config = ConfigDict(extra="forbid")

    passed: bool
    note: str | None = Field(default=None, max_length=2000)


class EvaluateIn(BaseModel):
    """A satisfaction score from 1 (very unsatisfied) to 5 (very satisfied)."""

    model_config = ConfigDict(extra="forbid")

    score: int = Field(ge=1, le=5)
    note: str | None = Field(default=None, max_length=500)


class CategoryIn(BaseModel):
    """A new minor category (a local extension) under an existing major category."""

    model_config = ConfigDict(extra="forbid")

    code: str
    name: str = Field(min_length=1, max_length=64)
    name_en: str = Field(min_length=1, max_length=128)
    department_function: str = Field(min_length=1, max_length=64)
    limits_hours: dict[str, float]


class LimitsIn(BaseModel):
    """New time limits of a category, in working hours per urgency."""

    model_config = ConfigDict(extra="forbid")

    limits_hours: dict[str, float]


class CalendarDayIn(BaseModel):
    """A public holiday, or a weekend day worked in exchange (调休)."""

    model_config = ConfigDict(extra="forbid")

    day: str = Field(description="YYYY-MM-DD")
    kind: Literal["holiday", "workday"]
    name: str = Field(min_length=1, max_length=64)


class ComponentIn(BaseModel):
    """A component to register; its identifier is allocated from the district and category."""

    model_config = ConfigDict(extra="forbid")

    category: str
    lon: float = Field(ge=-180, le=180)
    lat: float = Field(ge=-90, le=90)
    crs: Literal["wgs84", "gcj02"] = "wgs84"
    note: str | None = Field(default=None, max_length=256)


class StepOut(BaseModel):
    """One entry of a case's history."""

    at: datetime
    action: str
    from_state: str | None
    to_state: str
    actor: str | None
    note: str | None
    details: dict[str, object]


class CaseOut(BaseModel):
    """A case as the API shows it."""

    id: int
    number: str
    state: str
    category: str
    category_name: str
    category_name_en: str
    kind: str
    district_code: str
    district_name: str
    lon: float
    lat: float
    address: str | None
    description: str
    urgency: str
    source_kind: str
    source_ref: str | None
    component_identifier: str | None
    reported_at: datetime
    filed_at: datetime | None
    dispatched_at: datetime | None
    deadline_at: datetime | None
    handled_at: datetime | None
    verified_at: datetime | None
    closed_at: datetime | None
    department_code: str | None
    department_name: str | None
    merged_into: str | None
    report_count: int
    rework_count: int
    overdue: bool
    breached: bool
    evaluation: int | None
    photos: list[int] = []
    history: list[StepOut] | None = None


class FiguresRow(BaseModel):
    """Figures of one district or department."""

    key: str
    name: str
    cases: int
    closed: int
    closed_on_time: int
    reworked: int
    overdue: int
    closure_rate: float | None
    on_time_rate: float | None
    rework_rate: float | None
