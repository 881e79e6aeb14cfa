"""Tests for the SM2-SM3 suite: known answers, OpenSSL as a second implementation, absence."""

from __future__ import annotations

import hashlib
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any, NamedTuple

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from hypothesis import given, settings
from hypothesis import strategies as st

from twonets.trust import _der, sm2
from twonets.trust.certificates import (
    certificate_der,
    certificate_public_key,
    certificate_suite,
    check_issued_by,
    load_certificate,
)
from twonets.trust.errors import InvalidCertificate, InvalidKey, SuiteUnavailable
from twonets.trust.keys import IssuingKey
from twonets.trust.suites import (
    ES256,
    SM2_SM3,
    SM2PrivateKey,
    SM2PublicKey,
    SM2SM3Suite,
    der_to_raw,
    load_public_key,
    raw_to_der,
)

# The signing example on the SM2 recommended curve with the default user id
# "1234567812345678", from the annexes of GM/T 0003.5-2012 (GB/T 32918.5-2017, parameter
# definitions), as other SM2 implementations' tests reproduce it (Tongsuo's and GmSSL's among them):
# private key d, public point P, message, and the signature (r, s) made with
# k = 59276E27 D506861A 16680F3A D9C02DCC EF3CC1FA 3CDBE4CE 6D54B80D EAC1BC21.
EXAMPLE_D = 0x3945208F_7B2144B1_3F36E38A_C6D39F95_88939369_2860B51A_42FB81EF_4DF7C5B8
EXAMPLE_POINT = bytes.fromhex(
    "04"
    "09F9DF311E5421A150DD7D161E4BC5C672179FAD1833FC076BB08FF356F35020"
    "CCEA490CE26775A52DC6EA718CC1AA600AED05FBF35E084A6632F6072DA9AD13"
)
EXAMPLE_MESSAGE = b"message digest"
EXAMPLE_SIGNATURE = bytes.fromhex(
    "F5A03B0648D2C4630EEAC513E1BB81A15944DA3827D5B74143AC7EACEEE720B3"
    "B1B6AA29DF212FD8763182BC0D421CA1BB9038FD1F7F42D4840B69C485BBC1AA"
)
DEFAULT_ID = "1234567812345678"
MESSAGE = "上海市 电子证照 SM2 签名".encode()


def raises(kind: type[Exception], message: str) -> AbstractContextManager[Any]:
    """``pytest.raises`` of ``kind`` whose message is exactly ``message``."""
    return pytest.raises(kind, match=f"^{re.escape(message)}$")


NEEDS_TONGSUO = "the SM2-SM3 suite needs tongsuopy (pip install tongsuopy)"


@pytest.fixture
def tongsuo() -> Any:
    """The tongsuopy module, or a skip naming it."""
    return pytest.importorskip("tongsuopy", reason=NEEDS_TONGSUO)


@pytest.fixture
def without_tongsuo(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """A world in which ``import tongsuopy`` fails."""
    for name in [m for m in sys.modules if m == "tongsuopy" or m.startswith("tongsuopy.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "tongsuopy", None)
    sm2._modules.cache_clear()
    yield
    sm2._modules.cache_clear()


def _openssl_with_sm2() -> str:
    """The openssl command, if it has SM2 and SM3; else a skip."""
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("openssl is not installed: no second SM2 implementation to check against")
    listed = subprocess.run(
        [openssl, "list", "-public-key-algorithms"], capture_output=True, text=True, check=False
    )
    if "SM2" not in listed.stdout:
        pytest.skip("this openssl has no SM2: no second SM2 implementation to check against")
    return openssl


def _openssl(openssl: str, *args: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([openssl, *args], capture_output=True, check=False, timeout=30)


def test_the_published_example_signature_verifies() -> None:
    pytest.importorskip("tongsuopy", reason=NEEDS_TONGSUO)
    public = SM2PublicKey(EXAMPLE_POINT)
    assert SM2_SM3.verify(public, EXAMPLE_MESSAGE, EXAMPLE_SIGNATURE)
    assert not SM2_SM3.verify(public, EXAMPLE_MESSAGE + b".", EXAMPLE_SIGNATURE)
    assert not SM2_SM3.verify(public, EXAMPLE_MESSAGE, EXAMPLE_SIGNATURE[::-1])
    # The user id is part of what is signed (Z_A): another id does not verify.
    assert not SM2SM3Suite(user_id=b"ALICE123@YAHOO.COM").verify(
        public, EXAMPLE_MESSAGE, EXAMPLE_SIGNATURE
    )


def test_the_example_private_key_gives_the_published_public_point(tongsuo: Any) -> None:
    assert SM2_SM3.from_scalar(EXAMPLE_D).public_key().point == EXAMPLE_POINT


def test_the_message_representative_is_the_published_one() -> None:
    """e = SM3(Z_A || M) of the example, as GM/T 0003.5 prints it ("杂凑值 H")."""
    assert sm2.digest(DEFAULT_ID.encode(), EXAMPLE_POINT, EXAMPLE_MESSAGE) == bytes.fromhex(
        "F0B43E94BA45ACCAACE692ED534382EB17E6AB5A19CE7B31F4486FDFC0D28640"
    )


def test_a_user_id_other_than_the_default_signs_and_verifies_under_that_id_only(
    tongsuo: Any,
) -> None:
    alice = SM2SM3Suite(user_id=b"ALICE123@YAHOO.COM")
    private = alice.generate()
    signature = alice.sign(private, MESSAGE)
    assert alice.verify(private.public_key(), MESSAGE, signature)
    assert not SM2_SM3.verify(private.public_key(), MESSAGE, signature)


def test_sign_then_verify_with_sm3_and_the_default_id(tongsuo: Any) -> None:
    private = SM2_SM3.generate()
    signature = SM2_SM3.sign(private, MESSAGE)
    assert len(signature) == 64
    assert SM2_SM3.verify(private.public_key(), MESSAGE, signature)
    assert not SM2_SM3.verify(private.public_key(), MESSAGE + b"!", signature)
    flipped = bytes([signature[0] ^ 0x80]) + signature[1:]
    assert not SM2_SM3.verify(private.public_key(), MESSAGE, flipped)
    assert not SM2_SM3.verify(private.public_key(), MESSAGE, signature[:63])
    # Two signatures of one message differ (k is random), and both verify.
    again = SM2_SM3.sign(private, MESSAGE)
    assert again != signature
    assert SM2_SM3.verify(private.public_key(), MESSAGE, again)


def test_degenerate_signatures_fail_without_raising(tongsuo: Any) -> None:
    public = SM2PublicKey(EXAMPLE_POINT)
    for signature in (bytes(64), b"\xff" * 64, bytes(32) + b"\x01" * 32):
        assert not SM2_SM3.verify(public, EXAMPLE_MESSAGE, signature)


def test_openssl_verifies_our_signature_and_reads_our_keys(tongsuo: Any, tmp_path: Path) -> None:
    openssl = _openssl_with_sm2()
    private = SM2_SM3.generate()
    public_pem = tmp_path / "public.pem"
    public_pem.write_bytes(SM2_SM3.public_bytes(private.public_key(), "PEM"))
    (tmp_path / "message").write_bytes(MESSAGE)
    (tmp_path / "signature.der").write_bytes(raw_to_der(SM2_SM3.sign(private, MESSAGE)))
    verified = _openssl(
        openssl, "pkeyutl", "-verify", "-pubin", "-inkey", str(public_pem), "-rawin",
        "-in", str(tmp_path / "message"), "-sigfile", str(tmp_path / "signature.der"),
        "-digest", "sm3", "-pkeyopt", f"distid:{DEFAULT_ID}",
    )  # fmt: skip
    assert verified.returncode == 0, verified.stderr
    # OpenSSL opens our encrypted PKCS#8 and finds the same public key in it.
    encrypted = tmp_path / "private.pem"
    encrypted.write_bytes(SM2_SM3.private_bytes(private, b"a long passphrase"))
    exported = _openssl(
        openssl, "pkey", "-in", str(encrypted), "-passin", "pass:a long passphrase", "-pubout"
    )
    assert exported.returncode == 0, exported.stderr
    assert exported.stdout == public_pem.read_bytes()


def test_we_verify_openssls_signature_and_read_its_keys(tongsuo: Any, tmp_path: Path) -> None:
    openssl = _openssl_with_sm2()
    key = tmp_path / "key.pem"
    assert _openssl(openssl, "genpkey", "-algorithm", "SM2", "-out", str(key)).returncode == 0
    public = _openssl(openssl, "pkey", "-in", str(key), "-pubout").stdout
    (tmp_path / "message").write_bytes(MESSAGE)
    signed = _openssl(
        openssl, "pkeyutl", "-sign", "-inkey", str(key), "-rawin",
        "-in", str(tmp_path / "message"), "-digest", "sm3", "-pkeyopt", f"distid:{DEFAULT_ID}",
    )  # fmt: skip
    assert signed.returncode == 0, signed.stderr
    loaded = load_public_key(public)
    assert SM2_SM3.verify(loaded, MESSAGE, der_to_raw(signed.stdout))
    # Its PBES2 (PBKDF2-HMAC-SHA256, AES-256-CBC) encryption is the scheme we read.
    encrypted = _openssl(
        openssl, "pkcs8", "-topk8", "-in", str(key), "-v2", "aes-256-cbc",
        "-v2prf", "hmacWithSHA256", "-passout", "pass:from openssl",
    )  # fmt: skip
    assert encrypted.returncode == 0, encrypted.stderr
    private = SM2_SM3.load_private(encrypted.stdout, b"from openssl")
    assert private.public_key() == loaded


def test_public_key_round_trips_as_openssl_shaped_spki() -> None:
    public = SM2PublicKey(EXAMPLE_POINT)
    der = SM2_SM3.public_bytes(public)
    # id-ecPublicKey with the curve sm2p256v1, then the 65-byte point.
    assert der.hex().startswith("3059301306072a8648ce3d020106082a811ccf5501822d034200")
    assert SM2_SM3.load_public(der) == public
    assert SM2_SM3.load_public(SM2_SM3.public_bytes(public, "PEM")) == public
    assert load_public_key(der) == public


def test_public_keys_load_without_tongsuo(without_tongsuo: None) -> None:
    public = SM2PublicKey(EXAMPLE_POINT)
    assert SM2_SM3.load_public(SM2_SM3.public_bytes(public)) == public
    assert not SM2_SM3.available


def test_without_tongsuo_the_suite_says_what_to_install(without_tongsuo: None) -> None:
    message = (
        "signature suite SM2-SM3 needs the PyPI package 'tongsuopy', which is not installed: "
        "pip install tongsuopy"
    )
    with raises(SuiteUnavailable, message) as caught:
        SM2_SM3.generate()
    assert caught.value.status == 500
    private = SM2PrivateKey(EXAMPLE_D, SM2PublicKey(EXAMPLE_POINT))
    with raises(SuiteUnavailable, message):
        SM2_SM3.sign(private, MESSAGE)
    # Not "False": a verifier that cannot check SM2 must not report a bad signature.
    with raises(SuiteUnavailable, message):
        SM2_SM3.verify(private.public_key(), EXAMPLE_MESSAGE, EXAMPLE_SIGNATURE)


def test_a_point_off_the_curve_is_refused() -> None:
    off = EXAMPLE_POINT[:-1] + bytes([EXAMPLE_POINT[-1] ^ 1])
    with raises(InvalidKey, "SM2 public key: not an uncompressed point on the SM2 curve"):
        SM2PublicKey(off)
    with raises(InvalidKey, "SM2 public key: not an uncompressed point on the SM2 curve"):
        SM2_SM3.load_public(_der.sm2_spki(off))
    compressed = b"\x02" + EXAMPLE_POINT[1:33]
    with raises(InvalidKey, "SM2 public key: not an uncompressed point on the SM2 curve"):
        SM2PublicKey(compressed)


def test_an_ec_key_is_not_an_sm2_key(tongsuo: Any) -> None:
    der = ES256.public_bytes(ES256.generate().public_key())
    with raises(InvalidKey, "public key: SM2-SM3 takes an SM2 key, got EC P-256"):
        SM2_SM3.load_public(der)
    with raises(InvalidKey, "SM2-SM3 signs with an SM2 private key, got EC P-256"):
        SM2_SM3.sign(ES256.generate(), MESSAGE)


def test_an_out_of_range_private_scalar_is_refused() -> None:
    with raises(InvalidKey, "SM2 private key: the scalar is out of range [1, n-2]"):
        SM2PrivateKey(0, SM2PublicKey(EXAMPLE_POINT))


def test_private_key_round_trips_and_a_wrong_passphrase_is_refused(tongsuo: Any) -> None:
    private = SM2PrivateKey(EXAMPLE_D, SM2PublicKey(EXAMPLE_POINT))
    pem = SM2_SM3.private_bytes(private, b"passphrase")
    assert pem.startswith(b"-----BEGIN ENCRYPTED PRIVATE KEY-----")
    assert SM2_SM3.load_private(pem, b"passphrase").public_key() == private.public_key()
    with raises(
        InvalidKey, "SM2-SM3 private key: cannot be decrypted (wrong passphrase or altered data)"
    ):
        SM2_SM3.load_private(pem, b"not the passphrase")
    with raises(InvalidKey, "SM2-SM3 private key: expected encrypted PKCS#8 PEM"):
        SM2_SM3.load_private(b"-----BEGIN PRIVATE KEY-----\n-----END PRIVATE KEY-----\n", b"x")


def test_a_private_key_whose_point_does_not_match_is_refused(tongsuo: Any) -> None:
    other = SM2_SM3.generate().public_key()
    assert isinstance(other, SM2PublicKey)
    plain = _der.sm2_pkcs8(EXAMPLE_D, other.point)
    pem = _der.pem("ENCRYPTED PRIVATE KEY", _der.pbes2_encrypt(plain, b"pass"))
    with raises(InvalidKey, "SM2-SM3 private key: its public key does not match its scalar"):
        SM2_SM3.load_private(pem, b"pass")


def test_repr_never_shows_the_scalar() -> None:
    private = SM2PrivateKey(EXAMPLE_D, SM2PublicKey(EXAMPLE_POINT))
    shown = repr(private) + str(private)
    assert f"{EXAMPLE_D:x}" not in shown.lower()
    assert str(EXAMPLE_D) not in shown
    assert repr(private) == "SM2PrivateKey(public=SM2PublicKey(x=09f9df311e5421a1…))"


def test_an_empty_user_id_is_refused() -> None:
    with pytest.raises(ValueError, match="the SM2 user id must be 1 to 8191 bytes"):
        SM2SM3Suite(user_id=b"")


class SM2Chain(NamedTuple):
    """Certificates made by OpenSSL: an SM2 CA, a leaf it issued, a CA of the same name."""

    ca: x509.Certificate
    leaf: x509.Certificate
    twin_ca: x509.Certificate
    leaf_public_pem: bytes


def _openssl_certificate(
    openssl: str, folder: Path, name: str, subject: str, issuer: str | None = None
) -> x509.Certificate:
    """An SM2 key ``<name>.key`` and its certificate, self-signed or by ``issuer``."""
    sign = ["-sm3", "-sigopt", f"distid:{DEFAULT_ID}"]
    key = str(folder / f"{name}.key")
    out = str(folder / f"{name}.pem")
    steps = [["genpkey", "-algorithm", "SM2", "-out", key]]
    if issuer is None:
        steps.append(["req", "-x509", "-new", "-key", key, *sign, "-subj", subject, "-out", out])
    else:
        csr = str(folder / f"{name}.csr")
        steps.append(["req", "-new", "-key", key, *sign, "-subj", subject, "-out", csr])
        steps.append(
            ["x509", "-req", "-in", csr, "-CA", str(folder / f"{issuer}.pem"), "-CAkey",
             str(folder / f"{issuer}.key"), *sign, "-vfyopt", f"distid:{DEFAULT_ID}", "-out", out]
        )  # fmt: skip
    for step in steps:
        done = _openssl(openssl, *step)
        assert done.returncode == 0, done.stderr
    return load_certificate(Path(out).read_bytes())


@pytest.fixture
def sm2_chain(tongsuo: Any, tmp_path: Path) -> SM2Chain:
    """An SM2 CA, a leaf it issued and a same-named CA with another key, made by OpenSSL."""
    openssl = _openssl_with_sm2()
    ca = _openssl_certificate(openssl, tmp_path, "ca", "/C=CN/O=SH/CN=SM2 CA")
    leaf = _openssl_certificate(openssl, tmp_path, "leaf", "/C=CN/O=SH/CN=SM2 signer", "ca")
    twin = _openssl_certificate(openssl, tmp_path, "twin", "/C=CN/O=SH/CN=SM2 CA")
    public = _openssl(openssl, "pkey", "-in", str(tmp_path / "leaf.key"), "-pubout").stdout
    return SM2Chain(ca, leaf, twin, public)


def test_sm2_certificates_made_by_openssl_are_read_and_checked(sm2_chain: SM2Chain) -> None:
    ca, leaf, _, public = sm2_chain
    assert certificate_suite(leaf) is SM2_SM3
    assert certificate_public_key(leaf) == SM2_SM3.load_public(public)
    check_issued_by(leaf, ca)
    check_issued_by(ca, ca)
    key = IssuingKey.from_certificate("SH", leaf, chain=[ca])
    assert key.suite == "SM2-SM3"
    assert key.kid == hashlib.sha256(certificate_der(leaf)).digest()[:8]


def test_a_forged_sm2_chain_is_refused(sm2_chain: SM2Chain) -> None:
    ca, leaf, twin_ca, _ = sm2_chain
    with raises(
        InvalidCertificate,
        "certificate CN=SM2 CA,O=SH,C=CN: not issued by CN=SM2 signer,O=SH,C=CN "
        "(Issuer certificate subject does not match certificate issuer.)",
    ):
        check_issued_by(ca, leaf)
    with raises(
        InvalidCertificate,
        "certificate CN=SM2 signer,O=SH,C=CN: its signature does not verify under the key of "
        "CN=SM2 CA,O=SH,C=CN",
    ):
        check_issued_by(leaf, twin_ca)
    # An ES256 certificate claiming the SM2 CA as its issuer.
    ec_key = ES256.generate()
    assert isinstance(ec_key, ec.EllipticCurvePrivateKey)
    impostor = (
        x509.CertificateBuilder()
        .subject_name(leaf.subject)
        .issuer_name(ca.subject)
        .public_key(ec_key.public_key())
        .serial_number(7)
        .not_valid_before(leaf.not_valid_before_utc)
        .not_valid_after(leaf.not_valid_after_utc)
        .sign(ec_key, hashes.SHA256())
    )
    with raises(
        InvalidCertificate,
        "certificate CN=SM2 signer,O=SH,C=CN: signed with 1.2.840.10045.4.3.2, but its issuer "
        "CN=SM2 CA,O=SH,C=CN holds an SM2 key (expected SM2-with-SM3, 1.2.156.10197.1.501)",
    ):
        check_issued_by(impostor, ca)


_EXAMPLE_SPKI = _der.sm2_spki(EXAMPLE_POINT)
_EXAMPLE_ENCRYPTED = _der.pbes2_encrypt(_der.sm2_pkcs8(EXAMPLE_D, EXAMPLE_POINT), b"pass")


@settings(max_examples=150, deadline=None)
@given(position=st.integers(0, len(_EXAMPLE_SPKI) - 1), value=st.integers(0, 255))
def test_a_mutated_public_key_loads_or_fails_as_invalid_key(position: int, value: int) -> None:
    mutated = bytearray(_EXAMPLE_SPKI)
    mutated[position] = value
    try:
        loaded = SM2_SM3.load_public(bytes(mutated))
    except InvalidKey:
        return
    assert loaded == SM2PublicKey(bytes(mutated)[-65:])


@settings(max_examples=150, deadline=None)
@given(position=st.integers(0, len(_EXAMPLE_ENCRYPTED) - 1), value=st.integers(0, 255))
def test_a_mutated_encrypted_key_fails_as_invalid_key(position: int, value: int) -> None:
    pytest.importorskip("tongsuopy", reason=NEEDS_TONGSUO)
    mutated = bytearray(_EXAMPLE_ENCRYPTED)
    unchanged = mutated[position] == value
    mutated[position] = value
    try:
        loaded = SM2_SM3.load_private(_der.pem("ENCRYPTED PRIVATE KEY", bytes(mutated)), b"pass")
    except InvalidKey:
        assert not unchanged
        return
    assert isinstance(loaded, SM2PrivateKey)
    # Only a change that PKCS#8 ignores can still give the key back.
    assert loaded.scalar == EXAMPLE_D


@given(st.binary(max_size=200))
def test_random_bytes_are_no_sm2_key(data: bytes) -> None:
    with pytest.raises(InvalidKey):
        SM2_SM3.load_public(data)


def test_pkcs8_parameters_and_extra_fields_are_checked() -> None:
    d = EXAMPLE_D.to_bytes(32, "big")
    algorithm = _der.sequence(_der.oid(_der.OID_EC_PUBLIC_KEY), _der.oid(_der.OID_SM2_CURVE))

    def pkcs8(*extra: bytes) -> bytes:
        inner = _der.sequence(_der.integer(1), _der.tlv(_der.OCTET_STRING, d), *extra)
        return _der.sequence(_der.integer(0), algorithm, _der.tlv(_der.OCTET_STRING, inner))

    sm2_parameters = _der.tlv(_der.CONTEXT_0, _der.oid(_der.OID_SM2_CURVE))
    assert _der.parse_sm2_pkcs8(pkcs8(sm2_parameters)) == (EXAMPLE_D, None)
    p256_parameters = _der.tlv(_der.CONTEXT_0, _der.oid("1.2.840.10045.3.1.7"))
    with pytest.raises(ValueError, match="ECPrivateKey parameters name another curve than SM2"):
        _der.parse_sm2_pkcs8(pkcs8(p256_parameters))
    with pytest.raises(ValueError, match="ECPrivateKey: unexpected DER tag 0x04"):
        _der.parse_sm2_pkcs8(pkcs8(_der.tlv(_der.OCTET_STRING, b"")))


# The bytes the hand-written DER writer produced before asn1crypto took over the structures:
# keys saved then must load now, and a key saved now must be the same bytes.
_SAVED_SPKI = bytes.fromhex(
    "3059301306072a8648ce3d020106082a811ccf5501822d034200"
    "0409f9df311e5421a150dd7d161e4bc5c672179fad1833fc076bb08ff356f35020"
    "ccea490ce26775a52dc6ea718cc1aa600aed05fbf35e084a6632f6072da9ad13"
)
_SAVED_PKCS8 = bytes.fromhex(
    "308187020100301306072a8648ce3d020106082a811ccf5501822d046d306b0201010420"
    "3945208f7b2144b13f36e38ac6d39f95889393692860b51a42fb81ef4df7c5b8a144034200"
    "0409f9df311e5421a150dd7d161e4bc5c672179fad1833fc076bb08ff356f35020"
    "ccea490ce26775a52dc6ea718cc1aa600aed05fbf35e084a6632f6072da9ad13"
)
_SAVED_ENCRYPTED_PEM = (
    b"-----BEGIN ENCRYPTED PRIVATE KEY-----\n"
    b"MIH0MF8GCSqGSIb3DQEFDTBSMDEGCSqGSIb3DQEFDDAkBBDCsNd399j8mJ1m3Z2e\n"
    b"u3twAgIIADAMBggqhkiG9w0CCQUAMB0GCWCGSAFlAwQBKgQQxpmjOgmBseCjFSlN\n"
    b"Dbx8iASBkG5IYuIjgqKLrDHtSw699BWsbGs6tLK76JGsFnT7VytOhSoMAfCMZjO2\n"
    b"X7S9ok7LI6SQb9WNjwH4L5Evk8hGKO3PAmD77IH1mvXuvsRnTAuJcplwJuyjYdRm\n"
    b"QULPfv+JqgiPMYQs+ezkDEEtF/gZQ1med2eRICHLDajzsglNtiBUTC3/+KP5VIv2\n"
    b"IgbKjoNwcw==\n"
    b"-----END ENCRYPTED PRIVATE KEY-----\n"
)


def test_sm2_keys_save_to_the_same_bytes_as_before() -> None:
    assert _der.sm2_spki(EXAMPLE_POINT) == _SAVED_SPKI
    assert _der.sm2_pkcs8(EXAMPLE_D, EXAMPLE_POINT) == _SAVED_PKCS8
    assert _der.parse_sm2_spki(_SAVED_SPKI) == EXAMPLE_POINT
    assert _der.parse_sm2_pkcs8(_SAVED_PKCS8) == (EXAMPLE_D, EXAMPLE_POINT)
    encrypted = _der.pbes2_encrypt(_SAVED_PKCS8, b"pass")
    assert len(encrypted) == len(_der.unpem(_SAVED_ENCRYPTED_PEM, "ENCRYPTED PRIVATE KEY"))
    assert _der.pbes2_decrypt(encrypted, b"pass") == _SAVED_PKCS8


def test_an_sm2_key_saved_before_loads() -> None:
    pytest.importorskip("tongsuopy", reason=NEEDS_TONGSUO)
    loaded = SM2_SM3.load_private(_SAVED_ENCRYPTED_PEM, b"pass")
    assert isinstance(loaded, SM2PrivateKey)
    assert loaded.scalar == EXAMPLE_D
    assert SM2_SM3.load_public(_der.pem("PUBLIC KEY", _SAVED_SPKI)) == SM2PublicKey(EXAMPLE_POINT)
