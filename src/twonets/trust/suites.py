"""Pluggable signature suites: ES256 and EdDSA through ``cryptography``, SM2-SM3 via tongsuopy.

Every suite signs bytes and returns the signature in the form COSE and JWS carry it: ES256
as raw r||s (64 bytes, RFC 7518 section 3.4), EdDSA (Ed25519) as its 64 bytes, SM2 as raw
r||s as well (64 bytes; GM/T 0009 writes SM2 signatures as a DER pair, which ``raw_to_der``
and ``der_to_raw`` convert to and from). ``verify`` answers False for any signature that does
not verify, including one of the wrong length or a key of another suite; it raises only when
the suite itself cannot run (``SuiteUnavailable``).

SM2 follows GB/T 32918.2: e = SM3(Z_A || M), where Z_A hashes the signer's user id (the
default "1234567812345678" of GB/T 35276 and GM/T 0009), the curve and the public key. No
algorithm identifier for SM2 is registered with IANA for COSE, so it uses -65537 from the
private-use range (below -65536) of the COSE Algorithms registry; it must not leave systems
that agree on that value. Its public keys are SubjectPublicKeyInfo with id-ecPublicKey and
the curve sm2p256v1 (1.2.156.10197.1.301), as OpenSSL writes them.

Public keys are read and written as SubjectPublicKeyInfo (DER or PEM); private keys only as
encrypted PKCS#8 PEM (PBES2), since a private key is never meant to be stored in clear.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Final, Literal, Protocol, TypeAlias

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, rsa
from cryptography.hazmat.primitives.asymmetric.utils import (
    decode_dss_signature,
    encode_dss_signature,
)

from twonets.trust import _der, sm2
from twonets.trust.errors import InvalidKey, UnknownSuite

Encoding: TypeAlias = Literal["DER", "PEM"]

COSE_ALG_ES256: Final = -7
COSE_ALG_EDDSA: Final = -8
# Private use (values below -65536 in the IANA COSE Algorithms registry): no SM2 value exists.
COSE_ALG_SM2_SM3: Final = -65537
SM2_DEFAULT_USER_ID: Final = b"1234567812345678"
SM2_PACKAGE: Final = sm2.PACKAGE

SIGNATURE_BYTES: Final = 64
_COORDINATE_BYTES = 32

# The SM2 recommended curve of GB/T 32918.5 (a = p - 3, cofactor 1).
_SM2_P = 0xFFFFFFFE_FFFFFFFF_FFFFFFFF_FFFFFFFF_FFFFFFFF_00000000_FFFFFFFF_FFFFFFFF
_SM2_A = _SM2_P - 3
_SM2_B = 0x28E9FA9E_9D9F5E34_4D5A9E4B_CF6509A7_F39789F5_15AB8F92_DDBCBD41_4D940E93
_SM2_N = 0xFFFFFFFE_FFFFFFFF_FFFFFFFF_FFFFFFFF_7203DF6B_21C6052B_53BBF409_39D54123


@dataclass(frozen=True)
class SM2PublicKey:
    """An SM2 public key: the uncompressed point 0x04 || x || y on the SM2 curve."""

    point: bytes

    def __post_init__(self) -> None:
        if not _on_sm2_curve(self.point):
            raise InvalidKey("SM2 public key: not an uncompressed point on the SM2 curve")

    def __repr__(self) -> str:
        return f"SM2PublicKey(x={self.point[1:9].hex()}…)"


class SM2PrivateKey:
    """An SM2 private key; its scalar never appears in ``repr``."""

    __slots__ = ("_public", "_scalar")

    def __init__(self, scalar: int, public: SM2PublicKey) -> None:
        if not 1 <= scalar <= _SM2_N - 2:
            raise InvalidKey("SM2 private key: the scalar is out of range [1, n-2]")
        self._scalar = scalar
        self._public = public

    def __repr__(self) -> str:
        return f"SM2PrivateKey(public={self._public!r})"

    def public_key(self) -> SM2PublicKey:
        """The public half."""
        return self._public

    @property
    def scalar(self) -> int:
        """The private scalar d (handle with care: it is the key)."""
        return self._scalar


PrivateKey: TypeAlias = ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey | SM2PrivateKey
PublicKey: TypeAlias = ec.EllipticCurvePublicKey | ed25519.Ed25519PublicKey | SM2PublicKey


def _on_sm2_curve(point: bytes) -> bool:
    """Whether ``point`` is an uncompressed SM2 curve point (cofactor 1: nothing more to check)."""
    if len(point) != 1 + 2 * _COORDINATE_BYTES or point[0] != 0x04:
        return False
    x = int.from_bytes(point[1:33], "big")
    y = int.from_bytes(point[33:], "big")
    if x >= _SM2_P or y >= _SM2_P:
        return False
    return (y * y - (x * x * x + _SM2_A * x + _SM2_B)) % _SM2_P == 0


def describe_key(key: object) -> str:
    """A short human name of a key's type, for error messages ("EC P-256", "Ed25519", ...)."""
    if isinstance(key, ec.EllipticCurvePublicKey | ec.EllipticCurvePrivateKey):
        names = {"secp256r1": "P-256", "secp384r1": "P-384", "secp521r1": "P-521"}
        return f"EC {names.get(key.curve.name, key.curve.name)}"
    if isinstance(key, ed25519.Ed25519PublicKey | ed25519.Ed25519PrivateKey):
        return "Ed25519"
    if isinstance(key, ed448.Ed448PublicKey | ed448.Ed448PrivateKey):
        return "Ed448"
    if isinstance(key, rsa.RSAPublicKey | rsa.RSAPrivateKey):
        return f"RSA {key.key_size}"
    if isinstance(key, SM2PublicKey | SM2PrivateKey):
        return "SM2"
    return type(key).__name__


class SignatureSuite(Protocol):
    """What every suite offers: keys, signatures, and the SubjectPublicKeyInfo of its keys."""

    @property
    def name(self) -> str:
        """The suite's name in trust lists and keyrings: "ES256", "EdDSA" or "SM2-SM3"."""
        ...

    @property
    def cose_alg(self) -> int:
        """The COSE algorithm identifier (-7, -8, or the private-use -65537 for SM2)."""
        ...

    @property
    def jws_alg(self) -> str | None:
        """The JWS "alg" value, or None where none is registered (SM2)."""
        ...

    def owns(self, key: object) -> bool:
        """Whether ``key`` (public or private) is a key of this suite."""
        ...

    def generate(self) -> PrivateKey:
        """A fresh private key."""
        ...

    def sign(self, private: PrivateKey, message: bytes) -> bytes:
        """The signature of ``message`` (64 bytes for every suite here)."""
        ...

    def verify(self, public: PublicKey, message: bytes, signature: bytes) -> bool:
        """Whether ``signature`` of ``message`` is valid under ``public``; False, never raising."""
        ...

    def public_bytes(self, public: PublicKey, encoding: Encoding = "DER") -> bytes:
        """The SubjectPublicKeyInfo of ``public`` as DER or PEM."""
        ...

    def load_public(self, data: bytes) -> PublicKey:
        """A public key of this suite from SubjectPublicKeyInfo DER or PEM."""
        ...

    def private_bytes(self, private: PrivateKey, passphrase: bytes) -> bytes:
        """``private`` as encrypted PKCS#8 PEM under ``passphrase``."""
        ...

    def load_private(self, data: bytes, passphrase: bytes) -> PrivateKey:
        """A private key of this suite from encrypted PKCS#8 PEM."""
        ...


def _is_pem(data: bytes) -> bool:
    return data.lstrip().startswith(b"-----BEGIN")


def _load_cryptography_public(data: bytes) -> object:
    """A public key through ``cryptography``, or ``InvalidKey`` saying why not."""
    try:
        if _is_pem(data):
            return serialization.load_pem_public_key(data)
        return serialization.load_der_public_key(data)
    except UnsupportedAlgorithm as exc:
        raise InvalidKey(f"public key: unsupported algorithm ({exc})") from None
    except ValueError:
        form = "PEM" if _is_pem(data) else "DER"
        raise InvalidKey(f"public key: not a SubjectPublicKeyInfo in {form}") from None


def _pem_encryption(passphrase: bytes) -> serialization.KeySerializationEncryption:
    if not passphrase:
        raise ValueError("the passphrase of a private key must not be empty")
    return serialization.BestAvailableEncryption(passphrase)


def _load_cryptography_private(data: bytes, passphrase: bytes, suite: str) -> object:
    if b"ENCRYPTED PRIVATE KEY" not in data:
        raise InvalidKey(f"{suite} private key: expected encrypted PKCS#8 PEM")
    try:
        return serialization.load_pem_private_key(data, password=passphrase)
    except (ValueError, TypeError, UnsupportedAlgorithm):
        # cryptography says "Bad decrypt. Incorrect password?" and the like; keep it uniform.
        raise InvalidKey(
            f"{suite} private key: cannot be decrypted (wrong passphrase or altered data)"
        ) from None


class _CryptographySuite:
    """Shared serialisation of the suites whose keys ``cryptography`` handles."""

    name: str
    cose_alg: int
    jws_alg: str | None
    key_name: str

    def owns(self, key: object) -> bool:
        raise NotImplementedError

    def _public(self, public: PublicKey) -> ec.EllipticCurvePublicKey | ed25519.Ed25519PublicKey:
        if not self.owns(public) or isinstance(public, SM2PublicKey):
            raise InvalidKey(
                f"{self.name} takes an {self.key_name} key, got {describe_key(public)}"
            )
        return public

    def public_bytes(self, public: PublicKey, encoding: Encoding = "DER") -> bytes:
        key = self._public(public)
        form = serialization.Encoding.PEM if encoding == "PEM" else serialization.Encoding.DER
        return key.public_bytes(form, serialization.PublicFormat.SubjectPublicKeyInfo)

    def load_public(self, data: bytes) -> PublicKey:
        key = _load_cryptography_public(data)
        if not self.owns(key) or not isinstance(
            key, ec.EllipticCurvePublicKey | ed25519.Ed25519PublicKey
        ):
            raise InvalidKey(
                f"public key: {self.name} takes an {self.key_name} key, got {describe_key(key)}"
            )
        return key

    def _private(
        self, private: PrivateKey
    ) -> ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey:
        if not self.owns(private) or isinstance(private, SM2PrivateKey):
            raise InvalidKey(
                f"{self.name} signs with an {self.key_name} private key, "
                f"got {describe_key(private)}"
            )
        return private

    def private_bytes(self, private: PrivateKey, passphrase: bytes) -> bytes:
        return self._private(private).private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            _pem_encryption(passphrase),
        )

    def load_private(self, data: bytes, passphrase: bytes) -> PrivateKey:
        key = _load_cryptography_private(data, passphrase, self.name)
        if not self.owns(key) or not isinstance(
            key, ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey
        ):
            raise InvalidKey(
                f"{self.name} private key: expected an {self.key_name} key, got {describe_key(key)}"
            )
        return key


class ES256Suite(_CryptographySuite):
    """ECDSA on P-256 with SHA-256; signatures as raw r||s (64 bytes)."""

    name = "ES256"
    cose_alg = COSE_ALG_ES256
    jws_alg = "ES256"
    key_name = "EC P-256"

    def owns(self, key: object) -> bool:
        return isinstance(
            key, ec.EllipticCurvePublicKey | ec.EllipticCurvePrivateKey
        ) and isinstance(key.curve, ec.SECP256R1)

    def generate(self) -> PrivateKey:
        return ec.generate_private_key(ec.SECP256R1())

    def sign(self, private: PrivateKey, message: bytes) -> bytes:
        key = self._private(private)
        assert isinstance(key, ec.EllipticCurvePrivateKey)  # owns() checked the curve
        return der_to_raw(key.sign(message, ec.ECDSA(hashes.SHA256())))

    def verify(self, public: PublicKey, message: bytes, signature: bytes) -> bool:
        if not isinstance(public, ec.EllipticCurvePublicKey) or not self.owns(public):
            return False
        if len(signature) != SIGNATURE_BYTES:
            return False
        try:
            public.verify(raw_to_der(signature), message, ec.ECDSA(hashes.SHA256()))
        except InvalidSignature:
            return False
        return True


class EdDSASuite(_CryptographySuite):
    """EdDSA on Ed25519 (RFC 8032), the JOSE and COSE "EdDSA" algorithm."""

    name = "EdDSA"
    cose_alg = COSE_ALG_EDDSA
    jws_alg = "EdDSA"
    key_name = "Ed25519"

    def owns(self, key: object) -> bool:
        return isinstance(key, ed25519.Ed25519PublicKey | ed25519.Ed25519PrivateKey)

    def generate(self) -> PrivateKey:
        return ed25519.Ed25519PrivateKey.generate()

    def sign(self, private: PrivateKey, message: bytes) -> bytes:
        key = self._private(private)
        assert isinstance(key, ed25519.Ed25519PrivateKey)
        return key.sign(message)

    def verify(self, public: PublicKey, message: bytes, signature: bytes) -> bool:
        if not isinstance(public, ed25519.Ed25519PublicKey) or len(signature) != SIGNATURE_BYTES:
            return False
        try:
            public.verify(signature, message)
        except InvalidSignature:
            return False
        return True


class SM2SM3Suite:
    """SM2 signatures with the SM3 digest (GB/T 32918.2), in C through tongsuopy (``sm2``)."""

    name = "SM2-SM3"
    cose_alg = COSE_ALG_SM2_SM3
    jws_alg: str | None = None
    key_name = "SM2"

    def __init__(self, user_id: bytes = SM2_DEFAULT_USER_ID) -> None:
        # GB/T 32918 caps ENTL (the id length in bits) at 16 bits.
        if not user_id or len(user_id) >= 8192:
            raise ValueError("the SM2 user id must be 1 to 8191 bytes")
        self.user_id = user_id

    def __repr__(self) -> str:
        return f"SM2SM3Suite(user_id={self.user_id!r})"

    @property
    def available(self) -> bool:
        """Whether tongsuopy is installed, so that this suite can generate, sign and verify."""
        return sm2.available()

    def owns(self, key: object) -> bool:
        return isinstance(key, SM2PublicKey | SM2PrivateKey)

    def from_scalar(self, scalar: int) -> SM2PrivateKey:
        """The private key of scalar d, with its public point computed (as from an HSM export)."""
        if not 1 <= scalar <= _SM2_N - 2:
            raise InvalidKey("SM2 private key: the scalar is out of range [1, n-2]")
        return SM2PrivateKey(scalar, SM2PublicKey(sm2.public_point(scalar)))

    def generate(self) -> PrivateKey:
        return self.from_scalar(sm2.generate_scalar())

    def sign(self, private: PrivateKey, message: bytes) -> bytes:
        if not isinstance(private, SM2PrivateKey):
            raise InvalidKey(f"SM2-SM3 signs with an SM2 private key, got {describe_key(private)}")
        return sm2.sign(private.scalar, private.public_key().point, self.user_id, message)

    def verify(self, public: PublicKey, message: bytes, signature: bytes) -> bool:
        if not isinstance(public, SM2PublicKey) or len(signature) != SIGNATURE_BYTES:
            return False
        return sm2.verify(public.point, self.user_id, message, signature)

    def public_bytes(self, public: PublicKey, encoding: Encoding = "DER") -> bytes:
        if not isinstance(public, SM2PublicKey):
            raise InvalidKey(f"SM2-SM3 takes an SM2 key, got {describe_key(public)}")
        der = _der.sm2_spki(public.point)
        return _der.pem("PUBLIC KEY", der) if encoding == "PEM" else der

    def load_public(self, data: bytes) -> PublicKey:
        try:
            der = _der.unpem(data, "PUBLIC KEY") if _is_pem(data) else data
            point = _der.parse_sm2_spki(der)
        except (ValueError, IndexError) as exc:
            if _names_sm2_curve(data):
                raise InvalidKey(f"public key: not an SM2 SubjectPublicKeyInfo ({exc})") from None
            key = _load_cryptography_public(data)
            raise InvalidKey(
                f"public key: SM2-SM3 takes an SM2 key, got {describe_key(key)}"
            ) from None
        return SM2PublicKey(point)

    def private_bytes(self, private: PrivateKey, passphrase: bytes) -> bytes:
        if not isinstance(private, SM2PrivateKey):
            raise InvalidKey(f"SM2-SM3 takes an SM2 private key, got {describe_key(private)}")
        if not passphrase:
            raise ValueError("the passphrase of a private key must not be empty")
        plain = _der.sm2_pkcs8(private.scalar, private.public_key().point)
        return _der.pem("ENCRYPTED PRIVATE KEY", _der.pbes2_encrypt(plain, passphrase))

    def load_private(self, data: bytes, passphrase: bytes) -> PrivateKey:
        try:
            encrypted = _der.unpem(data, "ENCRYPTED PRIVATE KEY")
        except ValueError:
            raise InvalidKey("SM2-SM3 private key: expected encrypted PKCS#8 PEM") from None
        try:
            scalar, point = _der.parse_sm2_pkcs8(_der.pbes2_decrypt(encrypted, passphrase))
        except (ValueError, IndexError):
            raise InvalidKey(
                "SM2-SM3 private key: cannot be decrypted (wrong passphrase or altered data)"
            ) from None
        key = self.from_scalar(scalar)
        if point is not None and point != key.public_key().point:
            raise InvalidKey("SM2-SM3 private key: its public key does not match its scalar")
        return key


def _names_sm2_curve(data: bytes) -> bool:
    """Whether DER or PEM bytes name the SM2 curve (so the error should be about SM2)."""
    try:
        der = _der.unpem(data, "PUBLIC KEY") if _is_pem(data) else data
    except ValueError:
        return False
    return _der.oid(_der.OID_SM2_CURVE) in der


ES256: Final = ES256Suite()
EDDSA: Final = EdDSASuite()
SM2_SM3: Final = SM2SM3Suite()

SUITES: Final[Mapping[str, SignatureSuite]] = MappingProxyType(
    {s.name: s for s in (ES256, EDDSA, SM2_SM3)}
)


def get_suite(name: str) -> SignatureSuite:
    """The suite called ``name``, or ``UnknownSuite`` listing the known ones."""
    suite = SUITES.get(name)
    if suite is None:
        known = ", ".join(SUITES)
        raise UnknownSuite.field(
            "suite", "unknown", f"unknown signature suite {name!r}; known: {known}"
        )
    return suite


def suite_for_key(key: object) -> SignatureSuite:
    """The suite that owns ``key`` (public or private), or ``InvalidKey``."""
    for suite in SUITES.values():
        if suite.owns(key):
            return suite
    raise InvalidKey(
        f"no signature suite takes {describe_key(key)} keys "
        "(ES256 takes EC P-256, EdDSA Ed25519, SM2-SM3 SM2)"
    )


def load_public_key(data: bytes) -> PublicKey:
    """A public key of any suite from SubjectPublicKeyInfo DER or PEM."""
    if _names_sm2_curve(data):
        return SM2_SM3.load_public(data)
    key = _load_cryptography_public(data)
    return suite_for_key(key).load_public(data)


def raw_to_der(signature: bytes, size: int = _COORDINATE_BYTES) -> bytes:
    """A raw r||s signature (``size`` bytes each: 32 for P-256 and SM2, 48 for P-384, 66 for
    P-521) as the DER pair of X9.62 and GM/T 0009, the one form ``cryptography`` verifies."""
    if len(signature) != 2 * size:
        raise ValueError(f"a raw signature is {2 * size} bytes, got {len(signature)}")
    r = int.from_bytes(signature[:size], "big")
    s = int.from_bytes(signature[size:], "big")
    return encode_dss_signature(r, s)


def der_to_raw(der: bytes, size: int = _COORDINATE_BYTES) -> bytes:
    """A DER pair signature as raw r||s (``size`` bytes each: 64 bytes in all for P-256)."""
    r, s = decode_dss_signature(der)
    if r.bit_length() > 8 * size or s.bit_length() > 8 * size:
        raise ValueError(f"signature values exceed {8 * size} bits")
    return r.to_bytes(size, "big") + s.to_bytes(size, "big")
