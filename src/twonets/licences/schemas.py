"""Pydantic shapes of licence requests and responses."""

from __future__ import annotations

from datetime import date
from typing import Any, Literal

from pydantic import BaseModel, Field

from twonets.core.schemas import Strict


class LicenceIn(Strict):
    """A licence to issue: its type, claims and validity."""

    type_code: str = Field(pattern=r"^[A-Z0-9]{2,6}$", examples=["DL"])
    claims: dict[str, Any]
    valid_from: date
    valid_until: date | None = None


class AmendIn(Strict):
    """New claims for a licence (a new version)."""

    claims: dict[str, Any]
    reason: str = Field(min_length=1, max_length=2000)


class StatusIn(Strict):
    """Suspend, resume or revoke."""

    action: Literal["suspend", "resume", "revoke"]
    reason: str = Field(min_length=1, max_length=2000)


class ShareIn(Strict):
    """What to show, to whom: the fields, the verifier (audience) and its challenge (nonce)."""

    disclose: list[str] = Field(min_length=1, max_length=50)
    audience: str = Field(min_length=1, max_length=200)
    nonce: str = Field(min_length=8, max_length=200)


class VerifyIn(Strict):
    """A presented licence: QR text or SD-JWT presentation (with the verifier's aud/nonce)."""

    credential: str = Field(min_length=4, max_length=131_072)
    audience: str | None = None
    nonce: str | None = None


class RecogniseIn(Strict):
    """Another region's trust-list anchor (PEM public key) and its signed list."""

    anchor: str = Field(min_length=20, max_length=10_000)
    trust_list: str = Field(min_length=20, max_length=1_000_000)


class LicenceOut(BaseModel):
    """A licence as its holder or issuer sees it."""

    id: int
    identifier: str
    type: str
    type_name: str
    type_name_en: str
    version: int
    region: str
    issuer_department: str
    status: str
    valid_from: str
    valid_until: str | None
    issued_at: str
    claims: dict[str, str]
