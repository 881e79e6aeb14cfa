"""X.509 for regions: a self-signed region CA, issuer (document signer) certificates, loading.

A region may publish its issuing keys as certificates instead of bare keys, as the EU Digital
COVID Certificate gateway does with document signer certificates (DSCs). The key id of a
certificate is then, as in HCERT, the first 8 bytes of the SHA-256 of the certificate's DER,
not of its key.

Certificates are made here with ES256 or EdDSA keys only: ``cryptography`` can neither sign
with nor embed an SM2 key. SM2 certificates made elsewhere (by OpenSSL, or a national CA
under GM/T 0015) are read, though: their SM2 key is taken from the SubjectPublicKeyInfo in
the certificate, and an SM2-with-SM3 signature of an SM2 issuer is checked with the default
user id, as OpenSSL does.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.x509.oid import NameOID

from twonets.trust import _der
from twonets.trust.errors import InvalidCertificate, InvalidKey
from twonets.trust.suites import (
    SM2_SM3,
    PrivateKey,
    PublicKey,
    SignatureSuite,
    SM2PrivateKey,
    SM2PublicKey,
    der_to_raw,
    describe_key,
    suite_for_key,
)

KID_BYTES = 8
CA_LIFETIME = timedelta(days=10 * 365)
ISSUER_LIFETIME = timedelta(days=2 * 365)
COUNTRY = "CN"
OID_SM2_WITH_SM3 = "1.2.156.10197.1.501"


def _aware(moment: datetime, name: str) -> datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{name} must carry a time zone")
    return moment


def _name(region_name: str, common_name: str) -> x509.Name:
    if not region_name.strip() or not common_name.strip():
        raise ValueError("the region name and the common name must not be empty")
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, COUNTRY),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, region_name),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def _signing_key(
    private_key: PrivateKey,
) -> tuple[ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey, hashes.SHA256 | None]:
    """The key and digest ``CertificateBuilder.sign`` takes (Ed25519 takes no digest)."""
    if isinstance(private_key, SM2PrivateKey):
        raise InvalidKey(
            "certificates are signed with ES256 or EdDSA keys; cryptography cannot sign with SM2"
        )
    if isinstance(private_key, ed25519.Ed25519PrivateKey):
        return private_key, None
    return private_key, hashes.SHA256()


def _embeddable(public_key: PublicKey) -> ec.EllipticCurvePublicKey | ed25519.Ed25519PublicKey:
    if isinstance(public_key, SM2PublicKey):
        raise InvalidKey(
            "certificates hold ES256 or EdDSA keys; publish SM2 keys bare (SubjectPublicKeyInfo)"
        )
    suite_for_key(public_key)  # an EC key on another curve fails here, with its name
    return public_key


def make_region_ca(
    *,
    region_name: str,
    private_key: PrivateKey,
    now: datetime,
    common_name: str | None = None,
    lifetime: timedelta = CA_LIFETIME,
) -> x509.Certificate:
    """A self-signed CA certificate of a region (C=CN, O=<region name>), for keyCertSign."""
    key, digest = _signing_key(private_key)
    public = _embeddable(key.public_key())
    subject = _name(region_name, common_name or f"{region_name} Licence Root CA")
    start = _aware(now, "now")
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(public)
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + lifetime)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
    )
    return builder.sign(key, digest)


def make_issuer_certificate(
    *,
    region_name: str,
    common_name: str,
    public_key: PublicKey,
    ca_certificate: x509.Certificate,
    ca_private_key: PrivateKey,
    now: datetime,
    lifetime: timedelta = ISSUER_LIFETIME,
) -> x509.Certificate:
    """An issuer (document signer) certificate for ``public_key``, signed by the region's CA.

    Its key usage is digitalSignature only; it may not outlive its CA.
    """
    key, digest = _signing_key(ca_private_key)
    start = _aware(now, "now")
    end = start + lifetime
    if end > ca_certificate.not_valid_after_utc:
        raise InvalidCertificate(
            f"the issuer certificate would end at {end.isoformat()}, after its CA "
            f"({ca_certificate.not_valid_after_utc.isoformat()}); shorten the lifetime"
        )
    if start < ca_certificate.not_valid_before_utc:
        raise InvalidCertificate("the issuer certificate would start before its CA")
    embedded = _embeddable(public_key)
    ca_public = _embeddable(certificate_public_key(ca_certificate))
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(region_name, common_name))
        .issuer_name(ca_certificate.subject)
        .public_key(embedded)
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(end)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(embedded), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_public), critical=False
        )
    )
    return builder.sign(key, digest)


def load_certificate(data: bytes) -> x509.Certificate:
    """One certificate from PEM or DER bytes."""
    is_pem = data.lstrip().startswith(b"-----BEGIN")
    try:
        if is_pem:
            return x509.load_pem_x509_certificate(data)
        return x509.load_der_x509_certificate(data)
    except ValueError:
        form = "PEM" if is_pem else "DER"
        raise InvalidCertificate(f"certificate: not an X.509 certificate in {form}") from None


def load_pem_certificates(pem_text: str | bytes) -> list[x509.Certificate]:
    """Every certificate of a PEM bundle, in order; ``InvalidCertificate`` if there is none."""
    data = pem_text.encode("ascii", "replace") if isinstance(pem_text, str) else pem_text
    if b"-----BEGIN CERTIFICATE-----" not in data:
        raise InvalidCertificate("certificates: the PEM bundle holds no CERTIFICATE block")
    try:
        return x509.load_pem_x509_certificates(data)
    except ValueError:
        raise InvalidCertificate(
            "certificates: a CERTIFICATE block of the PEM bundle cannot be read"
        ) from None


def certificate_der(certificate: x509.Certificate) -> bytes:
    """The DER of a certificate."""
    return certificate.public_bytes(serialization.Encoding.DER)


def certificate_pem(certificate: x509.Certificate) -> str:
    """The PEM of a certificate."""
    return certificate.public_bytes(serialization.Encoding.PEM).decode("ascii")


def certificate_kid(certificate: x509.Certificate) -> bytes:
    """The HCERT key id: the first 8 bytes of SHA-256 of the certificate's DER."""
    return hashlib.sha256(certificate_der(certificate)).digest()[:KID_BYTES]


def _subject(certificate: x509.Certificate) -> str:
    return certificate.subject.rfc4514_string()


def certificate_spki(certificate: x509.Certificate) -> bytes:
    """The SubjectPublicKeyInfo DER inside a certificate, whatever its algorithm."""
    return _der.certificate_spki(certificate.tbs_certificate_bytes)


def certificate_public_key(certificate: x509.Certificate) -> PublicKey:
    """The subject public key, if it is one a suite takes (EC P-256, Ed25519 or SM2)."""
    try:
        key: object = certificate.public_key()
    except UnsupportedAlgorithm as exc:
        # cryptography knows no SM2 curve: read the key from the certificate ourselves.
        try:
            return SM2_SM3.load_public(certificate_spki(certificate))
        except (InvalidKey, ValueError, IndexError):
            raise InvalidCertificate(
                f"certificate {_subject(certificate)}: unsupported public key ({exc})"
            ) from None
    try:
        suite_for_key(key)
    except InvalidKey:
        raise InvalidCertificate(
            f"certificate {_subject(certificate)}: unsupported {describe_key(key)} key "
            "(certificates take EC P-256, Ed25519 or SM2 keys)"
        ) from None
    assert isinstance(key, ec.EllipticCurvePublicKey | ed25519.Ed25519PublicKey)
    return key


def certificate_suite(certificate: x509.Certificate) -> SignatureSuite:
    """The suite of a certificate's key: EC P-256 gives ES256, Ed25519 gives EdDSA."""
    return suite_for_key(certificate_public_key(certificate))


def check_issued_by(certificate: x509.Certificate, issuer: x509.Certificate) -> None:
    """Raise ``InvalidCertificate`` unless ``issuer`` issued ``certificate`` (name, signature)."""
    issuer_key = certificate_public_key(issuer)
    if isinstance(issuer_key, SM2PublicKey):
        _check_sm2_issued_by(certificate, issuer, issuer_key)
        return
    try:
        certificate.verify_directly_issued_by(issuer)
    except ValueError as exc:
        raise InvalidCertificate(
            f"certificate {_subject(certificate)}: not issued by {_subject(issuer)} ({exc})"
        ) from None
    except (InvalidSignature, TypeError, UnsupportedAlgorithm):
        raise InvalidCertificate(
            f"certificate {_subject(certificate)}: its signature does not verify under "
            f"the key of {_subject(issuer)}"
        ) from None


def _check_sm2_issued_by(
    certificate: x509.Certificate, issuer: x509.Certificate, issuer_key: SM2PublicKey
) -> None:
    """``check_issued_by`` for an SM2 issuer, whose signatures cryptography cannot check."""
    if certificate.issuer != issuer.subject:
        raise InvalidCertificate(
            f"certificate {_subject(certificate)}: not issued by {_subject(issuer)} "
            "(Issuer certificate subject does not match certificate issuer.)"
        )
    algorithm = certificate.signature_algorithm_oid.dotted_string
    if algorithm != OID_SM2_WITH_SM3:
        raise InvalidCertificate(
            f"certificate {_subject(certificate)}: signed with {algorithm}, but its issuer "
            f"{_subject(issuer)} holds an SM2 key (expected SM2-with-SM3, {OID_SM2_WITH_SM3})"
        )
    try:
        signature = der_to_raw(certificate.signature)
    except ValueError:
        signature = b""
    if not SM2_SM3.verify(issuer_key, certificate.tbs_certificate_bytes, signature):
        raise InvalidCertificate(
            f"certificate {_subject(certificate)}: its signature does not verify under "
            f"the key of {_subject(issuer)}"
        )
