"""Issuing keys of a region, their rotation, and their storage with private keys encrypted.

Every region signs with its own keys. A key is active (it may sign), retired (it no longer
signs but still verifies until its ``not_after``, so credentials issued under it keep
working), or revoked (it never verifies again, whatever its dates). ``rotate`` makes a new
key and retires the active ones: the newest active key signs, older ones verify.

Key ids are 8 bytes: for a bare key the first 8 bytes of the SHA-256 of its
SubjectPublicKeyInfo DER; for a certificate, as in HCERT, of the certificate's DER. Eight
bytes can collide (by accident, or because a region lists another's certificate), so every
lookup by key id answers a list and callers try each key.

Stored keyrings hold private keys as encrypted PKCS#8 PEM (PBES2, AES-256-CBC). Each key's
passphrase is derived, never stored: HKDF-SHA256 of the deployment's root secret with the
region, suite and key id as context, so one root secret (kept in the secret store, like the
one of ``governance.sealing``) opens every key and a key moved to another id does not open.
The JSON itself is not signed: whoever can write the store can change a key's status, so it
lives where only the issuing service writes.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from twonets.core.errors import Conflict, Invalid
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
    InvalidKeyring,
    KeyNotFound,
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
KEYRING_FORMAT = "twonets-keyring"
KEYRING_VERSION = 1
HKDF_SALT = b"twonets-trust-keys"
# As in governance.sealing: shorter cannot carry the 128 bits the derived keys promise.
MIN_ROOT_SECRET_BYTES = 16

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


def _check_root_secret(root_secret: bytes) -> None:
    if not isinstance(root_secret, bytes):
        raise TypeError("the root secret must be bytes")
    if len(root_secret) < MIN_ROOT_SECRET_BYTES:
        raise ValueError(
            f"the root secret must be at least {MIN_ROOT_SECRET_BYTES} bytes "
            f"(32 random bytes recommended), got {len(root_secret)}"
        )


def key_passphrase(root_secret: bytes, key: IssuingKey) -> bytes:
    """The PKCS#8 passphrase of one key: HKDF-SHA256 of the root secret, as url-safe base64."""
    _check_root_secret(root_secret)
    info = f"issuing-key:{key.region}:{key.suite}:{key.kid.hex()}".encode()
    hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=HKDF_SALT, info=info)
    return base64.urlsafe_b64encode(hkdf.derive(root_secret)).rstrip(b"=")


class RegionKeyring:
    """The issuing keys of one region: generation, rotation, signing and verification keys."""

    __slots__ = ("_keys", "region")

    def __init__(self, region: str, keys: Iterable[IssuingKey] = ()) -> None:
        self.region = check_region(region)
        self._keys: list[IssuingKey] = []
        for key in keys:
            self.add(key)

    def __repr__(self) -> str:
        listed = ", ".join(f"{kid_text(k.kid)}:{k.suite}:{k.status.value}" for k in self._keys)
        return f"RegionKeyring(region={self.region!r}, keys=[{listed}])"

    def __len__(self) -> int:
        return len(self._keys)

    @property
    def keys(self) -> tuple[IssuingKey, ...]:
        """Every key, oldest first."""
        return tuple(self._keys)

    def add(self, key: IssuingKey) -> IssuingKey:
        """Add a key (a generated one, or one of a certificate); the region must match."""
        if key.region != self.region:
            raise Invalid.field(
                "region", "mismatch", f"{key.label} cannot join the keyring of {self.region}"
            )
        if any(k.kid == key.kid and k.spki() == key.spki() for k in self._keys):
            raise Conflict(f"{key.label} is already in the keyring")
        self._keys.append(key)
        return key

    def generate(
        self,
        suite: str | SignatureSuite,
        now: datetime,
        *,
        lifetime: timedelta = DEFAULT_KEY_LIFETIME,
    ) -> IssuingKey:
        """Make a new active key beside the others (it signs from now on, being the newest)."""
        return self.add(IssuingKey.generate(self.region, suite, now, lifetime=lifetime))

    def rotate(
        self,
        suite: str | SignatureSuite,
        now: datetime,
        *,
        lifetime: timedelta = DEFAULT_KEY_LIFETIME,
    ) -> IssuingKey:
        """Make a new key that signs, and retire the active ones: they verify until not_after."""
        new = IssuingKey.generate(self.region, suite, now, lifetime=lifetime)
        self._keys = [
            k.with_status(KeyStatus.RETIRED) if k.status is KeyStatus.ACTIVE else k
            for k in self._keys
        ]
        return self.add(new)

    def _one(self, which: IssuingKey | bytes) -> int:
        if isinstance(which, IssuingKey):
            matches = [
                i
                for i, k in enumerate(self._keys)
                if k.kid == which.kid and k.spki() == which.spki()
            ]
            name = which.label
        else:
            matches = [i for i, k in enumerate(self._keys) if k.kid == which]
            name = f"key {kid_text(which)} of {self.region}"
        if not matches:
            raise KeyNotFound(f"{name} is not in the keyring")
        if len(matches) > 1:
            raise Invalid.field(
                "kid", "ambiguous", f"{name} names {len(matches)} keys; pass the key itself"
            )
        return matches[0]

    def _set_status(self, which: IssuingKey | bytes, status: KeyStatus) -> IssuingKey:
        index = self._one(which)
        key = self._keys[index]
        if key.status is KeyStatus.REVOKED and status is not KeyStatus.REVOKED:
            raise Conflict(f"{key.label} is revoked; a revoked key never comes back")
        self._keys[index] = key.with_status(status)
        return self._keys[index]

    def retire(self, which: IssuingKey | bytes) -> IssuingKey:
        """Stop a key signing; it still verifies until its not_after."""
        return self._set_status(which, KeyStatus.RETIRED)

    def revoke(self, which: IssuingKey | bytes) -> IssuingKey:
        """Revoke a key: it never signs nor verifies again."""
        return self._set_status(which, KeyStatus.REVOKED)

    def signing_key(self, now: datetime, *, valid_for: timedelta = timedelta(0)) -> IssuingKey:
        """The newest active key that may sign at ``now`` and verifies for ``valid_for`` more."""
        candidates = [k for k in self._keys if k.may_sign(now, valid_for=valid_for)]
        if not candidates:
            lasting = f" and verifies until {format_time(now + valid_for)}" if valid_for else ""
            raise NoSigningKey(
                f"region {self.region} has no active key with a private key that is valid at "
                f"{format_time(now)}{lasting}; generate or rotate one"
            )
        # max() keeps the first of equals; reversing makes the last added win a tie.
        return max(reversed(candidates), key=lambda k: k.not_before)

    def verification_keys(self, kid: bytes, now: datetime | None = None) -> list[IssuingKey]:
        """Every unrevoked key with this id (ids can collide: try each); at ``now`` if given."""
        return [
            k
            for k in self._keys
            if k.kid == kid
            and k.status is not KeyStatus.REVOKED
            and (now is None or k.in_validity(now))
        ]

    def verify(
        self, kid: bytes, message: bytes, signature: bytes, now: datetime
    ) -> IssuingKey | None:
        """The key with id ``kid`` under which ``signature`` verifies at ``now``, or None."""
        for key in self.verification_keys(kid, now):
            if key.signature_suite.verify(key.public_key, message, signature):
                return key
        return None

    def to_json(self, root_secret: bytes | None = None) -> dict[str, Any]:
        """The keyring as JSON; private keys encrypted under the root secret, or left out."""
        keys = []
        for key in self._keys:
            entry = key.to_json()
            if root_secret is not None and key.private_key is not None:
                passphrase = key_passphrase(root_secret, key)
                pem = key.signature_suite.private_bytes(key.private_key, passphrase)
                entry["private_key"] = pem.decode("ascii")
            keys.append(entry)
        return {
            "format": KEYRING_FORMAT,
            "version": KEYRING_VERSION,
            "region": self.region,
            "keys": keys,
        }

    @classmethod
    def from_json(cls, data: object, root_secret: bytes | None = None) -> RegionKeyring:
        """A keyring from ``to_json``; private keys need the root secret they were stored under."""
        error: ErrorFactory = InvalidKeyring.field
        if not isinstance(data, Mapping):
            raise error("keyring", "type", "expected a JSON object")
        if data.get("format") != KEYRING_FORMAT or data.get("version") != KEYRING_VERSION:
            raise error(
                "format",
                "version",
                f"expected format {KEYRING_FORMAT!r} version {KEYRING_VERSION}, "
                f"got {data.get('format')!r} version {data.get('version')!r}",
            )
        try:
            region = check_region(data.get("region"))
        except Invalid as exc:
            raise error("region", "region-code", exc.errors[0].detail) from None
        entries = data.get("keys")
        if not isinstance(entries, list):
            raise error("keys", "type", "expected a list")
        keyring = cls(region)
        for i, entry in enumerate(entries):
            key = key_from_json(
                region, entry, f"keys[{i}]", error, extra_fields=frozenset({"private_key"})
            )
            assert isinstance(entry, Mapping)
            pem = entry.get("private_key")
            if pem is not None:
                key = _open_private(key, pem, root_secret, f"keys[{i}].private_key")
            try:
                keyring.add(key)
            except Conflict:
                raise error(f"keys[{i}]", "duplicate", f"{key.label} appears twice") from None
        return keyring


def _open_private(key: IssuingKey, pem: object, root_secret: bytes | None, path: str) -> IssuingKey:
    if not isinstance(pem, str):
        raise InvalidKeyring.field(path, "type", "expected encrypted PKCS#8 PEM text")
    if root_secret is None:
        raise InvalidKeyring.field(
            path, "root-secret", "is encrypted; pass the root secret to open it"
        )
    try:
        private = key.signature_suite.load_private(
            pem.encode("ascii"), key_passphrase(root_secret, key)
        )
    except InvalidKey:
        raise InvalidKeyring.field(
            path, "decrypt", "cannot be decrypted (wrong root secret or altered data)"
        ) from None
    except UnicodeEncodeError:
        raise InvalidKeyring.field(path, "format", "is not PEM text") from None
    try:
        return replace(key, private_key=private)
    except InvalidKey:
        raise InvalidKeyring.field(
            path, "mismatch", f"does not match the public key of {key.label}"
        ) from None
