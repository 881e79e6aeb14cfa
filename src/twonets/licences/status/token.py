"""The Status List Token (IETF Token Status List, section 5): a status list, signed.

A compact JWS (:mod:`twonets.trust.jws`) with ``typ: statuslist+jwt`` and the claims ``sub``
(the list's URI), ``iat``, ``exp``, ``ttl`` and ``status_list`` (section 5.1).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol, TypeAlias

from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519

from twonets.core.errors import ConfigurationError, Forbidden, Invalid
from twonets.licences.status.codec import (
    MAX_LIST_BYTES,
    StatusList,
    _decode_status_list,
    _is_int,
    _problem,
)
from twonets.trust import jws

PublicKey: TypeAlias = ec.EllipticCurvePublicKey | ed25519.Ed25519PublicKey | ed448.Ed448PublicKey
PrivateKey: TypeAlias = (
    ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey | ed448.Ed448PrivateKey
)

TOKEN_TYPE = "statuslist+jwt"
# Issuer and verifier clocks differ by a few seconds; a fresh token must not look "from the future".
DEFAULT_LEEWAY = timedelta(seconds=60)

_ES256, _EDDSA = "ES256", "EdDSA"


class InvalidStatusListToken(Invalid):
    """A Status List Token that is malformed, of the wrong type, expired or not for this URI."""

    slug = "status-list-token-invalid"
    title = "Invalid status list token"


class UntrustedStatusListToken(Forbidden):
    """A Status List Token whose signature, algorithm or key is not one this verifier trusts."""

    slug = "status-list-token-untrusted"
    title = "Untrusted status list token"


class StatusListSigner(Protocol):
    """What signs a Status List Token: a JWS ``alg``, a ``kid``, and ``sign(bytes) -> bytes``."""

    @property
    def alg(self) -> str: ...

    @property
    def kid(self) -> str: ...

    def sign(self, data: bytes) -> bytes: ...


@dataclass(frozen=True)
class KeySigner:
    """A :class:`StatusListSigner` over a private key: P-256 signs ES256, Ed25519/Ed448 EdDSA."""

    key: PrivateKey
    kid: str

    def __post_init__(self) -> None:
        if isinstance(self.key, ec.EllipticCurvePrivateKey) and not isinstance(
            self.key.curve, ec.SECP256R1
        ):
            raise ConfigurationError(
                f"status list signing key {self.kid!r} is on {self.key.curve.name}; "
                "ES256 needs P-256"
            )
        if not isinstance(self.key, ec.EllipticCurvePrivateKey | _EdPrivate):
            raise ConfigurationError(
                f"status list signing key {self.kid!r} is a {type(self.key).__name__}; "
                "use a P-256 or Ed25519 key"
            )

    @property
    def alg(self) -> str:
        """``ES256`` for a P-256 key, ``EdDSA`` for an Edwards key."""
        return _ES256 if isinstance(self.key, ec.EllipticCurvePrivateKey) else _EDDSA

    def sign(self, data: bytes) -> bytes:
        """The JWS signature of ``data``: ECDSA as raw ``r || s`` (RFC 7518 section 3.4)."""
        return jws.sign_bytes(self.key, data)


_EdPrivate = ed25519.Ed25519PrivateKey | ed448.Ed448PrivateKey
_EdPublic = ed25519.Ed25519PublicKey | ed448.Ed448PublicKey


@dataclass(frozen=True)
class StatusListToken:
    """A verified Status List Token: its list, and the claims that govern caching it."""

    uri: str
    issued_at: datetime
    expires_at: datetime | None
    ttl: int | None
    status_list: StatusList
    kid: str
    issuer: str | None = None


def sign_status_list_token(
    lst: StatusList,
    *,
    uri: str,
    issued_at: datetime,
    expires_at: datetime,
    ttl: int,
    signer: StatusListSigner,
    issuer: str | None = None,
) -> str:
    """The compact JWS Status List Token for ``lst``, served at ``uri`` (its ``sub``)."""
    if not uri:
        raise _problem(InvalidStatusListToken, "uri", "required", "must not be empty")
    iat, exp = _numeric_date(issued_at, "issued_at"), _numeric_date(expires_at, "expires_at")
    if exp <= iat:
        raise _problem(InvalidStatusListToken, "expires_at", "order", "must be after issued_at")
    if not _is_int(ttl) or ttl < 1:
        raise _problem(
            InvalidStatusListToken, "ttl", "range", f"must be a positive integer, not {ttl!r}"
        )
    header = {"alg": signer.alg, "kid": signer.kid, "typ": TOKEN_TYPE}
    claims: dict[str, Any] = {
        "sub": uri,
        "iat": iat,
        "exp": exp,
        "ttl": ttl,
        "status_list": lst.encode(),
    }
    if issuer is not None:
        claims["iss"] = issuer
    return jws.sign_compact(header, claims, signer.sign, sort_keys=True)


def verify_status_list_token(
    jwt: str,
    *,
    public_keys: Mapping[str, PublicKey],
    at: datetime,
    uri: str | None = None,
    leeway: timedelta = DEFAULT_LEEWAY,
) -> StatusList:
    """The status list of a Status List Token, checked as :func:`open_status_list_token` does."""
    return open_status_list_token(
        jwt, public_keys=public_keys, at=at, uri=uri, leeway=leeway
    ).status_list


def open_status_list_token(
    jwt: str,
    *,
    public_keys: Mapping[str, PublicKey],
    at: datetime,
    uri: str | None = None,
    leeway: timedelta = DEFAULT_LEEWAY,
) -> StatusListToken:
    """Verify a Status List Token at time ``at`` and return its list with its claims.

    Checks, in order: three base64url parts with JSON objects; ``typ`` is ``statuslist+jwt``;
    no ``crit``; ``alg`` is ES256 or EdDSA (never ``none`` or a MAC); ``kid`` names a key of
    ``public_keys`` of the right type; the signature; then ``sub`` (equal to ``uri`` when given),
    ``iat`` (not in the future), ``exp`` (not passed), ``ttl`` and ``status_list``. ``leeway``
    allows for clock skew on ``iat`` and ``exp``.
    """
    now = _numeric_date(at, "at")
    skew = int(leeway.total_seconds())
    try:
        if not isinstance(jwt, str):
            raise jws.MalformedJws(
                "token", "parts", "a compact JWS has 3 dot-separated parts, this has 0", 0
            )
        parsed = jws.parse_compact(jwt)
        header, claims = parsed.header, parsed.payload_json()
    except jws.MalformedJws as e:
        raise _malformed(e) from None

    typ = header.get("typ")
    if not isinstance(typ, str) or typ.lower().removeprefix("application/") != TOKEN_TYPE:
        raise _problem(
            InvalidStatusListToken, "typ", "type", f"must be {TOKEN_TYPE!r}, not {typ!r}"
        )
    if jws.has_crit(header):
        # RFC 7515 section 4.1.11: a critical extension we do not understand means reject.
        raise _problem(
            InvalidStatusListToken,
            "crit",
            "unsupported",
            "no critical header extension is supported",
        )
    alg, kid = header.get("alg"), header.get("kid")
    if alg not in (_ES256, _EDDSA):
        raise _problem(
            UntrustedStatusListToken,
            "alg",
            "algorithm",
            f"{alg!r} is not accepted; a status list token must be signed with ES256 or EdDSA",
        )
    if not isinstance(kid, str) or kid not in public_keys:
        raise _problem(UntrustedStatusListToken, "kid", "unknown-key", f"{kid!r} is not trusted")
    _verify_signature(public_keys[kid], alg, kid, parsed.signature, parsed.signing_input)

    sub = claims.get("sub")
    if not isinstance(sub, str) or not sub:
        raise _problem(InvalidStatusListToken, "sub", "required", "must be a non-empty string")
    if uri is not None and sub != uri:
        raise _problem(
            InvalidStatusListToken, "sub", "uri", f"{sub!r} is not the requested list {uri!r}"
        )
    iat = _int_claim(claims, "iat", required=True)
    exp = _int_claim(claims, "exp", required=False)
    ttl = _int_claim(claims, "ttl", required=False)
    assert iat is not None  # required=True
    if iat > now + skew:
        raise _problem(
            InvalidStatusListToken,
            "iat",
            "future",
            f"issued at {_iso(iat)}, after the time of checking {_iso(now)}",
        )
    if exp is not None and now >= exp + skew:
        raise _problem(
            InvalidStatusListToken, "exp", "expired", f"expired at {_iso(exp)}; it is {_iso(now)}"
        )
    if ttl is not None and ttl < 1:
        raise _problem(InvalidStatusListToken, "ttl", "range", f"must be positive, not {ttl}")
    issuer = claims.get("iss")
    if issuer is not None and not isinstance(issuer, str):
        raise _problem(InvalidStatusListToken, "iss", "type", "must be a string")
    status_list = _decode_status_list(
        claims.get("status_list"), size=None, max_bytes=MAX_LIST_BYTES, prefix="status_list."
    )
    return StatusListToken(
        uri=sub,
        issued_at=datetime.fromtimestamp(iat, UTC),
        expires_at=datetime.fromtimestamp(exp, UTC) if exp is not None else None,
        ttl=ttl,
        status_list=status_list,
        kid=kid,
        issuer=issuer,
    )


def _malformed(e: jws.MalformedJws) -> InvalidStatusListToken:
    """A compact JWS's format error, worded as the status list token's."""
    if e.rule == "parts":
        return _problem(InvalidStatusListToken, "token", "compact-jws", e.detail)
    if e.part == "signature":
        return _problem(InvalidStatusListToken, "signature", "base64url", e.detail)
    if e.rule == "object":
        detail = f"must be a JSON object, not {type(e.value).__name__}"
        return _problem(InvalidStatusListToken, e.part, "json", detail)
    detail = f"not base64url of a JSON object ({e.detail})"
    return _problem(InvalidStatusListToken, e.part, "json", detail)


def _verify_signature(key: PublicKey, alg: str, kid: str, signature: bytes, data: bytes) -> None:
    if alg == _ES256:
        if not isinstance(key, ec.EllipticCurvePublicKey) or not isinstance(
            key.curve, ec.SECP256R1
        ):
            raise _problem(
                UntrustedStatusListToken,
                "kid",
                "key-type",
                f"{kid!r} is {_key_kind(key)}; ES256 needs a P-256 key",
            )
        if len(signature) != 64:
            raise _problem(
                UntrustedStatusListToken,
                "signature",
                "length",
                f"an ES256 signature is 64 bytes (r || s), this is {len(signature)}",
            )
    elif not isinstance(key, _EdPublic):
        raise _problem(
            UntrustedStatusListToken,
            "kid",
            "key-type",
            f"{kid!r} is {_key_kind(key)}; EdDSA needs an Ed25519 or Ed448 key",
        )
    if not jws.verify_signature(alg, key, data, signature):
        raise _problem(
            UntrustedStatusListToken,
            "signature",
            "signature",
            f"does not verify with key {kid!r}",
        )


def _key_kind(key: PublicKey) -> str:
    if isinstance(key, ec.EllipticCurvePublicKey):
        return f"an EC {key.curve.name} key"
    return f"an {type(key).__name__.removesuffix('PublicKey')} key"


def _int_claim(claims: Mapping[str, Any], name: str, *, required: bool) -> int | None:
    value = claims.get(name)
    if value is None and not required:
        return None
    if not _is_int(value):
        raise _problem(
            InvalidStatusListToken,
            name,
            "required" if value is None else "type",
            f"must be an integer (seconds), not {value!r}",
        )
    return int(value)


def _numeric_date(moment: datetime, field: str) -> int:
    """Seconds since the epoch (a JWT NumericDate); naive datetimes are refused, not guessed."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise _problem(
            InvalidStatusListToken, field, "timezone", "must be a timezone-aware datetime"
        )
    return math.floor(moment.timestamp())


def _iso(seconds: int) -> str:
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
