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

import hashlib
import zlib
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import cbor2
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, rsa

from twonets.core.errors import FieldProblem, Invalid
from twonets.trust.base45 import b45encode, is_base45_text
from twonets.trust.cose_steps import (
    ALG_LABEL,
    CLAIM_EXP,
    CLAIM_HCERT,
    CLAIM_IAT,
    CLAIM_ISS,
    COSE_SIGN1_TAG,
    EC_ALGS,
    HCERT_PAYLOAD,
    HCERT_PREFIX,
    KID_LABEL,
    MAX_PAYLOAD_BYTES,
    STEP_ORDER,
    CoseAlg,
    PrivateKey,
    PublicKey,
    PublicKeyCandidate,
    Step,
    StepFailure,
    b64,
    check_signature,
    decode_text,
    jsonable,
    kid_of,
    pss,
)
from twonets.trust.suites import der_to_raw
from twonets.trust.times import iso as _iso
from twonets.trust.times import numeric_date as _numeric_date
from twonets.trust.times import require_aware as _require_aware


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
        return STEP_ORDER.index(self.step) > STEP_ORDER.index(step)


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
        return CoseAlg.PS256, lambda data: rsa_key.sign(data, pss(), hashes.SHA256())
    alg = next((a for a, (c, _) in EC_ALGS.items() if c.name == private_key.curve.name), None)
    if alg is None:
        raise ValueError(f"unsupported curve {private_key.curve.name}; use P-256, P-384 or P-521")
    curve, hash_algorithm = EC_ALGS[alg]
    ec_key, size, ecdsa = private_key, (curve.key_size + 7) // 8, ec.ECDSA(hash_algorithm)

    def sign(data: bytes) -> bytes:
        return der_to_raw(ec_key.sign(data, ecdsa), size)

    return alg, sign


# --- encoding ------------------------------------------------------------------------------


def _bstr_head(length: int) -> bytes:
    """The CBOR head of a byte string of ``length`` bytes (major type 2, shortest form)."""
    if length < 24:
        return bytes((0x40 + length,))
    if length < 0x100:
        return bytes((0x58, length))
    if length < 0x10000:
        return b"\x59" + length.to_bytes(2, "big")
    return b"\x5a" + length.to_bytes(4, "big")


_SIG_STRUCTURE_HEAD = b"\x84" + cbor2.dumps("Signature1")
# Tag 18 (COSE_Sign1, major type 6 in one byte) and an array of four.
_SIGN1_HEAD = bytes((0xC0 + COSE_SIGN1_TAG, 0x84))


@dataclass(frozen=True)
class PreparedSigner:
    """A signing key made ready for many credentials: the protected header ``{1: alg, 4:
    kid}`` and the constant heads of the Sig_structure and of the COSE_Sign1 message are
    encoded once, so each credential costs its payload, one signature, zlib and base45.

    ``sign`` receives the Sig_structure bytes and returns the COSE signature (for ECDSA raw
    ``r || s``). The bytes are those ``cbor2`` writes for the same structures.
    """

    alg: int
    kid: bytes
    sign: Callable[[bytes], bytes] = field(repr=False)
    protected: bytes = field(init=False, repr=False)
    _sig_head: bytes = field(init=False, repr=False)
    _message_head: bytes = field(init=False, repr=False)

    def __post_init__(self) -> None:
        if not self.kid:
            raise ValueError("kid must be a non-empty byte string")
        protected = cbor2.dumps({ALG_LABEL: int(CoseAlg(self.alg)), KID_LABEL: bytes(self.kid)})
        head = _bstr_head(len(protected)) + protected
        object.__setattr__(self, "protected", protected)
        # Sig_structure: ["Signature1", protected, b"" (external_aad), payload].
        object.__setattr__(self, "_sig_head", _SIG_STRUCTURE_HEAD + head + b"\x40")
        # COSE_Sign1: 18([protected, {} (unprotected), payload, signature]).
        object.__setattr__(self, "_message_head", _SIGN1_HEAD + head + b"\xa0")

    @classmethod
    def of(cls, private_key: PrivateKey, kid: bytes) -> PreparedSigner:
        """The prepared signer of ``private_key`` under ``kid`` (see :func:`cose_signer`)."""
        alg, sign = cose_signer(private_key)
        return cls(alg, kid, sign)

    def encode(
        self,
        claims: Mapping[Any, Any],
        *,
        prefix: str,
        issuer: str,
        issued_at: datetime,
        expires_at: datetime,
    ) -> str:
        """The QR text of ``claims`` signed with this key (as :func:`encode` makes it)."""
        _check_times_and_prefix(prefix, issued_at, expires_at)
        payload = cbor2.dumps(
            {
                CLAIM_ISS: issuer,
                CLAIM_IAT: _numeric_date(issued_at),
                CLAIM_EXP: _numeric_date(expires_at),
                # A plain dict goes in as it is: no copy of the claims.
                CLAIM_HCERT: {HCERT_PAYLOAD: claims if type(claims) is dict else dict(claims)},
            }
        )
        body = _bstr_head(len(payload)) + payload
        signature = self.sign(self._sig_head + body)
        message = self._message_head + body + _bstr_head(len(signature)) + signature
        return prefix + b45encode(zlib.compress(message, 9))


# Prefixes already checked (a region's few): the check is then one set lookup.
_CHECKED_PREFIXES: set[str] = set()


def _check_times_and_prefix(prefix: str, issued_at: datetime, expires_at: datetime) -> None:
    _require_aware(issued_at, "issued_at")
    _require_aware(expires_at, "expires_at")
    if expires_at <= issued_at:
        raise ValueError("expires_at must be after issued_at")
    if prefix not in _CHECKED_PREFIXES:
        if not prefix or not is_base45_text(prefix):
            raise ValueError(
                f"prefix {prefix!r} must be non-empty QR alphanumeric text, e.g. 'SH1:'"
            )
        if len(_CHECKED_PREFIXES) < 1024:
            _CHECKED_PREFIXES.add(prefix)


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
    ``r || s``; :func:`cose_signer` makes one from a private key). Signing many credentials
    with one key: :class:`PreparedSigner` encodes the constant parts once.
    """
    _check_times_and_prefix(prefix, issued_at, expires_at)
    return PreparedSigner(alg, kid, sign).encode(
        claims, prefix=prefix, issuer=issuer, issued_at=issued_at, expires_at=expires_at
    )


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
        _, cose, cwt = decode_text(text, prefixes)
    except StepFailure as failure:
        return Verdict(valid=False, step=failure.step, detail=failure.detail)
    facts: dict[str, Any] = {
        "issuer": cwt.issuer,
        "issued_at": cwt.issued_at,
        "expires_at": cwt.expires_at,
    }
    kid_text: str | None = None
    try:
        kid = kid_of(cose)
        kid_text = b64(kid)
        signer, alg = check_signature(cose, kid, cwt.issued_at, keys_for)
    except StepFailure as failure:
        return Verdict(valid=False, step=failure.step, detail=failure.detail, kid=kid_text, **facts)
    facts.update(kid=kid_text, claims=jsonable(cwt.claims), signer=signer)
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
        prefix, cose, cwt = decode_text(text, prefixes)
    except StepFailure as failure:
        raise UnreadableQr(failure.step, failure.detail) from None
    try:
        kid_text: str | None = b64(kid_of(cose))
    except StepFailure:
        kid_text = None
    alg = cose.alg if isinstance(cose.alg, int) and not isinstance(cose.alg, bool) else None
    return Decoded(
        prefix=prefix,
        alg=alg,
        kid=kid_text,
        issuer=cwt.issuer,
        issued_at=cwt.issued_at,
        expires_at=cwt.expires_at,
        claims=jsonable(cwt.claims),
    )


__all__ = [
    "HCERT_PREFIX",
    "MAX_PAYLOAD_BYTES",
    "CoseAlg",
    "Decoded",
    "PrivateKey",
    "PublicKey",
    "PublicKeyCandidate",
    "Step",
    "UnreadableQr",
    "Verdict",
    "cose_signer",
    "decode_unverified",
    "encode",
    "kid_from_certificate",
    "kid_from_public_key",
    "verify",
]
