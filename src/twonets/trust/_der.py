"""SM2 keys in DER, which ``cryptography`` does not read or write, through ``asn1crypto``.

``asn1crypto`` holds the structures: the SubjectPublicKeyInfo of an SM2 key (id-ecPublicKey
with the curve sm2p256v1), its PKCS#8 PrivateKeyInfo (RFC 5915 ECPrivateKey inside), and
PKCS#8 EncryptedPrivateKeyInfo under PBES2 (PBKDF2-HMAC-SHA256, AES-256-CBC), the scheme
``cryptography``'s ``BestAvailableEncryption`` writes for the other suites. This module is the
glue: it registers the SM2 curve, writes exactly the bytes OpenSSL 3 writes, reads only those
shapes back (anything that does not re-encode to the same DER is refused), and does the
PBKDF2 and AES with ``cryptography``. Every reader raises ``ValueError`` with a short reason;
callers turn it into a domain error.
"""

from __future__ import annotations

import base64
import binascii
import os
import re
from typing import Any

from asn1crypto import algos, core, keys, parser, x509
from asn1crypto import pem as asn1_pem
from cryptography.hazmat.primitives import hashes, padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.kdf.pbkdf2 import PBKDF2HMAC

# Tag bytes, for building test structures and naming what a reader refused.
SEQUENCE = 0x30
INTEGER = 0x02
BIT_STRING = 0x03
OCTET_STRING = 0x04
NULL = 0x05
OID = 0x06
CONTEXT_0 = 0xA0
CONTEXT_1 = 0xA1

OID_EC_PUBLIC_KEY = "1.2.840.10045.2.1"
OID_SM2_CURVE = "1.2.156.10197.1.301"
SM2_CURVE_NAME = "sm2p256v1"
SM2_KEY_BYTES = 32

# The parameters cryptography's BestAvailableEncryption uses for PKCS#8 (checked with
# `openssl asn1parse`); the passphrase is a 256-bit HKDF output, so the count adds nothing.
PBKDF2_ITERATIONS = 2048
SALT_BYTES = 16
IV_BYTES = 16
AES_KEY_BYTES = 32

# asn1crypto knows the named curves of RFC 5480; GB/T 32918's is registered once, here.
if OID_SM2_CURVE not in keys.NamedCurve._map:
    keys.NamedCurve.register(SM2_CURVE_NAME, OID_SM2_CURVE, SM2_KEY_BYTES)

_ASN1_ERRORS = (ValueError, TypeError, KeyError, IndexError, OverflowError)


def tlv(tag: int, content: bytes) -> bytes:
    """One DER element of the tag byte ``tag`` (class, constructed bit and number)."""
    return bytes(parser.emit(tag >> 6, (tag >> 5) & 1, tag & 0x1F, content))


def integer(value: int) -> bytes:
    """A DER INTEGER."""
    return bytes(core.Integer(value).dump())


def oid(dotted: str) -> bytes:
    """A DER OBJECT IDENTIFIER from its dotted form."""
    return bytes(core.ObjectIdentifier(dotted).dump())


def sequence(*items: bytes) -> bytes:
    """A DER SEQUENCE of already-encoded items."""
    return tlv(SEQUENCE, b"".join(items))


def _reason(exc: Exception) -> str:
    """asn1crypto's complaint, shortened to the reason a caller shows."""
    text = str(exc).split("\n", 1)[0]
    if text.startswith("Insufficient data") or "requested but only" in text:
        return "truncated DER element"
    return f"not DER: {text}"


def _sm2_parameters() -> keys.ECDomainParameters:
    return keys.ECDomainParameters(name="named", value=SM2_CURVE_NAME)


def sm2_spki(point: bytes) -> bytes:
    """The SubjectPublicKeyInfo DER of an uncompressed SM2 point (65 bytes, 0x04 first)."""
    info = keys.PublicKeyInfo(
        {
            "algorithm": keys.PublicKeyAlgorithm(
                {"algorithm": "ec", "parameters": _sm2_parameters()}
            ),
            "public_key": point,
        }
    )
    return bytes(info.dump())


def _is_sm2_algorithm(algorithm: Any) -> bool:
    parameters = algorithm["parameters"]
    return bool(
        algorithm["algorithm"].dotted == OID_EC_PUBLIC_KEY
        and parameters.name == "named"
        and parameters.chosen.dotted == OID_SM2_CURVE
    )


def parse_sm2_spki(der: bytes) -> bytes:
    """The uncompressed point of an SM2 SubjectPublicKeyInfo."""
    try:
        info = keys.PublicKeyInfo.load(der, strict=True)
        is_sm2 = _is_sm2_algorithm(info["algorithm"])
        bits = bytes(info["public_key"].contents)
    except _ASN1_ERRORS as exc:
        raise ValueError(_reason(exc)) from None
    if not is_sm2:
        raise ValueError("not an SM2 key (algorithm is not id-ecPublicKey with sm2p256v1)")
    if not bits or bits[0] != 0:
        raise ValueError("subjectPublicKey has unused bits")
    point = bits[1:]
    if sm2_spki(point) != der:
        raise ValueError("not the DER of an SM2 SubjectPublicKeyInfo")
    return point


def sm2_pkcs8(scalar: int, point: bytes) -> bytes:
    """The PKCS#8 PrivateKeyInfo DER of an SM2 key, as OpenSSL writes it."""
    ec_private_key = keys.ECPrivateKey(
        {"version": "ecPrivkeyVer1", "private_key": scalar, "public_key": point}
    )
    ec_private_key.set_key_size(SM2_KEY_BYTES)
    info = keys.PrivateKeyInfo(
        {
            "version": 0,
            "private_key_algorithm": keys.PrivateKeyAlgorithm(
                {"algorithm": "ec", "parameters": _sm2_parameters()}
            ),
            "private_key": ec_private_key,
        }
    )
    return bytes(info.dump())


def _check_ec_private_key_fields(der: bytes) -> None:
    """Only [0] parameters and [1] publicKey may follow the scalar of an ECPrivateKey."""
    _, _, _, _, content, _ = parser.parse(der, strict=True)
    offset, position = 0, 0
    while offset < len(content):
        length = parser.peek(content[offset:])
        header = parser.parse(content[offset : offset + length], strict=True)[3]
        offset += length
        position += 1
        tag = header[0]
        if position > 2 and tag not in (CONTEXT_0, CONTEXT_1):
            # Nothing else may follow; refusing it also catches most tampering of the tags.
            raise ValueError(f"ECPrivateKey: unexpected DER tag 0x{tag:02x}")


def parse_sm2_pkcs8(der: bytes) -> tuple[int, bytes | None]:
    """The scalar and, if present, the public point of an SM2 PKCS#8 PrivateKeyInfo."""
    try:
        info = keys.PrivateKeyInfo.load(der, strict=True)
        if info["version"].native not in (0, "v1"):
            raise ValueError("not a version-0 PrivateKeyInfo")
        if not _is_sm2_algorithm(info["private_key_algorithm"]):
            raise ValueError("not an SM2 key (algorithm is not id-ecPublicKey with sm2p256v1)")
        inner_der = bytes(info["private_key"].contents)
        _check_ec_private_key_fields(inner_der)
        inner = keys.ECPrivateKey.load(inner_der, strict=True)
        if inner["version"].native != "ecPrivkeyVer1":
            raise ValueError("not a version-1 ECPrivateKey")
        scalar = int.from_bytes(bytes(inner["private_key"].contents), "big")
        parameters = inner["parameters"]
        if parameters.native is not None and (
            parameters.name != "named" or parameters.chosen.dotted != OID_SM2_CURVE
        ):
            raise ValueError("ECPrivateKey parameters name another curve than SM2")
        public = inner["public_key"]
        bits = None if public.native is None else bytes(public.contents)
    except ValueError as exc:
        text = str(exc).split("\n", 1)[0]
        if text.startswith(("not a version", "not an SM2", "ECPrivateKey")):
            raise ValueError(text) from None
        raise ValueError(_reason(exc)) from None
    except _ASN1_ERRORS as exc:
        raise ValueError(_reason(exc)) from None
    if bits is None:
        return scalar, None
    if not bits or bits[0] != 0:
        raise ValueError("publicKey has unused bits")
    return scalar, bits[1:]


def _aes_key(passphrase: bytes, salt: bytes, iterations: int) -> bytes:
    kdf = PBKDF2HMAC(
        algorithm=hashes.SHA256(), length=AES_KEY_BYTES, salt=salt, iterations=iterations
    )
    return kdf.derive(passphrase)


def pbes2_encrypt(plain: bytes, passphrase: bytes) -> bytes:
    """PKCS#8 EncryptedPrivateKeyInfo DER of ``plain`` under ``passphrase``."""
    salt, iv = os.urandom(SALT_BYTES), os.urandom(IV_BYTES)
    padder = padding.PKCS7(128).padder()
    padded = padder.update(plain) + padder.finalize()
    encryptor = Cipher(
        algorithms.AES(_aes_key(passphrase, salt, PBKDF2_ITERATIONS)), modes.CBC(iv)
    ).encryptor()
    encrypted = encryptor.update(padded) + encryptor.finalize()
    kdf = algos.KdfAlgorithm(
        {
            "algorithm": "pbkdf2",
            "parameters": algos.Pbkdf2Params(
                {
                    "salt": algos.Pbkdf2Salt(name="specified", value=salt),
                    "iteration_count": PBKDF2_ITERATIONS,
                    "prf": algos.HmacAlgorithm({"algorithm": "sha256", "parameters": core.Null()}),
                }
            ),
        }
    )
    scheme = algos.EncryptionAlgorithm({"algorithm": "aes256_cbc", "parameters": iv})
    algorithm = algos.EncryptionAlgorithm(
        {
            "algorithm": "pbes2",
            "parameters": algos.Pbes2Params(
                {"key_derivation_func": kdf, "encryption_scheme": scheme}
            ),
        }
    )
    info = keys.EncryptedPrivateKeyInfo(
        {"encryption_algorithm": algorithm, "encrypted_data": encrypted}
    )
    return bytes(info.dump())


def pbes2_decrypt(der: bytes, passphrase: bytes) -> bytes:
    """The PrivateKeyInfo DER inside a PBES2 EncryptedPrivateKeyInfo of the shape we write.

    Only PBKDF2 with HMAC-SHA256 and AES-256-CBC is read (OpenSSL 3's default as well).
    """
    try:
        info = keys.EncryptedPrivateKeyInfo.load(der, strict=True)
        algorithm = info["encryption_algorithm"]
        if algorithm["algorithm"].native != "pbes2":
            raise ValueError("only PBES2 encryption is supported")
        kdf = algorithm["parameters"]["key_derivation_func"]
        if kdf["algorithm"].native != "pbkdf2":
            raise ValueError("only the PBKDF2 key derivation is supported")
        params = kdf["parameters"]
        if params["prf"]["algorithm"].native != "sha256":
            raise ValueError("only PBKDF2 with HMAC-SHA256 is supported")
        salt = params["salt"].native
        iterations = params["iteration_count"].native
        scheme = algorithm["parameters"]["encryption_scheme"]
        if scheme["algorithm"].native != "aes256_cbc":
            raise ValueError("only AES-256-CBC encryption is supported")
        iv = scheme["parameters"].native
        encrypted = info["encrypted_data"].native
    except ValueError as exc:
        text = str(exc).split("\n", 1)[0]
        raise ValueError(text if text.startswith("only") else _reason(exc)) from None
    except _ASN1_ERRORS as exc:
        raise ValueError(_reason(exc)) from None
    if not isinstance(salt, bytes) or not isinstance(iv, bytes) or not isinstance(iterations, int):
        raise ValueError("PBES2 parameters of the wrong type")
    if not 1 <= iterations <= 10_000_000 or len(iv) != IV_BYTES:
        raise ValueError("PBES2 parameters out of range")
    if not encrypted or len(encrypted) % 16:
        raise ValueError("encryptedData is not whole AES blocks")
    decryptor = Cipher(
        algorithms.AES(_aes_key(passphrase, salt, iterations)), modes.CBC(iv)
    ).decryptor()
    padded = decryptor.update(encrypted) + decryptor.finalize()
    unpadder = padding.PKCS7(128).unpadder()
    # A wrong passphrase shows as bad padding (or, 1 time in 256, as garbage the caller rejects).
    return unpadder.update(padded) + unpadder.finalize()


def certificate_spki(tbs_certificate: bytes) -> bytes:
    """The SubjectPublicKeyInfo DER inside a certificate's TBSCertificate, whatever its key."""
    try:
        tbs = x509.TbsCertificate.load(tbs_certificate)
        return bytes(tbs["subject_public_key_info"].dump())
    except _ASN1_ERRORS as exc:
        raise ValueError(_reason(exc)) from None


_PEM = re.compile(
    rb"-----BEGIN ([A-Z0-9 ]+)-----\s*([A-Za-z0-9+/=\s]*?)\s*-----END \1-----", re.ASCII
)


def pem(label: str, der: bytes) -> bytes:
    """A PEM block with 64-character lines."""
    return bytes(asn1_pem.armor(label, der))


def unpem(data: bytes, label: str) -> bytes:
    """The DER of the first PEM block with ``label`` in ``data`` (text around it is ignored)."""
    for match in _PEM.finditer(data):
        if match.group(1).decode() == label:
            try:
                return base64.b64decode(b"".join(match.group(2).split()), validate=True)
            except (binascii.Error, ValueError):
                raise ValueError(f"the {label} PEM block is not valid base64") from None
    raise ValueError(f"no {label} PEM block")
