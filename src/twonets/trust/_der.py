"""Just enough DER for SM2 keys, which ``cryptography`` does not read or write.

Three fixed shapes, byte-compatible with OpenSSL 3: the SubjectPublicKeyInfo of an SM2 key
(id-ecPublicKey with the curve sm2p256v1), its PKCS#8 PrivateKeyInfo (RFC 5915 ECPrivateKey
inside), and PKCS#8 EncryptedPrivateKeyInfo under PBES2 (PBKDF2-HMAC-SHA256, AES-256-CBC),
the same scheme ``cryptography``'s ``BestAvailableEncryption`` writes for the other suites.
Every reader raises ``ValueError`` with a short reason; callers turn it into a domain error.
"""

from __future__ import annotations

import base64
import binascii
import os
import re

from cryptography.hazmat.primitives import hashes, padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.kdf.pbkdf2 import PBKDF2HMAC

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
OID_PBES2 = "1.2.840.113549.1.5.13"
OID_PBKDF2 = "1.2.840.113549.1.5.12"
OID_HMAC_SHA256 = "1.2.840.113549.2.9"
OID_AES256_CBC = "2.16.840.1.101.3.4.1.42"

# The parameters cryptography's BestAvailableEncryption uses for PKCS#8 (checked with
# `openssl asn1parse`); the passphrase is a 256-bit HKDF output, so the count adds nothing.
PBKDF2_ITERATIONS = 2048
SALT_BYTES = 16
IV_BYTES = 16
AES_KEY_BYTES = 32


def _length(n: int) -> bytes:
    if n < 0x80:
        return bytes([n])
    raw = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(raw)]) + raw


def tlv(tag: int, content: bytes) -> bytes:
    """One DER element."""
    return bytes([tag]) + _length(len(content)) + content


def integer(value: int) -> bytes:
    """A non-negative DER INTEGER."""
    raw = value.to_bytes(max(1, (value.bit_length() + 8) // 8), "big")
    return tlv(INTEGER, raw)


def oid(dotted: str) -> bytes:
    """A DER OBJECT IDENTIFIER from its dotted form."""
    arcs = [int(a) for a in dotted.split(".")]
    body = bytearray([40 * arcs[0] + arcs[1]])
    for arc in arcs[2:]:
        chunk = [arc & 0x7F]
        arc >>= 7
        while arc:
            chunk.append(0x80 | (arc & 0x7F))
            arc >>= 7
        body.extend(reversed(chunk))
    return tlv(OID, bytes(body))


def sequence(*items: bytes) -> bytes:
    """A DER SEQUENCE of already-encoded items."""
    return tlv(SEQUENCE, b"".join(items))


def read(data: bytes, offset: int = 0) -> tuple[int, bytes, int]:
    """The tag, content and end offset of the element at ``offset`` (definite lengths only)."""
    if offset + 2 > len(data):
        raise ValueError("truncated DER element")
    tag, first = data[offset], data[offset + 1]
    offset += 2
    if first < 0x80:
        length = first
    else:
        count = first & 0x7F
        if count == 0 or count > 4 or offset + count > len(data):
            raise ValueError("bad DER length")
        length = int.from_bytes(data[offset : offset + count], "big")
        offset += count
    end = offset + length
    if end > len(data):
        raise ValueError("truncated DER element")
    return tag, data[offset:end], end


def read_only(data: bytes, tag: int) -> bytes:
    """The content of ``data`` if it is exactly one element with ``tag``."""
    found, content, end = read(data)
    if found != tag or end != len(data):
        raise ValueError(f"expected one DER element with tag 0x{tag:02x}")
    return content


def children(content: bytes) -> list[tuple[int, bytes]]:
    """The (tag, content) of each element inside a constructed element's content."""
    items = []
    offset = 0
    while offset < len(content):
        tag, value, offset = read(content, offset)
        items.append((tag, value))
    return items


def expect(item: tuple[int, bytes], tag: int, what: str) -> bytes:
    """The content of ``item`` if its tag is ``tag``, else a ``ValueError`` naming ``what``."""
    if item[0] != tag:
        raise ValueError(f"{what}: unexpected DER tag 0x{item[0]:02x}")
    return item[1]


def _sm2_algorithm() -> bytes:
    return sequence(oid(OID_EC_PUBLIC_KEY), oid(OID_SM2_CURVE))


def sm2_spki(point: bytes) -> bytes:
    """The SubjectPublicKeyInfo DER of an uncompressed SM2 point (65 bytes, 0x04 first)."""
    return sequence(_sm2_algorithm(), tlv(BIT_STRING, b"\x00" + point))


def parse_sm2_spki(der: bytes) -> bytes:
    """The uncompressed point of an SM2 SubjectPublicKeyInfo."""
    items = children(read_only(der, SEQUENCE))
    if len(items) != 2:
        raise ValueError("a SubjectPublicKeyInfo has two parts")
    if tlv(*items[0]) != _sm2_algorithm():
        raise ValueError("not an SM2 key (algorithm is not id-ecPublicKey with sm2p256v1)")
    bits = expect(items[1], BIT_STRING, "subjectPublicKey")
    if not bits or bits[0] != 0:
        raise ValueError("subjectPublicKey has unused bits")
    return bits[1:]


def sm2_pkcs8(scalar: int, point: bytes) -> bytes:
    """The PKCS#8 PrivateKeyInfo DER of an SM2 key, as OpenSSL writes it."""
    ec_private_key = sequence(
        integer(1),
        tlv(OCTET_STRING, scalar.to_bytes(32, "big")),
        tlv(CONTEXT_1, tlv(BIT_STRING, b"\x00" + point)),
    )
    return sequence(integer(0), _sm2_algorithm(), tlv(OCTET_STRING, ec_private_key))


def parse_sm2_pkcs8(der: bytes) -> tuple[int, bytes | None]:
    """The scalar and, if present, the public point of an SM2 PKCS#8 PrivateKeyInfo."""
    items = children(read_only(der, SEQUENCE))
    if len(items) < 3 or items[0] != (INTEGER, b"\x00"):
        raise ValueError("not a version-0 PrivateKeyInfo")
    if tlv(*items[1]) != _sm2_algorithm():
        raise ValueError("not an SM2 key (algorithm is not id-ecPublicKey with sm2p256v1)")
    inner = children(read_only(expect(items[2], OCTET_STRING, "privateKey"), SEQUENCE))
    if len(inner) < 2 or inner[0] != (INTEGER, b"\x01"):
        raise ValueError("not a version-1 ECPrivateKey")
    scalar = int.from_bytes(expect(inner[1], OCTET_STRING, "privateKey"), "big")
    point = None
    for tag, value in inner[2:]:
        if tag == CONTEXT_0:
            if value != oid(OID_SM2_CURVE):
                raise ValueError("ECPrivateKey parameters name another curve than SM2")
        elif tag == CONTEXT_1:
            bits = read_only(value, BIT_STRING)
            if not bits or bits[0] != 0:
                raise ValueError("publicKey has unused bits")
            point = bits[1:]
        else:
            # Nothing else may follow; refusing it also catches most tampering of the tags.
            raise ValueError(f"ECPrivateKey: unexpected DER tag 0x{tag:02x}")
    return scalar, point


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
    kdf = sequence(
        oid(OID_PBKDF2),
        sequence(
            tlv(OCTET_STRING, salt),
            integer(PBKDF2_ITERATIONS),
            sequence(oid(OID_HMAC_SHA256), tlv(NULL, b"")),
        ),
    )
    scheme = sequence(oid(OID_AES256_CBC), tlv(OCTET_STRING, iv))
    algorithm = sequence(oid(OID_PBES2), sequence(kdf, scheme))
    return sequence(algorithm, tlv(OCTET_STRING, encrypted))


def pbes2_decrypt(der: bytes, passphrase: bytes) -> bytes:
    """The PrivateKeyInfo DER inside a PBES2 EncryptedPrivateKeyInfo of the shape we write.

    Only PBKDF2 with HMAC-SHA256 and AES-256-CBC is read (OpenSSL 3's default as well).
    """
    outer = children(read_only(der, SEQUENCE))
    if len(outer) != 2:
        raise ValueError("an EncryptedPrivateKeyInfo has two parts")
    algorithm = children(expect(outer[0], SEQUENCE, "encryptionAlgorithm"))
    if len(algorithm) != 2 or tlv(*algorithm[0]) != oid(OID_PBES2):
        raise ValueError("only PBES2 encryption is supported")
    kdf, scheme = children(expect(algorithm[1], SEQUENCE, "PBES2 parameters"))
    kdf_parts = children(kdf[1])
    if tlv(*kdf_parts[0]) != oid(OID_PBKDF2):
        raise ValueError("only the PBKDF2 key derivation is supported")
    params = children(expect(kdf_parts[1], SEQUENCE, "PBKDF2 parameters"))
    salt = expect(params[0], OCTET_STRING, "salt")
    iterations = int.from_bytes(expect(params[1], INTEGER, "iterationCount"), "big")
    prf = [p for p in params[2:] if p[0] == SEQUENCE]
    if not prf or tlv(*children(prf[0][1])[0]) != oid(OID_HMAC_SHA256):
        raise ValueError("only PBKDF2 with HMAC-SHA256 is supported")
    scheme_parts = children(scheme[1])
    if tlv(*scheme_parts[0]) != oid(OID_AES256_CBC):
        raise ValueError("only AES-256-CBC encryption is supported")
    iv = expect(scheme_parts[1], OCTET_STRING, "iv")
    if not 1 <= iterations <= 10_000_000 or len(iv) != IV_BYTES:
        raise ValueError("PBES2 parameters out of range")
    encrypted = expect(outer[1], OCTET_STRING, "encryptedData")
    if not encrypted or len(encrypted) % 16:
        raise ValueError("encryptedData is not whole AES blocks")
    decryptor = Cipher(
        algorithms.AES(_aes_key(passphrase, salt, iterations)), modes.CBC(iv)
    ).decryptor()
    padded = decryptor.update(encrypted) + decryptor.finalize()
    unpadder = padding.PKCS7(128).unpadder()
    # A wrong passphrase shows as bad padding (or, 1 time in 256, as garbage the caller rejects).
    return unpadder.update(padded) + unpadder.finalize()


_PEM = re.compile(
    rb"-----BEGIN ([A-Z0-9 ]+)-----\s*([A-Za-z0-9+/=\s]*?)\s*-----END \1-----", re.ASCII
)


def pem(label: str, der: bytes) -> bytes:
    """A PEM block with 64-character lines."""
    body = base64.b64encode(der)
    lines = [body[i : i + 64] for i in range(0, len(body), 64)]
    head, tail = f"-----BEGIN {label}-----", f"-----END {label}-----"
    return b"\n".join([head.encode(), *lines, tail.encode()]) + b"\n"


def unpem(data: bytes, label: str) -> bytes:
    """The DER of the first PEM block with ``label`` in ``data``."""
    for match in _PEM.finditer(data):
        if match.group(1).decode() == label:
            try:
                return base64.b64decode(b"".join(match.group(2).split()), validate=True)
            except (binascii.Error, ValueError):
                raise ValueError(f"the {label} PEM block is not valid base64") from None
    raise ValueError(f"no {label} PEM block")
