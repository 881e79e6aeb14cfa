"""Licence status lists (IETF Token Status List): the list, random indices, signed tokens, a cache.

A status list is a byte array holding ``bits`` (1, 2, 4 or 8) per licence at the licence's index,
least-significant bits first within each byte; on the wire it is ``{"bits": b, "lst": ...}`` with
``lst`` the base64url (no padding) of the zlib-compressed array (draft-ietf-oauth-status-list,
section 4). It travels inside a Status List Token: a compact JWS with ``typ: statuslist+jwt`` and
the claims ``sub`` (the list's URI), ``iat``, ``exp``, ``ttl`` and ``status_list`` (section 5.1).

Indices are handed out at random (:class:`IndexAllocator`) so that an index says nothing about
when a licence was issued, and so that neighbours in the list are not neighbours in time.
"""

from __future__ import annotations

import math
import random
import re
import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import IntEnum
from typing import Any, Protocol, TypeAlias, TypeGuard, TypeVar

from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519

from twonets.core.errors import (
    ConfigurationError,
    Conflict,
    FieldProblem,
    Forbidden,
    Invalid,
    TwonetsError,
)
from twonets.trust import jws

PublicKey: TypeAlias = ec.EllipticCurvePublicKey | ed25519.Ed25519PublicKey | ed448.Ed448PublicKey
PrivateKey: TypeAlias = (
    ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey | ed448.Ed448PrivateKey
)

ALLOWED_BITS = (1, 2, 4, 8)
TOKEN_TYPE = "statuslist+jwt"
# Enough for 95 million licences at 2 bits (23.75 MB); anything inflating past it is a
# decompression bomb, not a status list.
MAX_LIST_BYTES = 32 * 1024 * 1024
# Issuer and verifier clocks differ by a few seconds; a fresh token must not look "from the future".
DEFAULT_LEEWAY = timedelta(seconds=60)

_B64URL = re.compile(r"[A-Za-z0-9_-]*")
_ES256, _EDDSA = "ES256", "EdDSA"


class StatusType(IntEnum):
    """The status values the draft registers (section 7); 0x03 and up are application-specific."""

    VALID = 0x00
    INVALID = 0x01  # revoked: final
    SUSPENDED = 0x02  # reversible


# --- errors --------------------------------------------------------------------------------


class InvalidStatusList(Invalid):
    """A status list, or a change to one, that breaks a rule: bits, index, value, encoding."""

    slug = "status-list-invalid"
    title = "Invalid status list"


class InvalidStatusListToken(Invalid):
    """A Status List Token that is malformed, of the wrong type, expired or not for this URI."""

    slug = "status-list-token-invalid"
    title = "Invalid status list token"


class UntrustedStatusListToken(Forbidden):
    """A Status List Token whose signature, algorithm or key is not one this verifier trusts."""

    slug = "status-list-token-untrusted"
    title = "Untrusted status list token"


class StatusListFull(Conflict):
    """Every index of the list has been handed out; a new list is needed."""

    slug = "status-list-full"
    title = "Status list full"


class InvalidAllocatorState(Invalid):
    """A serialised :class:`IndexAllocator` state that is malformed or inconsistent."""

    slug = "status-list-allocator-state-invalid"
    title = "Invalid index allocator state"


_E = TypeVar("_E", bound=TwonetsError)


def _problem(cls: type[_E], field: str, rule: str, detail: str) -> _E:
    """An error of ``cls`` about one field, its detail naming the field (as ``Invalid.field``)."""
    return cls(f"{field}: {detail}", errors=[FieldProblem(field, rule, detail)])


# --- the status list -----------------------------------------------------------------------


class StatusList:
    """``size`` statuses of ``bits`` bits each, packed least-significant bits first."""

    def __init__(self, size: int, bits: int = 1) -> None:
        _check_bits(bits, InvalidStatusList, "bits")
        if isinstance(size, bool) or not isinstance(size, int) or size < 1:
            raise _problem(
                InvalidStatusList, "size", "range", f"must be a positive integer, not {size!r}"
            )
        self._size = size
        self._bits = bits
        self._data = bytearray(_byte_length(size, bits))

    @property
    def size(self) -> int:
        """How many statuses the list holds (indices ``0 .. size - 1``)."""
        return self._size

    @property
    def bits(self) -> int:
        """Bits per status: 1, 2, 4 or 8."""
        return self._bits

    def get(self, idx: int) -> int:
        """The status at ``idx``."""
        self._check_index(idx)
        byte, shift = divmod(idx * self._bits, 8)
        return (self._data[byte] >> shift) & ((1 << self._bits) - 1)

    def set(self, idx: int, value: int) -> None:
        """Set the status at ``idx`` to ``value`` (a :class:`StatusType` or any value that fits)."""
        self._check_index(idx)
        top = (1 << self._bits) - 1
        if not _is_int(value) or not 0 <= value <= top:
            shown = int(value) if _is_int(value) else repr(value)  # 2, not <StatusType...: 2>
            raise _problem(
                InvalidStatusList,
                "value",
                "too-large",
                f"{shown} does not fit in {self._bits} bit{'s' * (self._bits > 1)} (0..{top})",
            )
        byte, shift = divmod(idx * self._bits, 8)
        self._data[byte] = (self._data[byte] & ~(top << shift) & 0xFF) | (value << shift)

    def to_bytes(self) -> bytes:
        """The uncompressed byte array, as section 4 of the draft lays it out."""
        return bytes(self._data)

    @classmethod
    def from_bytes(cls, data: bytes, *, bits: int = 1, size: int | None = None) -> StatusList:
        """The list over an uncompressed byte array; ``size`` defaults to every slot it has."""
        return _from_bytes(data, bits=bits, size=size, prefix="")

    def encode(self) -> dict[str, Any]:
        """The JSON status list: ``{"bits": ..., "lst": base64url(zlib(bytes))}``."""
        # The draft recommends the highest compression level.
        return {"bits": self._bits, "lst": _b64url_encode(zlib.compress(self._data, 9))}

    @classmethod
    def decode(
        cls, obj: object, *, size: int | None = None, max_bytes: int = MAX_LIST_BYTES
    ) -> StatusList:
        """The list from its JSON form; with ``size``, the inflated length must match it exactly.

        Without ``size`` the list has every slot of the inflated bytes (``len * 8 // bits``),
        which is all a verifier needs: a licence's index is checked against that.
        """
        return _decode_status_list(obj, size=size, max_bytes=max_bytes, prefix="")

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, StatusList):
            return NotImplemented
        return (self._size, self._bits, self._data) == (other._size, other._bits, other._data)

    __hash__ = None  # type: ignore[assignment]  # mutable

    def __repr__(self) -> str:
        return f"StatusList(size={self._size}, bits={self._bits})"

    def _check_index(self, idx: int) -> None:
        if isinstance(idx, bool) or not isinstance(idx, int) or not 0 <= idx < self._size:
            raise _problem(
                InvalidStatusList, "idx", "range", f"{idx!r} is outside 0..{self._size - 1}"
            )


def _byte_length(size: int, bits: int) -> int:
    return (size * bits + 7) // 8


def _check_bits(bits: object, cls: type[Invalid], field: str) -> int:
    if isinstance(bits, bool) or not isinstance(bits, int) or bits not in ALLOWED_BITS:
        raise _problem(cls, field, "bits", f"must be 1, 2, 4 or 8, not {bits!r}")
    return bits


def _from_bytes(data: bytes, *, bits: int, size: int | None, prefix: str) -> StatusList:
    _check_bits(bits, InvalidStatusList, prefix + "bits")
    slots = len(data) * 8 // bits
    if size is None:
        size = slots
    if size < 1 or _byte_length(size, bits) != len(data):
        need = _byte_length(size, bits) if size >= 1 else "at least 1"
        raise _problem(
            InvalidStatusList,
            prefix + "lst",
            "length",
            f"holds {len(data)} bytes; a list of {size} statuses of {bits} bit"
            f"{'s' * (bits > 1)} needs {need}",
        )
    status_list = StatusList(size, bits)
    status_list._data[:] = data
    return status_list


def _decode_status_list(
    obj: object, *, size: int | None, max_bytes: int, prefix: str
) -> StatusList:
    if not isinstance(obj, Mapping):
        raise _problem(
            InvalidStatusList,
            prefix.rstrip(".") or "status_list",
            "type",
            f"must be a JSON object, not {type(obj).__name__}",
        )
    bits = _check_bits(obj.get("bits"), InvalidStatusList, prefix + "bits")
    lst = obj.get("lst")
    if not isinstance(lst, str):
        raise _problem(
            InvalidStatusList, prefix + "lst", "type", f"must be a string, not {type(lst).__name__}"
        )
    try:
        compressed = _b64url_decode(lst)
    except ValueError as e:
        raise _problem(InvalidStatusList, prefix + "lst", "base64url", str(e)) from None
    return _from_bytes(_inflate(compressed, max_bytes, prefix), bits=bits, size=size, prefix=prefix)


def _inflate(compressed: bytes, max_bytes: int, prefix: str) -> bytes:
    inflater = zlib.decompressobj()
    try:
        data = inflater.decompress(compressed, max_bytes + 1)
    except zlib.error as e:
        raise _problem(InvalidStatusList, prefix + "lst", "zlib", f"not zlib data ({e})") from None
    if len(data) > max_bytes:
        raise _problem(
            InvalidStatusList, prefix + "lst", "too-large", f"inflates past {max_bytes} bytes"
        )
    if not inflater.eof:
        raise _problem(InvalidStatusList, prefix + "lst", "zlib", "the zlib stream is truncated")
    if inflater.unused_data:
        raise _problem(
            InvalidStatusList,
            prefix + "lst",
            "zlib",
            f"{len(inflater.unused_data)} bytes follow the end of the zlib stream",
        )
    return data


_b64url_encode = jws.b64url_encode
_b64url_decode = jws.b64url_decode


def compressed_size(size: int, revoked_fraction: float, bits: int = 1, seed: int = 0) -> int:
    """Bytes of zlib output for a list of ``size`` with a random ``revoked_fraction`` INVALID.

    For sizing lists in the docs: revoked indices are scattered at random, as
    :class:`IndexAllocator` scatters them, which is the worst case for compression. The ``lst``
    string is base64url of this, about 4/3 as long.
    """
    if not 0.0 <= revoked_fraction <= 1.0:
        raise _problem(
            InvalidStatusList,
            "revoked_fraction",
            "range",
            f"must be between 0 and 1, not {revoked_fraction!r}",
        )
    status_list = StatusList(size, bits)
    for idx in random.Random(seed).sample(range(size), round(size * revoked_fraction)):
        status_list.set(idx, StatusType.INVALID)
    return len(zlib.compress(status_list._data, 9))


# --- random index assignment ---------------------------------------------------------------


class IndexAllocator:
    """Hands out the indices of a list of ``size`` uniformly at random, each index once.

    A lazily shuffled permutation (Fisher–Yates run one step per call): the first ``used``
    positions are handed out, and ``swaps`` records only the positions at or after ``used`` that
    no longer hold their own index. Memory grows with the indices handed out, never with
    ``size``, so a list of millions costs nothing until it is used.

    Use ``secrets.SystemRandom()`` in production: a seeded ``random.Random`` makes the order
    predictable to anyone who learns the seed. The state (:meth:`to_state`) is private to the
    issuer; it reveals which indices are still free.
    """

    def __init__(self, size: int, rng: random.Random) -> None:
        if isinstance(size, bool) or not isinstance(size, int) or size < 1:
            raise _problem(
                InvalidStatusList, "size", "range", f"must be a positive integer, not {size!r}"
            )
        self._size = size
        self._rng = rng
        self._used = 0
        self._swaps: dict[int, int] = {}

    @property
    def size(self) -> int:
        """How many indices there are in all."""
        return self._size

    @property
    def used(self) -> int:
        """How many indices have been handed out."""
        return self._used

    @property
    def remaining(self) -> int:
        """How many indices are still free."""
        return self._size - self._used

    def allocate(self) -> int:
        """A free index, uniformly at random among the free ones; it is then no longer free."""
        k = self._used
        if k == self._size:
            raise StatusListFull(
                f"all {self._size} indices of this status list are in use; start a new list",
                extra={"size": self._size},
            )
        j = self._rng.randrange(k, self._size)
        chosen = self._swaps.pop(j, j)
        # Position k is handed out now and never read again; j takes what k held.
        at_k = self._swaps.pop(k, k) if j != k else chosen
        if j != k and at_k != j:
            self._swaps[j] = at_k
        self._used = k + 1
        return chosen

    def to_state(self) -> dict[str, Any]:
        """The allocator's state as JSON-ready data; :meth:`from_state` continues from it."""
        return {
            "size": self._size,
            "used": self._used,
            "swaps": [[p, v] for p, v in sorted(self._swaps.items())],
        }

    @classmethod
    def from_state(cls, state: object, rng: random.Random) -> IndexAllocator:
        """An allocator that continues from ``state``, drawing with ``rng``; checks consistency."""
        if not isinstance(state, Mapping):
            raise _problem(
                InvalidAllocatorState, "state", "type", f"must be an object, not {type(state)}"
            )
        size, used, swaps = state.get("size"), state.get("used"), state.get("swaps")
        if not _is_int(size) or size < 1:
            raise _problem(
                InvalidAllocatorState, "size", "range", f"must be a positive integer, not {size!r}"
            )
        if not _is_int(used) or not 0 <= used <= size:
            raise _problem(InvalidAllocatorState, "used", "range", f"{used!r} is outside 0..{size}")
        if not isinstance(swaps, list):
            raise _problem(
                InvalidAllocatorState, "swaps", "type", f"must be a list, not {type(swaps)}"
            )
        table: dict[int, int] = {}
        for n, pair in enumerate(swaps):
            where = f"swaps[{n}]"
            if not (isinstance(pair, list | tuple) and len(pair) == 2 and all(map(_is_int, pair))):
                raise _problem(
                    InvalidAllocatorState, where, "type", "must be a [position, index] pair"
                )
            p, v = pair
            if not used <= p < size or p in table:
                raise _problem(
                    InvalidAllocatorState,
                    where,
                    "range",
                    f"position {p} is not a distinct free position ({used}..{size - 1})",
                )
            if not 0 <= v < size or v == p:
                raise _problem(
                    InvalidAllocatorState, where, "range", f"index {v} is not a swapped index"
                )
            table[p] = v
        # Each free position holds a distinct index: a swapped-in index must have left its own
        # position (it is swapped out there too, or that position is already handed out).
        values = list(table.values())
        if len(set(values)) != len(values) or any(v >= used and v not in table for v in values):
            raise _problem(
                InvalidAllocatorState, "swaps", "duplicate", "a free index appears twice"
            )
        allocator = cls(size, rng)
        allocator._used = used
        allocator._swaps = table
        return allocator


def _is_int(value: object) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


# --- the Status List Token (JWT) -----------------------------------------------------------


class StatusListSigner(Protocol):
    """What signs a Status List Token: a JWS ``alg``, a ``kid``, and ``sign(bytes) -> bytes``."""

    @property
    def alg(self) -> str: ...

    @property
    def kid(self) -> str: ...

    def sign(self, data: bytes) -> bytes: ...


@dataclass(frozen=True)
class KeySigner:
    """A :class:`StatusListSigner` over a private key: P-256 signs ES256, Ed25519/Ed448 EdDSA."""

    key: PrivateKey
    kid: str

    def __post_init__(self) -> None:
        if isinstance(self.key, ec.EllipticCurvePrivateKey) and not isinstance(
            self.key.curve, ec.SECP256R1
        ):
            raise ConfigurationError(
                f"status list signing key {self.kid!r} is on {self.key.curve.name}; "
                "ES256 needs P-256"
            )
        if not isinstance(self.key, ec.EllipticCurvePrivateKey | _EdPrivate):
            raise ConfigurationError(
                f"status list signing key {self.kid!r} is a {type(self.key).__name__}; "
                "use a P-256 or Ed25519 key"
            )

    @property
    def alg(self) -> str:
        """``ES256`` for a P-256 key, ``EdDSA`` for an Edwards key."""
        return _ES256 if isinstance(self.key, ec.EllipticCurvePrivateKey) else _EDDSA

    def sign(self, data: bytes) -> bytes:
        """The JWS signature of ``data``: ECDSA as raw ``r || s`` (RFC 7518 section 3.4)."""
        return jws.sign_bytes(self.key, data)


_EdPrivate = ed25519.Ed25519PrivateKey | ed448.Ed448PrivateKey
_EdPublic = ed25519.Ed25519PublicKey | ed448.Ed448PublicKey


@dataclass(frozen=True)
class StatusListToken:
    """A verified Status List Token: its list, and the claims that govern caching it."""

    uri: str
    issued_at: datetime
    expires_at: datetime | None
    ttl: int | None
    status_list: StatusList
    kid: str
    issuer: str | None = None


def sign_status_list_token(
    lst: StatusList,
    *,
    uri: str,
    issued_at: datetime,
    expires_at: datetime,
    ttl: int,
    signer: StatusListSigner,
    issuer: str | None = None,
) -> str:
    """The compact JWS Status List Token for ``lst``, served at ``uri`` (its ``sub``)."""
    if not uri:
        raise _problem(InvalidStatusListToken, "uri", "required", "must not be empty")
    iat, exp = _numeric_date(issued_at, "issued_at"), _numeric_date(expires_at, "expires_at")
    if exp <= iat:
        raise _problem(InvalidStatusListToken, "expires_at", "order", "must be after issued_at")
    if not _is_int(ttl) or ttl < 1:
        raise _problem(
            InvalidStatusListToken, "ttl", "range", f"must be a positive integer, not {ttl!r}"
        )
    header = {"alg": signer.alg, "kid": signer.kid, "typ": TOKEN_TYPE}
    claims: dict[str, Any] = {
        "sub": uri,
        "iat": iat,
        "exp": exp,
        "ttl": ttl,
        "status_list": lst.encode(),
    }
    if issuer is not None:
        claims["iss"] = issuer
    return jws.sign_compact(header, claims, signer.sign, sort_keys=True)


def verify_status_list_token(
    jwt: str,
    *,
    public_keys: Mapping[str, PublicKey],
    at: datetime,
    uri: str | None = None,
    leeway: timedelta = DEFAULT_LEEWAY,
) -> StatusList:
    """The status list of a Status List Token, checked as :func:`open_status_list_token` does."""
    return open_status_list_token(
        jwt, public_keys=public_keys, at=at, uri=uri, leeway=leeway
    ).status_list


def open_status_list_token(
    jwt: str,
    *,
    public_keys: Mapping[str, PublicKey],
    at: datetime,
    uri: str | None = None,
    leeway: timedelta = DEFAULT_LEEWAY,
) -> StatusListToken:
    """Verify a Status List Token at time ``at`` and return its list with its claims.

    Checks, in order: three base64url parts with JSON objects; ``typ`` is ``statuslist+jwt``;
    no ``crit``; ``alg`` is ES256 or EdDSA (never ``none`` or a MAC); ``kid`` names a key of
    ``public_keys`` of the right type; the signature; then ``sub`` (equal to ``uri`` when given),
    ``iat`` (not in the future), ``exp`` (not passed), ``ttl`` and ``status_list``. ``leeway``
    allows for clock skew on ``iat`` and ``exp``.
    """
    now = _numeric_date(at, "at")
    skew = int(leeway.total_seconds())
    try:
        if not isinstance(jwt, str):
            raise jws.MalformedJws(
                "token", "parts", "a compact JWS has 3 dot-separated parts, this has 0", 0
            )
        parsed = jws.parse_compact(jwt)
        header, claims = parsed.header, parsed.payload_json()
    except jws.MalformedJws as e:
        raise _malformed(e) from None

    typ = header.get("typ")
    if not isinstance(typ, str) or typ.lower().removeprefix("application/") != TOKEN_TYPE:
        raise _problem(
            InvalidStatusListToken, "typ", "type", f"must be {TOKEN_TYPE!r}, not {typ!r}"
        )
    if jws.has_crit(header):
        # RFC 7515 section 4.1.11: a critical extension we do not understand means reject.
        raise _problem(
            InvalidStatusListToken,
            "crit",
            "unsupported",
            "no critical header extension is supported",
        )
    alg, kid = header.get("alg"), header.get("kid")
    if alg not in (_ES256, _EDDSA):
        raise _problem(
            UntrustedStatusListToken,
            "alg",
            "algorithm",
            f"{alg!r} is not accepted; a status list token must be signed with ES256 or EdDSA",
        )
    if not isinstance(kid, str) or kid not in public_keys:
        raise _problem(UntrustedStatusListToken, "kid", "unknown-key", f"{kid!r} is not trusted")
    _verify_signature(public_keys[kid], alg, kid, parsed.signature, parsed.signing_input)

    sub = claims.get("sub")
    if not isinstance(sub, str) or not sub:
        raise _problem(InvalidStatusListToken, "sub", "required", "must be a non-empty string")
    if uri is not None and sub != uri:
        raise _problem(
            InvalidStatusListToken, "sub", "uri", f"{sub!r} is not the requested list {uri!r}"
        )
    iat = _int_claim(claims, "iat", required=True)
    exp = _int_claim(claims, "exp", required=False)
    ttl = _int_claim(claims, "ttl", required=False)
    assert iat is not None  # required=True
    if iat > now + skew:
        raise _problem(
            InvalidStatusListToken,
            "iat",
            "future",
            f"issued at {_iso(iat)}, after the time of checking {_iso(now)}",
        )
    if exp is not None and now >= exp + skew:
        raise _problem(
            InvalidStatusListToken, "exp", "expired", f"expired at {_iso(exp)}; it is {_iso(now)}"
        )
    if ttl is not None and ttl < 1:
        raise _problem(InvalidStatusListToken, "ttl", "range", f"must be positive, not {ttl}")
    issuer = claims.get("iss")
    if issuer is not None and not isinstance(issuer, str):
        raise _problem(InvalidStatusListToken, "iss", "type", "must be a string")
    status_list = _decode_status_list(
        claims.get("status_list"), size=None, max_bytes=MAX_LIST_BYTES, prefix="status_list."
    )
    return StatusListToken(
        uri=sub,
        issued_at=datetime.fromtimestamp(iat, UTC),
        expires_at=datetime.fromtimestamp(exp, UTC) if exp is not None else None,
        ttl=ttl,
        status_list=status_list,
        kid=kid,
        issuer=issuer,
    )


def _malformed(e: jws.MalformedJws) -> InvalidStatusListToken:
    """A compact JWS's format error, worded as the status list token's."""
    if e.rule == "parts":
        return _problem(InvalidStatusListToken, "token", "compact-jws", e.detail)
    if e.part == "signature":
        return _problem(InvalidStatusListToken, "signature", "base64url", e.detail)
    if e.rule == "object":
        detail = f"must be a JSON object, not {type(e.value).__name__}"
        return _problem(InvalidStatusListToken, e.part, "json", detail)
    detail = f"not base64url of a JSON object ({e.detail})"
    return _problem(InvalidStatusListToken, e.part, "json", detail)


def _verify_signature(key: PublicKey, alg: str, kid: str, signature: bytes, data: bytes) -> None:
    if alg == _ES256:
        if not isinstance(key, ec.EllipticCurvePublicKey) or not isinstance(
            key.curve, ec.SECP256R1
        ):
            raise _problem(
                UntrustedStatusListToken,
                "kid",
                "key-type",
                f"{kid!r} is {_key_kind(key)}; ES256 needs a P-256 key",
            )
        if len(signature) != 64:
            raise _problem(
                UntrustedStatusListToken,
                "signature",
                "length",
                f"an ES256 signature is 64 bytes (r || s), this is {len(signature)}",
            )
    elif not isinstance(key, _EdPublic):
        raise _problem(
            UntrustedStatusListToken,
            "kid",
            "key-type",
            f"{kid!r} is {_key_kind(key)}; EdDSA needs an Ed25519 or Ed448 key",
        )
    if not jws.verify_signature(alg, key, data, signature):
        raise _problem(
            UntrustedStatusListToken,
            "signature",
            "signature",
            f"does not verify with key {kid!r}",
        )


def _key_kind(key: PublicKey) -> str:
    if isinstance(key, ec.EllipticCurvePublicKey):
        return f"an EC {key.curve.name} key"
    return f"an {type(key).__name__.removesuffix('PublicKey')} key"


def _int_claim(claims: Mapping[str, Any], name: str, *, required: bool) -> int | None:
    value = claims.get(name)
    if value is None and not required:
        return None
    if not _is_int(value):
        raise _problem(
            InvalidStatusListToken,
            name,
            "required" if value is None else "type",
            f"must be an integer (seconds), not {value!r}",
        )
    return int(value)


def _numeric_date(moment: datetime, field: str) -> int:
    """Seconds since the epoch (a JWT NumericDate); naive datetimes are refused, not guessed."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise _problem(
            InvalidStatusListToken, field, "timezone", "must be a timezone-aware datetime"
        )
    return math.floor(moment.timestamp())


def _iso(seconds: int) -> str:
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# --- the verifier's cache ------------------------------------------------------------------


@dataclass(frozen=True)
class _Entry:
    token: StatusListToken
    fetched_at: datetime


class StatusCache:
    """Verified status lists per URI, refetched once older than ``min(max_age, token ttl)``.

    A revocation therefore reaches this verifier within that period, and no later: a list is
    also refetched when its token expires. ``fetch(uri)`` returns the token text (its errors,
    e.g. :class:`~twonets.core.errors.Unavailable`, pass through: the cache fails closed and
    keeps nothing stale). A refetched token issued before the one held is refused, so an old
    token cannot be replayed to hide a revocation. Not thread-safe: one cache per worker.
    """

    def __init__(
        self,
        fetch: Callable[[str], str],
        *,
        public_keys: Mapping[str, PublicKey],
        max_age: timedelta,
        clock: Callable[[], datetime],
        leeway: timedelta = DEFAULT_LEEWAY,
    ) -> None:
        if max_age <= timedelta(0):
            raise _problem(InvalidStatusList, "max_age", "range", "must be positive")
        self._fetch = fetch
        self._public_keys = public_keys
        self._max_age = max_age
        self._clock = clock
        self._leeway = leeway
        self._entries: dict[str, _Entry] = {}

    def status_of(self, uri: str, idx: int) -> int:
        """The status of the licence at ``idx`` in the list at ``uri`` (a :class:`StatusType`)."""
        return self.get_status_list(uri).get(idx)

    def get_status_list(self, uri: str) -> StatusList:
        """The list at ``uri``: the one held while fresh, else a newly fetched and verified one."""
        now = self._clock()
        entry = self._entries.get(uri)
        if entry is not None and self._fresh(entry, now):
            return entry.token.status_list
        token = open_status_list_token(
            self._fetch(uri), public_keys=self._public_keys, at=now, uri=uri, leeway=self._leeway
        )
        if entry is not None and token.issued_at < entry.token.issued_at:
            raise _problem(
                InvalidStatusListToken,
                "iat",
                "rollback",
                f"the list at {uri!r} was issued at {token.issued_at:%Y-%m-%dT%H:%M:%SZ}, "
                f"before the one already held ({entry.token.issued_at:%Y-%m-%dT%H:%M:%SZ})",
            )
        self._entries[uri] = _Entry(token, now)
        return token.status_list

    def _fresh(self, entry: _Entry, now: datetime) -> bool:
        limit = self._max_age
        if entry.token.ttl is not None:
            limit = min(limit, timedelta(seconds=entry.token.ttl))
        expires_at = entry.token.expires_at
        return now - entry.fetched_at < limit and (expires_at is None or now < expires_at)
