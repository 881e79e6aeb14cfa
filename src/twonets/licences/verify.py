"""One verifier for every presented licence: a compact QR code or an SD-JWT presentation.

It needs no database: a trust store (the regions a verifier recognises, with their keys) and,
for licences that carry a status reference, a way to read status lists. The command line,
the API and the verifier's page all call ``verify_credential``; the verdict is the same JSON
everywhere: ``valid``, the failing ``step`` and its ``detail``, the issuer and region, and the
claims.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from twonets.licences import sdjwt
from twonets.licences.status import StatusType
from twonets.trust import cose, jws
from twonets.trust.keys import IssuingKey, KeyStatus
from twonets.trust.store import TrustStore
from twonets.trust.suites import SM2PublicKey

# The licence claims inside a QR credential (CWT claim -260, key 1) are this dict.
PAYLOAD_LICENCE = "licence"
PAYLOAD_TYPE = "type"
PAYLOAD_CLAIMS = "claims"
PAYLOAD_STATUS = "status"
REGION_PREFIX_SUFFIX = "1:"
# A plain claim of every SD-JWT VC the platform issues: who holds the key in ``cnf.jwk``.
CLAIM_KEY_CUSTODY = "key_custody"


class KeyCustody(StrEnum):
    """Who holds the private key a credential is bound to, as the issuer recorded it."""

    # The holder's own wallet made the key (a browser's non-extractable key, a key file).
    HOLDER = "holder"
    # Assisted service at a window: the platform derived the key and signed for the holder.
    ASSISTED = "assisted-window"


# The status value at (list URI, index), or None when that list is not at hand; it raises
# ``StatusUnavailable`` when the list it holds has gone stale (its issuer unreachable).
StatusLookup = Callable[[str, int], int | None]


class StatusUnavailable(Exception):
    """No current status list is at hand for a reference: revocation cannot be checked."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


CANNOT_CHECK = "cannot check revocation"


def region_prefix(region: str) -> str:
    """The QR prefix of a region's licences, e.g. ``SH1:``."""
    return f"{region}{REGION_PREFIX_SUFFIX}"


@dataclass(frozen=True)
class CredentialVerdict:
    """The outcome, in the shape every caller prints or returns."""

    valid: bool
    format: str
    step: str
    detail: str
    region: str | None = None
    issuer: str | None = None
    kid: str | None = None
    licence: str | None = None
    type_code: str | None = None
    claims: dict[str, Any] | None = None
    issued_at: str | None = None
    expires_at: str | None = None
    # At step "status": what the issuer's status list says ("revoked", "suspended"), or
    # "unknown" when no list was at hand or the reference is malformed.
    status: str | None = None
    # At step "prefix": the region a code's prefix names when no recognised region has that
    # prefix (e.g. "ZJ" for a ZJ1: code), so a verifier can say which region is missing.
    named_region: str | None = None
    # SD-JWT only: who holds the bound key (``KeyCustody``), as the issuer signed it; None
    # for a credential that does not say (an older one, or another issuer's).
    key_custody: str | None = None

    def to_json(self) -> dict[str, Any]:
        """The verdict as JSON."""
        return {
            "valid": self.valid,
            "format": self.format,
            "step": self.step,
            "detail": self.detail,
            "region": self.region,
            "issuer": self.issuer,
            "kid": self.kid,
            "licence": self.licence,
            "type": self.type_code,
            "claims": self.claims,
            "issued_at": self.issued_at,
            "expires_at": self.expires_at,
            "status": self.status,
            "named_region": self.named_region,
            "key_custody": self.key_custody,
        }


def _usable(key: IssuingKey) -> bool:
    return key.status is not KeyStatus.REVOKED


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def verify_credential(
    text: str,
    *,
    store: TrustStore,
    at: datetime,
    status_of: StatusLookup | None = None,
    audience: str | None = None,
    nonce: str | None = None,
) -> CredentialVerdict:
    """Verify a QR text or an SD-JWT presentation against ``store`` at ``at``."""
    text = text.strip()
    if "~" in text:
        return _verify_sd_jwt(text, store, at, status_of, audience, nonce)
    return _verify_qr(text, store, at, status_of)


def _status_step(
    status: object, status_of: StatusLookup | None, fmt: str, base: dict[str, Any]
) -> CredentialVerdict | None:
    """A failed verdict if the credential's status says revoked or suspended, else None."""
    if status is None:
        return None
    reference = status.get("status_list") if isinstance(status, Mapping) else None
    if not isinstance(reference, Mapping):
        reference = status if isinstance(status, Mapping) else None

    def failed(detail: str, status: str = "unknown") -> CredentialVerdict:
        return CredentialVerdict(False, fmt, "status", detail, **base, status=status)

    if reference is None or "idx" not in reference or "uri" not in reference:
        return failed("the status reference is malformed")
    if status_of is None:
        return failed(
            f"{CANNOT_CHECK}: no status list for {reference['uri']} is at hand; give the "
            "verifier a trust bundle that includes it, or verify online"
        )
    try:
        value = status_of(str(reference["uri"]), int(reference["idx"]))
    except StatusUnavailable as exc:
        return failed(f"{CANNOT_CHECK}: {exc.detail}")
    if value is None:
        return failed(f"{CANNOT_CHECK}: no status list for {reference['uri']} is at hand")
    if value == StatusType.INVALID:
        return failed("the licence has been revoked (or replaced by a new version)", "revoked")
    if value == StatusType.SUSPENDED:
        return failed("the licence is suspended", "suspended")
    if value != StatusType.VALID:
        return failed(f"unknown status value {value}")
    return None


def _verify_qr(
    text: str, store: TrustStore, at: datetime, status_of: StatusLookup | None
) -> CredentialVerdict:
    prefixes = [region_prefix(r) for r in store.regions] + [cose.HCERT_PREFIX]

    def keys_for(kid: bytes) -> list[cose.PublicKeyCandidate]:
        # SM2 keys have no COSE algorithm in the QR format; they sign SD-JWTs only.
        return [
            cose.PublicKeyCandidate(key.public_key, region, key.not_before, key.not_after)
            for region, key in store.keys_for(kid)
            if _usable(key) and not isinstance(key.public_key, SM2PublicKey)
        ]

    verdict = cose.verify(text, keys_for=keys_for, at=at, prefixes=prefixes)
    payload = verdict.claims or {}
    region = verdict.signer
    base: dict[str, Any] = {
        "region": region,
        "issuer": verdict.issuer,
        "kid": verdict.kid,
        "issued_at": _iso(verdict.issued_at),
        "expires_at": _iso(verdict.expires_at),
    }
    ours = PAYLOAD_LICENCE in payload
    if ours:
        base["licence"] = str(payload.get(PAYLOAD_LICENCE))
        base["type_code"] = str(payload.get(PAYLOAD_TYPE))
    if not verdict.valid:
        if verdict.step is cose.Step.KID and "no key" in verdict.detail:
            return CredentialVerdict(
                False,
                "qr",
                "trust",
                f"{verdict.detail}: the issuer's region is not trusted here",
                **base,
            )
        named = _named_region(text) if verdict.step is cose.Step.PREFIX else None
        return CredentialVerdict(
            False, "qr", str(verdict.step), verdict.detail, **base, named_region=named
        )
    claims = payload.get(PAYLOAD_CLAIMS) if ours else payload
    base["claims"] = dict(claims) if isinstance(claims, Mapping) else {"value": claims}
    # The code's prefix names a region; its signer must be of that region.
    prefix_region = text.split(":", 1)[0][:-1] if not text.startswith(cose.HCERT_PREFIX) else None
    if prefix_region is not None and prefix_region != region:
        return CredentialVerdict(
            False,
            "qr",
            "trust",
            f"the code says region {prefix_region} but is signed by a key of {region}",
            **base,
        )
    failed = _status_step(payload.get(PAYLOAD_STATUS) if ours else None, status_of, "qr", base)
    if failed is not None:
        return failed
    return CredentialVerdict(True, "qr", "ok", "valid", **base)


def _named_region(text: str) -> str | None:
    """The region a code's prefix names (``ZJ1:`` names ZJ), if it has a region's form."""
    head, colon, _ = text.partition(":")
    region = head[: -len(REGION_PREFIX_SUFFIX) + 1]
    if colon and head.endswith(REGION_PREFIX_SUFFIX[0]) and 2 <= len(region) <= 8:
        return region if region.isascii() and region.isalpha() and region.isupper() else None
    return None


def _kid_bytes(kid: str | None) -> bytes | None:
    """A key id from a JWS header: standard or url-safe base64, padded or not."""
    import base64
    import binascii

    if not kid:
        return None
    text = kid.replace("-", "+").replace("_", "/")
    try:
        return base64.b64decode(text + "=" * (-len(text) % 4), validate=True)
    except (binascii.Error, ValueError):
        return None


def _peek_key_binding(text: str) -> dict[str, Any]:
    """The audience and nonce a KB-JWT claims (unchecked): used when the caller set none,
    as an inspection tool does; the signature and ``sd_hash`` are still checked."""
    try:
        return jws.parse_compact(text.rsplit("~", 1)[-1]).payload_json()
    except jws.MalformedJws:
        return {}


def _verify_sd_jwt(
    text: str,
    store: TrustStore,
    at: datetime,
    status_of: StatusLookup | None,
    audience: str | None,
    nonce: str | None,
) -> CredentialVerdict:

    def keys_for(kid: str | None, issuer: str) -> list[Any]:
        raw = _kid_bytes(kid)
        if raw is None:
            return []
        return [key.public_key for _, key in store.keys_for(raw) if _usable(key)]

    if audience is None or nonce is None:
        expected = _peek_key_binding(text)
        audience = audience if audience is not None else expected.get("aud", "")
        nonce = nonce if nonce is not None else expected.get("nonce", "")
    verdict = sdjwt.verify_presentation(
        text, keys_for=keys_for, audience=str(audience), nonce=str(nonce), at=at
    )
    region = None
    raw_kid = _kid_bytes(verdict.kid)
    if raw_kid is not None:
        found = store.keys_for(raw_kid)
        region = found[0][0] if found else None
    claims = dict(verdict.claims or {})
    base: dict[str, Any] = {
        "region": region,
        "issuer": verdict.issuer,
        "kid": verdict.kid,
        "type_code": verdict.vct,
        "licence": str(claims.pop(PAYLOAD_LICENCE)) if PAYLOAD_LICENCE in claims else None,
        "key_custody": str(claims.pop(CLAIM_KEY_CUSTODY)) if CLAIM_KEY_CUSTODY in claims else None,
        "issued_at": _iso(verdict.issued_at),
        "expires_at": _iso(verdict.expires_at),
    }
    if not verdict.valid:
        step = str(verdict.step)
        if step == "signature" and region is None:
            return CredentialVerdict(
                False,
                "sd-jwt",
                "trust",
                f"{verdict.detail}: the issuer's region is not trusted here",
                **base,
            )
        return CredentialVerdict(False, "sd-jwt", step, verdict.detail, **base)
    base["claims"] = claims
    failed = _status_step(verdict.status, status_of, "sd-jwt", base)
    if failed is not None:
        return failed
    return CredentialVerdict(True, "sd-jwt", "ok", "valid", **base)
