"""Request and response shapes of the code API."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ScenarioIn(_In):
    """A scenario as an administrator writes it."""

    name: str = Field(max_length=128)
    name_en: str = Field(max_length=128)
    holder_kinds: list[str]
    disclosed: list[str]
    verifiers: list[str]
    purpose_code: str = Field(max_length=64)
    retention_days: int
    # The department function whose codes authority decides about this scenario's holders.
    authority: str = Field(max_length=64)
    health: bool = False
    active: bool = True


class ScenarioOut(BaseModel):
    """A scenario."""

    code: str
    name: str
    name_en: str
    holder_kinds: list[str]
    disclosed: list[str]
    verifiers: list[str]
    purpose_code: str
    retention_days: int
    authority: str
    health: bool
    active: bool


class IssueIn(_In):
    """Which code the holder wants now."""

    scenario: str = Field(max_length=32)
    job_posting: str | None = Field(default=None, max_length=200)


class CodeOut(BaseModel):
    """A freshly signed code."""

    text: str
    scenario: str
    scenario_name: str
    status: str
    explanation: str
    issued_at: datetime
    expires_at: datetime
    refresh_seconds: int
    disclosed: dict[str, str]


class ScanIn(_In):
    """A scanned code and the checkpoint it was scanned at."""

    code: str = Field(max_length=4000)
    place: str = Field(max_length=400)


class RepeatOut(BaseModel):
    """The earlier scan of the same code at the same checkpoint."""

    scan_id: int
    scanned_at: datetime


class ScanOut(BaseModel):
    """What the scanner sees; ``reason`` and ``action`` are stable codes to choose words by."""

    reason: Literal[
        "admit",
        "health_red",
        "health_yellow",
        "not_allowed",
        "wrong_scenario",
        "not_in_use",
        "revoked",
        "unknown_holder",
        "replay",
        "expired",
        "not_yet_valid",
        "forged",
        "untrusted",
        "damaged",
        "not_a_code",
        "unchecked",
    ]
    action: Literal["admit", "check", "refuse"]
    valid: bool
    step: str
    detail: str
    region: str | None
    scenario: str | None
    scenario_name: str | None
    status: str | None
    holder_kind: str | None
    disclosed: dict[str, str]
    issued_at: str | None
    expires_at: str | None
    in_grace: bool
    admit: bool
    replay: bool
    recorded: bool
    scan_id: int | None
    repeat_of: RepeatOut | None


class HealthFactIn(_In):
    """A fact a health department reports about a resident."""

    id_number: str = Field(max_length=18)
    kind: Literal["test", "contact", "travel"]
    value: str = Field(max_length=200)
    observed_at: datetime


class AppealIn(_In):
    """The holder's reasons to contest their health status."""

    statement: str = Field(max_length=2000)


class DecisionIn(_In):
    """The health codes authority's decision on an appeal."""

    uphold: bool
    colour: Literal["green", "yellow", "red"] | None = None
    reason: str = Field(max_length=2000)


class HolderStatusIn(_In):
    """Revoke or restore a holder's codes for one scenario (``identity``: every code)."""

    scenario: str = Field(max_length=32)
    id_number: str | None = Field(default=None, max_length=18)
    credit_code: str | None = Field(default=None, max_length=18)
    revoke: bool
    reason: str = Field(max_length=500)


class RevocationOut(BaseModel):
    """A revocation of a holder's codes, as the holder and the authority read it."""

    scenario: str
    scenario_name: str
    every_code: bool
    reason: str
    revoked_at: datetime
    department: str
    restored_at: datetime | None
    restore_reason: str | None
