"""Whole JT/T 808 frames: a header with its body, decoded, encoded and as JSON."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from twonets.operations.devices.jt808.bodies import (
    _DECODERS,
    BatchLocation,
    Body,
    Location,
    RawBody,
)
from twonets.operations.devices.jt808.framing import (
    MAX_FRAME,
    FrameError,
    Framer,
    Header,
    MessageId,
    _decode_header,
    _encode_header,
    checksum,
    escape,
    unescape,
)


@dataclass(frozen=True)
class Frame:
    """One message: its header and its body."""

    header: Header
    body: Body


# --- frames ------------------------------------------------------------------------------


def decode(data: bytes) -> Frame:
    """Decode one frame, with or without its ``0x7e`` delimiters."""
    if len(data) > MAX_FRAME:
        raise FrameError("too-long", "frame", f"{len(data)} bytes, at most {MAX_FRAME}")
    if data[:1] == b"\x7e":
        data = data[1:]
    if data[-1:] == b"\x7e":
        data = data[:-1]
    raw = unescape(data)
    if len(raw) < 13:
        raise FrameError("length", "frame", f"{len(raw)} bytes, a frame needs at least 13")
    # The XOR of header, body and check code is 0 exactly when the check code is right.
    content = raw[:-1]
    if checksum(raw):
        expected = raw[-1]
        actual = checksum(content)
        raise FrameError(
            "checksum", "frame.checksum", f"should be 0x{actual:02x}, got 0x{expected:02x}"
        )
    header, body_length, start = _decode_header(content)
    body = content[start:]
    if len(body) != body_length:
        raise FrameError(
            "length", "header.body_length", f"announces {body_length} bytes, body has {len(body)}"
        )
    decoder = _DECODERS.get(header.message_id)
    if decoder is None or header.encryption or header.packet_total is not None:
        return Frame(header, RawBody(body))
    return Frame(header, decoder.decode(body, header.protocol_version))


def encode(frame: Frame) -> bytes:
    """The frame on the wire: delimited, checksummed and escaped."""
    body = frame.body.encode(frame.header.protocol_version)
    content = _encode_header(frame.header, len(body)) + body
    return b"\x7e" + escape(content + bytes([checksum(content)])) + b"\x7e"


def decode_stream(data: bytes) -> Iterator[Frame | FrameError]:
    """Every frame of a captured stream, or the error of each chunk that is not one."""
    for chunk in Framer(max_frame=len(data) + 1).feed(data + b"\x7e"):
        try:
            yield decode(chunk)
        except FrameError as exc:
            yield exc


# --- JSON --------------------------------------------------------------------------------


def _jsonable(value: Any) -> Any:
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, tuple | list):
        return [_jsonable(v) for v in value]
    return value


def to_json(frame: Frame) -> dict[str, Any]:
    """The frame as plain JSON data, raw fields with their readable meaning beside them."""
    header = frame.header
    try:
        name = MessageId(header.message_id).name.lower()
    except ValueError:
        name = "unknown"
    body: dict[str, Any] = {
        k: _jsonable(getattr(frame.body, k)) for k in frame.body.__dataclass_fields__
    }
    locations: list[tuple[dict[str, Any], Location]] = []
    if isinstance(frame.body, Location):
        locations.append((body, frame.body))
    elif isinstance(frame.body, BatchLocation):
        body["locations"] = [
            {k: _jsonable(getattr(loc, k)) for k in loc.__dataclass_fields__}
            for loc in frame.body.locations
        ]
        locations.extend(zip(body["locations"], frame.body.locations, strict=True))
    for out, loc in locations:
        out["other_extras"] = [{"id": i, "value": v.hex()} for i, v in loc.other_extras]
        out["longitude"] = loc.longitude
        out["latitude"] = loc.latitude
        out["speed_kmh"] = loc.speed_kmh
        out["time_utc"] = loc.time.astimezone(UTC).isoformat()
        out["alarms"] = loc.alarms
        out["statuses"] = loc.statuses
    return {
        "message_id": f"0x{header.message_id:04x}",
        "message": name,
        "version": 2019 if header.is_2019 else 2013,
        "header": {k: getattr(header, k) for k in header.__dataclass_fields__},
        "body": body,
    }
