"""Request and response shapes of the services API."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

Value = str | int | float | bool | None


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ApplyIn(_In):
    """An application: the service's process, the district it is handled in, the form."""

    process_id: str = Field(max_length=64, pattern=r"^[A-Za-z][A-Za-z0-9_.-]*$")
    district_code: str = Field(pattern=r"^\d{6}$")
    data: dict[str, Value] = Field(default_factory=dict)
    channel: Literal["online", "app", "counter"] = "online"
    # The applicant agrees that what the government holds prefills the form.
    consent: bool = False


class MaterialIn(_In):
    """What a department asked the applicant for."""

    data: dict[str, Value]


class CompleteIn(_In):
    """A step's form, as the member of staff who claimed it completes it."""

    data: dict[str, Value] = Field(default_factory=dict)


class ReturnIn(_In):
    """A return for material: what is missing (field names) and why."""

    missing: list[str] = Field(min_length=1, max_length=20)
    reason: str = Field(min_length=1, max_length=1000)


class RejectIn(_In):
    """A refusal, with the reason the applicant reads."""

    reason: str = Field(min_length=1, max_length=1000)


class ProcessOut(BaseModel):
    """A deployed process and its newest version."""

    process_id: str
    name: str
    version: int
    deployed_at: datetime


class StepOut(BaseModel):
    """A person's step of an application, in a department's queue."""

    id: int
    application_id: int
    activity: str
    name: str
    lane: str
    form: list[str]
    district_code: str | None
    status: str
    department_code: str | None
    missing: list[str]
    note: str | None
    due_at: datetime
    escalated: bool
    finished_at: datetime | None


class ParallelOut(BaseModel):
    """Another live step of the same application: whom it waits on, and by when."""

    activity: str
    waiting_on: str
    due_at: datetime


class QueueMaterialOut(BaseModel):
    """A file uploaded for a step in the queue."""

    id: int
    item: str
    file_name: str
    size: int


class QueueStepOut(StepOut):
    """A step in a queue, with the steps running beside it."""

    parallel: list[ParallelOut] = Field(default_factory=list)
    process_id: str | None = None
    # Files the applicant uploaded for this step (fetched at /materials/{id}).
    materials: list[QueueMaterialOut] = Field(default_factory=list)


class WaitingOut(BaseModel):
    """A message to the applicant: a live step, whom it waits on, since when, expected by."""

    activity: str
    name: str
    waiting_on: str
    since: datetime
    expected_by: datetime
    overdue: bool
    missing: list[str]
    note: str | None


class HistoryOut(BaseModel):
    """One state change of an application (who is kept in the audit, not shown here)."""

    action: str
    activity: str | None
    from_status: str | None
    to_status: str
    version: int
    department_code: str | None
    detail: str | None
    at: datetime


class ApplicationOut(BaseModel):
    """An application: where it is, its steps with their due times, its history, its result."""

    id: int
    process_id: str
    version: int
    district_code: str | None
    status: str
    channel: str
    in_person: bool
    outcome: str | None
    reason: str | None
    licence_identifier: str | None
    created_at: datetime
    completed_at: datetime | None
    steps: list[StepOut]
    waiting: list[WaitingOut] = Field(default_factory=list)
    history: list[HistoryOut]
    purpose_code: str | None = None
    consented_at: datetime | None = None
    # field -> verified (as the government holds it), declared (by the applicant), account
    field_origins: dict[str, str] = Field(default_factory=dict)
    # What the process computed (the pension; the amounts due, the receipt), shown to viewers.
    results: dict[str, Value] = Field(default_factory=dict)
    # The amount to pay when the process waits for the payment (else null).
    payment_due: float | None = None


class PrefillOut(BaseModel):
    """What the government holds for a service's form, read with the applicant's consent."""

    purpose: str
    values: dict[str, Value]
    sources: dict[str, str]
    licences: list[str]
    district_code: str | None


class FormFieldOut(BaseModel):
    """One field of an application's form, with where it came from."""

    name: str
    value: Value
    origin: str


class FormOut(BaseModel):
    """An application's form as a working department reads it (through governance)."""

    application_id: int
    purpose: str
    fields: list[FormFieldOut]


class MonthFiguresOut(BaseModel):
    """One service's contactless figures for one month (by the month applications came in)."""

    process_id: str
    month: str
    applications: int
    contactless_rate: float
    ended: int
    median_hours: float | None
    p90_hours: float | None
    overdue: int


class RemoteRequestOut(BaseModel):
    """A signed request from another region, as the asked department reads it."""

    message_id: str
    jws: str
    request: dict[str, Any]


class RemoteMessageIn(_In):
    """A signed request or reply another region's deployment posts (compact JWS)."""

    jws: str = Field(min_length=20, max_length=200_000)


class RemoteReplyIn(_In):
    """The asked department's answer: the data the step needs."""

    data: dict[str, Value] = Field(default_factory=dict)


class ApplicationStepOut(BaseModel):
    """Where an application is after a reply (the other region sees no more of it)."""

    application_id: int
    status: str


class ParkedTimerOut(BaseModel):
    """An application whose timers failed too often: parked until staff retry it."""

    application_id: int
    process_id: str
    attempts: int
    error: str | None
    parked_at: datetime


class MaterialOut(BaseModel):
    """A file an applicant uploaded for a returned step (its bytes are fetched apart)."""

    id: int
    application_id: int
    task_id: int
    item: str
    file_name: str
    content_type: str
    size: int
    uploaded_at: datetime
