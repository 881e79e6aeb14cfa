"""Tests for the ES256 and EdDSA suites and the registry of twonets.trust.suites."""

from __future__ import annotations

import re
from contextlib import AbstractContextManager
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.utils import (
    decode_dss_signature,
    encode_dss_signature,
)
from hypothesis import given
from hypothesis import strategies as st

from twonets.trust.errors import InvalidKey, UnknownSuite
from twonets.trust.suites import (
    COSE_ALG_SM2_SM3,
    EDDSA,
    ES256,
    SM2_SM3,
    SUITES,
    SignatureSuite,
    SM2PrivateKey,
    der_to_raw,
    get_suite,
    load_public_key,
    raw_to_der,
    suite_for_key,
)

MESSAGE = "上海市电子营业执照 licence 310115000123456".encode()
P256_ORDER = 0xFFFFFFFF_00000000_FFFFFFFF_FFFFFFFF_BCE6FAAD_A7179E84_F3B9CAC2_FC632551
CRYPTOGRAPHY_SUITES = [ES256, EDDSA]
_KEYS = {suite.name: suite.generate() for suite in CRYPTOGRAPHY_SUITES}


def raises(kind: type[Exception], message: str) -> AbstractContextManager[Any]:
    """``pytest.raises`` of ``kind`` whose message is exactly ``message``."""
    return pytest.raises(kind, match=f"^{re.escape(message)}$")


def _flip(data: bytes, bit: int) -> bytes:
    """``data`` with one bit flipped."""
    out = bytearray(data)
    out[bit // 8 % len(out)] ^= 1 << (bit % 8)
    return bytes(out)


@pytest.mark.parametrize("suite", CRYPTOGRAPHY_SUITES, ids=lambda s: s.name)
def test_sign_then_verify(suite: SignatureSuite) -> None:
    private = suite.generate()
    signature = suite.sign(private, MESSAGE)
    assert len(signature) == 64
    assert suite.verify(private.public_key(), MESSAGE, signature)


@pytest.mark.parametrize("suite", CRYPTOGRAPHY_SUITES, ids=lambda s: s.name)
@given(bit=st.integers(min_value=0, max_value=64 * 8 - 1))
def test_a_flipped_signature_bit_fails(suite: SignatureSuite, bit: int) -> None:
    private = _KEYS[suite.name]
    signature = suite.sign(private, MESSAGE)
    assert not suite.verify(private.public_key(), MESSAGE, _flip(signature, bit))


@pytest.mark.parametrize("suite", CRYPTOGRAPHY_SUITES, ids=lambda s: s.name)
def test_a_flipped_message_bit_fails(suite: SignatureSuite) -> None:
    private = _KEYS[suite.name]
    signature = suite.sign(private, MESSAGE)
    assert not suite.verify(private.public_key(), _flip(MESSAGE, 3), signature)


@pytest.mark.parametrize("suite", CRYPTOGRAPHY_SUITES, ids=lambda s: s.name)
@pytest.mark.parametrize("length", [0, 63, 65, 72])
def test_a_signature_of_the_wrong_length_fails_without_raising(
    suite: SignatureSuite, length: int
) -> None:
    private = _KEYS[suite.name]
    signature = suite.sign(private, MESSAGE)
    assert not suite.verify(private.public_key(), MESSAGE, (signature * 2)[:length])


def test_another_suites_key_fails_cleanly() -> None:
    ec_key, ed_key = _KEYS["ES256"], _KEYS["EdDSA"]
    es_signature = ES256.sign(ec_key, MESSAGE)
    ed_signature = EDDSA.sign(ed_key, MESSAGE)
    assert not ES256.verify(ed_key.public_key(), MESSAGE, es_signature)
    assert not EDDSA.verify(ec_key.public_key(), MESSAGE, ed_signature)
    # The SM2 suite refuses a foreign key before it even needs its library.
    assert not SM2_SM3.verify(ec_key.public_key(), MESSAGE, es_signature)
    # A P-384 key is an EC key but not an ES256 one.
    p384 = ec.generate_private_key(ec.SECP384R1()).public_key()
    assert not ES256.verify(p384, MESSAGE, es_signature)


def test_es256_signature_is_raw_r_then_s_of_the_ecdsa_signature() -> None:
    private = _KEYS["ES256"]
    assert isinstance(private, ec.EllipticCurvePrivateKey)
    signature = ES256.sign(private, MESSAGE)
    r, s = int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big")
    # cryptography checks the DER form built from the raw halves independently.
    private.public_key().verify(encode_dss_signature(r, s), MESSAGE, ec.ECDSA(hashes.SHA256()))
    # And a DER signature made by cryptography verifies once converted to raw r||s.
    der = private.sign(MESSAGE, ec.ECDSA(hashes.SHA256()))
    r2, s2 = decode_dss_signature(der)
    raw = r2.to_bytes(32, "big") + s2.to_bytes(32, "big")
    assert ES256.verify(private.public_key(), MESSAGE, raw)
    assert der_to_raw(der) == raw
    assert raw_to_der(raw) == der


def test_es256_rejects_out_of_range_r_and_s() -> None:
    public = _KEYS["ES256"].public_key()
    zero = bytes(64)
    order = P256_ORDER.to_bytes(32, "big") * 2
    ones = b"\xff" * 64
    assert not any(ES256.verify(public, MESSAGE, sig) for sig in (zero, order, ones))


def test_raw_to_der_refuses_the_wrong_length() -> None:
    with pytest.raises(ValueError, match="a raw signature is 64 bytes, got 63"):
        raw_to_der(bytes(63))


@pytest.mark.parametrize("suite", CRYPTOGRAPHY_SUITES, ids=lambda s: s.name)
def test_public_key_round_trips_as_spki_der_and_pem(suite: SignatureSuite) -> None:
    public = _KEYS[suite.name].public_key()
    der = suite.public_bytes(public)
    pem = suite.public_bytes(public, "PEM")
    assert pem.startswith(b"-----BEGIN PUBLIC KEY-----")
    assert der == public.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    assert suite.load_public(der) == public
    assert suite.load_public(pem) == public
    assert load_public_key(pem) == public


def test_loading_a_key_of_another_type_names_both() -> None:
    ed_der = EDDSA.public_bytes(_KEYS["EdDSA"].public_key())
    with raises(InvalidKey, "public key: ES256 takes an EC P-256 key, got Ed25519"):
        ES256.load_public(ed_der)
    p384 = ec.generate_private_key(ec.SECP384R1()).public_key()
    p384_der = p384.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    with raises(InvalidKey, "public key: ES256 takes an EC P-256 key, got EC P-384"):
        ES256.load_public(p384_der)
    with raises(InvalidKey, "public key: EdDSA takes an Ed25519 key, got EC P-384"):
        EDDSA.load_public(p384_der)


def test_loading_garbage_says_it_is_no_spki() -> None:
    with raises(InvalidKey, "public key: not a SubjectPublicKeyInfo in DER"):
        ES256.load_public(b"\x30\x03\x02\x01\x00")
    garbage_pem = b"-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n"
    with raises(InvalidKey, "public key: not a SubjectPublicKeyInfo in PEM"):
        EDDSA.load_public(garbage_pem)


def test_signing_with_the_wrong_private_key_is_refused() -> None:
    with raises(InvalidKey, "ES256 signs with an EC P-256 private key, got Ed25519"):
        ES256.sign(_KEYS["EdDSA"], MESSAGE)
    with raises(InvalidKey, "EdDSA signs with an Ed25519 private key, got EC P-256"):
        EDDSA.sign(_KEYS["ES256"], MESSAGE)


@pytest.mark.parametrize("suite", CRYPTOGRAPHY_SUITES, ids=lambda s: s.name)
def test_private_key_round_trips_as_encrypted_pkcs8(suite: SignatureSuite) -> None:
    private = _KEYS[suite.name]
    pem = suite.private_bytes(private, b"a passphrase")
    assert pem.startswith(b"-----BEGIN ENCRYPTED PRIVATE KEY-----")
    loaded = suite.load_private(pem, b"a passphrase")
    assert suite.public_bytes(loaded.public_key()) == suite.public_bytes(private.public_key())


@pytest.mark.parametrize("suite", CRYPTOGRAPHY_SUITES, ids=lambda s: s.name)
def test_a_wrong_passphrase_is_one_clear_error(suite: SignatureSuite) -> None:
    pem = suite.private_bytes(_KEYS[suite.name], b"right")
    with pytest.raises(InvalidKey) as caught:
        suite.load_private(pem, b"wrong")
    assert caught.value.detail == (
        f"{suite.name} private key: cannot be decrypted (wrong passphrase or altered data)"
    )


def test_an_unencrypted_private_key_is_refused() -> None:
    private = _KEYS["ES256"]
    assert isinstance(private, ec.EllipticCurvePrivateKey)
    clear = private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    with raises(InvalidKey, "ES256 private key: expected encrypted PKCS#8 PEM"):
        ES256.load_private(clear, b"anything")


def test_a_private_key_of_another_suite_is_refused() -> None:
    pem = EDDSA.private_bytes(_KEYS["EdDSA"], b"pass")
    with raises(InvalidKey, "ES256 private key: expected an EC P-256 key, got Ed25519"):
        ES256.load_private(pem, b"pass")


def test_an_empty_passphrase_is_refused() -> None:
    with pytest.raises(ValueError, match="the passphrase of a private key must not be empty"):
        ES256.private_bytes(_KEYS["ES256"], b"")


def test_registry_names_and_cose_algorithms() -> None:
    assert list(SUITES) == ["ES256", "EdDSA", "SM2-SM3"]
    assert {name: s.cose_alg for name, s in SUITES.items()} == {
        "ES256": -7,
        "EdDSA": -8,
        "SM2-SM3": COSE_ALG_SM2_SM3,
    }
    # The COSE Algorithms registry keeps integers below -65536 for private use.
    assert COSE_ALG_SM2_SM3 < -65536
    assert {name: s.jws_alg for name, s in SUITES.items()} == {
        "ES256": "ES256",
        "EdDSA": "EdDSA",
        "SM2-SM3": None,
    }
    assert get_suite("EdDSA") is EDDSA


def test_an_unknown_suite_lists_the_known_ones() -> None:
    with pytest.raises(UnknownSuite) as caught:
        get_suite("RS256")
    assert caught.value.detail == (
        "suite: unknown signature suite 'RS256'; known: ES256, EdDSA, SM2-SM3"
    )
    assert caught.value.status == 422
    assert caught.value.to_problem()["errors"][0]["field"] == "suite"


def test_suite_for_key_finds_each_suite_and_names_what_it_refuses(
    sm2_example_key: SM2PrivateKey,
) -> None:
    assert suite_for_key(_KEYS["ES256"]) is ES256
    assert suite_for_key(_KEYS["EdDSA"].public_key()) is EDDSA
    assert suite_for_key(sm2_example_key.public_key()) is SM2_SM3
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    with pytest.raises(InvalidKey, match=r"^no signature suite takes RSA 1024 keys \(ES256 takes"):
        suite_for_key(rsa_key.public_key())


def test_public_bytes_of_another_suites_key_is_refused(sm2_example_key: SM2PrivateKey) -> None:
    with raises(InvalidKey, "ES256 takes an EC P-256 key, got Ed25519"):
        ES256.public_bytes(_KEYS["EdDSA"].public_key())
    with raises(InvalidKey, "EdDSA takes an Ed25519 key, got SM2"):
        EDDSA.public_bytes(sm2_example_key.public_key())
    with raises(InvalidKey, "SM2-SM3 takes an SM2 key, got EC P-256"):
        SM2_SM3.public_bytes(_KEYS["ES256"].public_key())
    with raises(InvalidKey, "SM2-SM3 takes an SM2 private key, got Ed25519"):
        SM2_SM3.private_bytes(_KEYS["EdDSA"], b"pass")
    with pytest.raises(ValueError, match="the passphrase of a private key must not be empty"):
        SM2_SM3.private_bytes(sm2_example_key, b"")


def test_load_public_key_of_garbage_says_so() -> None:
    with raises(InvalidKey, "public key: not a SubjectPublicKeyInfo in PEM"):
        load_public_key(b"-----BEGIN PUBLIC KEY-----\n!!!!\n-----END PUBLIC KEY-----\n")
    sm2_spki = bytes.fromhex("3059301306072a8648ce3d020106082a811ccf5501822d034200")
    with raises(InvalidKey, "public key: not an SM2 SubjectPublicKeyInfo (truncated DER element)"):
        load_public_key(sm2_spki)


def test_der_to_raw_refuses_values_over_256_bits() -> None:
    with pytest.raises(ValueError, match="signature values exceed 256 bits"):
        der_to_raw(encode_dss_signature(2**256, 1))
