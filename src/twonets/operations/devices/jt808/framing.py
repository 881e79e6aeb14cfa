"""JT/T 808 framing: delimiters and escaping, the checksum, the header and its packet fields.

A frame on the wire is ``0x7e | header | body | checksum | 0x7e``; inside the delimiters
``0x7e`` is sent as ``0x7d 0x02`` and ``0x7d`` as ``0x7d 0x01``; the checksum is the XOR of
header and body. The header's body-properties word carries the body length (bits 0-9), the
encryption method (10-12), the subpackage flag (13) and, since 2019, the version flag (14):
a 2019 header adds a protocol-version byte and widens the terminal phone number from BCD[6]
to BCD[10].
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from datetime import timedelta, timezone
from enum import IntEnum

from twonets.core.errors import FieldProblem, Invalid

DELIMITER = 0x7E
ESCAPE = 0x7D
# Longest body a header can announce (10 bits); with headers and escaping doubled this
# bounds how far a stream may run without a delimiter before it is junk.
MAX_BODY = 0x3FF
MAX_FRAME = 2 * (MAX_BODY + 21 + 1) + 2
CHINA_STANDARD_TIME = timezone(timedelta(hours=8), "CST")


class MessageId(IntEnum):
    """The message ids this codec knows the bodies of."""

    TERMINAL_RESPONSE = 0x0001
    HEARTBEAT = 0x0002
    REGISTRATION = 0x0100
    AUTHENTICATION = 0x0102
    LOCATION = 0x0200
    BATCH_LOCATION = 0x0704
    PLATFORM_RESPONSE = 0x8001
    REGISTRATION_REPLY = 0x8100


class FrameError(Invalid):
    """A frame that cannot be decoded (or a value that cannot be encoded): what and where."""

    slug = "jt808-frame"
    title = "Malformed JT/T 808 frame"

    def __init__(self, rule: str, where: str, detail: str) -> None:
        super().__init__(f"{where}: {detail}", errors=[FieldProblem(where, rule, detail)])
        self.rule = rule
        self.where = where


# --- framing -----------------------------------------------------------------------------


def escape(data: bytes) -> bytes:
    """Escape ``0x7d`` and ``0x7e`` inside a frame (``0x7d`` first, or it would be doubled)."""
    return data.replace(b"\x7d", b"\x7d\x01").replace(b"\x7e", b"\x7d\x02")


def unescape(data: bytes) -> bytes:
    """Undo ``escape``; a bare ``0x7e`` or a ``0x7d`` not followed by 1 or 2 is an error."""
    if b"\x7e" in data:
        at = data.index(DELIMITER)
        raise FrameError("delimiter", f"byte {at}", "unescaped 0x7e inside a frame")
    escapes = data.count(b"\x7d")
    if not escapes:
        return data
    # Fast path: when every 0x7d starts a valid pair (the pairs cannot overlap, both begin
    # with 0x7d), two C-level replaces undo them; 0x7d 0x02 first, since it yields no 0x7d.
    if escapes == data.count(b"\x7d\x01") + data.count(b"\x7d\x02"):
        return data.replace(b"\x7d\x02", b"\x7e").replace(b"\x7d\x01", b"\x7d")
    parts = data.split(b"\x7d")
    out = bytearray(parts[0])
    offset = len(parts[0])
    for part in parts[1:]:
        if not part or part[0] not in (1, 2):
            raise FrameError("escape", f"byte {offset}", "0x7d should be followed by 0x01 or 0x02")
        out.append(0x7D if part[0] == 1 else 0x7E)
        out += part[1:]
        offset += len(part) + 1
    return bytes(out)


def checksum(data: bytes) -> int:
    """XOR of every byte: the JT/T 808 check code of header and body.

    The bytes are read as one integer and folded onto its lowest byte by shifts of 1, 2, 4,
    ... bytes (after the shift by k bytes, each byte holds the XOR of 2k of them): a handful
    of big-integer operations instead of one Python step per byte.
    """
    value = int.from_bytes(data)
    # Unrolled for up to 64 bytes (a location report); a shift past the top adds nothing.
    value ^= value >> 8
    value ^= value >> 16
    value ^= value >> 32
    value ^= value >> 64
    value ^= value >> 128
    value ^= value >> 256
    shift = 512
    bits = len(data) << 3
    while shift < bits:
        value ^= value >> shift
        shift <<= 1
    return value & 0xFF


class Framer:
    """Splits a byte stream into the chunks between ``0x7e`` delimiters."""

    def __init__(self, *, max_frame: int = MAX_FRAME) -> None:
        self._buffer = bytearray()
        self.max_frame = max_frame

    def feed(self, data: bytes) -> list[bytes]:
        """Add received bytes; return each complete chunk (without delimiters).

        A chunk that grows past ``max_frame`` without a delimiter is returned as it is, so
        that decoding it reports the junk instead of the buffer growing without bound.
        """
        self._buffer += data
        if DELIMITER not in data and len(self._buffer) <= self.max_frame:
            return []
        pieces = self._buffer.split(b"\x7e")
        rest = pieces.pop()
        chunks = [bytes(p) for p in pieces if p]
        if len(rest) > self.max_frame:
            chunks.append(bytes(rest))
            rest = bytearray()
        self._buffer = bytearray(rest)
        return chunks

    @property
    def pending(self) -> int:
        """Bytes received after the last delimiter."""
        return len(self._buffer)


# --- header ------------------------------------------------------------------------------

_WORD = struct.Struct(">H")
_DWORD = struct.Struct(">I")
_HEAD = struct.Struct(">HH")
_PACKET = struct.Struct(">HH")


def _bcd_decode(data: bytes, where: str) -> str:
    text = data.hex()
    if not text.isdigit():
        raise FrameError("bcd", where, f"not BCD digits: {text}")
    return text


# Phone numbers encoded lately (a gateway answers the same terminals over and over).
_BCD_ENCODED: dict[tuple[str, int], bytes] = {}


def _bcd_encode(digits: str, size: int, where: str) -> bytes:
    encoded = _BCD_ENCODED.get((digits, size))
    if encoded is None:
        encoded = _bcd_encode_uncached(digits, size, where)
        if len(_BCD_ENCODED) >= _PHONES_MAX:
            _BCD_ENCODED.clear()
        _BCD_ENCODED[digits, size] = encoded
    return encoded


def _bcd_encode_uncached(digits: str, size: int, where: str) -> bytes:
    if not digits.isascii() or not digits.isdigit() or len(digits) > 2 * size:
        raise FrameError("bcd", where, f"should be at most {2 * size} decimal digits")
    return bytes.fromhex(digits.rjust(2 * size, "0"))


def _phone(text: str) -> str:
    """A terminal phone number without its BCD padding ('013912344329' → '13912344329')."""
    return text.lstrip("0") or "0"


@dataclass(frozen=True)
class Header:
    """A message header; ``protocol_version`` is ``None`` for 2013 frames, a byte for 2019."""

    message_id: int
    phone: str
    serial: int
    protocol_version: int | None = None
    encryption: int = 0
    packet_total: int | None = None
    packet_index: int | None = None
    reserved: bool = False

    @property
    def is_2019(self) -> bool:
        """Whether this is a 2019 header (version flag set)."""
        return self.protocol_version is not None

    @property
    def is_subpackage(self) -> bool:
        """Whether the body is one packet of a split message."""
        return self.packet_total is not None


# Phone numbers seen lately, by their BCD bytes: a gateway hears the same few thousand
# terminals over and over, so each number is checked and stripped once (bounded).
_PHONES: dict[bytes, str] = {}
_PHONES_MAX = 65536
_HEAD_2013 = struct.Struct(">HH6sH")
_HEAD_2019 = struct.Struct(">HHB10sH")


def _phone_of(raw: bytes) -> str:
    phone = _PHONES.get(raw)
    if phone is None:
        phone = _phone(_bcd_decode(raw, "header.phone"))
        if len(_PHONES) >= _PHONES_MAX:
            _PHONES.clear()
        _PHONES[raw] = phone
    return phone


def _decode_header(data: bytes) -> tuple[Header, int, int]:
    """The header, the announced body length and the offset where the body starts."""
    if len(data) < 4:
        raise FrameError("length", "header", f"{len(data)} bytes, a header needs at least 12")
    props = data[2] << 8 | data[3]
    protocol_version: int | None
    if props & 0x4000:
        fixed = 17
        if len(data) < fixed:
            raise FrameError("length", "header", f"{len(data)} bytes, a 2019 header needs 17")
        message_id, _, protocol_version, raw_phone, serial = _HEAD_2019.unpack_from(data)
    else:
        fixed = 12
        if len(data) < fixed:
            raise FrameError("length", "header", f"{len(data)} bytes, a 2013 header needs 12")
        message_id, _, raw_phone, serial = _HEAD_2013.unpack_from(data)
        protocol_version = None
    phone = _phone_of(raw_phone)
    total: int | None = None
    index: int | None = None
    if props & 0x2000:
        if len(data) < fixed + 4:
            raise FrameError("length", "header.packet", "subpackage fields cut short")
        total, index = _PACKET.unpack_from(data, fixed)
        if total == 0 or index == 0 or index > total:
            raise FrameError(
                "packet", "header.packet", f"packet {index} of {total}: should be 1..total"
            )
        fixed += 4
    # Built without the frozen dataclass's per-field __init__ (the same attributes, equal
    # and hashed alike): the header is made once per frame.
    header = object.__new__(Header)
    header.__dict__.update(
        message_id=message_id,
        phone=phone,
        serial=serial,
        protocol_version=protocol_version,
        encryption=(props >> 10) & 0x7,
        packet_total=total,
        packet_index=index,
        reserved=bool(props & 0x8000),
    )
    return header, props & 0x3FF, fixed


def _encode_header(header: Header, body_length: int) -> bytes:
    if not (
        0 <= header.message_id <= 0xFFFF
        and 0 <= header.serial <= 0xFFFF
        and 0 <= header.encryption <= 0x7
    ):
        _check_range(header.message_id, 0xFFFF, "header.message_id")
        _check_range(header.serial, 0xFFFF, "header.serial")
        _check_range(header.encryption, 0x7, "header.encryption")
    if body_length > MAX_BODY:
        raise FrameError("length", "body", f"{body_length} bytes, at most {MAX_BODY} per frame")
    props = body_length | (header.encryption << 10)
    if header.packet_total is not None:
        props |= 0x2000
    if header.protocol_version is not None:
        props |= 0x4000
    if header.reserved:
        props |= 0x8000
    out = bytearray(_HEAD.pack(header.message_id, props))
    if header.protocol_version is not None:
        _check_range(header.protocol_version, 0xFF, "header.protocol_version")
        out.append(header.protocol_version)
        out += _bcd_encode(header.phone, 10, "header.phone")
    else:
        out += _bcd_encode(header.phone, 6, "header.phone")
    out += _WORD.pack(header.serial)
    if header.packet_total is not None:
        index = header.packet_index or 0
        if not 1 <= index <= header.packet_total <= 0xFFFF:
            raise FrameError("packet", "header.packet", "packet index should be 1..total")
        out += _PACKET.pack(header.packet_total, index)
    return bytes(out)


def _check_range(value: int, maximum: int, where: str) -> None:
    if not 0 <= value <= maximum:
        raise FrameError("range", where, f"{value} is outside 0..{maximum}")
