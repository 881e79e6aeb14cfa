"""The steps of reading a QR credential, each failing with its own reason: prefix, base45,
zlib, CBOR (COSE_Sign1 and the CWT), kid, signature; and the algorithms and key candidates they
check against. :mod:`twonets.trust.cose` is the public face: it turns these into verdicts."""

from __future__ import annotations

import base64
import io
import math
import zlib
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from enum import IntEnum, StrEnum
from typing import Any, TypeAlias

import cbor2
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, padding, rsa

from twonets.trust.base45 import b45decode
from twonets.trust.suites import raw_to_der
from twonets.trust.times import iso as _iso
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
CLAIM_ISS, CLAIM_EXP, CLAIM_IAT, CLAIM_HCERT, HCERT_PAYLOAD = 1, 4, 6, -260, 1
# COSE header labels (RFC 9052 section 3.1) and tags (COSE_Sign1 18, CWT 61).
ALG_LABEL, KID_LABEL = 1, 4
COSE_SIGN1_TAG, CWT_TAG = 18, 61


class CoseAlg(IntEnum):
    """The COSE signature algorithms a QR credential may use (RFC 9053, RFC 8230)."""

    ES256 = -7
    ES384 = -35
    ES512 = -36
    EDDSA = -8
    PS256 = -37


EC_ALGS: dict[CoseAlg, tuple[ec.EllipticCurve, hashes.HashAlgorithm]] = {
    CoseAlg.ES256: (ec.SECP256R1(), hashes.SHA256()),
    CoseAlg.ES384: (ec.SECP384R1(), hashes.SHA384()),
    CoseAlg.ES512: (ec.SECP521R1(), hashes.SHA512()),
}


# What verifying with each EC algorithm needs, built once: it runs on every verification.
_EC_VERIFIERS: dict[CoseAlg, tuple[str, int, ec.ECDSA]] = {
    alg: (curve.name, (curve.key_size + 7) // 8, ec.ECDSA(hash_algorithm))
    for alg, (curve, hash_algorithm) in EC_ALGS.items()
}
_ALG_BY_VALUE: dict[int, CoseAlg] = {alg.value: alg for alg in CoseAlg}


def pss() -> padding.PSS:
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


STEP_ORDER = list(Step)


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


# --- the steps -----------------------------------------------------------------------------


class StepFailure(Exception):
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


def decode_text(text: str, prefixes: Collection[str]) -> tuple[str, _Cose, _Cwt]:
    prefix, body = _strip_prefix(text, prefixes)
    try:
        compressed = b45decode(body)
    except ValueError as exc:
        raise StepFailure(Step.BASE45, f"bad base45 after {prefix!r}: {exc}") from None
    cose = _parse_cose(_decompress(compressed))
    return prefix, cose, _parse_cwt(cose.payload_raw)


def _strip_prefix(text: str, prefixes: Collection[str]) -> tuple[str, str]:
    known = (prefixes,) if isinstance(prefixes, str) else prefixes
    if not isinstance(text, str):
        raise StepFailure(Step.PREFIX, f"expected text, got {type(text).__name__}")
    matches = [prefix for prefix in known if prefix and text.startswith(prefix)]
    if len(matches) == 1:
        prefix = matches[0]
        return prefix, text[len(prefix) :]
    if not matches:
        expected = ", ".join(repr(prefix) for prefix in sorted(known)) or "none configured"
        detail = f"unknown prefix: text starts {text[:4]!r}; known: {expected}"
        raise StepFailure(Step.PREFIX, detail)
    prefix = max(matches, key=len)
    return prefix, text[len(prefix) :]


def _decompress(data: bytes) -> bytes:
    if not data:
        raise StepFailure(Step.COMPRESSION, "nothing to decompress: the base45 part is empty")
    inflater = zlib.decompressobj()
    try:
        out = inflater.decompress(data, MAX_PAYLOAD_BYTES)
    except zlib.error as exc:
        hint = ""
        if data[:1] == b"\xd2" or data[:2] == b"\xd8\x3d":
            hint = " (it looks like an uncompressed COSE message)"
        raise StepFailure(Step.COMPRESSION, f"not a zlib stream (RFC 1950): {exc}{hint}") from None
    if not inflater.eof:
        if len(out) >= MAX_PAYLOAD_BYTES:
            raise StepFailure(Step.COMPRESSION, f"decompresses to over {MAX_PAYLOAD_BYTES} bytes")
        raise StepFailure(Step.COMPRESSION, "the zlib stream is truncated")
    if inflater.unused_data:
        extra = len(inflater.unused_data)
        raise StepFailure(Step.COMPRESSION, f"{extra} byte(s) after the end of the zlib stream")
    return out


def _is_map(value: object) -> bool:
    # cbor2 decodes maps as dicts: the exact-type check spares the ABC check on every step.
    return type(value) is dict or isinstance(value, Mapping)


def _decode_cbor(data: bytes, what: str) -> Any:
    stream = io.BytesIO(data)
    try:
        value = cbor2.CBORDecoder(stream).decode()
    except Exception as exc:  # cbor2 raises several types on hostile input; all mean "bad CBOR"
        raise StepFailure(Step.CBOR, f"{what}: invalid CBOR ({exc})") from None
    if stream.tell() != len(data):
        extra = len(data) - stream.tell()
        raise StepFailure(Step.CBOR, f"{what}: {extra} byte(s) after the CBOR item")
    return value


def _parse_cose(data: bytes) -> _Cose:
    message = _decode_cbor(data, "COSE message")
    if isinstance(message, cbor2.CBORTag) and message.tag == CWT_TAG:
        message = message.value
    if isinstance(message, cbor2.CBORTag):
        if message.tag != COSE_SIGN1_TAG:
            raise StepFailure(Step.CBOR, f"CBOR tag {message.tag} is not COSE_Sign1 (tag 18)")
        message = message.value
    if not isinstance(message, list | tuple) or len(message) != 4:
        raise StepFailure(Step.CBOR, f"not a COSE_Sign1 array of 4 items: {_kind(message)}")
    protected_raw, unprotected, payload_raw, signature = message
    if not isinstance(protected_raw, bytes):
        raise StepFailure(Step.CBOR, f"protected header is {_kind(protected_raw)}, not bytes")
    protected = _decode_cbor(protected_raw, "protected header") if protected_raw else {}
    if not _is_map(protected):
        raise StepFailure(Step.CBOR, f"protected header is {_kind(protected)}, not a map")
    if not _is_map(unprotected):
        raise StepFailure(Step.CBOR, f"unprotected header is {_kind(unprotected)}, not a map")
    if payload_raw is None:
        raise StepFailure(Step.CBOR, "detached payload (nil): a QR credential carries its payload")
    if not isinstance(payload_raw, bytes):
        raise StepFailure(Step.CBOR, f"payload is {_kind(payload_raw)}, not bytes")
    if not isinstance(signature, bytes):
        raise StepFailure(Step.CBOR, f"signature is {_kind(signature)}, not bytes")
    # HCERT puts alg in the protected header; the conformance suite also accepts it unprotected
    # (CO20). Taking it from there is safe: the key's type must still match the alg.
    if ALG_LABEL in protected:
        alg = protected[ALG_LABEL]
    elif ALG_LABEL in unprotected:
        alg = unprotected[ALG_LABEL]
    else:
        raise StepFailure(Step.CBOR, "no alg (label 1) in the protected or unprotected header")
    return _Cose(protected_raw, protected, unprotected, alg, payload_raw, signature)


def _parse_cwt(payload_raw: bytes) -> _Cwt:
    payload = _decode_cbor(payload_raw, "CWT payload")
    if not _is_map(payload):
        raise StepFailure(Step.CBOR, f"CWT payload is {_kind(payload)}, not a map")
    issuer = payload.get(CLAIM_ISS)
    if issuer is not None and not isinstance(issuer, str):
        raise StepFailure(Step.CBOR, f"iss (claim 1) is {_kind(issuer)}, not text")
    hcert = payload.get(CLAIM_HCERT)
    if hcert is None:
        raise StepFailure(Step.CBOR, "CWT payload has no claim -260")
    if not _is_map(hcert):
        raise StepFailure(Step.CBOR, f"claim -260 is {_kind(hcert)}, not a map")
    claims = hcert.get(HCERT_PAYLOAD)
    if not _is_map(claims):
        raise StepFailure(Step.CBOR, f"claim -260/1 is {_kind(claims)}, not a map")
    return _Cwt(
        issuer=issuer,
        issued_at=_claim_date(payload, CLAIM_IAT, "iat"),
        expires_at=_claim_date(payload, CLAIM_EXP, "exp"),
        claims=claims,
    )


def _claim_date(payload: Mapping[Any, Any], key: int, name: str) -> datetime:
    if key not in payload:
        raise StepFailure(Step.CBOR, f"{name} (claim {key}) is missing")
    value = payload[key]
    if isinstance(value, datetime):  # a tag 1 epoch date, decoded by cbor2
        return (value if value.tzinfo else value.replace(tzinfo=UTC)).astimezone(UTC)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise StepFailure(Step.CBOR, f"{name} (claim {key}) is {_kind(value)}, not a NumericDate")
    try:
        return datetime.fromtimestamp(value, tz=UTC)
    except (OverflowError, OSError, ValueError):
        raise StepFailure(Step.CBOR, f"{name} (claim {key}) {value!r} is out of range") from None


def kid_of(cose: _Cose) -> bytes:
    # The protected kid wins; the unprotected one counts only when there is none (HCERT 3.3.1,
    # conformance cases CO18 to CO23).
    if KID_LABEL in cose.protected:
        kid, where = cose.protected[KID_LABEL], "protected"
    elif KID_LABEL in cose.unprotected:
        kid, where = cose.unprotected[KID_LABEL], "unprotected"
    else:
        raise StepFailure(Step.KID, "no kid (label 4) in the protected or unprotected header")
    if not isinstance(kid, bytes) or not kid:
        raise StepFailure(Step.KID, f"kid in the {where} header is {_kind(kid)}, not bytes")
    return kid


def check_signature(
    cose: _Cose,
    kid: bytes,
    issued_at: datetime,
    keys_for: Callable[[bytes], Sequence[PublicKeyCandidate]],
) -> tuple[str, CoseAlg]:
    candidates = list(keys_for(kid))
    if not candidates:
        raise StepFailure(Step.KID, f"no key known for kid {b64(kid)}")
    usable = [candidate for candidate in candidates if candidate.covers(issued_at)]
    if not usable:
        windows = "; ".join(f"{c.label!r} signs {c.window()}" for c in candidates)
        raise StepFailure(
            Step.KID,
            f"{len(candidates)} key(s) for kid {b64(kid)}, none may sign at iat "
            f"{_iso(issued_at)}: {windows}",
        )
    found = _ALG_BY_VALUE.get(cose.alg) if type(cose.alg) is int else None
    if found is None:
        names = ", ".join(f"{alg.name} ({alg.value})" for alg in CoseAlg)
        raise StepFailure(Step.SIGNATURE, f"unsupported alg {cose.alg!r}; supported: {names}")
    alg = found
    to_be_signed = sig_structure(cose.protected_raw, cose.payload_raw)
    problems = []
    for candidate in usable:
        problem = _signature_problem(candidate.key, alg, cose.signature, to_be_signed)
        if problem is None:
            return candidate.label, alg
        problems.append(f"{candidate.label!r}: {problem}")
    raise StepFailure(
        Step.SIGNATURE,
        f"{alg.name} signature does not verify with the {len(usable)} key(s) for kid "
        f"{b64(kid)}: " + "; ".join(problems),
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
            key.verify(signature, to_be_signed, pss(), hashes.SHA256())
    except InvalidSignature:
        return "signature does not match"
    except ValueError as exc:
        return f"signature does not match ({exc})"
    return None


# --- small helpers -------------------------------------------------------------------------


def sig_structure(protected: bytes, payload: bytes) -> bytes:
    # RFC 9052 section 4.4: what COSE_Sign1 signs, with empty external_aad.
    return cbor2.dumps(["Signature1", protected, b"", payload])


def b64(data: bytes) -> str:
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


def jsonable(value: Any) -> Any:
    """``value`` with CBOR-only types made JSON-friendly: bytes as base64, dates as ISO text."""
    # Plain types first, with exact-type checks: this runs on every claim of every verification.
    if type(value) is str or value is None or isinstance(value, _SCALARS):
        return value
    if type(value) is dict:
        return {_json_key(key): jsonable(item) for key, item in value.items()}
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, bytes | bytearray):
        return b64(bytes(value))
    if isinstance(value, datetime):
        return _iso(value) if value.tzinfo else value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {_json_key(key): jsonable(item) for key, item in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [jsonable(item) for item in value]
    if isinstance(value, cbor2.CBORTag):
        return {"tag": value.tag, "value": jsonable(value.value)}
    if isinstance(value, cbor2.CBORSimpleValue):
        return {"simple": value.value}
    if value is cbor2.undefined:
        return None
    return str(value)  # Decimal, Fraction, UUID, IP addresses, ... as their usual text


def _json_key(key: Any) -> str | int:
    if type(key) is str or type(key) is int:
        return key
    converted = jsonable(key)
    return converted if isinstance(converted, str) else repr(converted)
