"""A region's signed trust list: its issuing keys, as a compact JWS under the region's anchor key.

The payload is JSON::

    {"region": "SH", "issued_at": "...Z", "next_update": "...Z", "sequence": 7,
     "keys": [{"kid": "<base64>", "suite": "ES256", "spki": "<base64 DER>"  (or "x5c": [...]),
               "not_before": "...Z", "not_after": "...Z", "status": "active"}]}

signed as a compact JWS (RFC 7515) with ES256 or EdDSA, whose protected header is
``{"alg", "typ": "twonets-trust-list+jws", "kid"}``; ``kid`` is the key id of the region's
trust-list signing key (its anchor). A verifier trusts a list only if the signature verifies
under the anchor it holds for that region, the algorithm is the anchor's own (no algorithm
taken from the header alone), the region is the one expected, ``next_update`` has not passed
(a stale list may hide revocations), and the sequence is not older than the one it holds
(no rollback to a list from before a revocation).

A foreign issuer's plain PEM bundle of signing certificates becomes an unsigned list of kind
"pem": whoever loads it vouches for it, since nothing in it can be verified.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from twonets.core.errors import Invalid
from twonets.trust import jws as _jws
from twonets.trust.certificates import certificate_pem, load_pem_certificates
from twonets.trust.errors import (
    BadSignature,
    InvalidTrustList,
    Rollback,
    StaleTrustList,
    WrongRegion,
)
from twonets.trust.keys import (
    IssuingKey,
    RegionKeyring,
    check_region,
    format_time,
    key_from_json,
    key_id,
    kid_text,
    parse_time,
)
from twonets.trust.suites import PrivateKey, PublicKey, SignatureSuite, suite_for_key

TRUST_LIST_TYPE = "twonets-trust-list+jws"
# How far a signer's clock may run ahead of the verifier's before issued_at is "in the future".
CLOCK_SKEW = timedelta(minutes=5)

_B64URL = re.compile(r"[A-Za-z0-9_-]*", re.ASCII)
_PAYLOAD_FIELDS = frozenset({"region", "issued_at", "next_update", "sequence", "keys"})


class TrustListKind(StrEnum):
    """Where a trust list came from: signed by its region, or a plain PEM bundle."""

    SIGNED = "signed"
    PEM = "pem"


@dataclass(frozen=True)
class TrustList:
    """A region's issuing keys as a verifier holds them, with the list's dates and sequence."""

    region: str
    keys: tuple[IssuingKey, ...]
    sequence: int = 0
    issued_at: datetime | None = None
    next_update: datetime | None = None
    kind: TrustListKind = TrustListKind.SIGNED
    # The compact JWS it was verified from (None for a PEM list or one not yet signed).
    jws: str | None = field(default=None, compare=False, repr=False)

    def __post_init__(self) -> None:
        check_region(self.region)
        object.__setattr__(self, "kind", TrustListKind(self.kind))
        object.__setattr__(self, "keys", tuple(k.public_only() for k in self.keys))
        for key in self.keys:
            if key.region != self.region:
                raise Invalid.field(
                    "keys", "region", f"{key.label} cannot be listed by region {self.region}"
                )
        if isinstance(self.sequence, bool) or not isinstance(self.sequence, int):
            raise Invalid.field("sequence", "type", "expected an integer")
        if self.sequence < 0:
            raise Invalid.field("sequence", "range", "must not be negative")
        if self.kind is TrustListKind.SIGNED:
            if self.issued_at is None or self.next_update is None:
                raise Invalid.field(
                    "next_update", "required", "a signed trust list has issued_at and next_update"
                )
            if self.next_update <= self.issued_at:
                raise Invalid.field("next_update", "order", "must be later than issued_at")

    @classmethod
    def of_keyring(
        cls,
        keyring: RegionKeyring,
        *,
        sequence: int,
        issued_at: datetime,
        next_update: datetime,
    ) -> TrustList:
        """The list a region publishes of its keyring: every key, public halves only."""
        return cls(
            region=keyring.region,
            keys=keyring.keys,
            sequence=sequence,
            issued_at=issued_at,
            next_update=next_update,
        )

    def keys_for(self, kid: bytes) -> list[IssuingKey]:
        """Every listed key with this id, revoked ones included (ids can collide)."""
        return [k for k in self.keys if k.kid == kid]

    def is_stale(self, now: datetime) -> bool:
        """Whether ``next_update`` has passed (never for a PEM list, which has none)."""
        return self.next_update is not None and now >= self.next_update

    def payload(self) -> dict[str, Any]:
        """The JSON payload of the list, as signed."""
        if self.issued_at is None or self.next_update is None:
            raise Invalid("a PEM trust list has no dates and cannot be signed as it is")
        return {
            "region": self.region,
            "issued_at": format_time(self.issued_at),
            "next_update": format_time(self.next_update),
            "sequence": self.sequence,
            "keys": [k.to_json() for k in self.keys],
        }


def _jws_suite(key: PublicKey | PrivateKey) -> SignatureSuite:
    suite = suite_for_key(key)
    if suite.jws_alg is None:
        raise Invalid.field(
            "anchor",
            "jws-alg",
            f"trust lists are signed with ES256 or EdDSA; {suite.name} has no JWS algorithm",
        )
    return suite


def sign_trust_list(trust_list: TrustList, signing_key: PrivateKey) -> str:
    """The compact JWS of ``trust_list`` under the region's trust-list signing key."""
    if trust_list.kind is not TrustListKind.SIGNED:
        raise Invalid.field("kind", "signed", "only a list of kind 'signed' can be signed")
    _jws_suite(signing_key)  # SM2 has no JWS algorithm: refuse it in the trust list's words
    header = {"typ": TRUST_LIST_TYPE, "kid": kid_text(key_id(signing_key.public_key()))}
    return _jws.sign_with_key(header, trust_list.payload(), signing_key)


def _parse(text: object) -> _jws.CompactJws:
    """The parts of a compact JWS and its header; the payload stays undecoded bytes."""
    if not isinstance(text, str):
        raise InvalidTrustList(
            f"trust list: expected a compact JWS string, got {type(text).__name__}"
        )
    try:
        parsed = _jws.parse_compact(text.strip())
    except _jws.MalformedJws as exc:
        if exc.rule == "parts":
            raise InvalidTrustList(
                f"trust list: a compact JWS has 3 dot-separated parts, got {exc.value}"
            ) from None
        if exc.rule == "base64url":
            raise InvalidTrustList(
                f"trust list: the JWS {exc.part} is not unpadded base64url"
            ) from None
        if exc.rule == "json":
            raise InvalidTrustList("trust list: the JWS header is not JSON") from None
        raise InvalidTrustList("trust list: the JWS header is not a JSON object") from None
    header = parsed.header
    if header.get("typ") != TRUST_LIST_TYPE:
        raise InvalidTrustList(
            f"trust list: header typ must be {TRUST_LIST_TYPE!r}, got {header.get('typ')!r}"
        )
    if _jws.has_crit(header):
        raise InvalidTrustList("trust list: header parameter 'crit' is not supported")
    for name in ("alg", "kid"):
        if not isinstance(header.get(name), str):
            raise InvalidTrustList(f"trust list: header {name} must be a string")
    return parsed


def _decode_payload(parsed: _jws.CompactJws) -> dict[str, Any]:
    try:
        return parsed.payload_json()
    except _jws.MalformedJws as exc:
        if exc.rule == "json":
            raise InvalidTrustList("trust list: the payload is not JSON") from None
        raise InvalidTrustList("trust list: the payload is not a JSON object") from None


def peek_trust_list(jws: str) -> dict[str, Any]:
    """What a trust list claims (its JSON payload), read without verifying it: for showing
    people what a stored list says next to whether it verifies."""
    return _decode_payload(_parse(jws))


def peek_region(jws: str) -> str:
    """The region a trust list claims, read without verifying it (to choose the anchor)."""
    payload = _decode_payload(_parse(jws))
    try:
        return check_region(payload.get("region"))
    except Invalid as exc:
        raise InvalidTrustList.field("region", "region-code", exc.errors[0].detail) from None


def _payload_to_list(payload: Mapping[str, Any], jws: str) -> TrustList:
    error = InvalidTrustList.field
    unknown = sorted(set(payload) - _PAYLOAD_FIELDS)
    if unknown:
        raise error(unknown[0], "unknown", "unknown field")
    try:
        region = check_region(payload.get("region"))
    except Invalid as exc:
        raise error("region", "region-code", exc.errors[0].detail) from None
    issued_at = parse_time(payload.get("issued_at"), "issued_at", error)
    next_update = parse_time(payload.get("next_update"), "next_update", error)
    if next_update <= issued_at:
        raise error("next_update", "order", "must be later than issued_at")
    sequence = payload.get("sequence")
    if isinstance(sequence, bool) or not isinstance(sequence, int) or sequence < 0:
        raise error("sequence", "type", f"expected a non-negative integer, got {sequence!r}")
    entries = payload.get("keys")
    if not isinstance(entries, list):
        raise error("keys", "type", "expected a list of keys")
    keys = tuple(key_from_json(region, e, f"keys[{i}]", error) for i, e in enumerate(entries))
    return TrustList(
        region=region,
        keys=keys,
        sequence=sequence,
        issued_at=issued_at,
        next_update=next_update,
        jws=jws,
    )


def _check_dates(trust_list: TrustList, now: datetime) -> None:
    """Refuse a list whose next_update has passed or that was issued in the future."""
    if trust_list.next_update is not None and now >= trust_list.next_update:
        raise StaleTrustList(
            f"trust list of {trust_list.region}: expired at "
            f"{format_time(trust_list.next_update)} (next_update passed, now "
            f"{format_time(now)}); fetch a fresh list"
        )
    if trust_list.issued_at is not None and trust_list.issued_at > now + CLOCK_SKEW:
        raise StaleTrustList(
            f"trust list of {trust_list.region}: issued at "
            f"{format_time(trust_list.issued_at)}, in the future (now {format_time(now)})"
        )


def _verify(
    jws: str,
    anchor: PublicKey,
    now: datetime | None,
    *,
    region: str | None = None,
    held_sequence: int | None = None,
) -> TrustList:
    """``verify_trust_list``; with ``now`` None the dates are not checked (a stored list)."""
    parsed = _parse(jws)
    suite = _jws_suite(anchor)
    anchor_kid = kid_text(key_id(anchor))
    if parsed.header["alg"] != suite.jws_alg:
        raise BadSignature(
            f"trust list: header alg {parsed.header['alg']!r} is not the anchor's "
            f"({suite.jws_alg}, key {anchor_kid})"
        )
    if parsed.header["kid"] != anchor_kid:
        raise BadSignature(
            f"trust list: signed by key {parsed.header['kid']}, but the anchor is key {anchor_kid}"
        )
    if not suite.verify(anchor, parsed.signing_input, parsed.signature):
        raise BadSignature(
            f"trust list: the signature does not verify under the anchor key {anchor_kid}"
        )
    trust_list = _payload_to_list(_decode_payload(parsed), jws)
    if region is not None and trust_list.region != region:
        raise WrongRegion(
            f"trust list: it is the list of region {trust_list.region}, expected {region}"
        )
    if held_sequence is not None and trust_list.sequence < held_sequence:
        raise Rollback(
            f"trust list of {trust_list.region}: sequence {trust_list.sequence} is older than "
            f"sequence {held_sequence} already held (rollback refused)"
        )
    if now is not None:
        _check_dates(trust_list, now)
    return trust_list


def verify_trust_list(
    jws: str,
    anchor_public_key: PublicKey,
    now: datetime,
    *,
    region: str | None = None,
    held_sequence: int | None = None,
) -> TrustList:
    """The trust list of a compact JWS, once its signature, region, dates and sequence hold.

    ``region``, if given, is the region expected; ``held_sequence`` the sequence of the list
    already held, below which a list is a rollback.
    """
    return _verify(jws, anchor_public_key, now, region=region, held_sequence=held_sequence)


def load_pem_trust_list(pem_text: str | bytes, region: str) -> TrustList:
    """An unsigned list of kind "pem" of a PEM bundle of signing certificates (one key each).

    The region is the caller's to name (e.g. "XX" for a foreign issuer); a certificate that
    appears twice is listed once.
    """
    check_region(region)
    keys: list[IssuingKey] = []
    seen: set[bytes] = set()
    for certificate in load_pem_certificates(pem_text):
        key = IssuingKey.from_certificate(region, certificate)
        if key.kid + key.spki() not in seen:
            seen.add(key.kid + key.spki())
            keys.append(key)
    return TrustList(region=region, keys=tuple(keys), kind=TrustListKind.PEM)


def pem_of(trust_list: TrustList) -> str:
    """The PEM bundle of a list's certificates (the form a PEM list is stored in)."""
    return "".join(certificate_pem(k.certificates[0]) for k in trust_list.keys if k.certificates)
