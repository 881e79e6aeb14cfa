"""JSON Web Keys and JWS signers of licences' SD-JWTs: EC P-256 and Ed25519 public keys as JWKs
(RFC 7517, RFC 8037), their RFC 7638 thumbprints, and signers a key in memory, an HSM or a KMS
can stand behind. :mod:`twonets.licences.sdjwt` issues, presents and verifies with them."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeAlias

from cryptography.hazmat.primitives.asymmetric import ec, ed25519

from twonets.trust import jws

PublicKey: TypeAlias = ec.EllipticCurvePublicKey | ed25519.Ed25519PublicKey
PrivateKey: TypeAlias = ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey

P256_BYTES = 32
_b64url = jws.b64url_encode
_dumps = jws.json_bytes
_JWS_ALGS = jws.ALGS


class JwsSigner(Protocol):
    """Signs a JWS signing input; a key in memory, an HSM or a KMS can stand behind it."""

    @property
    def alg(self) -> str:
        """The JWS alg: "ES256" or "EdDSA"."""
        ...

    @property
    def kid(self) -> str | None:
        """The key id put in the JWS header, or None for none."""
        ...

    def sign(self, signing_input: bytes) -> bytes:
        """The raw JWS signature of ``signing_input`` (ES256: r || s, 64 bytes)."""
        ...


@dataclass(frozen=True)
class KeySigner:
    """A :class:`JwsSigner` over a private key held in memory."""

    alg: str
    kid: str | None
    private_key: PrivateKey = field(repr=False)

    def sign(self, signing_input: bytes) -> bytes:
        """The raw JWS signature of ``signing_input``."""
        return jws.sign_bytes(self.private_key, signing_input)


def es256_signer(private_key: ec.EllipticCurvePrivateKey, kid: str | None) -> KeySigner:
    """An ES256 signer for a P-256 private key, announcing ``kid`` in the header."""
    if not isinstance(private_key, ec.EllipticCurvePrivateKey) or not is_p256(private_key.curve):
        raise ValueError("ES256 needs an EC P-256 private key")
    return KeySigner("ES256", kid, private_key)


def eddsa_signer(private_key: ed25519.Ed25519PrivateKey, kid: str | None) -> KeySigner:
    """An EdDSA signer for an Ed25519 private key, announcing ``kid`` in the header."""
    if not isinstance(private_key, ed25519.Ed25519PrivateKey):
        raise ValueError("EdDSA needs an Ed25519 private key")
    return KeySigner("EdDSA", kid, private_key)


def public_jwk(public_key: PublicKey) -> dict[str, str]:
    """The public JWK of a key: EC P-256 as kty EC (x, y), Ed25519 as kty OKP (x)."""
    if isinstance(public_key, ed25519.Ed25519PublicKey):
        raw = public_key.public_bytes_raw()
        return {"kty": "OKP", "crv": "Ed25519", "x": _b64url(raw)}
    if isinstance(public_key, ec.EllipticCurvePublicKey) and is_p256(public_key.curve):
        numbers = public_key.public_numbers()
        return {
            "kty": "EC",
            "crv": "P-256",
            "x": _b64url(numbers.x.to_bytes(P256_BYTES, "big")),
            "y": _b64url(numbers.y.to_bytes(P256_BYTES, "big")),
        }
    raise ValueError(f"unsupported key {type(public_key).__name__}; use EC P-256 or Ed25519")


def key_from_jwk(jwk: Mapping[str, Any]) -> PublicKey:
    """The public key of an EC P-256 or Ed25519 JWK; ValueError says what is wrong with it."""
    if not isinstance(jwk, Mapping):
        raise ValueError(f"a JWK is a JSON object, not {value_kind(jwk)}")
    kty, crv = jwk.get("kty"), jwk.get("crv")
    if kty == "OKP" and crv == "Ed25519":
        return ed25519.Ed25519PublicKey.from_public_bytes(_jwk_coordinate(jwk, "x"))
    if kty == "EC" and crv == "P-256":
        x = int.from_bytes(_jwk_coordinate(jwk, "x"), "big")
        y = int.from_bytes(_jwk_coordinate(jwk, "y"), "big")
        return ec.EllipticCurvePublicNumbers(x, y, ec.SECP256R1()).public_key()  # checks the curve
    raise ValueError(f"unsupported JWK kty {kty!r} crv {crv!r}; use EC P-256 or OKP Ed25519")


# Members a JWK of a private key carries (RFC 7518 6.2.2, 6.3.2; RFC 8037 2).
PRIVATE_JWK_MEMBERS = frozenset({"d", "p", "q", "dp", "dq", "qi", "oth", "k"})


def public_only_jwk(jwk: Mapping[str, Any]) -> dict[str, str]:
    """The public members of a P-256 or Ed25519 JWK (``kty``, ``crv``, ``x``, ``y``), checked.

    A JWK holding any private member is refused (ValueError) rather than stripped: a wallet
    that sends its private key has already lost it, and must make a new one.
    """
    if not isinstance(jwk, Mapping):
        raise ValueError(f"a JWK is a JSON object, not {value_kind(jwk)}")
    private = sorted(PRIVATE_JWK_MEMBERS & set(jwk))
    if private:
        raise ValueError(
            f"the JWK holds private member(s) {', '.join(private)}: send the public key only"
        )
    return public_jwk(key_from_jwk(jwk))


def jwk_thumbprint(jwk: Mapping[str, Any]) -> str:
    """The RFC 7638 SHA-256 thumbprint of a public JWK (base64url), from its required members."""
    public = public_only_jwk(jwk)
    required = {name: public[name] for name in ("crv", "kty", "x", "y") if name in public}
    return _b64url(hashlib.sha256(_dumps(required, sort_keys=True)).digest())


def sign_jwt(payload: Mapping[str, Any], *, typ: str, signer: JwsSigner) -> str:
    """A compact JWS of ``payload`` with header {alg, typ, kid}, compact JSON, base64url."""
    if signer.alg not in _JWS_ALGS:
        raise ValueError(f"unsupported alg {signer.alg!r}; use one of {', '.join(_JWS_ALGS)}")
    header: dict[str, str] = {"alg": signer.alg, "typ": typ}
    if signer.kid is not None:
        header["kid"] = signer.kid
    return jws.sign_compact(header, payload, signer.sign)


def b64url_problem(detail: str) -> str:
    """What is wrong with a base64url value, in the words the verdicts use."""
    return "non-canonical base64url" if "non-canonical" in detail else "not unpadded base64url"


def b64url_decode(text: str) -> bytes:
    """Unpadded base64url; ValueError says what is wrong with it."""
    try:
        return jws.b64url_decode(text)
    except ValueError as exc:
        raise ValueError(b64url_problem(str(exc))) from None


def is_p256(curve: ec.EllipticCurve) -> bool:
    """Whether ``curve`` is P-256 (secp256r1)."""
    return curve.name == ec.SECP256R1.name


def _jwk_coordinate(jwk: Mapping[str, Any], name: str) -> bytes:
    value = jwk.get(name)
    if not isinstance(value, str):
        raise ValueError(f"JWK member {name!r} is {value_kind(value)}, not base64url text")
    raw = b64url_decode(value)
    if len(raw) != P256_BYTES:
        raise ValueError(f"JWK member {name!r} is {len(raw)} bytes, not {P256_BYTES}")
    return raw


def value_kind(value: object) -> str:
    """What kind of JSON value ``value`` is, for messages ("text", "an array of 2", ...)."""
    if value is None:
        return "missing (null)"
    names = {str: "text", bool: "a boolean", int: "an integer", float: "a number"}
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return f"an array of {len(value)}"
    return names.get(type(value), type(value).__name__)
