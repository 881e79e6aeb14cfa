"""The code itself: a short-lived CWT signed by the region key, and its offline verification.

The QR text is the licences' compact format (CWT in COSE_Sign1, zlib, base45; see
``twonets.trust.cose``) under the prefix ``<region>C1:`` (``SHC1:``), with these claims under
CWT claim -260/1::

    {"v": 1, "t": holder token (16 bytes), "k": "c" | "e", "s": scenario,
     "st": status, "n": nonce (8 bytes), "d": {disclosed field: value}}

``iss`` is the region, ``iat`` the signing time and ``exp`` = ``iat`` + the rotation period.
A verifier accepts a code until ``exp`` + the grace window (a phone that missed one
rotation, a slow queue) and from ``iat`` - the same window (clocks a little behind).

Pure: no database. The verifier needs only a trust store (``twonets.trust.store``).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from twonets.trust import cose, jws
from twonets.trust.keys import KeyStatus
from twonets.trust.store import TrustStore
from twonets.trust.suites import SM2PublicKey

FORMAT_VERSION = 1
PREFIX_SUFFIX = "C1:"
TOKEN_BYTES = 16
NONCE_BYTES = 8
HOLDER_KINDS = {"c": "citizen", "e": "enterprise"}


def code_prefix(region: str) -> str:
    """The QR prefix of a region's codes, e.g. ``SHC1:``."""
    return f"{region}{PREFIX_SUFFIX}"


def holder_token(secret: bytes, *, region: str, kind: str, holder_id: int) -> bytes:
    """The pseudonymous token of a holder: an HMAC of the holder under the region's secret.

    It says nothing about the holder to anyone without the secret, and stays the same across
    codes (so the region can find the holder of a scanned code, and revoke one).
    """
    key = hmac.new(secret, f"twonets-codes-holder:{region}".encode(), hashlib.sha256).digest()
    message = f"{kind}:{holder_id}".encode()
    return hmac.new(key, message, hashlib.sha256).digest()[:TOKEN_BYTES]


def token_text(token: bytes) -> str:
    """A token as stored and shown: url-safe base64 without padding (22 characters)."""
    return jws.b64url_encode(token)


def token_bytes(text: str) -> bytes:
    """The holder token written by ``token_text`` (unpadded URL-safe base64), as bytes."""
    return jws.b64url_decode(text)


def code_id(token: bytes, nonce: bytes, issued_at: int) -> str:
    """One code among all codes: the same code re-encoded has the same id (it is signed)."""
    digest = hashlib.sha256(token + nonce + issued_at.to_bytes(8, "big")).digest()[:16]
    return token_text(digest)


@dataclass(frozen=True)
class CodeClaims:
    """What a code says about its holder."""

    token: bytes
    holder_kind: str
    scenario: str
    status: str
    nonce: bytes
    disclosed: dict[str, str] = field(default_factory=dict, hash=False)

    def to_cbor(self) -> dict[str, Any]:
        """The claims as they go into the CWT."""
        kind = next(k for k, v in HOLDER_KINDS.items() if v == self.holder_kind)
        return {
            "v": FORMAT_VERSION,
            "t": self.token,
            "k": kind,
            "s": self.scenario,
            "st": self.status,
            "n": self.nonce,
            "d": dict(self.disclosed),
        }


def encode_code(
    claims: CodeClaims,
    *,
    region: str,
    private_key: cose.PrivateKey,
    kid: bytes,
    issued_at: datetime,
    rotation: timedelta,
) -> str:
    """The QR text of a code signed with the region's key, valid for one rotation."""
    alg, sign = cose.cose_signer(private_key)
    return cose.encode(
        claims.to_cbor(),
        prefix=code_prefix(region),
        kid=kid,
        sign=sign,
        alg=alg,
        issuer=region,
        issued_at=issued_at,
        expires_at=issued_at + rotation,
    )


@dataclass(frozen=True)
class CodeVerdict:
    """The outcome of checking a code offline (and, online, of the checks that follow)."""

    valid: bool
    step: str
    detail: str
    region: str | None = None
    scenario: str | None = None
    status: str | None = None
    holder_kind: str | None = None
    token: str | None = None
    code_id: str | None = None
    disclosed: dict[str, str] = field(default_factory=dict, hash=False)
    issued_at: datetime | None = None
    expires_at: datetime | None = None
    in_grace: bool = False

    def to_json(self) -> dict[str, Any]:
        """The verdict as JSON (the holder token stays out: verifiers have no use for it)."""
        return {
            "valid": self.valid,
            "step": self.step,
            "detail": self.detail,
            "region": self.region,
            "scenario": self.scenario,
            "status": self.status,
            "holder_kind": self.holder_kind,
            "disclosed": dict(self.disclosed),
            "issued_at": self.issued_at.isoformat() if self.issued_at else None,
            "expires_at": self.expires_at.isoformat() if self.expires_at else None,
            "in_grace": self.in_grace,
        }


def _keys(store: TrustStore) -> Any:
    def keys_for(kid: bytes) -> list[cose.PublicKeyCandidate]:
        # SM2 keys have no COSE algorithm; they sign SD-JWT licences only.
        return [
            cose.PublicKeyCandidate(key.public_key, region, key.not_before, key.not_after)
            for region, key in store.keys_for(kid)
            if key.status is not KeyStatus.REVOKED and not isinstance(key.public_key, SM2PublicKey)
        ]

    return keys_for


def _claims(payload: Mapping[Any, Any] | None) -> CodeClaims | str:
    """The claims of a verified payload, or why they are not a code's."""
    if not isinstance(payload, Mapping):
        return "the payload is not a map"
    if payload.get("v") != FORMAT_VERSION:
        return f"format version {payload.get('v')!r} is not {FORMAT_VERSION}"
    # cose.verify hands bytes back as base64 text (JSON-friendly); decode them again.
    try:
        token = base64.b64decode(str(payload.get("t", "")), validate=True)
        nonce = base64.b64decode(str(payload.get("n", "")), validate=True)
    except ValueError:
        return "the holder token or nonce is not bytes"
    if len(token) != TOKEN_BYTES or len(nonce) != NONCE_BYTES:
        return "the holder token or nonce has the wrong length"
    kind = payload.get("k")
    scenario, status, disclosed = payload.get("s"), payload.get("st"), payload.get("d")
    if kind not in HOLDER_KINDS:
        return f"holder kind {kind!r} is not one of {', '.join(HOLDER_KINDS)}"
    if not isinstance(scenario, str) or not isinstance(status, str):
        return "scenario and status should be text"
    if not isinstance(disclosed, Mapping) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in disclosed.items()
    ):
        return "the disclosed fields should be a map of text"
    return CodeClaims(token, HOLDER_KINDS[kind], scenario, status, nonce, dict(disclosed))


def verify_code(text: str, *, store: TrustStore, at: datetime, grace: timedelta) -> CodeVerdict:
    """Check a code offline: format, signature by a trusted region, time with grace.

    Never raises on bad input: the verdict names the failed step (``prefix``, ``base45``,
    ``compression``, ``cbor``, ``trust``, ``signature``, ``claims``, ``not_yet_valid``,
    ``expired``) and why.
    """
    text = text.strip() if isinstance(text, str) else text
    prefixes = [code_prefix(region) for region in store.regions] or ["-"]
    verdict = cose.verify(text, keys_for=_keys(store), at=at, prefixes=prefixes)
    facts: dict[str, Any] = {
        "region": verdict.signer,
        "issued_at": verdict.issued_at,
        "expires_at": verdict.expires_at,
    }
    if not verdict.passed(cose.Step.SIGNATURE):
        step = str(verdict.step)
        detail = verdict.detail
        if verdict.step is cose.Step.KID and "no key" in detail:
            step, detail = "trust", f"{detail}: the code's region is not trusted here"
        elif verdict.step is cose.Step.PREFIX:
            detail += " (a code of a region this verifier does not trust, or not a code)"
        return CodeVerdict(False, step, detail, **facts)
    claims = _claims(verdict.claims)
    if isinstance(claims, str):
        return CodeVerdict(False, "claims", claims, **facts)
    prefix_region = text.split(":", 1)[0].removesuffix(PREFIX_SUFFIX[:-1])
    assert verdict.issued_at is not None
    assert verdict.expires_at is not None
    facts.update(
        scenario=claims.scenario,
        status=claims.status,
        holder_kind=claims.holder_kind,
        token=token_text(claims.token),
        code_id=code_id(claims.token, claims.nonce, int(verdict.issued_at.timestamp())),
        disclosed=claims.disclosed,
    )
    if prefix_region != verdict.signer or verdict.issuer != verdict.signer:
        detail = f"the code says region {prefix_region} but is signed by a key of {verdict.signer}"
        return CodeVerdict(False, "trust", detail, **facts)
    if verdict.step is cose.Step.NOT_YET_VALID:
        if verdict.issued_at - at > grace:
            return CodeVerdict(False, "not_yet_valid", verdict.detail, **facts)
    elif verdict.step is cose.Step.EXPIRED:
        late = at - verdict.expires_at
        if late >= grace:
            detail = (
                f"{verdict.detail} (the grace window of {int(grace.total_seconds())} s "
                "has passed too): ask the holder to refresh the code"
            )
            return CodeVerdict(False, "expired", detail, **facts)
        return CodeVerdict(
            True, "ok", "valid (expired, within the grace window)", in_grace=True, **facts
        )
    return CodeVerdict(True, "ok", "valid", **facts)
