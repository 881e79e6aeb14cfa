"""Tests for region CA and issuer certificates in twonets.trust.certificates."""

from __future__ import annotations

import hashlib
import re
from contextlib import AbstractContextManager
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from twonets.trust.certificates import (
    certificate_der,
    certificate_kid,
    certificate_pem,
    certificate_public_key,
    certificate_suite,
    check_issued_by,
    load_certificate,
    load_pem_certificates,
    make_issuer_certificate,
    make_region_ca,
)
from twonets.trust.errors import InvalidCertificate, InvalidKey
from twonets.trust.keys import IssuingKey, KeyStatus, key_id
from twonets.trust.suites import EDDSA, ES256, PrivateKey, SignatureSuite, SM2PrivateKey

NOW = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
SHANGHAI = "上海市"


def raises(kind: type[Exception], message: str) -> AbstractContextManager[Any]:
    """``pytest.raises`` of ``kind`` whose message is exactly ``message``."""
    return pytest.raises(kind, match=f"^{re.escape(message)}$")


def _region_ca(suite: SignatureSuite = ES256) -> tuple[x509.Certificate, PrivateKey]:
    key = suite.generate()
    return make_region_ca(region_name=SHANGHAI, private_key=key, now=NOW), key


def _attribute(name: x509.Name, oid: x509.ObjectIdentifier) -> str:
    return str(name.get_attributes_for_oid(oid)[0].value)


@pytest.mark.parametrize("suite", [ES256, EDDSA], ids=lambda s: s.name)
def test_region_ca_is_self_signed_with_the_regions_name(suite: SignatureSuite) -> None:
    ca, _ = _region_ca(suite)
    assert ca.subject == ca.issuer
    assert _attribute(ca.subject, NameOID.COUNTRY_NAME) == "CN"
    assert _attribute(ca.subject, NameOID.ORGANIZATION_NAME) == SHANGHAI
    assert _attribute(ca.subject, NameOID.COMMON_NAME) == "上海市 Licence Root CA"
    check_issued_by(ca, ca)
    constraints = ca.extensions.get_extension_for_class(x509.BasicConstraints)
    assert constraints.critical
    assert constraints.value.ca
    usage = ca.extensions.get_extension_for_class(x509.KeyUsage).value
    assert usage.key_cert_sign
    assert not usage.digital_signature
    assert ca.not_valid_before_utc == NOW
    assert certificate_suite(ca) is suite


@pytest.mark.parametrize(
    ("ca_suite", "issuer_suite"), [(ES256, ES256), (ES256, EDDSA), (EDDSA, ES256)]
)
def test_issuer_certificate_is_signed_by_the_ca_for_digital_signatures(
    ca_suite: SignatureSuite, issuer_suite: SignatureSuite
) -> None:
    ca, ca_key = _region_ca(ca_suite)
    issuer_key = issuer_suite.generate()
    certificate = make_issuer_certificate(
        region_name=SHANGHAI,
        common_name="上海市市场监督管理局 licence issuer 1",
        public_key=issuer_key.public_key(),
        ca_certificate=ca,
        ca_private_key=ca_key,
        now=NOW,
        lifetime=timedelta(days=365),
    )
    check_issued_by(certificate, ca)
    assert certificate.issuer == ca.subject
    assert _attribute(certificate.subject, NameOID.COUNTRY_NAME) == "CN"
    assert _attribute(certificate.subject, NameOID.ORGANIZATION_NAME) == SHANGHAI
    usage = certificate.extensions.get_extension_for_class(x509.KeyUsage)
    assert usage.critical
    assert usage.value.digital_signature
    assert not usage.value.key_cert_sign
    assert not certificate.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    authority = certificate.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier)
    subject_ki = ca.extensions.get_extension_for_class(x509.SubjectKeyIdentifier)
    assert authority.value.key_identifier == subject_ki.value.digest
    assert certificate.not_valid_before_utc == NOW
    assert certificate.not_valid_after_utc == NOW + timedelta(days=365)
    assert certificate_suite(certificate) is issuer_suite
    assert issuer_suite.public_bytes(certificate_public_key(certificate)) == (
        issuer_suite.public_bytes(issuer_key.public_key())
    )


def test_kid_of_a_certificate_is_sha256_of_its_der_not_of_its_key() -> None:
    ca, _ = _region_ca()
    der = ca.public_bytes(serialization.Encoding.DER)
    assert certificate_kid(ca) == hashlib.sha256(der).digest()[:8]
    assert certificate_kid(ca) != key_id(certificate_public_key(ca))


def test_key_of_a_certificate_carries_its_kid_suite_and_dates() -> None:
    ca, _ = _region_ca(EDDSA)
    key = IssuingKey.from_certificate("SH", ca, status=KeyStatus.RETIRED)
    assert key.kid == certificate_kid(ca)
    assert key.suite == "EdDSA"
    assert key.not_before == ca.not_valid_before_utc
    assert key.not_after == ca.not_valid_after_utc
    assert key.status is KeyStatus.RETIRED
    assert key.certificate == ca


def test_certificates_load_from_pem_and_der() -> None:
    ca, _ = _region_ca()
    assert load_certificate(certificate_der(ca)) == ca
    assert load_certificate(certificate_pem(ca).encode()) == ca
    bundle = certificate_pem(ca) + certificate_pem(_region_ca(EDDSA)[0])
    assert len(load_pem_certificates(bundle)) == 2


def test_unreadable_certificates_say_so() -> None:
    with raises(InvalidCertificate, "certificate: not an X.509 certificate in DER"):
        load_certificate(b"\x30\x00")
    with raises(InvalidCertificate, "certificate: not an X.509 certificate in PEM"):
        load_certificate(b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n")
    with raises(InvalidCertificate, "certificates: the PEM bundle holds no CERTIFICATE block"):
        load_pem_certificates("-----BEGIN PUBLIC KEY-----\n-----END PUBLIC KEY-----\n")
    with raises(
        InvalidCertificate, "certificates: a CERTIFICATE block of the PEM bundle cannot be read"
    ):
        load_pem_certificates("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n")


def test_a_certificate_with_an_rsa_key_is_refused_by_name() -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "RSA signer")])
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(NOW)
        .not_valid_after(NOW + timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    message = (
        "certificate CN=RSA signer: unsupported RSA 2048 key "
        "(certificates take EC P-256, Ed25519 or SM2 keys)"
    )
    with raises(InvalidCertificate, message):
        certificate_suite(certificate)
    with raises(InvalidCertificate, message):
        IssuingKey.from_certificate("XX", certificate)


def test_an_issuer_certificate_may_not_outlive_its_ca() -> None:
    ca, ca_key = _region_ca()
    end = NOW + timedelta(days=20 * 365)
    message = (
        f"the issuer certificate would end at {end.isoformat()}, after its CA "
        f"({ca.not_valid_after_utc.isoformat()}); shorten the lifetime"
    )
    with raises(InvalidCertificate, message):
        make_issuer_certificate(
            region_name=SHANGHAI,
            common_name="issuer",
            public_key=ES256.generate().public_key(),
            ca_certificate=ca,
            ca_private_key=ca_key,
            now=NOW,
            lifetime=timedelta(days=20 * 365),
        )
    with raises(InvalidCertificate, "the issuer certificate would start before its CA"):
        make_issuer_certificate(
            region_name=SHANGHAI,
            common_name="issuer",
            public_key=ES256.generate().public_key(),
            ca_certificate=ca,
            ca_private_key=ca_key,
            now=NOW - timedelta(days=1),
        )


def test_check_issued_by_names_the_failure() -> None:
    ca, ca_key = _region_ca()
    other = make_region_ca(region_name="江苏省", private_key=ES256.generate(), now=NOW)
    impostor, _ = _region_ca()  # the same name as ca, another key
    certificate = make_issuer_certificate(
        region_name=SHANGHAI,
        common_name="issuer",
        public_key=EDDSA.generate().public_key(),
        ca_certificate=ca,
        ca_private_key=ca_key,
        now=NOW,
    )
    subject = certificate.subject.rfc4514_string()
    with pytest.raises(InvalidCertificate, match=f"^certificate {re.escape(subject)}: not issued"):
        check_issued_by(certificate, other)
    with raises(
        InvalidCertificate,
        f"certificate {subject}: its signature does not verify under the key of "
        f"{impostor.subject.rfc4514_string()}",
    ):
        check_issued_by(certificate, impostor)


def test_sm2_keys_cannot_make_certificates(sm2_example_key: SM2PrivateKey) -> None:
    with raises(
        InvalidKey,
        "certificates are signed with ES256 or EdDSA keys; cryptography cannot sign with SM2",
    ):
        make_region_ca(region_name=SHANGHAI, private_key=sm2_example_key, now=NOW)
    ca, ca_key = _region_ca()
    with raises(
        InvalidKey,
        "certificates hold ES256 or EdDSA keys; publish SM2 keys bare (SubjectPublicKeyInfo)",
    ):
        make_issuer_certificate(
            region_name=SHANGHAI,
            common_name="issuer",
            public_key=sm2_example_key.public_key(),
            ca_certificate=ca,
            ca_private_key=ca_key,
            now=NOW,
        )


def test_naive_times_are_refused() -> None:
    with pytest.raises(ValueError, match="now must carry a time zone"):
        make_region_ca(region_name=SHANGHAI, private_key=ES256.generate(), now=datetime(2026, 1, 1))


def test_a_certificate_on_an_unknown_curve_is_refused_by_name() -> None:
    ca, _ = _region_ca()
    p256 = bytes.fromhex("06082a8648ce3d030107")  # the OID of P-256 in the key's parameters
    der = certificate_der(ca)
    assert der.count(p256) == 1
    unknown = x509.load_der_x509_certificate(der.replace(p256, p256[:-1] + b"\x63"))
    with raises(
        InvalidCertificate,
        f"certificate {ca.subject.rfc4514_string()}: unsupported public key "
        "(Curve 1.2.840.10045.3.1.99 is not supported)",
    ):
        certificate_public_key(unknown)


def test_empty_names_are_refused() -> None:
    with pytest.raises(ValueError, match="the region name and the common name must not be empty"):
        make_region_ca(region_name=" ", private_key=ES256.generate(), now=NOW)
