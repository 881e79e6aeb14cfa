"""Tests for issuing keys, rotation and keyring storage in twonets.trust.keys."""

from __future__ import annotations

import base64
import copy
import hashlib
import json
import logging
import re
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.x509.oid import NameOID
from hypothesis import given, settings
from hypothesis import strategies as st

from twonets.core.errors import Conflict, Invalid
from twonets.trust.certificates import make_region_ca
from twonets.trust.errors import InvalidKey, InvalidKeyring, KeyNotFound, NoSigningKey
from twonets.trust.keys import (
    IssuingKey,
    KeyStatus,
    RegionKeyring,
    check_region,
    key_id,
    key_passphrase,
    kid_text,
)
from twonets.trust.suites import EDDSA, ES256, SM2PrivateKey

NOW = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
YEAR = timedelta(days=365)
ROOT = bytes(range(32))
OTHER_ROOT = bytes(range(1, 33))
MESSAGE = "沪 licence 0001".encode()

KeyringMaker = Callable[..., RegionKeyring]


def raises(kind: type[Exception], message: str) -> AbstractContextManager[Any]:
    """``pytest.raises`` of ``kind`` whose message is exactly ``message``."""
    return pytest.raises(kind, match=f"^{re.escape(message)}$")


def test_kid_of_a_bare_key_is_sha256_of_its_spki() -> None:
    public = ES256.generate().public_key()
    spki = public.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    assert key_id(public) == hashlib.sha256(spki).digest()[:8]
    assert len(kid_text(key_id(public))) == 12


def test_rotation_new_key_signs_old_verifies_until_its_not_after() -> None:
    keyring = RegionKeyring("SH")
    old = keyring.generate("ES256", NOW, lifetime=YEAR)
    signed_before = keyring.signing_key(NOW).sign(MESSAGE, NOW)

    later = NOW + timedelta(days=90)
    new = keyring.rotate("EdDSA", later, lifetime=YEAR)
    assert keyring.signing_key(later) == new
    assert new.suite == "EdDSA"
    retired = keyring.verification_keys(old.kid)[0]
    assert retired.status is KeyStatus.RETIRED
    # The old key no longer signs ...
    with raises(NoSigningKey, f"key {kid_text(old.kid)} of SH is retired: it may not sign"):
        retired.sign(MESSAGE, later)
    # ... but what it signed still verifies, up to (not including) its not_after.
    assert keyring.verify(old.kid, MESSAGE, signed_before, later) == retired
    last_moment = old.not_after - timedelta(microseconds=1)
    assert keyring.verify(old.kid, MESSAGE, signed_before, last_moment) == retired
    assert keyring.verify(old.kid, MESSAGE, signed_before, old.not_after) is None
    # The new key's signatures verify under the new key only.
    signed_after = keyring.signing_key(later).sign(MESSAGE, later)
    assert keyring.verify(new.kid, MESSAGE, signed_after, later) == new
    assert keyring.verify(old.kid, MESSAGE, signed_after, later) is None


def test_a_revoked_key_never_verifies() -> None:
    keyring = RegionKeyring("SH")
    key = keyring.generate("ES256", NOW)
    signature = key.sign(MESSAGE, NOW)
    revoked = keyring.revoke(key.kid)
    assert revoked.status is KeyStatus.REVOKED
    assert keyring.verify(key.kid, MESSAGE, signature, NOW) is None
    assert keyring.verification_keys(key.kid) == []
    assert not revoked.verify(MESSAGE, signature, NOW)
    with raises(NoSigningKey, f"key {kid_text(key.kid)} of SH is revoked: it may not sign"):
        revoked.sign(MESSAGE, NOW)
    with raises(
        Conflict, f"key {kid_text(key.kid)} of SH is revoked; a revoked key never comes back"
    ):
        keyring.retire(key.kid)


def test_the_newest_active_key_signs() -> None:
    keyring = RegionKeyring("SH")
    keyring.generate("ES256", NOW)
    newer = keyring.generate("EdDSA", NOW + timedelta(hours=1))
    assert keyring.signing_key(NOW + timedelta(hours=2)) == newer
    # Before the newer key is valid, the older one signs.
    assert keyring.signing_key(NOW).suite == "ES256"


def test_signing_key_can_demand_a_verification_period() -> None:
    keyring = RegionKeyring("SH")
    keyring.generate("ES256", NOW, lifetime=YEAR)
    assert keyring.signing_key(NOW, valid_for=YEAR - timedelta(days=1))
    with raises(
        NoSigningKey,
        "region SH has no active key with a private key that is valid at 2026-11-30T09:00:00Z "
        "and verifies until 2027-12-01T09:00:00Z; generate or rotate one",
    ):
        keyring.signing_key(NOW, valid_for=YEAR + timedelta(days=1))


def test_an_empty_keyring_has_no_signing_key() -> None:
    with raises(
        NoSigningKey,
        "region SH has no active key with a private key that is valid at "
        "2026-11-30T09:00:00Z; generate or rotate one",
    ) as caught:
        RegionKeyring("SH").signing_key(NOW)
    assert caught.value.status == 404


def test_a_verifiers_copy_cannot_sign() -> None:
    key = IssuingKey.generate("SH", "ES256", NOW).public_only()
    with raises(
        NoSigningKey, f"key {kid_text(key.kid)} of SH holds no private key (a verifier's copy)"
    ):
        key.sign(MESSAGE, NOW)


def test_a_key_outside_its_dates_neither_signs_nor_verifies() -> None:
    key = IssuingKey.generate("SH", "ES256", NOW, lifetime=YEAR)
    signature = key.sign(MESSAGE, NOW)
    before = NOW - timedelta(seconds=1)
    assert not key.verify(MESSAGE, signature, before)
    assert key.why_not_verifying(before) == (
        f"key {kid_text(key.kid)} of SH is not valid before 2026-11-30T09:00:00Z"
    )
    with raises(
        NoSigningKey,
        f"key {kid_text(key.kid)} of SH expired at 2027-11-30T09:00:00Z: it may not sign",
    ):
        key.sign(MESSAGE, NOW + YEAR)


def _twin(key: IssuingKey, suite: str = "ES256") -> IssuingKey:
    """Another key that happens to carry the same key id (8 bytes can collide)."""
    private = ES256.generate() if suite == "ES256" else EDDSA.generate()
    return IssuingKey(
        region=key.region,
        suite=suite,
        kid=key.kid,
        public_key=private.public_key(),
        not_before=key.not_before,
        not_after=key.not_after,
        private_key=private,
    )


def test_colliding_kids_return_every_key_and_the_right_one_verifies() -> None:
    keyring = RegionKeyring("SH")
    first = keyring.generate("ES256", NOW)
    second = keyring.add(_twin(first, "EdDSA"))
    assert keyring.verification_keys(first.kid) == [first, second]
    signature = second.sign(MESSAGE, NOW)
    assert keyring.verify(first.kid, MESSAGE, signature, NOW) == second
    with raises(Invalid, f"kid: key {kid_text(first.kid)} of SH names 2 keys; pass the key itself"):
        keyring.revoke(first.kid)
    # Passing the key itself is not ambiguous.
    keyring.revoke(first)
    assert keyring.verification_keys(first.kid) == [second]


def test_keys_of_another_region_or_twice_are_refused() -> None:
    keyring = RegionKeyring("SH")
    foreign = IssuingKey.generate("JS", "ES256", NOW)
    with raises(
        Invalid, f"region: key {kid_text(foreign.kid)} of JS cannot join the keyring of SH"
    ):
        keyring.add(foreign)
    key = keyring.generate("ES256", NOW)
    with raises(Conflict, f"key {kid_text(key.kid)} of SH is already in the keyring"):
        keyring.add(key)
    with raises(KeyNotFound, "key AAAAAAAAAAA= of SH is not in the keyring"):
        keyring.retire(bytes(8))


@pytest.mark.parametrize("code", ["sh", "S", "SHANGHAI1", "S H", "沪", 31])
def test_region_codes_are_upper_case_codes(code: object) -> None:
    with raises(
        Invalid,
        "region: expected a region code such as 'SH' (2-8 upper-case letters or digits), "
        f"got {code!r}",
    ):
        check_region(code)


def test_key_validation_of_construction() -> None:
    key = IssuingKey.generate("SH", "ES256", NOW)
    with pytest.raises(ValueError, match="not_after must be later than not_before"):
        replace(key, not_after=key.not_before)
    with pytest.raises(ValueError, match="not_before must carry a time zone"):
        replace(key, not_before=datetime(2026, 1, 1))
    with pytest.raises(ValueError, match="a key id is 8 bytes, got 7"):
        replace(key, kid=bytes(7))
    label = f"key {kid_text(key.kid)} of SH"
    with raises(InvalidKey, f"the private key of {label} does not match its public key"):
        replace(key, private_key=ES256.generate())
    with raises(InvalidKey, "the public key is EC P-256, not a key of suite EdDSA"):
        replace(key, suite="EdDSA")


def test_json_round_trip_with_encrypted_private_keys() -> None:
    keyring = RegionKeyring("SH")
    old = keyring.generate("ES256", NOW)
    old_signature = old.sign(MESSAGE, NOW)
    keyring.rotate("EdDSA", NOW + timedelta(days=1))
    document = json.loads(json.dumps(keyring.to_json(ROOT)))
    assert document["format"] == "twonets-keyring"
    assert all(
        entry["private_key"].startswith("-----BEGIN ENCRYPTED PRIVATE KEY-----")
        for entry in document["keys"]
    )
    loaded = RegionKeyring.from_json(document, ROOT)
    assert loaded.keys == keyring.keys
    later = NOW + timedelta(days=2)
    assert loaded.verify(old.kid, MESSAGE, old_signature, later) is not None
    fresh = loaded.signing_key(later).sign(MESSAGE, later)
    assert keyring.verify(loaded.signing_key(later).kid, MESSAGE, fresh, later) is not None


def test_private_key_passphrase_is_hkdf_of_the_root_secret() -> None:
    keyring = RegionKeyring("SH")
    key = keyring.generate("ES256", NOW)
    pem = keyring.to_json(ROOT)["keys"][0]["private_key"]
    info = f"issuing-key:SH:ES256:{key.kid.hex()}".encode()
    derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=b"twonets-trust-keys", info=info)
    passphrase = base64.urlsafe_b64encode(derived.derive(ROOT)).rstrip(b"=")
    opened = serialization.load_pem_private_key(pem.encode(), password=passphrase)
    assert key_id(opened.public_key()) == key.kid  # type: ignore[arg-type]


def test_without_the_root_secret_only_public_keys_are_written() -> None:
    keyring = RegionKeyring("SH")
    key = keyring.generate("ES256", NOW)
    document = keyring.to_json()
    assert "private_key" not in document["keys"][0]
    loaded = RegionKeyring.from_json(document)
    assert loaded.keys == (key,)
    assert loaded.keys[0].private_key is None
    with raises(
        NoSigningKey,
        "region SH has no active key with a private key that is valid at "
        "2026-11-30T09:00:00Z; generate or rotate one",
    ):
        loaded.signing_key(NOW)


def test_an_encrypted_key_needs_the_root_secret() -> None:
    keyring = RegionKeyring("SH")
    keyring.generate("ES256", NOW)
    document = keyring.to_json(ROOT)
    with raises(
        InvalidKeyring, "keys[0].private_key: is encrypted; pass the root secret to open it"
    ):
        RegionKeyring.from_json(document)
    with raises(
        InvalidKeyring,
        "keys[0].private_key: cannot be decrypted (wrong root secret or altered data)",
    ):
        RegionKeyring.from_json(document, OTHER_ROOT)


def test_a_private_key_moved_to_another_entry_does_not_open() -> None:
    keyring = RegionKeyring("SH")
    keyring.generate("ES256", NOW)
    keyring.generate("ES256", NOW + timedelta(hours=1))
    document = keyring.to_json(ROOT)
    first, second = document["keys"]
    first["private_key"], second["private_key"] = second["private_key"], first["private_key"]
    with raises(
        InvalidKeyring,
        "keys[0].private_key: cannot be decrypted (wrong root secret or altered data)",
    ):
        RegionKeyring.from_json(document, ROOT)


def test_a_short_root_secret_is_refused() -> None:
    keyring = RegionKeyring("SH")
    keyring.generate("ES256", NOW)
    with pytest.raises(ValueError, match="the root secret must be at least 16 bytes"):
        keyring.to_json(b"short")


_DOCUMENT_KEY = ES256.generate()
_DOCUMENT_KID = kid_text(key_id(_DOCUMENT_KEY.public_key()))


def _valid_document() -> dict[str, Any]:
    """A valid keyring document of one ES256 key (always the same key)."""
    public = _DOCUMENT_KEY.public_key()
    key = IssuingKey(
        region="SH",
        suite="ES256",
        kid=key_id(public),
        public_key=public,
        not_before=NOW,
        not_after=NOW + YEAR,
    )
    return RegionKeyring("SH", [key]).to_json()


def _broken(change: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
    document = copy.deepcopy(_valid_document())
    change(document)
    return document


def _set(path: str, value: object) -> Callable[[dict[str, Any]], None]:
    def change(document: dict[str, Any]) -> None:
        document["keys"][0][path] = value

    return change


BAD_DOCUMENTS: list[tuple[str, Callable[[dict[str, Any]], None], str]] = [
    (
        "format",
        lambda d: d.update(format="other"),
        "format: expected format 'twonets-keyring' version 1, got 'other' version 1",
    ),
    (
        "region",
        lambda d: d.update(region="sh"),
        "region: expected a region code such as 'SH' (2-8 upper-case letters or digits), got 'sh'",
    ),
    ("keys", lambda d: d.update(keys={}), "keys: expected a list"),
    ("entry", lambda d: d.update(keys=[1]), "keys[0]: expected a JSON object"),
    ("kid-base64", _set("kid", "not base64!"), "keys[0].kid: not valid base64"),
    ("kid-length", _set("kid", "AAAA"), "keys[0].kid: a key id is 8 bytes, got 3"),
    (
        "kid-mismatch",
        _set("kid", "AAAAAAAAAAA="),
        "keys[0].kid: does not match the key: expected {kid} (first 8 bytes of SHA-256 of "
        "the spki), got AAAAAAAAAAA=",
    ),
    (
        "suite",
        _set("suite", "RS256"),
        "keys[0].suite: unknown signature suite 'RS256'; known: ES256, EdDSA, SM2-SM3",
    ),
    ("suite-type", _set("suite", 7), "keys[0].suite: expected a suite name, got 7"),
    (
        "suite-mismatch",
        _set("suite", "EdDSA"),
        "keys[0].spki: public key: EdDSA takes an Ed25519 key, got EC P-256",
    ),
    (
        "status",
        _set("status", "lost"),
        "keys[0].status: expected one of active, retired, revoked, got 'lost'",
    ),
    (
        "status-type",
        _set("status", ["active"]),
        "keys[0].status: expected one of active, retired, revoked, got ['active']",
    ),
    (
        "naive-time",
        _set("not_before", "2026-01-01T00:00:00"),
        "keys[0].not_before: the time '2026-01-01T00:00:00' carries no time zone",
    ),
    ("bad-time", _set("not_after", "soon"), "keys[0].not_after: not an ISO 8601 time: 'soon'"),
    (
        "time-order",
        _set("not_after", "2026-01-01T00:00:00Z"),
        "keys[0].not_after: must be later than not_before",
    ),
    ("both", _set("x5c", ["AAAA"]), "keys[0]: give exactly one of 'spki' and 'x5c'"),
    ("unknown-field", _set("colour", "red"), "keys[0].colour: unknown field"),
    (
        "private-type",
        _set("private_key", 5),
        "keys[0].private_key: expected encrypted PKCS#8 PEM text",
    ),
]


@pytest.mark.parametrize(
    ("change", "message"),
    [(change, message) for _, change, message in BAD_DOCUMENTS],
    ids=[name for name, _, _ in BAD_DOCUMENTS],
)
def test_a_broken_keyring_document_names_the_field(
    change: Callable[[dict[str, Any]], None], message: str
) -> None:
    RegionKeyring.from_json(_valid_document())  # unbroken, it loads
    with pytest.raises(InvalidKeyring) as caught:
        RegionKeyring.from_json(_broken(change), ROOT)
    assert caught.value.detail == message.format(kid=_DOCUMENT_KID)
    assert caught.value.status == 422


def test_a_keyring_document_must_be_an_object() -> None:
    with raises(InvalidKeyring, "keyring: expected a JSON object"):
        RegionKeyring.from_json([])


def test_a_duplicated_entry_is_refused() -> None:
    document = _valid_document()
    document["keys"].append(document["keys"][0])
    kid = document["keys"][0]["kid"]
    with raises(InvalidKeyring, f"keys[1]: key {kid} of SH appears twice"):
        RegionKeyring.from_json(document)


def test_repr_and_logs_never_hold_private_keys(
    caplog: pytest.LogCaptureFixture, sm2_example_key: SM2PrivateKey
) -> None:
    keyring = RegionKeyring("SH")
    key = keyring.generate("ES256", NOW)
    sm2 = IssuingKey(
        region="SH",
        suite="SM2-SM3",
        kid=key_id(sm2_example_key.public_key()),
        public_key=sm2_example_key.public_key(),
        not_before=NOW,
        not_after=NOW + YEAR,
        private_key=sm2_example_key,
    )
    assert key.private_key is not None
    clear = key.private_key.private_bytes(
        serialization.Encoding.DER,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    scalar = key.private_key.private_numbers().private_value  # type: ignore[union-attr]
    with caplog.at_level(logging.DEBUG):
        logging.getLogger("twonets.test").info("keys: %r %s %r %s", keyring, key, sm2, [key, sm2])
    shown = caplog.text + repr(keyring) + repr(key) + str(key) + repr(sm2) + repr(keyring.keys)
    secrets = [
        base64.b64encode(clear).decode()[-40:],
        clear.hex()[-40:],
        f"{scalar:x}",
        str(scalar),
        f"{sm2_example_key.scalar:x}",
        str(sm2_example_key.scalar),
        "PRIVATE KEY",
        ROOT.hex(),
    ]
    for secret in secrets:
        assert secret.lower() not in shown.lower()
    assert "private='yes'" not in shown  # says yes/no only
    assert "private=yes" in repr(key)


_POOL = [ES256.generate() for _ in range(3)] + [EDDSA.generate() for _ in range(3)]


@st.composite
def keyrings(draw: st.DrawFn) -> RegionKeyring:
    """A keyring of up to four pooled keys with any statuses and validity windows."""
    region = draw(st.from_regex(r"[A-Z][A-Z0-9]{1,7}", fullmatch=True))
    chosen = draw(st.lists(st.sampled_from(range(len(_POOL))), max_size=4, unique=True))
    keyring = RegionKeyring(region)
    for index in chosen:
        private = _POOL[index]
        start = NOW + timedelta(seconds=draw(st.integers(-(10**8), 10**8)))
        keyring.add(
            IssuingKey(
                region=region,
                suite="ES256" if index < 3 else "EdDSA",
                kid=key_id(private.public_key()),
                public_key=private.public_key(),
                not_before=start,
                not_after=start + timedelta(seconds=draw(st.integers(1, 10**9))),
                status=draw(st.sampled_from(KeyStatus)),
                private_key=private if draw(st.booleans()) else None,
            )
        )
    return keyring


@settings(max_examples=40, deadline=None)
@given(keyring=keyrings(), with_private=st.booleans())
def test_any_keyring_survives_json(keyring: RegionKeyring, with_private: bool) -> None:
    root = ROOT if with_private else None
    loaded = RegionKeyring.from_json(json.loads(json.dumps(keyring.to_json(root))), root)
    assert loaded.region == keyring.region
    assert loaded.keys == keyring.keys
    for before, after in zip(keyring.keys, loaded.keys, strict=True):
        assert (after.private_key is not None) == (with_private and before.private_key is not None)


def _certificate_entry(**changes: Any) -> dict[str, Any]:
    """A keyring document whose one key is published as an ES256 certificate."""
    ca = make_region_ca(region_name="上海市", private_key=_DOCUMENT_KEY, now=NOW)
    document = RegionKeyring("SH", [IssuingKey.from_certificate("SH", ca)]).to_json()
    document["keys"][0].update(changes)
    return document


def test_broken_certificate_entries_name_the_field() -> None:
    RegionKeyring.from_json(_certificate_entry())  # unbroken, it loads
    cases = [
        (_certificate_entry(x5c=[]), "keys[0].x5c: expected a non-empty list of base64 DER"),
        (_certificate_entry(x5c=[5]), "keys[0].x5c[0]: expected a non-empty base64 string"),
        (
            _certificate_entry(x5c=["AAAA"]),
            "keys[0].x5c[0]: certificate: not an X.509 certificate in DER",
        ),
        (
            _certificate_entry(suite="EdDSA"),
            "keys[0].suite: the certificate holds a key of ES256, not EdDSA",
        ),
    ]
    for document, message in cases:
        with raises(InvalidKeyring, message):
            RegionKeyring.from_json(document)


def test_a_certificate_entry_with_an_unsupported_key_names_it() -> None:
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "RSA")])
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(rsa_key.public_key())
        .serial_number(1)
        .not_valid_before(NOW)
        .not_valid_after(NOW + YEAR)
        .sign(rsa_key, hashes.SHA256())
    )
    der = certificate.public_bytes(serialization.Encoding.DER)
    document = _certificate_entry(x5c=[base64.b64encode(der).decode()])
    with raises(
        InvalidKeyring,
        "keys[0].x5c[0]: certificate CN=RSA: unsupported RSA 1024 key "
        "(certificates take EC P-256, Ed25519 or SM2 keys)",
    ):
        RegionKeyring.from_json(document)


def test_private_key_fields_that_are_not_pem_or_not_the_keys_own() -> None:
    keyring = RegionKeyring("SH")
    key = keyring.generate("ES256", NOW)
    document = keyring.to_json(ROOT)
    document["keys"][0]["private_key"] = "钥匙"
    with raises(InvalidKeyring, "keys[0].private_key: is not PEM text"):
        RegionKeyring.from_json(document, ROOT)
    # Another key's private half, encrypted under this key's own passphrase.
    stranger = ES256.generate()
    document["keys"][0]["private_key"] = ES256.private_bytes(
        stranger, key_passphrase(ROOT, key)
    ).decode()
    with raises(
        InvalidKeyring,
        f"keys[0].private_key: does not match the public key of key {kid_text(key.kid)} of SH",
    ):
        RegionKeyring.from_json(document, ROOT)


def test_a_root_secret_must_be_bytes() -> None:
    keyring = RegionKeyring("SH")
    keyring.generate("ES256", NOW)
    with pytest.raises(TypeError, match="the root secret must be bytes"):
        keyring.to_json("not bytes")  # type: ignore[arg-type]
    assert len(keyring) == 1
    assert len({keyring.keys[0], keyring.keys[0].public_only()}) == 1
