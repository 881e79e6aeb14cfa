"""The errors of the trust package, each a subclass of the one error tree in core.errors.

Messages name the region, the key id or the field at fault and never hold key material.
"""

from __future__ import annotations

from twonets.core.errors import ConfigurationError, Conflict, Forbidden, Invalid, NotFound


class UnknownSuite(Invalid):
    """A signature suite name that the registry does not know."""

    slug = "trust-unknown-suite"


class SuiteUnavailable(ConfigurationError):
    """A known suite whose library is not installed in this deployment."""

    slug = "trust-suite-unavailable"
    title = "Signature suite unavailable"


class InvalidKey(Invalid):
    """Key bytes that cannot be read, or a key of the wrong type for its suite."""

    slug = "trust-invalid-key"


class InvalidCertificate(Invalid):
    """Certificate bytes that cannot be read, or a certificate with an unsupported key."""

    slug = "trust-invalid-certificate"


class InvalidKeyring(Invalid):
    """A serialised keyring that is malformed or whose private keys cannot be opened."""

    slug = "trust-invalid-keyring"


class NoSigningKey(NotFound):
    """A region has no key that may sign now."""

    slug = "trust-no-signing-key"


class KeyNotFound(NotFound):
    """No key with the given key id."""

    slug = "trust-key-not-found"


class InvalidTrustList(Invalid):
    """A trust list that is not well formed: not a compact JWS, bad JSON, a bad field."""

    slug = "trust-invalid-trust-list"


class UntrustedTrustList(Forbidden):
    """A well-formed trust list that must not be trusted (base of the reasons below)."""

    slug = "trust-untrusted-trust-list"


class BadSignature(UntrustedTrustList):
    """The trust list's signature does not verify under the region's anchor key."""

    slug = "trust-bad-signature"


class StaleTrustList(UntrustedTrustList):
    """The trust list's ``next_update`` has passed (or it claims to be issued in the future)."""

    slug = "trust-stale-trust-list"


class WrongRegion(UntrustedTrustList):
    """The trust list belongs to another region than the one expected."""

    slug = "trust-wrong-region"


class Rollback(UntrustedTrustList):
    """The trust list is older (lower sequence) than the one already held, or forks it."""

    slug = "trust-rollback"


class RegionNotTrusted(NotFound):
    """The trust store holds no list for this region."""

    slug = "trust-region-not-trusted"


class RegionAlreadyTrusted(Conflict):
    """The trust store already holds this region; update or drop it instead."""

    slug = "trust-region-already-trusted"


class SignatureRejected(Forbidden):
    """A signature that no trusted, unrevoked, current key verifies."""

    slug = "trust-signature-rejected"
