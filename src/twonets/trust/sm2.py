"""SM2 with SM3 (GB/T 32918.2) in C, through tongsuopy (the Tongsuo project's binding).

The arithmetic runs in Tongsuo's libcrypto. We compute the message representative
e = SM3(Z_A || M) ourselves (Z_A, which hashes the user id, the curve and the public key, is
kept per key and id) and hand e to ``EVP_PKEY_sign`` / ``EVP_PKEY_verify``, which for an SM2
key sign and verify the digest as it is. We take the digest path rather than tongsuopy's
public ``key.verify(signature, message, ECDSA(SM3()))`` because that API offers no way to
set a user id other than the default; both run at the same speed (``benchmarks/sm2_verify.py``
prints both beside ``openssl speed sm2``). The digest path goes through tongsuopy's CFFI
library object (``backend._lib``), which is not tongsuopy's public API: pyproject keeps
tongsuopy below 1.1, the lock pins it, and ``tests/trust/test_sm2.py`` checks the published
example and OpenSSL's signatures both ways, so an upgrade that changes it fails there, not
in production.

Signatures are raw r || s (64 bytes) at this module's edges, as COSE and JWS carry them.
"""

from __future__ import annotations

import functools
import importlib
from types import ModuleType
from typing import Any, Final

from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

from twonets.trust.errors import SuiteUnavailable

PACKAGE: Final = "tongsuopy"

_COORDINATE_BYTES: Final = 32
# The SM2 recommended curve of GB/T 32918.5, for Z_A.
_A: Final = 0xFFFFFFFE_FFFFFFFF_FFFFFFFF_FFFFFFFF_FFFFFFFF_00000000_FFFFFFFF_FFFFFFFC
_B: Final = 0x28E9FA9E_9D9F5E34_4D5A9E4B_CF6509A7_F39789F5_15AB8F92_DDBCBD41_4D940E93
_GX: Final = 0x32C4AE2C_1F198119_5F990446_6A39C994_8FE30BBF_F2660BE1_715A4589_334C74C7
_GY: Final = 0xBC3736A2_F4F6779C_59BDCEE3_6B692153_D0A9877C_C62A4740_02DF32E5_2139F0A0
_CURVE_BYTES: Final = b"".join(v.to_bytes(_COORDINATE_BYTES, "big") for v in (_A, _B, _GX, _GY))


@functools.cache
def _modules() -> tuple[ModuleType, ModuleType, ModuleType, Any]:
    """tongsuopy's hashes, ec and utils modules and its backend, or ``SuiteUnavailable``."""
    try:
        hashes = importlib.import_module("tongsuopy.crypto.hashes")
        ec = importlib.import_module("tongsuopy.crypto.asymciphers.ec")
        utils = importlib.import_module("tongsuopy.crypto.asymciphers.utils")
        backend = importlib.import_module("tongsuopy.backends.tongsuo.backend").backend
    except ImportError:
        raise SuiteUnavailable(
            f"signature suite SM2-SM3 needs the PyPI package {PACKAGE!r}, which is not "
            f"installed: pip install {PACKAGE}"
        ) from None
    return hashes, ec, utils, backend


def available() -> bool:
    """Whether tongsuopy imports, so that SM2 can generate, sign and verify here."""
    try:
        _modules()
    except SuiteUnavailable:
        return False
    return True


def sm3(data: bytes) -> bytes:
    """The SM3 digest of ``data`` (GB/T 32905)."""
    hashes = _modules()[0]
    digest = hashes.Hash(hashes.SM3())
    digest.update(data)
    result: bytes = digest.finalize()
    return result


@functools.lru_cache(maxsize=4096)
def _z(user_id: bytes, point: bytes) -> bytes:
    """Z_A = SM3(ENTL_A || ID_A || a || b || x_G || y_G || x_A || y_A)."""
    entl = (len(user_id) * 8).to_bytes(2, "big")
    return sm3(entl + user_id + _CURVE_BYTES + point[1:])


def digest(user_id: bytes, point: bytes, message: bytes) -> bytes:
    """The message representative e = SM3(Z_A || M) that SM2 signs."""
    return sm3(_z(user_id, point) + message)


@functools.lru_cache(maxsize=4096)
def _public(point: bytes) -> Any:
    """tongsuopy's public key object of an uncompressed point (checked on the curve before)."""
    _, ec, _, _ = _modules()
    x = int.from_bytes(point[1 : 1 + _COORDINATE_BYTES], "big")
    y = int.from_bytes(point[1 + _COORDINATE_BYTES :], "big")
    return ec.EllipticCurvePublicNumbers(x, y, ec.SM2()).public_key()


@functools.lru_cache(maxsize=256)
def _private(scalar: int) -> Any:
    _, ec, _, _ = _modules()
    return ec.derive_private_key(scalar, ec.SM2())


def public_point(scalar: int) -> bytes:
    """The uncompressed public point d·G of a private scalar."""
    numbers = _private(scalar).public_key().public_numbers()
    x: int = numbers.x
    y: int = numbers.y
    return b"\x04" + x.to_bytes(_COORDINATE_BYTES, "big") + y.to_bytes(_COORDINATE_BYTES, "big")


def generate_scalar() -> int:
    """A new private scalar, from Tongsuo's random generator."""
    _, ec, _, _ = _modules()
    scalar: int = ec.generate_private_key(ec.SM2()).private_numbers().private_value
    return scalar


def _context(key: Any) -> Any:
    _, _, _, backend = _modules()
    lib, ffi = backend._lib, backend._ffi
    context = lib.EVP_PKEY_CTX_new(key._evp_pkey, ffi.NULL)
    backend.openssl_assert(context != ffi.NULL)
    return ffi.gc(context, lib.EVP_PKEY_CTX_free)


def sign(scalar: int, point: bytes, user_id: bytes, message: bytes) -> bytes:
    """The raw r || s signature of ``message`` under the private scalar (public ``point``)."""
    _, _, _, backend = _modules()
    lib, ffi = backend._lib, backend._ffi
    e = digest(user_id, point, message)
    context = _context(_private(scalar))
    backend.openssl_assert(lib.EVP_PKEY_sign_init(context) == 1)
    length = ffi.new("size_t *")
    backend.openssl_assert(lib.EVP_PKEY_sign(context, ffi.NULL, length, e, len(e)) == 1)
    buffer = ffi.new("unsigned char[]", length[0])
    backend.openssl_assert(lib.EVP_PKEY_sign(context, buffer, length, e, len(e)) == 1)
    return der_to_raw(bytes(ffi.buffer(buffer)[: length[0]]))


def verify(point: bytes, user_id: bytes, message: bytes, signature: bytes) -> bool:
    """Whether raw r || s ``signature`` is ``point``'s signature of ``message`` under the id."""
    _, _, utils, backend = _modules()
    lib = backend._lib
    r = int.from_bytes(signature[:_COORDINATE_BYTES], "big")
    s = int.from_bytes(signature[_COORDINATE_BYTES:], "big")
    if r == 0 or s == 0:
        return False
    der = utils.encode_dss_signature(r, s)
    e = digest(user_id, point, message)
    context = _context(_public(point))
    backend.openssl_assert(lib.EVP_PKEY_verify_init(context) == 1)
    outcome = lib.EVP_PKEY_verify(context, der, len(der), e, len(e))
    if outcome != 1:
        # 0 is a wrong signature; a negative answer is a malformed one: both are "no".
        backend._consume_errors()
        return False
    return True


def der_to_raw(der: bytes) -> bytes:
    """An ASN.1 SEQUENCE { r INTEGER, s INTEGER } as raw r || s (32 bytes each)."""
    r, s = decode_dss_signature(der)
    return r.to_bytes(_COORDINATE_BYTES, "big") + s.to_bytes(_COORDINATE_BYTES, "big")
