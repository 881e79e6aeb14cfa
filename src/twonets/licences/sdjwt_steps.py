"""The steps of verifying an SD-JWT presentation, each failing with its own reason, and the
names, limits and verdicts they share. :mod:`twonets.licences.sdjwt` is the public face."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec, ed25519

from twonets.core.errors import FieldProblem, Invalid, ProblemList
from twonets.licences.jwk import P256_BYTES as _P256_BYTES
from twonets.licences.jwk import (
    PublicKey,
    key_from_jwk,
)
from twonets.licences.jwk import b64url_decode as _b64url_decode
from twonets.licences.jwk import b64url_problem as _b64url_problem
from twonets.licences.jwk import is_p256 as _is_p256
from twonets.licences.jwk import value_kind as _kind
from twonets.trust import jws
from twonets.trust.times import iso as _iso

SD_JWT_TYP = "dc+sd-jwt"
KB_JWT_TYP = "kb+jwt"
SD_ALG = "sha-256"
# A licence with a photo hash is a few KB; far larger input is an attack, not a credential.
MAX_PRESENTATION_CHARS = 128 * 1024
# A phone's clock may run a little ahead of the verifier's; a KB-JWT further ahead is refused.
KB_CLOCK_SKEW = timedelta(minutes=1)

# SD-JWT VC: these must stay in the clear (they decide validity, type and binding).
_NEVER_DISCLOSABLE = frozenset({"iss", "nbf", "exp", "cnf", "vct", "vct#integrity", "status"})
# Set by issue() itself, or reserved by RFC 9901; the caller's claims may not use them.
_RESERVED = _NEVER_DISCLOSABLE | {"iat", "_sd", "_sd_alg", "..."}
# Kept out of a verdict's ``claims``: they have fields of their own, or are SD-JWT machinery.
_NOT_CLAIMS = _NEVER_DISCLOSABLE | {"iat", "_sd", "_sd_alg"}
_JWS_ALGS = jws.ALGS


class SdJwtStep(StrEnum):
    """The verification steps in the order they run; a verdict names the failed one, or ok."""

    FORMAT = "format"
    SIGNATURE = "signature"
    DISCLOSURE = "disclosure"
    NOT_YET_VALID = "not_yet_valid"
    EXPIRED = "expired"
    HOLDER_BINDING = "holder_binding"
    OK = "ok"


_STEP_ORDER = list(SdJwtStep)


@dataclass(frozen=True)
class SdJwtVerdict:
    """The outcome of verifying one presentation: valid, or the step that failed and why.

    ``issuer``, ``vct``, ``kid`` and the dates are filled in once the envelope is read, so a
    failed verdict can say whose credential it claimed to be. ``claims`` (the plain claims and
    the disclosed ones, without ``iss``, ``vct``, ``iat``, ``exp``, ``nbf``, ``cnf``, ``status``
    and ``_sd``), ``disclosed`` (the names that came from disclosures) and ``status`` (for the
    caller's revocation check) only once the issuer signature and the disclosures verified;
    they are to be used only when ``valid`` is true.
    """

    valid: bool
    step: SdJwtStep
    detail: str
    issuer: str | None = None
    vct: str | None = None
    kid: str | None = None
    issued_at: datetime | None = None
    expires_at: datetime | None = None
    claims: dict[str, Any] | None = field(default=None, hash=False)
    disclosed: tuple[str, ...] = ()
    status: dict[str, Any] | None = field(default=None, hash=False)

    def passed(self, step: SdJwtStep) -> bool:
        """Whether verification got past ``step`` (an ok verdict is past every step)."""
        return _STEP_ORDER.index(self.step) > _STEP_ORDER.index(step)


class UnreadableSdJwt(Invalid):
    """An SD-JWT handed to :func:`present` cannot be read."""

    slug = "unreadable-sd-jwt"
    title = "Unreadable SD-JWT"

    def __init__(self, detail: str) -> None:
        super().__init__(f"sd_jwt: {detail}", errors=[FieldProblem("sd_jwt", "format", detail)])


# --- the steps -----------------------------------------------------------------------------


class _Failure(Exception):
    """One step failed; carried up to the public function that turns it into its answer."""

    def __init__(self, step: SdJwtStep, detail: str) -> None:
        super().__init__(detail)
        self.step = step
        self.detail = detail


@dataclass(frozen=True)
class _Jws:
    header: dict[str, Any]
    payload: dict[str, Any]
    alg: str
    signing_input: bytes
    signature: bytes


@dataclass(frozen=True)
class _Envelope:
    issuer: str
    vct: str
    kid: str | None
    issued_at: datetime | None
    not_before: datetime | None
    expires_at: datetime | None
    status: dict[str, Any] | None
    sd: tuple[str, ...]


@dataclass(frozen=True)
class _Parsed:
    issuer_jwt: _Jws
    envelope: _Envelope
    disclosures: list[str]
    kb_jwt: str  # "" when the presentation ends in '~'
    presented: str  # everything up to and including the last '~': what sd_hash covers


def _parse_presentation(text: object) -> _Parsed:
    fail = SdJwtStep.FORMAT
    if not isinstance(text, str):
        raise _Failure(fail, f"expected text, got {_kind(text)}")
    if len(text) > MAX_PRESENTATION_CHARS:
        raise _Failure(fail, f"{len(text)} characters, over {MAX_PRESENTATION_CHARS}")
    if not text.isascii():
        position = next(i for i, char in enumerate(text) if not char.isascii())
        raise _Failure(fail, f"non-ASCII character {text[position]!r} at position {position}")
    if "~" not in text:
        raise _Failure(fail, "no '~' separator: not an SD-JWT (a plain JWT?)")
    jwt_text, *disclosures, kb_jwt = text.split("~")
    for position, disclosure in enumerate(disclosures, 1):
        if not disclosure:
            raise _Failure(fail, f"disclosure {position} is empty ('~~')")
    jws = _parse_jws(jwt_text, "issuer-signed JWT", fail)
    if jws.header.get("typ") != SD_JWT_TYP:
        typ = jws.header.get("typ")
        raise _Failure(fail, f"issuer-signed JWT typ is {typ!r}, not {SD_JWT_TYP!r}")
    payload = jws.payload
    for name in ("iss", "vct"):
        if not isinstance(payload.get(name), str) or not payload[name]:
            raise _Failure(fail, f"{name} is {_kind(payload.get(name))}, not non-empty text")
    kid = jws.header.get("kid")
    if kid is not None and not isinstance(kid, str):
        raise _Failure(fail, f"header kid is {_kind(kid)}, not text")
    if payload.get("_sd_alg", SD_ALG) != SD_ALG:
        raise _Failure(fail, f"_sd_alg {payload['_sd_alg']!r} is not supported; only {SD_ALG!r}")
    sd = payload.get("_sd", [])
    if not isinstance(sd, list) or not all(isinstance(digest, str) for digest in sd):
        raise _Failure(fail, "_sd is not an array of digests (text)")
    status = payload.get("status")
    if status is not None and not isinstance(status, dict):
        raise _Failure(fail, f"status is {_kind(status)}, not an object")
    envelope = _Envelope(
        issuer=payload["iss"],
        vct=payload["vct"],
        kid=kid,
        issued_at=_claim_date(payload, "iat", fail),
        not_before=_claim_date(payload, "nbf", fail),
        expires_at=_claim_date(payload, "exp", fail),
        status=status,
        sd=tuple(sd),
    )
    presented = text[: len(text) - len(kb_jwt)]
    return _Parsed(jws, envelope, disclosures, kb_jwt, presented)


def _parse_jws(text: str, what: str, step: SdJwtStep) -> _Jws:
    try:
        parsed = jws.parse_compact(text)
        payload = parsed.payload_json()
    except jws.MalformedJws as exc:
        raise _Failure(step, _malformed(exc, what)) from None
    header = parsed.header
    alg = header.get("alg")
    if not isinstance(alg, str):
        raise _Failure(step, f"{what} header alg is {_kind(alg)}, not text")
    if jws.has_crit(header):
        raise _Failure(step, f"{what} header has crit: no JWS extension is supported")
    return _Jws(
        header, payload, alg=alg, signing_input=parsed.signing_input, signature=parsed.signature
    )


def _malformed(exc: jws.MalformedJws, what: str) -> str:
    """A compact JWS's format error in this module's words."""
    if exc.rule == "parts":
        return f"{what} has {exc.value} part(s); a compact JWS has 3"
    if exc.rule == "base64url":
        return f"{what} {exc.part}: {_b64url_problem(exc.detail)}"
    if exc.rule == "object":
        return f"{what} {exc.part} is {_kind(exc.value)}, not a JSON object"
    return f"{what} {exc.part}: {exc.detail}"


def _check_issuer_signature(
    jws: _Jws,
    envelope: _Envelope,
    keys_for: Callable[[str | None, str], Sequence[PublicKey]],
) -> str:
    fail = SdJwtStep.SIGNATURE
    if jws.alg not in _JWS_ALGS:
        raise _Failure(fail, f"alg {jws.alg!r} is not accepted; accepted: {', '.join(_JWS_ALGS)}")
    keys = list(keys_for(envelope.kid, envelope.issuer))
    if not keys:
        raise _Failure(fail, f"no key known for kid {envelope.kid!r} of issuer {envelope.issuer!r}")
    problems = []
    for number, key in enumerate(keys, 1):
        problem = _signature_problem(key, jws.alg, jws.signature, jws.signing_input)
        if problem is None:
            return jws.alg
        problems.append(f"key {number}: {problem}")
    raise _Failure(
        fail,
        f"{jws.alg} signature does not verify with the {len(keys)} key(s) for kid "
        f"{envelope.kid!r} of issuer {envelope.issuer!r}: " + "; ".join(problems),
    )


def _disclose(
    payload: dict[str, Any], disclosures: list[str]
) -> tuple[dict[str, Any], tuple[str, ...]]:
    fail = SdJwtStep.DISCLOSURE
    referenced: set[str] = set()
    for digest in payload.get("_sd", []):
        if digest in referenced:
            raise _Failure(fail, f"digest {digest} appears twice in _sd")
        referenced.add(digest)
    claims = {name: value for name, value in payload.items() if name not in _NOT_CLAIMS}
    seen: dict[str, int] = {}
    disclosed: list[str] = []
    for position, disclosure in enumerate(disclosures, 1):
        digest = _digest(disclosure)
        if digest in seen:
            raise _Failure(fail, f"disclosure {position} repeats disclosure {seen[digest]}")
        seen[digest] = position
        if digest not in referenced:
            raise _Failure(
                fail,
                f"disclosure {position} (digest {digest}) is not in the credential's _sd: "
                "it was altered, or comes from another credential",
            )
        name, value = _disclosure_claim(disclosure, position)
        if name in _NEVER_DISCLOSABLE or name in ("_sd", "..."):
            raise _Failure(fail, f"disclosure {position}: {name!r} must not be disclosed this way")
        if name in payload or name in claims:
            raise _Failure(fail, f"disclosure {position}: claim {name!r} is already present")
        claims[name] = value
        disclosed.append(name)
    return claims, tuple(disclosed)


def _disclosure_claim(disclosure: str, position: int) -> tuple[str, Any]:
    fail = SdJwtStep.DISCLOSURE
    try:
        decoded = _loads(_b64url_decode(disclosure))
    except ValueError as exc:
        raise _Failure(fail, f"disclosure {position} is not base64url JSON: {exc}") from None
    if not isinstance(decoded, list) or len(decoded) != 3:
        what = f"an array of {len(decoded)}" if isinstance(decoded, list) else _kind(decoded)
        raise _Failure(fail, f"disclosure {position} is {what}, not [salt, name, value]")
    salt, name, value = decoded
    if not isinstance(salt, str) or not isinstance(name, str):
        raise _Failure(fail, f"disclosure {position}: salt and claim name must be text")
    return name, value


def _check_key_binding(
    payload: dict[str, Any],
    parsed: _Parsed,
    *,
    audience: str,
    nonce: str,
    at: datetime,
    max_kb_age: timedelta,
) -> str:
    fail = SdJwtStep.HOLDER_BINDING
    cnf = payload.get("cnf")
    jwk = cnf.get("jwk") if isinstance(cnf, dict) else None
    if not isinstance(jwk, dict):
        raise _Failure(fail, "the credential binds no holder key (no cnf.jwk)")
    try:
        holder_key = key_from_jwk(jwk)
    except ValueError as exc:
        raise _Failure(fail, f"cnf.jwk is unusable: {exc}") from None
    if not parsed.kb_jwt:
        raise _Failure(fail, "no KB-JWT after the last '~': no proof of the holder key")
    kb = _parse_jws(parsed.kb_jwt, "KB-JWT", fail)
    if kb.header.get("typ") != KB_JWT_TYP:
        raise _Failure(fail, f"KB-JWT typ is {kb.header.get('typ')!r}, not {KB_JWT_TYP!r}")
    problem = (
        f"alg {kb.alg!r} is not accepted"
        if kb.alg not in _JWS_ALGS
        else _signature_problem(holder_key, kb.alg, kb.signature, kb.signing_input)
    )
    if problem is not None:
        raise _Failure(fail, f"KB-JWT is not signed by the holder key in cnf.jwk: {problem}")
    aud = kb.payload.get("aud")
    if not (aud == audience or (isinstance(aud, list) and audience in aud)):
        raise _Failure(fail, f"KB-JWT aud is {aud!r}, not {audience!r}")
    if kb.payload.get("nonce") != nonce:
        raise _Failure(fail, f"KB-JWT nonce {kb.payload.get('nonce')!r} is not the one asked for")
    signed_at = _claim_date(kb.payload, "iat", fail)
    if signed_at is None:
        raise _Failure(fail, "KB-JWT has no iat")
    if at - signed_at > max_kb_age:
        age = f"{_iso(signed_at)}, over {max_kb_age} before {_iso(at)}"
        raise _Failure(fail, f"KB-JWT is stale: signed at {age}")
    if signed_at - at > KB_CLOCK_SKEW:
        raise _Failure(fail, f"KB-JWT signed at {_iso(signed_at)}, in the future of {_iso(at)}")
    expected = _digest(parsed.presented)
    if kb.payload.get("sd_hash") != expected:
        raise _Failure(
            fail,
            f"KB-JWT sd_hash {kb.payload.get('sd_hash')!r} is not {expected!r}, the hash of the "
            "presented SD-JWT: disclosures were added, removed or reordered",
        )
    return kb.alg


def _signature_problem(key: PublicKey, alg: str, signature: bytes, signed: bytes) -> str | None:
    """Why ``signature`` does not verify with ``key`` under ``alg``, or None when it does."""
    try:
        if alg == "ES256":
            if not isinstance(key, ec.EllipticCurvePublicKey) or not _is_p256(key.curve):
                return f"ES256 needs an EC P-256 key, this is {_key_kind(key)}"
            if len(signature) != 2 * _P256_BYTES:
                return f"signature is {len(signature)} bytes; ES256 r||s is {2 * _P256_BYTES}"
        elif not isinstance(key, ed25519.Ed25519PublicKey):
            return f"{alg} needs an Ed25519 key, this is {_key_kind(key)}"
        if not jws.verify_signature(alg, key, signed, signature):
            return "signature does not match"
    except ValueError as exc:
        return f"signature does not match ({exc})"
    return None


# --- small helpers -------------------------------------------------------------------------


def _check_claims(claims: Mapping[str, Any], hidden: set[str]) -> None:
    problems = ProblemList()
    for name, value in claims.items():
        if not isinstance(name, str) or name in _RESERVED:
            problems.add(f"claims.{name}", "reserved", f"{name!r} is set by issue() or reserved")
            continue
        try:
            _dumps(value)
        except (TypeError, ValueError) as exc:
            problems.add(f"claims.{name}", "not-json", f"not a JSON value: {exc}")
            continue
        path = _reserved_key_inside(value)
        if path is not None:
            detail = f"holds the reserved key {path[-1]!r}"
            problems.add(".".join(["claims", name, *path]), "reserved", detail)
    for name in sorted(hidden - set(claims)):
        problems.add("selectively_disclosable", "unknown-claim", f"no claim named {name!r}")
    problems.raise_if_any()


def _reserved_key_inside(value: Any) -> list[str] | None:
    # A nested "_sd" or "..." would read as selective disclosure to other verifiers.
    if isinstance(value, Mapping):
        for key, inner in value.items():
            if key in ("_sd", "..."):
                return [str(key)]
            below = _reserved_key_inside(inner)
            if below is not None:
                return [str(key), *below]
    elif isinstance(value, list | tuple):
        for index, inner in enumerate(value):
            below = _reserved_key_inside(inner)
            if below is not None:
                return [str(index), *below]
    return None


def _check_status(status: Mapping[str, Any]) -> None:
    if not isinstance(status, Mapping) or not status:
        raise ValueError("status must be a non-empty object, e.g. {'status_list': {...}}")
    entry = status.get("status_list")
    if entry is None:
        return
    idx = entry.get("idx") if isinstance(entry, Mapping) else None
    uri = entry.get("uri") if isinstance(entry, Mapping) else None
    if isinstance(idx, bool) or not isinstance(idx, int) or idx < 0 or not isinstance(uri, str):
        raise ValueError("status_list must be {'idx': non-negative integer, 'uri': text}")


def _claim_date(payload: Mapping[str, Any], name: str, step: SdJwtStep) -> datetime | None:
    if name not in payload:
        return None
    value = payload[name]
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _Failure(step, f"{name} is {_kind(value)}, not a NumericDate")
    try:
        return datetime.fromtimestamp(value, tz=UTC)
    except (OverflowError, OSError, ValueError):
        raise _Failure(step, f"{name} {value!r} is out of range") from None


def _digest(text: str) -> str:
    return _b64url(hashlib.sha256(text.encode("ascii")).digest())


_b64url = jws.b64url_encode
_dumps = jws.json_bytes
_loads = jws.loads


def _key_kind(key: object) -> str:
    if isinstance(key, ec.EllipticCurvePublicKey):
        return f"an EC {key.curve.name} key"
    return f"a {type(key).__name__}"
