"""Compact signed credentials, HCERT-style: a CWT in COSE_Sign1, zlib, base45, verifiable offline.

Licences (``twonets.licences``) and codes (``twonets.codes``) both travel in this form, under
their own prefixes; this module is the one codec of it (base45 is :mod:`twonets.trust.base45`).

The text in the QR code is::

    prefix + base45(zlib(COSE_Sign1[protected {1: alg, 4: kid}, {}, CWT payload, signature]))

with the CWT payload (RFC 8392) holding ``iss`` (1), ``exp`` (4), ``iat`` (6) and the credential
under claim -260 as ``{1: claims}``, exactly as the EU Digital COVID Certificate (HCERT) does.
So one verifier reads our regions' licences ("SH1:", "JS1:", ...) and the public HCERT
conformance suite ("HC1:"). The signature covers the RFC 9052 Sig_structure
``["Signature1", protected, b"", payload]``.

Verification runs in explicit steps (:class:`Step`, in order), each with its own failure, and
never raises on bad input: the caller always gets a :class:`Verdict` that says which step
failed and why.
"""

from __future__ import annotations

import base64
import hashlib
import io
import math
import zlib
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from enum import IntEnum, StrEnum
from typing import Any, TypeAlias

import cbor2
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, padding, rsa

from twonets.core.errors import FieldProblem, Invalid
from twonets.trust.base45 import b45decode, b45encode, is_base45_text
from twonets.trust.suites import der_to_raw, raw_to_der
from twonets.trust.times import iso as _iso
from twonets.trust.times import numeric_date as _numeric_date
from twonets.trust.times import require_aware as _require_aware

PublicKey: TypeAlias = (
    ec.EllipticCurvePublicKey | ed25519.Ed25519PublicKey | ed448.Ed448PublicKey | rsa.RSAPublicKey
)
PrivateKey: TypeAlias = (
    ec.EllipticCurvePrivateKey
    | ed25519.Ed25519PrivateKey
    | ed448.Ed448PrivateKey
    | rsa.RSAPrivateKey
)

HCERT_PREFIX = "HC1:"
# A QR code holds under 3 KB; anything inflating past this is a decompression bomb, not a licence.
MAX_PAYLOAD_BYTES = 64 * 1024

# CWT claim keys (RFC 8392 section 4) and the HCERT claim, whose payload sits under key 1.
_ISS, _EXP, _IAT, _HCERT, _HCERT_PAYLOAD = 1, 4, 6, -260, 1
# COSE header labels (RFC 9052 section 3.1) and tags (COSE_Sign1 18, CWT 61).
_ALG, _KID = 1, 4
_COSE_SIGN1_TAG, _CWT_TAG = 18, 61


class CoseAlg(IntEnum):
    """The COSE signature algorithms a QR credential may use (RFC 9053, RFC 8230)."""

    ES256 = -7
    ES384 = -35
    ES512 = -36
    EDDSA = -8
    PS256 = -37


_EC_ALGS: dict[CoseAlg, tuple[ec.EllipticCurve, hashes.HashAlgorithm]] = {
    CoseAlg.ES256: (ec.SECP256R1(), hashes.SHA256()),
    CoseAlg.ES384: (ec.SECP384R1(), hashes.SHA384()),
    CoseAlg.ES512: (ec.SECP521R1(), hashes.SHA512()),
}


# What verifying with each EC algorithm needs, built once: it runs on every verification.
_EC_VERIFIERS: dict[CoseAlg, tuple[str, int, ec.ECDSA]] = {
    alg: (curve.name, (curve.key_size + 7) // 8, ec.ECDSA(hash_algorithm))
    for alg, (curve, hash_algorithm) in _EC_ALGS.items()
}
_ALG_BY_VALUE: dict[int, CoseAlg] = {alg.value: alg for alg in CoseAlg}


def _pss() -> padding.PSS:
    # RFC 8230 section 2: PS256 uses MGF1 with SHA-256 and a salt as long as the hash.
    return padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32)


class Step(StrEnum):
    """The verification steps in the order they run; a verdict names the failed one, or ok."""

    PREFIX = "prefix"
    BASE45 = "base45"
    COMPRESSION = "compression"
    CBOR = "cbor"
    KID = "kid"
    SIGNATURE = "signature"
    NOT_YET_VALID = "not_yet_valid"
    EXPIRED = "expired"
    OK = "ok"


_STEP_ORDER = list(Step)


@dataclass(frozen=True)
class PublicKeyCandidate:
    """A public key that may have signed credentials with some kid, and whose key it is.

    ``not_before``/``not_after`` bound when the key may sign: a credential whose ``iat`` lies
    outside that window is not accepted from this key (key rotation keeps old credentials valid
    because their ``iat`` still falls inside the retired key's window).
    """

    key: PublicKey
    label: str
    not_before: datetime | None = None
    not_after: datetime | None = None

    def __post_init__(self) -> None:
        if self.not_before is not None:
            _require_aware(self.not_before, "not_before")
        if self.not_after is not None:
            _require_aware(self.not_after, "not_after")

    def covers(self, issued_at: datetime) -> bool:
        """Whether a credential issued at ``issued_at`` may have been signed by this key."""
        if self.not_before is not None and issued_at < self.not_before:
            return False
        return self.not_after is None or issued_at <= self.not_after

    def window(self) -> str:
        """The signing window as text, for verdict details."""
        start = _iso(self.not_before) if self.not_before else "any time"
        end = _iso(self.not_after) if self.not_after else "any time"
        return f"{start} to {end}"

    @classmethod
    def from_certificate(cls, der: bytes, *, label: str | None = None) -> PublicKeyCandidate:
        """The key of an X.509 signer certificate (DER), its validity as the signing window."""
        certificate = x509.load_der_x509_certificate(der)
        key = certificate.public_key()
        if not isinstance(
            key,
            ec.EllipticCurvePublicKey
            | ed25519.Ed25519PublicKey
            | ed448.Ed448PublicKey
            | rsa.RSAPublicKey,
        ):
            raise ValueError(f"unsupported key type in certificate: {type(key).__name__}")
        return cls(
            key=key,
            label=label if label is not None else certificate.subject.rfc4514_string(),
            not_before=certificate.not_valid_before_utc,
            not_after=certificate.not_valid_after_utc,
        )


@dataclass(frozen=True)
class Verdict:
    """The outcome of verifying one QR text: valid, or the step that failed and why.

    ``kid``, ``issuer``, ``issued_at`` and ``expires_at`` are filled in as soon as they are
    decoded (so a failed verdict can say whose credential it claimed to be); ``claims`` only
    once the signature has verified, and ``signer`` is the label of the key that verified it.
    """

    valid: bool
    step: Step
    detail: str
    kid: str | None = None
    issuer: str | None = None
    issued_at: datetime | None = None
    expires_at: datetime | None = None
    claims: dict[Any, Any] | None = field(default=None, hash=False)
    signer: str | None = None

    def passed(self, step: Step) -> bool:
        """Whether verification got past ``step`` (an ok verdict is past every step)."""
        return _STEP_ORDER.index(self.step) > _STEP_ORDER.index(step)


@dataclass(frozen=True)
class Decoded:
    """What a QR credential says, without checking its signature: for display only."""

    prefix: str
    alg: int | None
    kid: str | None
    issuer: str | None
    issued_at: datetime
    expires_at: datetime
    claims: dict[Any, Any] = field(hash=False)


class UnreadableQr(Invalid):
    """The text is not a readable QR credential; ``step`` names the decoding step that failed."""

    slug = "unreadable-qr"
    title = "Unreadable QR credential"

    def __init__(self, step: Step, detail: str) -> None:
        super().__init__(f"qr: {detail}", errors=[FieldProblem("qr", str(step), detail)])
        self.step = step


# --- keys and signing ----------------------------------------------------------------------


def kid_from_certificate(der: bytes) -> bytes:
    """The HCERT kid of a signer certificate: the first 8 bytes of SHA-256 of its DER."""
    return hashlib.sha256(der).digest()[:8]


def kid_from_public_key(key: PublicKey) -> bytes:
    """A kid for a bare key: the first 8 bytes of SHA-256 of its SubjectPublicKeyInfo DER."""
    spki = key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return hashlib.sha256(spki).digest()[:8]


def cose_signer(private_key: PrivateKey) -> tuple[CoseAlg, Callable[[bytes], bytes]]:
    """The COSE alg and a signing function for ``private_key``, ready for :func:`encode`.

    ECDSA signatures come out as COSE wants them: raw ``r || s``, not DER.
    """
    if isinstance(private_key, ed25519.Ed25519PrivateKey | ed448.Ed448PrivateKey):
        return CoseAlg.EDDSA, private_key.sign
    if isinstance(private_key, rsa.RSAPrivateKey):
        rsa_key = private_key
        return CoseAlg.PS256, lambda data: rsa_key.sign(data, _pss(), hashes.SHA256())
    alg = next((a for a, (c, _) in _EC_ALGS.items() if c.name == private_key.curve.name), None)
    if alg is None:
        raise ValueError(f"unsupported curve {private_key.curve.name}; use P-256, P-384 or P-521")
    curve, hash_algorithm = _EC_ALGS[alg]
    ec_key, size = private_key, (curve.key_size + 7) // 8

    def sign(data: bytes) -> bytes:
        return der_to_raw(ec_key.sign(data, ec.ECDSA(hash_algorithm)), size)

    return alg, sign


# --- encoding ------------------------------------------------------------------------------


def encode(
    claims: Mapping[Any, Any],
    *,
    prefix: str,
    kid: bytes,
    sign: Callable[[bytes], bytes],
    alg: int,
    issuer: str,
    issued_at: datetime,
    expires_at: datetime,
) -> str:
    """The QR text of ``claims``: a CWT signed as COSE_Sign1, zlib-compressed, base45, prefixed.

    ``sign`` receives the Sig_structure bytes and returns the COSE signature (for ECDSA raw
    ``r || s``; :func:`cose_signer` makes one from a private key).
    """
    _require_aware(issued_at, "issued_at")
    _require_aware(expires_at, "expires_at")
    if expires_at <= issued_at:
        raise ValueError("expires_at must be after issued_at")
    if not prefix or not is_base45_text(prefix):
        raise ValueError(f"prefix {prefix!r} must be non-empty QR alphanumeric text, e.g. 'SH1:'")
    if not kid:
        raise ValueError("kid must be a non-empty byte string")
    protected = cbor2.dumps({_ALG: int(CoseAlg(alg)), _KID: bytes(kid)})
    payload = cbor2.dumps(
        {
            _ISS: issuer,
            _IAT: _numeric_date(issued_at),
            _EXP: _numeric_date(expires_at),
            _HCERT: {_HCERT_PAYLOAD: dict(claims)},
        }
    )
    signature = sign(_sig_structure(protected, payload))
    message = cbor2.dumps(cbor2.CBORTag(_COSE_SIGN1_TAG, [protected, {}, payload, signature]))
    return prefix + b45encode(zlib.compress(message, 9))


# --- verification --------------------------------------------------------------------------


def verify(
    text: str,
    *,
    keys_for: Callable[[bytes], Sequence[PublicKeyCandidate]],
    at: datetime,
    prefixes: Collection[str] = (HCERT_PREFIX,),
) -> Verdict:
    """Verify QR ``text`` at time ``at`` against the keys ``keys_for(kid)`` returns.

    Steps, in order: prefix, base45, compression, CBOR (COSE_Sign1 and CWT structure), kid,
    signature (every candidate key with that kid is tried), then iat and exp against ``at``.
    Bad input never raises: the verdict names the failed step and why. A naive ``at`` is a
    programming error (ValueError), and whatever ``keys_for`` raises propagates.
    """
    _require_aware(at, "at")
    try:
        _, cose, cwt = _decode(text, prefixes)
    except _Failure as failure:
        return Verdict(valid=False, step=failure.step, detail=failure.detail)
    facts: dict[str, Any] = {
        "issuer": cwt.issuer,
        "issued_at": cwt.issued_at,
        "expires_at": cwt.expires_at,
    }
    kid_text: str | None = None
    try:
        kid = _kid_of(cose)
        kid_text = _b64(kid)
        signer, alg = _check_signature(cose, kid, cwt.issued_at, keys_for)
    except _Failure as failure:
        return Verdict(valid=False, step=failure.step, detail=failure.detail, kid=kid_text, **facts)
    facts.update(kid=kid_text, claims=_jsonable(cwt.claims), signer=signer)
    if at < cwt.issued_at:
        detail = f"issued at {_iso(cwt.issued_at)}, after the verification time {_iso(at)}"
        return Verdict(valid=False, step=Step.NOT_YET_VALID, detail=detail, **facts)
    if at >= cwt.expires_at:
        detail = f"expired at {_iso(cwt.expires_at)}; verification time {_iso(at)}"
        return Verdict(valid=False, step=Step.EXPIRED, detail=detail, **facts)
    detail = (
        f"{alg.name} signature verified with {signer!r}; "
        f"valid from {_iso(cwt.issued_at)} until {_iso(cwt.expires_at)}"
    )
    return Verdict(valid=True, step=Step.OK, detail=detail, **facts)


def decode_unverified(text: str, prefixes: Collection[str] = (HCERT_PREFIX,)) -> Decoded:
    """Decode QR ``text`` for display WITHOUT checking its signature or dates.

    Raises :class:`UnreadableQr` (an ``Invalid``) naming the step when the text cannot be read.
    """
    try:
        prefix, cose, cwt = _decode(text, prefixes)
    except _Failure as failure:
        raise UnreadableQr(failure.step, failure.detail) from None
    try:
        kid_text: str | None = _b64(_kid_of(cose))
    except _Failure:
        kid_text = None
    alg = cose.alg if isinstance(cose.alg, int) and not isinstance(cose.alg, bool) else None
    return Decoded(
        prefix=prefix,
        alg=alg,
        kid=kid_text,
        issuer=cwt.issuer,
        issued_at=cwt.issued_at,
        expires_at=cwt.expires_at,
        claims=_jsonable(cwt.claims),
    )


# --- the steps -----------------------------------------------------------------------------


class _Failure(Exception):
    """One step failed; carried up to the public function that turns it into its answer."""

    def __init__(self, step: Step, detail: str) -> None:
        super().__init__(detail)
        self.step = step
        self.detail = detail


@dataclass(frozen=True)
class _Cose:
    protected_raw: bytes
    protected: Mapping[Any, Any]
    unprotected: Mapping[Any, Any]
    alg: object
    payload_raw: bytes
    signature: bytes


@dataclass(frozen=True)
class _Cwt:
    issuer: str | None
    issued_at: datetime
    expires_at: datetime
    claims: Mapping[Any, Any]


def _decode(text: str, prefixes: Collection[str]) -> tuple[str, _Cose, _Cwt]:
    prefix, body = _strip_prefix(text, prefixes)
    try:
        compressed = b45decode(body)
    except ValueError as exc:
        raise _Failure(Step.BASE45, f"bad base45 after {prefix!r}: {exc}") from None
    cose = _parse_cose(_decompress(compressed))
    return prefix, cose, _parse_cwt(cose.payload_raw)


def _strip_prefix(text: str, prefixes: Collection[str]) -> tuple[str, str]:
    known = (prefixes,) if isinstance(prefixes, str) else prefixes
    if not isinstance(text, str):
        raise _Failure(Step.PREFIX, f"expected text, got {type(text).__name__}")
    matches = [prefix for prefix in known if prefix and text.startswith(prefix)]
    if len(matches) == 1:
        prefix = matches[0]
        return prefix, text[len(prefix) :]
    if not matches:
        expected = ", ".join(repr(prefix) for prefix in sorted(known)) or "none configured"
        raise _Failure(Step.PREFIX, f"unknown prefix: text starts {text[:4]!r}; known: {expected}")
    prefix = max(matches, key=len)
    return prefix, text[len(prefix) :]


def _decompress(data: bytes) -> bytes:
    if not data:
        raise _Failure(Step.COMPRESSION, "nothing to decompress: the base45 part is empty")
    inflater = zlib.decompressobj()
    try:
        out = inflater.decompress(data, MAX_PAYLOAD_BYTES)
    except zlib.error as exc:
        hint = ""
        if data[:1] == b"\xd2" or data[:2] == b"\xd8\x3d":
            hint = " (it looks like an uncompressed COSE message)"
        raise _Failure(Step.COMPRESSION, f"not a zlib stream (RFC 1950): {exc}{hint}") from None
    if not inflater.eof:
        if len(out) >= MAX_PAYLOAD_BYTES:
            raise _Failure(Step.COMPRESSION, f"decompresses to over {MAX_PAYLOAD_BYTES} bytes")
        raise _Failure(Step.COMPRESSION, "the zlib stream is truncated")
    if inflater.unused_data:
        extra = len(inflater.unused_data)
        raise _Failure(Step.COMPRESSION, f"{extra} byte(s) after the end of the zlib stream")
    return out


def _is_map(value: object) -> bool:
    # cbor2 decodes maps as dicts: the exact-type check spares the ABC check on every step.
    return type(value) is dict or isinstance(value, Mapping)


def _decode_cbor(data: bytes, what: str) -> Any:
    stream = io.BytesIO(data)
    try:
        value = cbor2.CBORDecoder(stream).decode()
    except Exception as exc:  # cbor2 raises several types on hostile input; all mean "bad CBOR"
        raise _Failure(Step.CBOR, f"{what}: invalid CBOR ({exc})") from None
    if stream.tell() != len(data):
        extra = len(data) - stream.tell()
        raise _Failure(Step.CBOR, f"{what}: {extra} byte(s) after the CBOR item")
    return value


def _parse_cose(data: bytes) -> _Cose:
    message = _decode_cbor(data, "COSE message")
    if isinstance(message, cbor2.CBORTag) and message.tag == _CWT_TAG:
        message = message.value
    if isinstance(message, cbor2.CBORTag):
        if message.tag != _COSE_SIGN1_TAG:
            raise _Failure(Step.CBOR, f"CBOR tag {message.tag} is not COSE_Sign1 (tag 18)")
        message = message.value
    if not isinstance(message, list | tuple) or len(message) != 4:
        raise _Failure(Step.CBOR, f"not a COSE_Sign1 array of 4 items: {_kind(message)}")
    protected_raw, unprotected, payload_raw, signature = message
    if not isinstance(protected_raw, bytes):
        raise _Failure(Step.CBOR, f"protected header is {_kind(protected_raw)}, not bytes")
    protected = _decode_cbor(protected_raw, "protected header") if protected_raw else {}
    if not _is_map(protected):
        raise _Failure(Step.CBOR, f"protected header is {_kind(protected)}, not a map")
    if not _is_map(unprotected):
        raise _Failure(Step.CBOR, f"unprotected header is {_kind(unprotected)}, not a map")
    if payload_raw is None:
        raise _Failure(Step.CBOR, "detached payload (nil): a QR credential carries its payload")
    if not isinstance(payload_raw, bytes):
        raise _Failure(Step.CBOR, f"payload is {_kind(payload_raw)}, not bytes")
    if not isinstance(signature, bytes):
        raise _Failure(Step.CBOR, f"signature is {_kind(signature)}, not bytes")
    # HCERT puts alg in the protected header; the conformance suite also accepts it unprotected
    # (CO20). Taking it from there is safe: the key's type must still match the alg.
    if _ALG in protected:
        alg = protected[_ALG]
    elif _ALG in unprotected:
        alg = unprotected[_ALG]
    else:
        raise _Failure(Step.CBOR, "no alg (label 1) in the protected or unprotected header")
    return _Cose(protected_raw, protected, unprotected, alg, payload_raw, signature)


def _parse_cwt(payload_raw: bytes) -> _Cwt:
    payload = _decode_cbor(payload_raw, "CWT payload")
    if not _is_map(payload):
        raise _Failure(Step.CBOR, f"CWT payload is {_kind(payload)}, not a map")
    issuer = payload.get(_ISS)
    if issuer is not None and not isinstance(issuer, str):
        raise _Failure(Step.CBOR, f"iss (claim 1) is {_kind(issuer)}, not text")
    hcert = payload.get(_HCERT)
    if hcert is None:
        raise _Failure(Step.CBOR, "CWT payload has no claim -260")
    if not _is_map(hcert):
        raise _Failure(Step.CBOR, f"claim -260 is {_kind(hcert)}, not a map")
    claims = hcert.get(_HCERT_PAYLOAD)
    if not _is_map(claims):
        raise _Failure(Step.CBOR, f"claim -260/1 is {_kind(claims)}, not a map")
    return _Cwt(
        issuer=issuer,
        issued_at=_claim_date(payload, _IAT, "iat"),
        expires_at=_claim_date(payload, _EXP, "exp"),
        claims=claims,
    )


def _claim_date(payload: Mapping[Any, Any], key: int, name: str) -> datetime:
    if key not in payload:
        raise _Failure(Step.CBOR, f"{name} (claim {key}) is missing")
    value = payload[key]
    if isinstance(value, datetime):  # a tag 1 epoch date, decoded by cbor2
        return (value if value.tzinfo else value.replace(tzinfo=UTC)).astimezone(UTC)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _Failure(Step.CBOR, f"{name} (claim {key}) is {_kind(value)}, not a NumericDate")
    try:
        return datetime.fromtimestamp(value, tz=UTC)
    except (OverflowError, OSError, ValueError):
        raise _Failure(Step.CBOR, f"{name} (claim {key}) {value!r} is out of range") from None


def _kid_of(cose: _Cose) -> bytes:
    # The protected kid wins; the unprotected one counts only when there is none (HCERT 3.3.1,
    # conformance cases CO18 to CO23).
    if _KID in cose.protected:
        kid, where = cose.protected[_KID], "protected"
    elif _KID in cose.unprotected:
        kid, where = cose.unprotected[_KID], "unprotected"
    else:
        raise _Failure(Step.KID, "no kid (label 4) in the protected or unprotected header")
    if not isinstance(kid, bytes) or not kid:
        raise _Failure(Step.KID, f"kid in the {where} header is {_kind(kid)}, not bytes")
    return kid


def _check_signature(
    cose: _Cose,
    kid: bytes,
    issued_at: datetime,
    keys_for: Callable[[bytes], Sequence[PublicKeyCandidate]],
) -> tuple[str, CoseAlg]:
    candidates = list(keys_for(kid))
    if not candidates:
        raise _Failure(Step.KID, f"no key known for kid {_b64(kid)}")
    usable = [candidate for candidate in candidates if candidate.covers(issued_at)]
    if not usable:
        windows = "; ".join(f"{c.label!r} signs {c.window()}" for c in candidates)
        raise _Failure(
            Step.KID,
            f"{len(candidates)} key(s) for kid {_b64(kid)}, none may sign at iat "
            f"{_iso(issued_at)}: {windows}",
        )
    found = _ALG_BY_VALUE.get(cose.alg) if type(cose.alg) is int else None
    if found is None:
        names = ", ".join(f"{alg.name} ({alg.value})" for alg in CoseAlg)
        raise _Failure(Step.SIGNATURE, f"unsupported alg {cose.alg!r}; supported: {names}")
    alg = found
    to_be_signed = _sig_structure(cose.protected_raw, cose.payload_raw)
    problems = []
    for candidate in usable:
        problem = _signature_problem(candidate.key, alg, cose.signature, to_be_signed)
        if problem is None:
            return candidate.label, alg
        problems.append(f"{candidate.label!r}: {problem}")
    raise _Failure(
        Step.SIGNATURE,
        f"{alg.name} signature does not verify with the {len(usable)} key(s) for kid "
        f"{_b64(kid)}: " + "; ".join(problems),
    )


def _signature_problem(
    key: PublicKey, alg: CoseAlg, signature: bytes, to_be_signed: bytes
) -> str | None:
    """Why ``signature`` does not verify with ``key``, or None when it does."""
    try:
        verifier = _EC_VERIFIERS.get(alg)
        if verifier is not None:
            curve_name, size, ecdsa = verifier
            if not isinstance(key, ec.EllipticCurvePublicKey) or key.curve.name != curve_name:
                return f"{alg.name} needs an EC {curve_name} key, this is {_key_kind(key)}"
            if len(signature) != 2 * size:
                return f"signature is {len(signature)} bytes; {alg.name} r||s is {2 * size}"
            key.verify(raw_to_der(signature, size), to_be_signed, ecdsa)
        elif alg is CoseAlg.EDDSA:
            if not isinstance(key, ed25519.Ed25519PublicKey | ed448.Ed448PublicKey):
                return f"EdDSA needs an Ed25519 or Ed448 key, this is {_key_kind(key)}"
            key.verify(signature, to_be_signed)
        else:
            if not isinstance(key, rsa.RSAPublicKey):
                return f"PS256 needs an RSA key, this is {_key_kind(key)}"
            key.verify(signature, to_be_signed, _pss(), hashes.SHA256())
    except InvalidSignature:
        return "signature does not match"
    except ValueError as exc:
        return f"signature does not match ({exc})"
    return None


# --- small helpers -------------------------------------------------------------------------


def _sig_structure(protected: bytes, payload: bytes) -> bytes:
    # RFC 9052 section 4.4: what COSE_Sign1 signs, with empty external_aad.
    return cbor2.dumps(["Signature1", protected, b"", payload])


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _kind(value: object) -> str:
    if isinstance(value, cbor2.CBORTag):
        return f"a CBOR tag {value.tag}"
    names = {bytes: "bytes", str: "text", bool: "a boolean", int: "an integer", float: "a float"}
    if value is None:
        return "nil"
    if isinstance(value, Mapping):
        return "a map"
    if isinstance(value, list | tuple):
        return f"an array of {len(value)}"
    return names.get(type(value), type(value).__name__)


def _key_kind(key: PublicKey) -> str:
    if isinstance(key, ec.EllipticCurvePublicKey):
        return f"an EC {key.curve.name} key"
    if isinstance(key, rsa.RSAPublicKey):
        return f"an RSA {key.key_size} key"
    return f"an {type(key).__name__.removesuffix('PublicKey')} key"


_SCALARS = (str, bool, int)


def _jsonable(value: Any) -> Any:
    """``value`` with CBOR-only types made JSON-friendly: bytes as base64, dates as ISO text."""
    # Plain types first, with exact-type checks: this runs on every claim of every verification.
    if type(value) is str or value is None or isinstance(value, _SCALARS):
        return value
    if type(value) is dict:
        return {_json_key(key): _jsonable(item) for key, item in value.items()}
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, bytes | bytearray):
        return _b64(bytes(value))
    if isinstance(value, datetime):
        return _iso(value) if value.tzinfo else value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {_json_key(key): _jsonable(item) for key, item in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_jsonable(item) for item in value]
    if isinstance(value, cbor2.CBORTag):
        return {"tag": value.tag, "value": _jsonable(value.value)}
    if isinstance(value, cbor2.CBORSimpleValue):
        return {"simple": value.value}
    if value is cbor2.undefined:
        return None
    return str(value)  # Decimal, Fraction, UUID, IP addresses, ... as their usual text


def _json_key(key: Any) -> str | int:
    if type(key) is str or type(key) is int:
        return key
    converted = _jsonable(key)
    return converted if isinstance(converted, str) else repr(converted)
