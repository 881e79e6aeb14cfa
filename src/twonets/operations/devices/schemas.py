"""Request and response shapes of device intake."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field


class TerminalIn(BaseModel):
    """A vehicle terminal to enrol: its SIM's number, the vehicle's plate, the enterprise."""

    model_config = ConfigDict(extra="forbid")

    phone: str = Field(description="the terminal's phone number, as in its JT/T 808 headers")
    plate: str = Field(description="the plate of the vehicle it is fitted to, e.g. 沪D12345")
    credit_code: str = Field(description="unified social credit code of the vehicle's holder")
    plate_colour: int = Field(default=2, description="JT/T 808 plate colour: 2 yellow, ...")


class TerminalOut(BaseModel):
    """An enrolled (or formerly self-registered) terminal and where it stands."""

    phone: str
    plate: str
    plate_colour: int
    credit_code: str | None
    state: str
    enrolled_at: datetime | None
    enrolled_by: str | None
    registered_at: datetime | None
    code_expires_at: datetime | None
    authenticated_at: datetime | None
