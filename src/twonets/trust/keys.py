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
from collections.abc import Iterable, Mapping
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from twonets.core.errors import Conflict, Invalid
from twonets.trust.errors import (
    InvalidKey,
    InvalidKeyring,
    KeyNotFound,
    NoSigningKey,
)
from twonets.trust.issuing_key import (
    DEFAULT_KEY_LIFETIME,
    ErrorFactory,
    IssuingKey,
    KeyStatus,
    check_region,
    format_time,
    key_from_json,
    key_id,
    kid_text,
    parse_time,
)
from twonets.trust.suites import (
    SignatureSuite,
)

KEYRING_FORMAT = "twonets-keyring"
KEYRING_VERSION = 1
HKDF_SALT = b"twonets-trust-keys"
# As in governance.sealing: shorter cannot carry the 128 bits the derived keys promise.
MIN_ROOT_SECRET_BYTES = 16


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


__all__ = [
    "DEFAULT_KEY_LIFETIME",
    "HKDF_SALT",
    "KEYRING_FORMAT",
    "KEYRING_VERSION",
    "MIN_ROOT_SECRET_BYTES",
    "ErrorFactory",
    "IssuingKey",
    "KeyStatus",
    "RegionKeyring",
    "check_region",
    "format_time",
    "key_from_json",
    "key_id",
    "key_passphrase",
    "kid_text",
    "parse_time",
]
