"""The one JWS Compact Serialization (RFC 7515) of the platform, over the signature suites.

Trust lists, SD-JWT licences and their key-binding JWTs, and status list tokens are all
``base64url(header) "." base64url(payload) "." base64url(signature)``; this module writes and
reads that form once. Signatures come from :mod:`twonets.trust.suites` (ES256 as raw
``r || s``, RFC 7518 section 3.4; EdDSA as Ed25519's 64 bytes); ``EdDSA`` also verifies Ed448
keys (RFC 8037), which a foreign status list may use though no suite here signs with them.

Reading is strict: base64url without padding and in its one canonical spelling, JSON without
duplicate member names (RFC 7515 section 5.2) or NaN, a header that is an object; a ``crit``
is always refused (no extension is understood, so section 4.1.11 says reject) and a
signature verifies only under an ``alg`` of :data:`ALGS`, never ``none`` or a MAC. What a
caller then requires of ``typ``, ``kid`` and the payload, and how it words a refusal, stays
the caller's: :class:`MalformedJws` names the part and the rule so each can say it its way, and
each checks ``typ``, ``crit`` and ``alg`` in the order its refusals are documented.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Final, Literal, TypeAlias

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric import ed448

from twonets.trust.errors import InvalidKey
from twonets.trust.suites import EDDSA, ES256, PrivateKey, PublicKey, SignatureSuite, describe_key

# "Ed25519" is the fully specified name of EdDSA on Ed25519 (RFC 9864).
ALGS: Final = ("ES256", "EdDSA", "Ed25519")
_SUITE_OF_ALG: Final[Mapping[str, SignatureSuite]] = {
    "ES256": ES256,
    "EdDSA": EDDSA,
    "Ed25519": EDDSA,
}
_B64URL = re.compile(r"[A-Za-z0-9_-]*", re.ASCII)

Part: TypeAlias = Literal["token", "header", "payload", "signature"]
Rule: TypeAlias = Literal["parts", "base64url", "json", "object"]
JwsKey: TypeAlias = PublicKey | ed448.Ed448PublicKey
JwsPrivateKey: TypeAlias = PrivateKey | ed448.Ed448PrivateKey


class MalformedJws(ValueError):
    """Text that is not a compact JWS; ``part`` and ``rule`` say where and what, ``detail`` why."""

    def __init__(self, part: Part, rule: Rule, detail: str, value: object = None) -> None:
        super().__init__(f"{part}: {detail}")
        self.part = part
        self.rule = rule
        self.detail = detail
        self.value = value  # the offending JSON value ("object"), the count of parts ("parts")


# --- base64url and JSON ----------------------------------------------------------------------


def b64url_encode(data: bytes) -> str:
    """Base64url without padding (RFC 7515 section 2)."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    """The bytes of unpadded, canonical base64url; ``ValueError`` says what is wrong."""
    if not _B64URL.fullmatch(text):
        bad = next(c for c in text if not _B64URL.fullmatch(c))
        raise ValueError(f"not base64url: {bad!r} is not in the base64url alphabet")
    if len(text) % 4 == 1:
        raise ValueError(f"not base64url: {len(text)} characters cannot encode whole bytes")
    try:
        data = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except binascii.Error as exc:  # pragma: no cover - the checks above leave nothing to refuse
        raise ValueError(f"not base64url: {exc}") from None
    if b64url_encode(data) != text:  # stray bits in the last character: one value, one spelling
        raise ValueError("not base64url: non-canonical (stray bits in the last character)")
    return data


def json_bytes(value: Any, *, sort_keys: bool = False) -> bytes:
    """Compact UTF-8 JSON, as every JWS part here is written (no NaN, no escapes of non-ASCII)."""
    text = json.dumps(
        value, separators=(",", ":"), ensure_ascii=False, allow_nan=False, sort_keys=sort_keys
    )
    return text.encode("utf-8")


def _unique_members(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    # RFC 7515 section 5.2: duplicate member names are rejected rather than last-one-wins.
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise ValueError(f"duplicate member {key!r}")
        out[key] = value
    return out


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def loads(data: bytes) -> Any:
    """Strict JSON of UTF-8 bytes: duplicate members, NaN and Infinity are ``ValueError``."""
    try:
        return json.loads(
            data.decode("utf-8"), object_pairs_hook=_unique_members, parse_constant=_no_constant
        )
    except RecursionError:
        raise ValueError("JSON nested too deeply") from None


# --- signing ---------------------------------------------------------------------------------


def suite_for_alg(alg: object) -> SignatureSuite | None:
    """The suite of a JWS ``alg`` (ES256, EdDSA, Ed25519), or None for any other value."""
    return _SUITE_OF_ALG.get(alg) if isinstance(alg, str) else None


def alg_of(key: JwsPrivateKey | JwsKey) -> str:
    """The JWS ``alg`` a key signs with: ``ES256`` (P-256) or ``EdDSA`` (Ed25519, Ed448)."""
    if isinstance(key, ed448.Ed448PrivateKey | ed448.Ed448PublicKey):
        return "EdDSA"
    for alg in ("ES256", "EdDSA"):
        if _SUITE_OF_ALG[alg].owns(key):
            return alg
    raise InvalidKey(f"JWS signs with EC P-256 or Ed25519 keys, got {describe_key(key)}")


def sign_bytes(private_key: JwsPrivateKey, data: bytes) -> bytes:
    """The JWS signature of ``data`` under ``private_key`` (ES256 raw ``r || s``, EdDSA)."""
    if isinstance(private_key, ed448.Ed448PrivateKey):
        return private_key.sign(data)
    return _SUITE_OF_ALG[alg_of(private_key)].sign(private_key, data)


def sign_compact(
    header: Mapping[str, Any],
    payload: Mapping[str, Any] | bytes,
    sign: Callable[[bytes], bytes],
    *,
    sort_keys: bool = False,
) -> str:
    """The compact JWS of ``header`` and ``payload`` (JSON, or bytes as they are), signed by
    ``sign`` over the signing input ``base64url(header) "." base64url(payload)``."""
    if not isinstance(header.get("alg"), str):
        raise ValueError("a JWS header needs a text alg")
    body = payload if isinstance(payload, bytes) else json_bytes(payload, sort_keys=sort_keys)
    head = json_bytes(header, sort_keys=sort_keys)
    signing_input = f"{b64url_encode(head)}.{b64url_encode(body)}"
    return f"{signing_input}.{b64url_encode(sign(signing_input.encode('ascii')))}"


def sign_with_key(
    header: Mapping[str, Any],
    payload: Mapping[str, Any] | bytes,
    private_key: JwsPrivateKey,
    *,
    sort_keys: bool = False,
) -> str:
    """The compact JWS signed with ``private_key``; ``alg`` is the key's own, set here."""
    full = {"alg": alg_of(private_key), **{k: v for k, v in header.items() if k != "alg"}}
    return sign_compact(
        full, payload, lambda data: sign_bytes(private_key, data), sort_keys=sort_keys
    )


# --- reading ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class CompactJws:
    """A compact JWS taken apart: its header, payload bytes, signing input and signature."""

    header: dict[str, Any]
    payload: bytes
    signing_input: bytes
    signature: bytes

    @property
    def alg(self) -> object:
        """The header's ``alg``, as found (the caller checks it is one it accepts)."""
        return self.header.get("alg")

    def payload_json(self) -> dict[str, Any]:
        """The payload as a JSON object, or :class:`MalformedJws` (part "payload")."""
        return _json_object(self.payload, "payload")


def _json_object(data: bytes, part: Part) -> dict[str, Any]:
    try:
        value = loads(data)
    except ValueError as exc:
        raise MalformedJws(part, "json", str(exc)) from None
    if not isinstance(value, dict):
        raise MalformedJws(part, "object", "not a JSON object", value)
    return value


def parse_compact(text: str) -> CompactJws:
    """The parts of a compact JWS, its header read; the payload stays bytes.

    Order of the checks: three parts; each part base64url (header, payload, signature); the
    header a JSON object. The caller then checks the header in the order its refusals are
    worded (``typ``, :func:`has_crit`, ``alg`` and ``kid``).
    """
    parts = text.split(".")
    if len(parts) != 3:
        raise MalformedJws(
            "token",
            "parts",
            f"a compact JWS has 3 dot-separated parts, this has {len(parts)}",
            len(parts),
        )
    decoded: list[bytes] = []
    for part, name in zip(parts, ("header", "payload", "signature"), strict=True):
        try:
            decoded.append(b64url_decode(part))
        except ValueError as exc:
            raise MalformedJws(name, "base64url", str(exc)) from None  # type: ignore[arg-type]
    header = _json_object(decoded[0], "header")
    return CompactJws(header, decoded[1], f"{parts[0]}.{parts[1]}".encode("ascii"), decoded[2])


def has_crit(header: Mapping[str, Any]) -> bool:
    """Whether the header asks for an extension (``crit``): none is understood, so reject."""
    return "crit" in header


def verify_signature(alg: object, key: JwsKey, signing_input: bytes, signature: bytes) -> bool:
    """Whether ``signature`` is ``alg``'s signature of ``signing_input`` under ``key``.

    False for an ``alg`` outside :data:`ALGS`, a key of another suite, a signature of the wrong
    length or one that does not verify; it never raises on bad input. Callers check the key's
    type first when they want to say why.
    """
    if alg == "EdDSA" and isinstance(key, ed448.Ed448PublicKey):
        try:
            key.verify(signature, signing_input)
        except InvalidSignature:
            return False
        return True
    suite = suite_for_alg(alg)
    if suite is None or isinstance(key, ed448.Ed448PublicKey):
        return False
    return suite.verify(key, signing_input, signature)


def verify_compact(jws: CompactJws, key: JwsKey, *, algs: tuple[str, ...] = ALGS) -> bool:
    """Whether ``jws`` is signed by ``key`` with one of ``algs`` (never ``none`` or a MAC)."""
    alg = jws.alg
    return alg in algs and verify_signature(alg, key, jws.signing_input, jws.signature)
