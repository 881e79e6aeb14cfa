"""Pydantic shapes of licence requests and responses."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from twonets.core.schemas import Strict


class LicenceIn(Strict):
    """A licence to issue: its type, claims and validity.

    No region: a licence is of its issuing department's region, and a request naming one is
    refused as an unknown field.
    """

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
    """What to show, to whom: the fields, the verifier (audience) and its challenge (nonce).

    Only assisted service at a window shares this way (the platform signs with a key it holds),
    so the mode is named, never assumed: a wallet of the holder's own asks for a credential
    bound to its key (``CredentialIn``) and signs each presentation itself.
    """

    mode: Literal["assisted-window"]
    disclose: list[str] = Field(min_length=1, max_length=50)
    audience: str = Field(min_length=1, max_length=200)
    nonce: str = Field(min_length=8, max_length=200)


class HolderKeyIn(Strict):
    """The public key of one of the holder's wallets (a JWK without ``d``) and the device."""

    jwk: dict[str, Any] = Field(examples=[{"kty": "EC", "crv": "P-256", "x": "...", "y": "..."}])
    device: str = Field(min_length=1, max_length=64, examples=["my phone"])


class HolderKeyOut(BaseModel):
    """A registered wallet key: the public JWK and its RFC 7638 thumbprint."""

    id: int
    device: str
    jwk: dict[str, Any]
    thumbprint: str
    created_at: datetime
    removed_at: datetime | None


class CredentialIn(Strict):
    """Which of the caller's registered wallet keys the credential is bound to."""

    holder_key_id: int = Field(ge=1)


class VerifyIn(Strict):
    """A presented licence: QR text or SD-JWT presentation (with the verifier's aud/nonce)."""

    credential: str = Field(min_length=4, max_length=131_072)
    audience: str | None = None
    nonce: str | None = None


class RecogniseIn(Strict):
    """Another region's trust-list anchor (PEM public key) and its signed list."""

    anchor: str = Field(min_length=20, max_length=10_000)
    trust_list: str = Field(min_length=20, max_length=1_000_000)


class RecogniseRemoteIn(Strict):
    """Another region's own deployment: its code, its platform's URL, its anchor (PEM)."""

    region: str = Field(min_length=2, max_length=8)
    url: str = Field(min_length=8, max_length=500)
    anchor: str = Field(min_length=20, max_length=10_000)


class DelegationIn(Strict):
    """Name a department of the region that may change another department's licences."""

    type_code: str = Field(pattern=r"^[A-Z0-9]{2,6}$", examples=["DL"])
    issuer_department: str = Field(min_length=1, max_length=64, examples=["sh.police"])
    delegate_department: str = Field(min_length=1, max_length=64, examples=["sh.traffic"])
    actions: list[Literal["amend", "suspend", "resume", "revoke"]] = Field(min_length=1)
    reason: str = Field(min_length=1, max_length=2000)


class DelegationOut(BaseModel):
    """A delegation of the region's policy."""

    id: int
    region: str
    type: str
    issuer_department: str
    delegate_department: str
    actions: list[str]
    reason: str
    granted_by: str
    granted_at: str


class LicenceOut(BaseModel):
    """A licence's metadata, as its issuer sees it and as change responses carry it: no claims."""

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
    status_changed_at: str | None


class HeldLicenceOut(LicenceOut):
    """A licence as its holder sees it in the wallet: the metadata and every claim."""

    claims: dict[str, str]


class HistoryOut(BaseModel):
    """One change of a licence as its holder sees it: what, from which status to which, by
    which department, and why."""

    identifier: str
    version: int
    action: str
    from_status: str | None
    to_status: str
    department: str | None
    reason: str | None
    at: str


class IssuerHistoryOut(HistoryOut):
    """One change of a licence as its issuer sees it: also the member of staff who made it."""

    actor: str
