"""Licences as SD-JWT VCs (RFC 9901, SD-JWT VC draft): issue, present with key binding, verify.

An issued credential is ``<issuer-signed JWT>~<disclosure>~...~``. The JWT (header
``typ: dc+sd-jwt``) carries ``iss``, ``iat``, ``exp``, ``vct``, ``cnf.jwk`` (the holder's public
key), an optional ``status`` (a status-list entry) and the plain claims; each selectively
disclosable top-level claim is replaced by the SHA-256 digest of its disclosure, the base64url
JSON array ``[salt, name, value]``, in ``_sd`` (sorted, with decoys, so neither order nor count
gives anything away). A presentation keeps the disclosures the holder chose and ends with a
KB-JWT (``typ: kb+jwt``) signed by the holder key, whose ``sd_hash`` covers everything before it.

JWS compact signing and verification are :mod:`twonets.trust.jws`, with ES256 (raw ``r || s``)
and EdDSA (Ed25519). Selective disclosure is top-level only, which is all :func:`issue` makes.

Verification runs in explicit steps (:class:`SdJwtStep`, in order), each with its own failure,
and never raises on bad input: the caller always gets an :class:`SdJwtVerdict`.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable, Collection, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec, ed25519

from twonets.core.errors import Invalid
from twonets.licences.jwk import (
    PRIVATE_JWK_MEMBERS,
    JwsSigner,
    KeySigner,
    PrivateKey,
    PublicKey,
    eddsa_signer,
    es256_signer,
    jwk_thumbprint,
    key_from_jwk,
    public_jwk,
    public_only_jwk,
    sign_jwt,
)
from twonets.licences.sdjwt_steps import (
    KB_CLOCK_SKEW,
    KB_JWT_TYP,
    MAX_PRESENTATION_CHARS,
    SD_ALG,
    SD_JWT_TYP,
    SdJwtStep,
    SdJwtVerdict,
    UnreadableSdJwt,
    _b64url,
    _check_claims,
    _check_issuer_signature,
    _check_key_binding,
    _check_status,
    _digest,
    _disclose,
    _disclosure_claim,
    _dumps,
    _Failure,
    _parse_jws,
    _parse_presentation,
)
from twonets.trust.times import iso as _iso
from twonets.trust.times import numeric_date as _numeric_date
from twonets.trust.times import require_aware as _require_aware

# --- issuance and presentation -------------------------------------------------------------


def _random_salt() -> bytes:
    return secrets.token_bytes(16)


def issue(
    claims: Mapping[str, Any],
    *,
    selectively_disclosable: Collection[str],
    issuer: str,
    vct: str,
    signer: JwsSigner,
    holder_jwk: Mapping[str, Any],
    issued_at: datetime,
    expires_at: datetime,
    status: Mapping[str, Any] | None = None,
    salt: Callable[[], bytes] = _random_salt,
    decoys: int | None = None,
) -> str:
    """An SD-JWT VC of ``claims`` bound to ``holder_jwk``: ``<issuer-jwt>~<disclosure>~...~``.

    Top-level claims named in ``selectively_disclosable`` become disclosures with a fresh salt
    (``salt()``, at least 128 bits); the rest stay plain. ``decoys`` fake digests (by default
    1 to 4 at random) join ``_sd``, which is sorted. ``status`` is the status-list entry,
    ``{"status_list": {"idx": n, "uri": "..."}}``. Claims that break a rule raise ``Invalid``.
    """
    _require_aware(issued_at, "issued_at")
    _require_aware(expires_at, "expires_at")
    if expires_at <= issued_at:
        raise ValueError("expires_at must be after issued_at")
    if not isinstance(issuer, str) or not issuer or not isinstance(vct, str) or not vct:
        raise ValueError("issuer and vct must be non-empty text")
    if isinstance(selectively_disclosable, str):
        raise ValueError("selectively_disclosable is a collection of claim names, not one name")
    if "d" in holder_jwk:
        raise ValueError("holder_jwk holds a private key ('d'); bind the public key only")
    key_from_jwk(holder_jwk)  # a credential bound to an unusable key could never be presented
    if status is not None:
        _check_status(status)
    hidden = set(selectively_disclosable)
    _check_claims(claims, hidden)

    payload: dict[str, Any] = {
        "iss": issuer,
        "iat": _numeric_date(issued_at),
        "exp": _numeric_date(expires_at),
        "vct": vct,
        "cnf": {"jwk": dict(holder_jwk)},
    }
    if status is not None:
        payload["status"] = dict(status)
    disclosures: list[str] = []
    digests: list[str] = []
    for name, value in claims.items():
        if name not in hidden:
            payload[name] = value
            continue
        salt_bytes = salt()
        if len(salt_bytes) < 16:
            raise ValueError(f"salt() gave {len(salt_bytes)} bytes; at least 16 (128 bits)")
        disclosure = _b64url(_dumps([_b64url(salt_bytes), name, value]))
        disclosures.append(disclosure)
        digests.append(_digest(disclosure))
    count = 1 + secrets.randbelow(4) if decoys is None else decoys
    if count < 0:
        raise ValueError("decoys must not be negative")
    # A decoy is the digest of random bytes: indistinguishable from a digest of a disclosure.
    digests += [_b64url(hashlib.sha256(secrets.token_bytes(32)).digest()) for _ in range(count)]
    if digests:
        payload["_sd"] = sorted(digests)
    payload["_sd_alg"] = SD_ALG
    return "~".join([sign_jwt(payload, typ=SD_JWT_TYP, signer=signer), *disclosures]) + "~"


def present(
    sd_jwt: str,
    *,
    disclose: Collection[str],
    holder_key: PrivateKey | JwsSigner,
    audience: str,
    nonce: str,
    at: datetime,
) -> str:
    """A presentation of ``sd_jwt`` that discloses only ``disclose``, with a KB-JWT for
    ``audience`` and ``nonce`` signed at ``at`` by the holder (a private key or a signer).

    Naming a plain claim is allowed (it is always shown); naming a claim the credential does
    not have raises ``Invalid``. A private key that is not the one in ``cnf.jwk`` is refused.
    """
    _require_aware(at, "at")
    if isinstance(disclose, str):
        raise ValueError("disclose is a collection of claim names, not one name")
    if not isinstance(sd_jwt, str) or not sd_jwt.endswith("~"):
        raise UnreadableSdJwt("expected an issued SD-JWT: '<issuer-jwt>~<disclosure>~...~'")
    jwt_text, *disclosures = sd_jwt[:-1].split("~")
    try:
        payload = _parse_jws(jwt_text, "issuer-signed JWT", SdJwtStep.FORMAT).payload
        names = [_disclosure_claim(d, i)[0] for i, d in enumerate(disclosures, 1)]
    except _Failure as failure:
        raise UnreadableSdJwt(failure.detail) from None
    wanted = set(disclose)
    unknown = sorted(name for name in wanted if name not in names and name not in payload)
    if unknown:
        detail = f"the credential has no disclosable claim {', '.join(map(repr, unknown))}"
        raise Invalid.field("disclose", "unknown-claim", detail)
    if isinstance(holder_key, ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey):
        bound = payload.get("cnf", {}).get("jwk") if isinstance(payload.get("cnf"), dict) else None
        mine = public_jwk(holder_key.public_key())
        if not isinstance(bound, dict) or any(bound.get(k) != v for k, v in mine.items()):
            raise ValueError("holder_key is not the key bound in the credential's cnf.jwk")
        signer: JwsSigner = (
            eddsa_signer(holder_key, None)
            if isinstance(holder_key, ed25519.Ed25519PrivateKey)
            else es256_signer(holder_key, None)
        )
    else:
        signer = holder_key
    chosen = [d for d, name in zip(disclosures, names, strict=True) if name in wanted]
    presented = "~".join([jwt_text, *chosen]) + "~"
    kb_payload = {
        "iat": _numeric_date(at),
        "aud": audience,
        "nonce": nonce,
        "sd_hash": _digest(presented),
    }
    return presented + sign_jwt(kb_payload, typ=KB_JWT_TYP, signer=signer)


# --- verification --------------------------------------------------------------------------


def verify_presentation(
    presentation: str,
    *,
    keys_for: Callable[[str | None, str], Sequence[PublicKey]],
    audience: str,
    nonce: str,
    at: datetime,
    max_kb_age: timedelta = timedelta(minutes=5),
) -> SdJwtVerdict:
    """Verify ``presentation`` at ``at`` for ``audience`` and ``nonce``.

    Steps, in order: format (the ``~`` layout, the issuer JWT, ``typ``, ``iss``, ``vct``,
    ``_sd_alg``), signature (every key ``keys_for(kid, iss)`` returns is tried; it must return
    an empty sequence for an unknown issuer or kid), disclosure (each digest in ``_sd``, none
    twice), not-yet-valid and expired (``iat``, ``nbf``, ``exp``), holder binding (a KB-JWT
    signed by the ``cnf.jwk`` key, with this audience and nonce, ``iat`` no older than
    ``max_kb_age``, and ``sd_hash`` over what it follows). Bad input never raises.
    """
    _require_aware(at, "at")
    try:
        parsed = _parse_presentation(presentation)
    except _Failure as failure:
        return SdJwtVerdict(valid=False, step=failure.step, detail=failure.detail)
    jws, envelope = parsed.issuer_jwt, parsed.envelope
    facts: dict[str, Any] = {
        "issuer": envelope.issuer,
        "vct": envelope.vct,
        "kid": envelope.kid,
        "issued_at": envelope.issued_at,
        "expires_at": envelope.expires_at,
    }
    try:
        alg = _check_issuer_signature(jws, envelope, keys_for)
        claims, disclosed = _disclose(jws.payload, parsed.disclosures)
    except _Failure as failure:
        return SdJwtVerdict(valid=False, step=failure.step, detail=failure.detail, **facts)
    facts.update(claims=claims, disclosed=disclosed, status=envelope.status)
    starts = [d for d in (envelope.issued_at, envelope.not_before) if d is not None]
    if starts and at < max(starts):
        detail = f"valid from {_iso(max(starts))}, after the verification time {_iso(at)}"
        return SdJwtVerdict(valid=False, step=SdJwtStep.NOT_YET_VALID, detail=detail, **facts)
    if envelope.expires_at is not None and at >= envelope.expires_at:
        detail = f"expired at {_iso(envelope.expires_at)}; verification time {_iso(at)}"
        return SdJwtVerdict(valid=False, step=SdJwtStep.EXPIRED, detail=detail, **facts)
    try:
        holder_alg = _check_key_binding(
            jws.payload, parsed, audience=audience, nonce=nonce, at=at, max_kb_age=max_kb_age
        )
    except _Failure as failure:
        return SdJwtVerdict(valid=False, step=failure.step, detail=failure.detail, **facts)
    detail = (
        f"{alg} issuer signature verified for {envelope.issuer!r}; {len(disclosed)} claim(s) "
        f"disclosed; {holder_alg} key binding verified for {audience!r}"
    )
    return SdJwtVerdict(valid=True, step=SdJwtStep.OK, detail=detail, **facts)


__all__ = [
    "KB_CLOCK_SKEW",
    "KB_JWT_TYP",
    "MAX_PRESENTATION_CHARS",
    "PRIVATE_JWK_MEMBERS",
    "SD_ALG",
    "SD_JWT_TYP",
    "JwsSigner",
    "KeySigner",
    "PrivateKey",
    "PublicKey",
    "SdJwtStep",
    "SdJwtVerdict",
    "UnreadableSdJwt",
    "eddsa_signer",
    "es256_signer",
    "issue",
    "jwk_thumbprint",
    "key_from_jwk",
    "present",
    "public_jwk",
    "public_only_jwk",
    "sign_jwt",
    "verify_presentation",
]
