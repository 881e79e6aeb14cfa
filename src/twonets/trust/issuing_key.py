"""One issuing key of a region: its suite, key id, signing window, status and certificates, and
its JSON form. :mod:`twonets.trust.keys` keeps a region's keys together (the keyring)."""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

from cryptography import x509

from twonets.core.errors import Invalid
from twonets.trust.certificates import (
    KID_BYTES,
    certificate_der,
    certificate_kid,
    certificate_public_key,
    check_issued_by,
    load_certificate,
)
from twonets.trust.errors import (
    InvalidCertificate,
    InvalidKey,
    NoSigningKey,
    UnknownSuite,
)
from twonets.trust.suites import (
    PrivateKey,
    PublicKey,
    SignatureSuite,
    describe_key,
    get_suite,
    suite_for_key,
)

DEFAULT_KEY_LIFETIME = timedelta(days=2 * 365)
_REGION = re.compile(r"[A-Z][A-Z0-9]{1,7}", re.ASCII)


class KeyStatus(StrEnum):
    """Where a key is in its life: signing, verifying only, or never again."""

    ACTIVE = "active"
    RETIRED = "retired"
    REVOKED = "revoked"


def check_region(region: object, field_name: str = "region") -> str:
    """``region`` if it is a region code such as "SH" (2 to 8 upper-case letters or digits)."""
    if not isinstance(region, str) or not _REGION.fullmatch(region):
        raise Invalid.field(
            field_name,
            "region-code",
            f"expected a region code such as 'SH' (2-8 upper-case letters or digits), "
            f"got {region!r}",
        )
    return region


def key_id(public_key: PublicKey) -> bytes:
    """The key id of a bare key: the first 8 bytes of SHA-256 of its SubjectPublicKeyInfo DER."""
    spki = suite_for_key(public_key).public_bytes(public_key, "DER")
    return hashlib.sha256(spki).digest()[:KID_BYTES]


def kid_text(kid: bytes) -> str:
    """A key id as it appears in JSON and JWS headers: standard base64 (12 characters)."""
    return base64.b64encode(kid).decode("ascii")


def format_time(moment: datetime) -> str:
    """An instant as ISO 8601 in UTC with a "Z", as the JSON documents of this package write it."""
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _aware(moment: datetime, name: str) -> None:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{name} must carry a time zone")


@dataclass(frozen=True)
class IssuingKey:
    """One issuing key of a region; ``private_key`` is present only where it signs."""

    region: str
    suite: str
    kid: bytes
    public_key: PublicKey
    not_before: datetime
    not_after: datetime
    status: KeyStatus = KeyStatus.ACTIVE
    private_key: PrivateKey | None = field(default=None, compare=False)
    certificates: tuple[x509.Certificate, ...] = ()

    def __post_init__(self) -> None:
        check_region(self.region)
        suite = get_suite(self.suite)
        if len(self.kid) != KID_BYTES:
            raise ValueError(f"a key id is {KID_BYTES} bytes, got {len(self.kid)}")
        _aware(self.not_before, "not_before")
        _aware(self.not_after, "not_after")
        if self.not_after <= self.not_before:
            raise ValueError("not_after must be later than not_before")
        if not suite.owns(self.public_key):
            raise InvalidKey(
                f"the public key is {describe_key(self.public_key)}, "
                f"not a key of suite {self.suite}"
            )
        object.__setattr__(self, "status", KeyStatus(self.status))
        if self.private_key is not None and suite.public_bytes(
            self.private_key.public_key()
        ) != suite.public_bytes(self.public_key):
            raise InvalidKey(f"the private key of {self.label} does not match its public key")

    def __hash__(self) -> int:
        # cryptography's Ed25519 keys compare but do not hash: hash what identifies the key.
        return hash((self.region, self.suite, self.kid, self.status))

    def __repr__(self) -> str:
        # Never the private key: only whether there is one.
        return (
            f"IssuingKey(region={self.region!r}, suite={self.suite!r}, kid={kid_text(self.kid)!r}, "
            f"status={self.status.value!r}, not_before={format_time(self.not_before)!r}, "
            f"not_after={format_time(self.not_after)!r}, "
            f"private={'yes' if self.private_key is not None else 'no'}, "
            f"certificate={'yes' if self.certificates else 'no'})"
        )

    @property
    def label(self) -> str:
        """How messages name this key: "key <kid> of <region>"."""
        return f"key {kid_text(self.kid)} of {self.region}"

    @property
    def signature_suite(self) -> SignatureSuite:
        """The suite object of this key."""
        return get_suite(self.suite)

    @property
    def certificate(self) -> x509.Certificate | None:
        """The key's own certificate, if it was published as one."""
        return self.certificates[0] if self.certificates else None

    def spki(self) -> bytes:
        """The SubjectPublicKeyInfo DER of the public key."""
        return self.signature_suite.public_bytes(self.public_key, "DER")

    def in_validity(self, now: datetime) -> bool:
        """Whether ``now`` lies in [not_before, not_after)."""
        return self.not_before <= now < self.not_after

    def may_verify(self, now: datetime) -> bool:
        """Whether the key verifies at ``now``: not revoked, and within its validity."""
        return self.status is not KeyStatus.REVOKED and self.in_validity(now)

    def may_sign(self, now: datetime, *, valid_for: timedelta = timedelta(0)) -> bool:
        """Whether the key signs at ``now`` and will still verify for ``valid_for`` after it."""
        return (
            self.status is KeyStatus.ACTIVE
            and self.private_key is not None
            and self.in_validity(now)
            and now + valid_for <= self.not_after
        )

    def why_not_verifying(self, now: datetime) -> str | None:
        """Why the key does not verify at ``now`` (None when it does)."""
        if self.status is KeyStatus.REVOKED:
            return f"{self.label} is revoked"
        if now < self.not_before:
            return f"{self.label} is not valid before {format_time(self.not_before)}"
        if now >= self.not_after:
            return f"{self.label} expired at {format_time(self.not_after)}"
        return None

    def verify(self, message: bytes, signature: bytes, now: datetime) -> bool:
        """Whether the key may verify at ``now`` and the signature is valid under it."""
        return self.may_verify(now) and self.signature_suite.verify(
            self.public_key, message, signature
        )

    def sign(self, message: bytes, now: datetime) -> bytes:
        """Sign ``message``; refused unless the key is active, valid and holds its private key."""
        if self.private_key is None:
            raise NoSigningKey(f"{self.label} holds no private key (a verifier's copy)")
        if not self.may_sign(now):
            reason = self.why_not_verifying(now) or f"{self.label} is {self.status.value}"
            raise NoSigningKey(f"{reason}: it may not sign")
        return self.signature_suite.sign(self.private_key, message)

    def public_only(self) -> IssuingKey:
        """This key without its private half, as verifiers and trust lists hold it."""
        return replace(self, private_key=None)

    def with_status(self, status: KeyStatus) -> IssuingKey:
        """This key with another status."""
        return replace(self, status=status)

    @classmethod
    def generate(
        cls,
        region: str,
        suite: str | SignatureSuite,
        now: datetime,
        *,
        lifetime: timedelta = DEFAULT_KEY_LIFETIME,
    ) -> IssuingKey:
        """A fresh active key, valid from ``now`` for ``lifetime``, with a bare-key id."""
        chosen = get_suite(suite) if isinstance(suite, str) else suite
        private = chosen.generate()
        public = private.public_key()
        return cls(
            region=region,
            suite=chosen.name,
            kid=key_id(public),
            public_key=public,
            not_before=now,
            not_after=now + lifetime,
            private_key=private,
        )

    @classmethod
    def from_certificate(
        cls,
        region: str,
        certificate: x509.Certificate,
        *,
        chain: Sequence[x509.Certificate] = (),
        status: KeyStatus = KeyStatus.ACTIVE,
        private_key: PrivateKey | None = None,
    ) -> IssuingKey:
        """The key of a signing certificate, with the HCERT key id and the certificate's dates."""
        public = certificate_public_key(certificate)
        return cls(
            region=region,
            suite=suite_for_key(public).name,
            kid=certificate_kid(certificate),
            public_key=public,
            not_before=certificate.not_valid_before_utc,
            not_after=certificate.not_valid_after_utc,
            status=status,
            private_key=private_key,
            certificates=(certificate, *chain),
        )

    def to_json(self) -> dict[str, Any]:
        """The public description of the key, as trust lists and keyrings carry it."""
        entry: dict[str, Any] = {"kid": kid_text(self.kid), "suite": self.suite}
        if self.certificates:
            entry["x5c"] = [
                base64.b64encode(certificate_der(c)).decode("ascii") for c in self.certificates
            ]
        else:
            entry["spki"] = base64.b64encode(self.spki()).decode("ascii")
        entry["not_before"] = format_time(self.not_before)
        entry["not_after"] = format_time(self.not_after)
        entry["status"] = self.status.value
        return entry


ErrorFactory = Callable[[str, str, str], Invalid]


def parse_time(value: object, path: str, error: ErrorFactory) -> datetime:
    """An ISO 8601 instant with a time zone, or the error ``error`` builds for ``path``."""
    if not isinstance(value, str):
        raise error(path, "type", f"expected an ISO 8601 time as a string, got {value!r}")
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise error(path, "format", f"not an ISO 8601 time: {value!r}") from None
    if moment.tzinfo is None:
        raise error(path, "time-zone", f"the time {value!r} carries no time zone")
    return moment


def _b64(value: object, path: str, error: ErrorFactory) -> bytes:
    if not isinstance(value, str) or not value:
        raise error(path, "type", "expected a non-empty base64 string")
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise error(path, "base64", "not valid base64") from None


_KEY_FIELDS = frozenset({"kid", "suite", "spki", "x5c", "not_before", "not_after", "status"})


def key_from_json(
    region: str,
    entry: object,
    path: str,
    error: ErrorFactory = Invalid.field,
    *,
    extra_fields: frozenset[str] = frozenset(),
) -> IssuingKey:
    """An ``IssuingKey`` (public only) from its JSON description, with precise field errors.

    The key id must be the one derived from the key (or from ``x5c[0]``); each certificate
    of ``x5c`` must have been issued by the next one.
    """
    if not isinstance(entry, Mapping):
        raise error(path, "type", "expected a JSON object")
    unknown = sorted(set(entry) - _KEY_FIELDS - extra_fields)
    if unknown:
        raise error(f"{path}.{unknown[0]}", "unknown", "unknown field")
    kid = _b64(entry.get("kid"), f"{path}.kid", error)
    if len(kid) != KID_BYTES:
        raise error(f"{path}.kid", "length", f"a key id is {KID_BYTES} bytes, got {len(kid)}")
    name = entry.get("suite")
    if not isinstance(name, str):
        raise error(f"{path}.suite", "type", f"expected a suite name, got {name!r}")
    try:
        suite = get_suite(name)
    except UnknownSuite as exc:
        raise error(f"{path}.suite", "unknown", exc.errors[0].detail) from None
    if ("spki" in entry) == ("x5c" in entry):
        raise error(path, "key", "give exactly one of 'spki' and 'x5c'")
    certificates: tuple[x509.Certificate, ...] = ()
    if "spki" in entry:
        spki = _b64(entry["spki"], f"{path}.spki", error)
        try:
            public = suite.load_public(spki)
        except InvalidKey as exc:
            raise error(f"{path}.spki", "key", exc.detail) from None
        expected = hashlib.sha256(spki).digest()[:KID_BYTES]
        source = "the spki"
    else:
        chain = entry["x5c"]
        if not isinstance(chain, list) or not chain:
            raise error(f"{path}.x5c", "type", "expected a non-empty list of base64 DER")
        loaded = []
        for i, item in enumerate(chain):
            try:
                loaded.append(load_certificate(_b64(item, f"{path}.x5c[{i}]", error)))
            except InvalidCertificate as exc:
                raise error(f"{path}.x5c[{i}]", "certificate", exc.detail) from None
        for i in range(len(loaded) - 1):
            try:
                check_issued_by(loaded[i], loaded[i + 1])
            except InvalidCertificate as exc:
                raise error(f"{path}.x5c[{i}]", "chain", exc.detail) from None
        certificates = tuple(loaded)
        try:
            public = certificate_public_key(certificates[0])
        except InvalidCertificate as exc:
            raise error(f"{path}.x5c[0]", "certificate", exc.detail) from None
        if not suite.owns(public):
            raise error(
                f"{path}.suite",
                "mismatch",
                f"the certificate holds a key of {suite_for_key(public).name}, not {suite.name}",
            )
        expected = certificate_kid(certificates[0])
        source = "x5c[0]"
    if kid != expected:
        raise error(
            f"{path}.kid",
            "mismatch",
            f"does not match the key: expected {kid_text(expected)} "
            f"(first {KID_BYTES} bytes of SHA-256 of {source}), got {kid_text(kid)}",
        )
    not_before = parse_time(entry.get("not_before"), f"{path}.not_before", error)
    not_after = parse_time(entry.get("not_after"), f"{path}.not_after", error)
    if not_after <= not_before:
        raise error(f"{path}.not_after", "order", "must be later than not_before")
    status = entry.get("status")
    if not isinstance(status, str) or status not in {s.value for s in KeyStatus}:
        allowed = ", ".join(s.value for s in KeyStatus)
        raise error(f"{path}.status", "choice", f"expected one of {allowed}, got {status!r}")
    return IssuingKey(
        region=region,
        suite=suite.name,
        kid=kid,
        public_key=public,
        not_before=not_before,
        not_after=not_after,
        status=KeyStatus(str(status)),
        certificates=certificates,
    )
