"""A verifier's trust store: the regions it recognises, each with its anchor and trust list.

Mutual recognition is adding a region: its anchor (the public key that signs its trust
lists, obtained out of band) and a first signed list. Later lists of that region replace
the held one through ``update``, which refuses a list that is stale, of another region, or
older than the one held. A list with the same sequence is accepted only if it is the same
list (a region raises the sequence with every publication, so equal numbers with different
content mean a fork). Dropping a region ends its recognition at once.

A store holds lists, not keys of its own: the JSON form keeps each region's anchor and the
compact JWS as received, so a stored list is verified again when the store is loaded, and
an edited file fails. Stale lists are kept and still used (a verifier offline for a day
should not stop working); ``stale_regions`` says which ones to refresh.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from twonets.core.errors import Invalid
from twonets.trust.errors import (
    InvalidKey,
    InvalidTrustList,
    KeyNotFound,
    RegionAlreadyTrusted,
    RegionNotTrusted,
    Rollback,
    SignatureRejected,
)
from twonets.trust.keys import IssuingKey, check_region, format_time, key_id, kid_text
from twonets.trust.suites import PublicKey, get_suite, suite_for_key
from twonets.trust.trustlist import (
    TrustList,
    TrustListKind,
    _verify,
    load_pem_trust_list,
    peek_region,
    pem_of,
)

STORE_FORMAT = "twonets-trust-store"
STORE_VERSION = 1


@dataclass(frozen=True)
class TrustedRegion:
    """One recognised region: its anchor (None for a PEM list) and its current trust list."""

    region: str
    anchor: PublicKey | None
    trust_list: TrustList


class TrustStore:
    """The regions a verifier recognises, and lookups of their keys by key id."""

    __slots__ = ("_regions",)

    def __init__(self) -> None:
        self._regions: dict[str, TrustedRegion] = {}

    def __repr__(self) -> str:
        held = ", ".join(
            f"{r.region}#{r.trust_list.sequence}:{len(r.trust_list.keys)} keys"
            for r in self._regions.values()
        )
        return f"TrustStore([{held}])"

    @property
    def regions(self) -> tuple[str, ...]:
        """The recognised regions, sorted."""
        return tuple(sorted(self._regions))

    def is_trusted(self, region: str) -> bool:
        """Whether ``region`` is recognised."""
        return region in self._regions

    def _held(self, region: str) -> TrustedRegion:
        held = self._regions.get(region)
        if held is None:
            raise RegionNotTrusted(f"region {region} is not trusted; add it with add_region")
        return held

    def trust_list(self, region: str) -> TrustList:
        """The trust list held for ``region``."""
        return self._held(region).trust_list

    def anchor(self, region: str) -> PublicKey | None:
        """The anchor key of ``region`` (None for a region added from a PEM bundle)."""
        return self._held(region).anchor

    def add_region(
        self, anchor: PublicKey, jws: str, now: datetime, *, region: str | None = None
    ) -> TrustList:
        """Recognise a region from its anchor and a first signed list (checked in full).

        ``region``, if given, is the region the caller means to add; the list must be its.
        """
        if region is not None:
            check_region(region)
        trust_list = _verify(jws, anchor, now, region=region)
        if trust_list.region in self._regions:
            raise RegionAlreadyTrusted(
                f"region {trust_list.region} is already trusted; update it, or drop it first"
            )
        self._regions[trust_list.region] = TrustedRegion(trust_list.region, anchor, trust_list)
        return trust_list

    def add_pem_region(self, region: str, pem_text: str | bytes) -> TrustList:
        """Recognise a foreign issuer from a PEM bundle of its signing certificates, unsigned."""
        trust_list = load_pem_trust_list(pem_text, region)
        if region in self._regions:
            raise RegionAlreadyTrusted(
                f"region {region} is already trusted; drop it first to replace its list"
            )
        self._regions[region] = TrustedRegion(region, None, trust_list)
        return trust_list

    def drop_region(self, region: str) -> None:
        """Stop recognising ``region``: its keys are no longer found."""
        self._held(region)
        del self._regions[region]

    def update(self, jws: str, now: datetime) -> TrustList:
        """Replace a region's list with a newer one; stale and rolled-back lists are refused."""
        region = peek_region(jws)
        held = self._held(region)
        if held.anchor is None:
            raise Invalid.field(
                "region",
                "unsigned",
                f"region {region} was added from a PEM bundle and has no anchor to verify "
                "updates; drop it and add it again",
            )
        current = held.trust_list
        trust_list = _verify(jws, held.anchor, now, region=region, held_sequence=current.sequence)
        if trust_list.sequence == current.sequence:
            if trust_list.payload() == current.payload():
                return current
            raise Rollback(
                f"trust list of {region}: sequence {trust_list.sequence} is already held with "
                "different content (a region raises the sequence with every list)"
            )
        self._regions[region] = TrustedRegion(region, held.anchor, trust_list)
        return trust_list

    def stale_regions(self, now: datetime) -> list[str]:
        """The regions whose list's next_update has passed: refresh them."""
        return [r for r in self.regions if self._regions[r].trust_list.is_stale(now)]

    def keys_for(self, kid: bytes, now: datetime | None = None) -> list[tuple[str, IssuingKey]]:
        """Every (region, key) with this id across trusted regions (ids collide: try each).

        Without ``now`` revoked and expired keys are included (to say why a signature fails);
        with it, only keys that verify at ``now``.
        """
        found = []
        for region in self.regions:
            for key in self._regions[region].trust_list.keys_for(kid):
                if now is None or key.may_verify(now):
                    found.append((region, key))
        return found

    def verify(
        self, kid: bytes, message: bytes, signature: bytes, now: datetime
    ) -> tuple[str, IssuingKey]:
        """The (region, key) under which ``signature`` verifies at ``now``, or a precise refusal."""
        candidates = self.keys_for(kid)
        if not candidates:
            raise KeyNotFound(f"no trusted region lists key {kid_text(kid)}")
        reasons = []
        for region, key in candidates:
            why_not = key.why_not_verifying(now)
            if why_not is None:
                if key.signature_suite.verify(key.public_key, message, signature):
                    return region, key
                why_not = f"the signature does not verify under {key.label}"
            reasons.append(why_not)
        raise SignatureRejected(f"signature rejected at {format_time(now)}: " + "; ".join(reasons))

    def to_json(self) -> dict[str, Any]:
        """The store as JSON: each region's anchor and its list as received."""
        regions: list[dict[str, Any]] = []
        for region in self.regions:
            held = self._regions[region]
            if held.anchor is None:
                regions.append({"region": region, "kind": "pem", "pem": pem_of(held.trust_list)})
                continue
            suite = suite_for_key(held.anchor)
            regions.append(
                {
                    "region": region,
                    "kind": "signed",
                    "anchor": {
                        "suite": suite.name,
                        "kid": kid_text(key_id(held.anchor)),
                        "spki": base64.b64encode(suite.public_bytes(held.anchor)).decode(),
                    },
                    "jws": held.trust_list.jws,
                }
            )
        return {"format": STORE_FORMAT, "version": STORE_VERSION, "regions": regions}

    @classmethod
    def from_json(cls, data: object) -> TrustStore:
        """A store from ``to_json``; every signed list is verified again under its anchor.

        Dates are not checked again (a stored list may have gone stale since; see
        ``stale_regions``), but signature and region are.
        """
        error = InvalidTrustList.field
        if not isinstance(data, Mapping):
            raise error("store", "type", "expected a JSON object")
        if data.get("format") != STORE_FORMAT or data.get("version") != STORE_VERSION:
            raise error(
                "format",
                "version",
                f"expected format {STORE_FORMAT!r} version {STORE_VERSION}, "
                f"got {data.get('format')!r} version {data.get('version')!r}",
            )
        entries = data.get("regions")
        if not isinstance(entries, list):
            raise error("regions", "type", "expected a list")
        store = cls()
        for i, entry in enumerate(entries):
            path = f"regions[{i}]"
            if not isinstance(entry, Mapping):
                raise error(path, "type", "expected a JSON object")
            try:
                region = check_region(entry.get("region"))
            except Invalid as exc:
                raise error(f"{path}.region", "region-code", exc.errors[0].detail) from None
            if region in store._regions:
                raise error(f"{path}.region", "duplicate", f"region {region} appears twice")
            kind = entry.get("kind")
            if kind == TrustListKind.PEM:
                pem = entry.get("pem")
                if not isinstance(pem, str):
                    raise error(f"{path}.pem", "type", "expected PEM text")
                store.add_pem_region(region, pem)
            elif kind == TrustListKind.SIGNED:
                anchor = _anchor_from_json(entry.get("anchor"), f"{path}.anchor")
                jws = entry.get("jws")
                if not isinstance(jws, str):
                    raise error(f"{path}.jws", "type", "expected a compact JWS string")
                trust_list = _verify(jws, anchor, None, region=region)
                store._regions[region] = TrustedRegion(region, anchor, trust_list)
            else:
                raise error(f"{path}.kind", "choice", f"expected 'signed' or 'pem', got {kind!r}")
        return store


def _anchor_from_json(value: object, path: str) -> PublicKey:
    error = InvalidTrustList.field
    if not isinstance(value, Mapping):
        raise error(path, "type", "expected a JSON object")
    name, spki = value.get("suite"), value.get("spki")
    if not isinstance(name, str) or not isinstance(spki, str):
        raise error(path, "type", "expected 'suite' and 'spki' strings")
    try:
        anchor = get_suite(name).load_public(base64.b64decode(spki, validate=True))
    except (binascii.Error, ValueError):
        raise error(f"{path}.spki", "base64", "not valid base64") from None
    except InvalidKey as exc:
        raise error(f"{path}.spki", "key", exc.detail) from None
    except Invalid as exc:
        raise error(f"{path}.suite", "unknown", exc.detail) from None
    if value.get("kid") not in (None, kid_text(key_id(anchor))):
        raise error(f"{path}.kid", "mismatch", "does not match the anchor's key")
    return anchor
