"""The status list itself (IETF Token Status List, section 4): bits per licence, compressed.

A status list is a byte array holding ``bits`` (1, 2, 4 or 8) per licence at the licence's index,
least-significant bits first within each byte; on the wire it is ``{"bits": b, "lst": ...}`` with
``lst`` the base64url (no padding) of the zlib-compressed array (draft-ietf-oauth-status-list,
section 4).
"""

from __future__ import annotations

import random
import zlib
from collections.abc import Mapping
from enum import IntEnum
from typing import Any, TypeGuard, TypeVar

from twonets.core.errors import FieldProblem, Invalid, TwonetsError
from twonets.trust import jws

ALLOWED_BITS = (1, 2, 4, 8)
# Enough for 95 million licences at 2 bits (23.75 MB); anything inflating past it is a
# decompression bomb, not a status list.
MAX_LIST_BYTES = 32 * 1024 * 1024


class StatusType(IntEnum):
    """The status values the draft registers (section 7); 0x03 and up are application-specific."""

    VALID = 0x00
    INVALID = 0x01  # revoked: final
    SUSPENDED = 0x02  # reversible


class InvalidStatusList(Invalid):
    """A status list, or a change to one, that breaks a rule: bits, index, value, encoding."""

    slug = "status-list-invalid"
    title = "Invalid status list"


_E = TypeVar("_E", bound=TwonetsError)


def _problem(cls: type[_E], field: str, rule: str, detail: str) -> _E:
    """An error of ``cls`` about one field, its detail naming the field (as ``Invalid.field``)."""
    return cls(f"{field}: {detail}", errors=[FieldProblem(field, rule, detail)])


def _is_int(value: object) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


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

    For sizing lists in the docs: revoked indices are scattered at random, as issuance
    scatters them, which is the worst case for compression. The ``lst``
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
