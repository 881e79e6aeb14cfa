"""Request and response shapes of enterprise requests and citizen reports."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class NewRequest(BaseModel):
    """What a filer sends: the text, optionally the category, where, how to reach them."""

    model_config = ConfigDict(extra="forbid")

    category: str | None = Field(
        default=None,
        max_length=32,
        description="an enterprise category (ent-tax) or a management element (E0102); "
        "left out, the classifier proposes one",
    )
    description: str = Field(min_length=1, max_length=4000)
    lon: float | None = Field(default=None, ge=-180, le=180)
    lat: float | None = Field(default=None, ge=-90, le=90)
    crs: Literal["wgs84", "gcj02"] = "wgs84"
    address: str | None = Field(default=None, max_length=256)
    contact_name: str | None = Field(default=None, max_length=128)
    contact_email: str | None = Field(default=None, max_length=256)
    contact_phone: str | None = Field(default=None, max_length=32)
    media_urls: list[str] = Field(default_factory=list, max_length=5)
    urgency: Literal["normal", "urgent"] = Field(
        default="normal", description="urgent: the category's shorter time limit"
    )
    ask_department: bool = Field(
        default=False,
        description="skip the knowledge base's answer at once: a department answers",
    )


class AssignIn(BaseModel):
    """A dispatcher's decision: the category, the department, or both."""

    model_config = ConfigDict(extra="forbid")

    category: str | None = Field(default=None, max_length=32)
    department_code: str | None = Field(default=None, max_length=64)
    note: str | None = Field(default=None, max_length=2000)


class DeclineIn(BaseModel):
    """Not ours: why."""

    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=1, max_length=2000)


class AnswerIn(BaseModel):
    """The department's answer."""

    model_config = ConfigDict(extra="forbid")

    answer: str = Field(min_length=1, max_length=4000)


class StepOut(BaseModel):
    """One entry of a request's history."""

    at: datetime
    action: str
    from_status: str | None
    to_status: str
    department_code: str | None
    department_name: str | None
    actor_name: str | None
    note: str | None
    details: dict[str, Any]


class RequestOut(BaseModel):
    """A request as its filer, its department and dispatchers see it."""

    id: int
    number: str
    kind: str
    category: str
    description: str
    status: str
    lon: float | None
    lat: float | None
    address: str | None
    district_code: str | None
    department_code: str | None
    department_name: str | None
    proposed_category: str | None
    confidence: float | None
    case_number: str | None
    submitted_at: datetime
    deadline_at: datetime | None
    updated_at: datetime
    closed_at: datetime | None
    rating: int | None
    urgency: str = "normal"
    escalated_at: datetime | None = None
    escalated_to_code: str | None = None
    # 0: not escalated; 1: the supervising level; 2: the level above it; and so on.
    escalation_level: int = 0
    answer_code: str | None = None
    answer_text: str | None = None
    history: list[StepOut] | None = None


class MessageIn(BaseModel):
    """A message on a request."""

    model_config = ConfigDict(extra="forbid")

    body: str = Field(min_length=1, max_length=4000)


class AskDepartmentIn(BaseModel):
    """After an answer from the knowledge base: why a department should answer after all."""

    model_config = ConfigDict(extra="forbid")

    reason: str | None = Field(default=None, max_length=2000)


class AnswerEntryIn(BaseModel):
    """A new policy answer of the knowledge base."""

    model_config = ConfigDict(extra="forbid")

    code: str = Field(min_length=1, max_length=64)
    category: str = Field(min_length=1, max_length=32)
    question: str = Field(min_length=1, max_length=2000)
    answer: str = Field(min_length=1, max_length=4000)
    source: str | None = Field(default=None, max_length=256)
    # Further enterprise categories the answer applies to.
    also_categories: list[str] = Field(default_factory=list, max_length=20)


class AnswerChangeIn(BaseModel):
    """A change to a policy answer; ``active: false`` withdraws it."""

    model_config = ConfigDict(extra="forbid")

    question: str | None = Field(default=None, max_length=2000)
    answer: str | None = Field(default=None, max_length=4000)
    source: str | None = Field(default=None, max_length=256)
    active: bool | None = None
    category: str | None = Field(default=None, max_length=32)
    also_categories: list[str] | None = Field(default=None, max_length=20)


class MarkReadIn(BaseModel):
    """Which notices to mark read (left out: all of the caller's)."""

    model_config = ConfigDict(extra="forbid")

    ids: list[int] | None = Field(default=None, max_length=500)


class ReopenIn(BaseModel):
    """Marked fixed, not fixed: what is still wrong."""

    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=1, max_length=2000)


class RateIn(BaseModel):
    """A satisfaction score from 1 (very unsatisfied) to 5 (very satisfied)."""

    model_config = ConfigDict(extra="forbid")

    score: int = Field(ge=1, le=5)
    note: str | None = Field(default=None, max_length=500)
