"""Pydantic shapes of governance requests and responses."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from twonets.core.schemas import Strict
from twonets.governance.models import GranteeKind, LegalBasis, PurposeStatus


class PurposeIn(Strict):
    """A purpose to declare (``service.create_purpose`` checks its rules: code, name, window)."""

    code: str = Field(
        examples=["epidemic.tracing"],
        description="lower-case words joined by dots, 64 characters at most",
    )
    name: str = Field(description="1 to 128 characters")
    description: str = ""
    legal_basis: LegalBasis
    owner_department_code: str
    valid_from: datetime
    valid_until: datetime | None = None
    retention_days: int = Field(description="days, 0 to 36500")


class PurposeChangeIn(Strict):
    """Suspend, resume or end a purpose (``service.change_purpose`` checks the reason)."""

    status: PurposeStatus | None = None
    valid_until: datetime | None = None
    end_now: bool = False
    reason: str


class PurposeOut(BaseModel):
    """A purpose and whether it grants anything now."""

    model_config = ConfigDict(from_attributes=True)

    code: str
    name: str
    description: str
    legal_basis: LegalBasis
    owner_department_code: str
    valid_from: datetime
    valid_until: datetime | None
    retention_days: int
    status: PurposeStatus
    state: str = ""


class PolicyIn(Strict):
    """A new version of a policy: fields with their masking rules, and a row filter."""

    grantee_kind: GranteeKind
    grantee: str = Field(min_length=1, max_length=64)
    purpose_code: str
    dataset: str
    fields: dict[str, str] = Field(examples=[{"name": "keep", "phone": "partial:3:4"}])
    row_filter: dict[str, Any] = Field(default_factory=dict, examples=[{"district": "own"}])
    reason: str


class PolicyRevokeIn(Strict):
    """Withdraw a grant."""

    grantee_kind: GranteeKind
    grantee: str
    purpose_code: str
    dataset: str
    reason: str


class PolicyOut(BaseModel):
    """One version of a policy."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    grantee_kind: GranteeKind
    grantee: str
    purpose_code: str
    dataset: str
    version: int
    fields: dict[str, str]
    row_filter: dict[str, Any]
    revoked: bool
    reason: str
    created_by: str
    created_at: datetime
    superseded_at: datetime | None


class ReadIn(Strict):
    """A governed read: purpose, dataset, fields (default: all granted), filters, a page."""

    purpose: str
    dataset: str
    fields: list[str] | None = None
    where: dict[str, str | int | float | bool] = Field(default_factory=dict)
    subject_ids: list[int] | None = Field(default=None, max_length=1000)
    limit: int = Field(default=100, ge=1, le=100_000)
    offset: int = Field(default=0, ge=0)


class ReadOut(BaseModel):
    """Masked rows, and what was applied."""

    dataset: str
    purpose: str
    request_id: str
    fields: list[str]
    masks: dict[str, str]
    policy_id: int
    policy_version: int
    rows: list[dict[str, Any]]


class FieldOut(BaseModel):
    """A field of a dataset and its class."""

    name: str
    data_class: str
    sensitive_kind: str | None
    sealed: bool


class DatasetOut(BaseModel):
    """A dataset of the catalogue."""

    name: str
    subject_kind: str
    district_field: str | None
    retention: dict[str, str] | None
    fields: list[FieldOut]


class ChangeOut(BaseModel):
    """One audited change."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    at: datetime
    actor: str
    action: str
    target: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    reason: str


class UnusualOut(BaseModel):
    """A reader who read far more subjects than peers."""

    actor: str
    department_code: str | None
    function: str | None
    subjects: int
    peer_median: float
    ratio: float


class RetentionOut(BaseModel):
    """What retention did to one dataset."""

    dataset: str
    purpose: str
    action: str
    cutoff: str
    affected: int
    reason: str


class BreakGlassIn(Strict):
    """A break-glass read: the purpose, dataset, the few subjects, the fields, and why."""

    purpose: str
    dataset: str
    subject_ids: list[int] = Field(max_length=100, examples=[[1042]])
    fields: list[str] = Field(max_length=100, examples=[["name", "phone"]])
    reason: str = Field(
        examples=["unconscious patient at Ruijin A&E; next of kin must be called"],
        description="what the emergency is, 20 to 2000 characters",
    )


class BreakGlassOut(BaseModel):
    """What a break-glass read returned, and the number of its record for the review."""

    id: int
    request_id: str
    dataset: str
    purpose: str
    fields: list[str]
    masks: dict[str, str]
    rows: list[dict[str, Any]]


class BreakGlassRecordOut(BaseModel):
    """A break-glass read as the officer reviews it."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    request_id: str
    read_at: datetime
    actor: str
    department_code: str | None
    purpose_code: str
    dataset: str
    subject_kind: str
    subject_ids: list[int]
    fields: list[str]
    reason: str
    reviewed_at: datetime | None
    reviewed_by: str | None
    review_note: str


class BreakGlassReviewIn(Strict):
    """The officer's note on a break-glass read."""

    note: str
