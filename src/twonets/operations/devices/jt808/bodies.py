"""JT/T 808 message bodies: registration, authentication, heartbeats, responses, locations.

Values keep the protocol's own units (latitude in 10^-6 degrees, speed in 1/10 km/h) so that
encoding gives back the bytes received; properties give degrees and km/h.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from datetime import datetime
from enum import IntEnum
from typing import Any, ClassVar

from twonets.operations.devices.jt808.framing import (
    _DWORD,
    _WORD,
    CHINA_STANDARD_TIME,
    FrameError,
    MessageId,
    _check_range,
)


class _Reader:
    """Reads big-endian fields from a body, raising ``FrameError`` when it runs short."""

    __slots__ = ("data", "pos", "where")

    def __init__(self, data: bytes, where: str) -> None:
        self.data = data
        self.pos = 0
        self.where = where

    def take(self, n: int, name: str) -> bytes:
        end = self.pos + n
        if end > len(self.data):
            raise FrameError(
                "truncated",
                f"{self.where}.{name}",
                f"needs {n} bytes at offset {self.pos}, {len(self.data) - self.pos} left",
            )
        chunk = self.data[self.pos : end]
        self.pos = end
        return chunk

    def byte(self, name: str) -> int:
        return self.take(1, name)[0]

    def word(self, name: str) -> int:
        value: int = _WORD.unpack(self.take(2, name))[0]
        return value

    def dword(self, name: str) -> int:
        value: int = _DWORD.unpack(self.take(4, name))[0]
        return value

    def rest(self) -> bytes:
        chunk = self.data[self.pos :]
        self.pos = len(self.data)
        return chunk

    def done(self) -> None:
        if self.pos != len(self.data):
            raise FrameError(
                "trailing", self.where, f"{len(self.data) - self.pos} bytes after the last field"
            )


def _text(raw: bytes, where: str) -> str:
    """A GBK string field, its NUL padding removed."""
    try:
        return raw.rstrip(b"\x00").decode("gbk")
    except UnicodeDecodeError as exc:
        raise FrameError("encoding", where, f"not GBK text: {raw.hex()}") from exc


def _text_bytes(value: str, where: str) -> bytes:
    try:
        return value.encode("gbk")
    except UnicodeEncodeError as exc:
        raise FrameError("encoding", where, "not representable in GBK") from exc


def _fixed_text(value: str, size: int, where: str) -> bytes:
    raw = _text_bytes(value, where)
    if len(raw) > size:
        raise FrameError("length", where, f"{len(raw)} bytes, at most {size}")
    return raw.ljust(size, b"\x00")


@dataclass(frozen=True)
class RawBody:
    """A body this codec keeps as bytes: an unknown id, an encrypted body, a subpackage."""

    data: bytes

    def encode(self, protocol_version: int | None) -> bytes:
        """The body's bytes."""
        return self.data


_GENERAL = struct.Struct(">HHB")


@dataclass(frozen=True)
class GeneralResponse:
    """Terminal (0x0001) or platform (0x8001) general response to one message."""

    reply_serial: int
    reply_id: int
    result: int

    SUCCESS: ClassVar[int] = 0
    FAILURE: ClassVar[int] = 1
    MALFORMED: ClassVar[int] = 2
    UNSUPPORTED: ClassVar[int] = 3
    ALARM_CONFIRMED: ClassVar[int] = 4

    @classmethod
    def decode(cls, data: bytes, protocol_version: int | None) -> GeneralResponse:
        """Parse the body."""
        r = _Reader(data, "body")
        body = cls(r.word("reply_serial"), r.word("reply_id"), r.byte("result"))
        r.done()
        return body

    def encode(self, protocol_version: int | None) -> bytes:
        """The body's bytes."""
        if not (
            0 <= self.reply_serial <= 0xFFFF
            and 0 <= self.reply_id <= 0xFFFF
            and 0 <= self.result <= 0xFF
        ):
            _check_range(self.reply_serial, 0xFFFF, "body.reply_serial")
            _check_range(self.reply_id, 0xFFFF, "body.reply_id")
            _check_range(self.result, 0xFF, "body.result")
        return _GENERAL.pack(self.reply_serial, self.reply_id, self.result)


@dataclass(frozen=True)
class Heartbeat:
    """Terminal heartbeat (0x0002): an empty body."""

    @classmethod
    def decode(cls, data: bytes, protocol_version: int | None) -> Heartbeat:
        """Parse the body (which should be empty)."""
        _Reader(data, "body").done()
        return cls()

    def encode(self, protocol_version: int | None) -> bytes:
        """The body's bytes (none)."""
        return b""


# Field widths of the registration body: (manufacturer, model, terminal id), 2013 vs 2019.
_REGISTRATION_WIDTHS = {False: (5, 20, 7), True: (11, 30, 30)}


@dataclass(frozen=True)
class Registration:
    """Terminal registration (0x0100); field widths differ between 2013 and 2019."""

    province: int
    city: int
    manufacturer: str
    model: str
    terminal_id: str
    plate_colour: int
    plate: str

    @classmethod
    def decode(cls, data: bytes, protocol_version: int | None) -> Registration:
        """Parse the body with the widths of its protocol version."""
        maker_w, model_w, id_w = _REGISTRATION_WIDTHS[protocol_version is not None]
        r = _Reader(data, "body")
        province = r.word("province")
        city = r.word("city")
        maker = _text(r.take(maker_w, "manufacturer"), "body.manufacturer")
        model = _text(r.take(model_w, "model"), "body.model")
        terminal_id = _text(r.take(id_w, "terminal_id"), "body.terminal_id")
        colour = r.byte("plate_colour")
        plate = _text(r.rest(), "body.plate")
        return cls(province, city, maker, model, terminal_id, colour, plate)

    def encode(self, protocol_version: int | None) -> bytes:
        """The body's bytes, with the widths of ``protocol_version``."""
        maker_w, model_w, id_w = _REGISTRATION_WIDTHS[protocol_version is not None]
        _check_range(self.province, 0xFFFF, "body.province")
        _check_range(self.city, 0xFFFF, "body.city")
        _check_range(self.plate_colour, 0xFF, "body.plate_colour")
        return b"".join(
            (
                struct.pack(">HH", self.province, self.city),
                _fixed_text(self.manufacturer, maker_w, "body.manufacturer"),
                _fixed_text(self.model, model_w, "body.model"),
                _fixed_text(self.terminal_id, id_w, "body.terminal_id"),
                bytes([self.plate_colour]),
                _text_bytes(self.plate, "body.plate"),
            )
        )


class RegistrationResult(IntEnum):
    """Result codes of the registration reply."""

    SUCCESS = 0
    VEHICLE_REGISTERED = 1
    NO_SUCH_VEHICLE = 2
    TERMINAL_REGISTERED = 3
    NO_SUCH_TERMINAL = 4


@dataclass(frozen=True)
class RegistrationReply:
    """Registration reply (0x8100): the result and, on success only, the auth code."""

    reply_serial: int
    result: int
    auth_code: str | None = None

    @classmethod
    def decode(cls, data: bytes, protocol_version: int | None) -> RegistrationReply:
        """Parse the body."""
        r = _Reader(data, "body")
        serial = r.word("reply_serial")
        result = r.byte("result")
        code = _text(r.rest(), "body.auth_code") if result == RegistrationResult.SUCCESS else None
        r.done()
        return cls(serial, result, code)

    def encode(self, protocol_version: int | None) -> bytes:
        """The body's bytes."""
        _check_range(self.reply_serial, 0xFFFF, "body.reply_serial")
        _check_range(self.result, 0xFF, "body.result")
        out = struct.pack(">HB", self.reply_serial, self.result)
        if self.result == RegistrationResult.SUCCESS:
            out += _text_bytes(self.auth_code or "", "body.auth_code")
        return out


@dataclass(frozen=True)
class Authentication:
    """Terminal authentication (0x0102): the auth code; 2019 adds IMEI and software version."""

    auth_code: str
    imei: str = ""
    software_version: str = ""

    @classmethod
    def decode(cls, data: bytes, protocol_version: int | None) -> Authentication:
        """Parse the body (2013: the code fills it; 2019: length-prefixed code, then more)."""
        r = _Reader(data, "body")
        if protocol_version is None:
            return cls(_text(r.rest(), "body.auth_code"))
        size = r.byte("auth_code_length")
        code = _text(r.take(size, "auth_code"), "body.auth_code")
        imei = _text(r.take(15, "imei"), "body.imei")
        software = _text(r.take(20, "software_version"), "body.software_version")
        r.done()
        return cls(code, imei, software)

    def encode(self, protocol_version: int | None) -> bytes:
        """The body's bytes in the layout of ``protocol_version``."""
        code = _text_bytes(self.auth_code, "body.auth_code")
        if protocol_version is None:
            return code
        if len(code) > 0xFF:
            raise FrameError("length", "body.auth_code", f"{len(code)} bytes, at most 255")
        return b"".join(
            (
                bytes([len(code)]),
                code,
                _fixed_text(self.imei, 15, "body.imei"),
                _fixed_text(self.software_version, 20, "body.software_version"),
            )
        )


# Alarm bits of the location report worth naming (JT/T 808 table 24).
ALARM_BITS: dict[int, str] = {
    0: "emergency",
    1: "overspeed",
    2: "fatigue",
    3: "danger",
    4: "gnss_fault",
    7: "low_voltage",
    8: "power_off",
    18: "fatigue_today",
    19: "overtime_parking",
    20: "area",
    21: "route",
    22: "route_time",
    23: "off_route",
    27: "illegal_ignition",
    28: "illegal_move",
    29: "collision",
    30: "rollover",
    31: "illegal_door",
}
# Status bits (JT/T 808 table 25): bit 2 south latitude, bit 3 west longitude.
STATUS_BITS: dict[int, str] = {
    0: "acc_on",
    1: "positioned",
    2: "south",
    3: "west",
    4: "out_of_service",
    5: "encrypted_position",
    10: "fuel_cut",
    11: "circuit_cut",
    12: "doors_locked",
}
_SOUTH = 1 << 2
_WEST = 1 << 3


def flag_names(flags: int, names: dict[int, str]) -> list[str]:
    """The names of the set bits that have one, lowest bit first."""
    return [name for bit, name in names.items() if flags >> bit & 1]


# Extra items with a fixed meaning: id → (attribute, size in bytes).
_EXTRA_FIELDS: dict[int, tuple[str, int]] = {
    0x01: ("mileage", 4),
    0x02: ("fuel", 2),
    0x03: ("recorder_speed", 2),
    0x25: ("vehicle_signals", 4),
    0x30: ("signal_strength", 1),
    0x31: ("satellites", 1),
}
_LOCATION = struct.Struct(">IIIIHHH6s")
# The extra fields of a location report that carries none of them.
_NO_EXTRAS: dict[str, Any] = {name: None for name, _ in _EXTRA_FIELDS.values()} | {
    "other_extras": ()
}


# The value of each byte that holds two BCD digits (0x59 → 59), None for the others.
_BCD_VALUES: tuple[int | None, ...] = tuple(
    (b >> 4) * 10 + (b & 0xF) if b >> 4 < 10 and b & 0xF < 10 else None for b in range(256)
)
# Times decoded lately, by their six BCD bytes: terminals reporting in the same second share
# one (datetimes are immutable); bounded.
_TIMES: dict[bytes, datetime] = {}
_TIMES_MAX = 4096


def _decode_time(raw: bytes, where: str) -> datetime:
    """The time of a location report; ``where`` names the report in errors."""
    cached = _TIMES.get(raw)
    if cached is not None:
        return cached
    year, month, day, hour, minute, second = map(_BCD_VALUES.__getitem__, raw)
    try:
        value = datetime(
            2000 + year,  # type: ignore[operator]
            month,  # type: ignore[arg-type]
            day,  # type: ignore[arg-type]
            hour,  # type: ignore[arg-type]
            minute,  # type: ignore[arg-type]
            second,  # type: ignore[arg-type]
            tzinfo=CHINA_STANDARD_TIME,
        )
    except TypeError:  # a byte that is not two BCD digits
        raise FrameError("bcd", f"{where}.time", f"not BCD digits: {raw.hex()}") from None
    except ValueError:
        raise FrameError("time", f"{where}.time", f"not a date and time: {raw.hex()}") from None
    if len(_TIMES) >= _TIMES_MAX:
        _TIMES.clear()
    _TIMES[raw] = value
    return value


def _encode_time(value: datetime, where: str) -> bytes:
    if value.tzinfo is None:
        raise FrameError("time", where, "needs a timezone-aware time")
    local = value.astimezone(CHINA_STANDARD_TIME)
    if not 2000 <= local.year <= 2099:
        raise FrameError("time", where, f"year {local.year} is outside 2000..2099")
    return bytes.fromhex(local.strftime("%y%m%d%H%M%S"))


@dataclass(frozen=True)
class _Layout:
    """The extra items of a location report as one struct: item headers and values."""

    struct: struct.Struct
    items: tuple[bytes, ...]
    names: tuple[str, ...]


# The layout of extra items last seen per length of the extras (terminals of one make send
# the same items in the same order): one unpack and a comparison of the item headers read
# them, else the items are walked one by one and, when all are known, the layout learnt.
_LAYOUTS: dict[int, _Layout] = {}
_LAYOUTS_MAX = 256
_FORMATS = {1: "B", 2: "H", 4: "I"}


def _decode_extras(data: bytes, where: str, fields: dict[str, Any]) -> None:
    """Walk the extra items of a location report into ``fields``; learn their layout."""
    other: list[tuple[int, bytes]] = []
    layout: list[tuple[bytes, str, str]] = []
    pos = _LOCATION.size
    end = len(data)
    while pos < end:
        if pos + 2 > end:
            raise FrameError("truncated", f"{where}.extra", f"item header cut at {pos}")
        item = data[pos]
        size = data[pos + 1]
        pos += 2
        stop = pos + size
        if stop > end:
            raise FrameError(
                "truncated",
                f"{where}.extra[0x{item:02x}]",
                f"announces {size} bytes, {end - pos} left",
            )
        spec = _EXTRA_FIELDS.get(item)
        if spec is None:
            other.append((item, data[pos:stop]))
        elif size != spec[1]:
            raise FrameError(
                "extra-length",
                f"{where}.extra[0x{item:02x}]",
                f"{spec[0]} should be {spec[1]} bytes, got {size}",
            )
        else:
            fields[spec[0]] = int.from_bytes(data[pos:stop])
            layout.append((data[pos - 2 : pos], _FORMATS[size], spec[0]))
        pos = stop
    if other:
        fields["other_extras"] = tuple(other)
    elif len(_LAYOUTS) < _LAYOUTS_MAX or end - _LOCATION.size in _LAYOUTS:
        _LAYOUTS[end - _LOCATION.size] = _Layout(
            struct.Struct(_LOCATION.format + "".join(f"2s{f}" for _, f, _ in layout)),
            tuple(h for h, _, _ in layout),
            tuple(n for _, _, n in layout),
        )


@dataclass(frozen=True)
class Location:
    """Location report (0x0200) body: basic fields, then extra items."""

    alarm_flags: int
    status_flags: int
    latitude_e6: int
    longitude_e6: int
    altitude_m: int
    speed_dkmh: int
    direction: int
    time: datetime
    mileage: int | None = None
    fuel: int | None = None
    recorder_speed: int | None = None
    vehicle_signals: int | None = None
    signal_strength: int | None = None
    satellites: int | None = None
    other_extras: tuple[tuple[int, bytes], ...] = field(default_factory=tuple)

    @property
    def latitude(self) -> float:
        """Latitude in degrees (WGS-84), negative in the south (status bit 2)."""
        value = self.latitude_e6 / 1e6
        return -value if self.status_flags & _SOUTH else value

    @property
    def longitude(self) -> float:
        """Longitude in degrees (WGS-84), negative in the west (status bit 3)."""
        value = self.longitude_e6 / 1e6
        return -value if self.status_flags & _WEST else value

    @property
    def speed_kmh(self) -> float:
        """GNSS speed in km/h."""
        return self.speed_dkmh / 10

    @property
    def alarms(self) -> list[str]:
        """Names of the alarm bits set."""
        return flag_names(self.alarm_flags, ALARM_BITS)

    @property
    def statuses(self) -> list[str]:
        """Names of the status bits set."""
        return flag_names(self.status_flags, STATUS_BITS)

    @classmethod
    def decode(cls, data: bytes, protocol_version: int | None) -> Location:
        """Parse the body."""
        return cls._decode(data, "body")

    @classmethod
    def _decode(cls, data: bytes, where: str) -> Location:
        end = len(data)
        if end < _LOCATION.size:
            raise FrameError("truncated", where, f"{end} bytes, a location needs {_LOCATION.size}")
        layout = _LAYOUTS.get(end - _LOCATION.size)
        if layout is not None:
            values = layout.struct.unpack_from(data)
            if values[8::2] != layout.items:
                layout = None
        else:
            values = _LOCATION.unpack_from(data)
        alarm, status, lat, lon, alt, speed, direction, raw_time = values[:8]
        fields: dict[str, Any] = {
            "alarm_flags": alarm,
            "status_flags": status,
            "latitude_e6": lat,
            "longitude_e6": lon,
            "altitude_m": alt,
            "speed_dkmh": speed,
            "direction": direction,
            "time": _decode_time(raw_time, where),
            **_NO_EXTRAS,
        }
        extras = end - _LOCATION.size
        if layout is not None:
            fields.update(zip(layout.names, values[9::2], strict=True))
            extras = 0
        if extras:
            _decode_extras(data, where, fields)
        # Built without the frozen dataclass's per-field __init__ (the same attributes,
        # equal and hashed alike): a gateway makes one per position.
        location = object.__new__(cls)
        object.__setattr__(location, "__dict__", fields)
        return location

    def encode(self, protocol_version: int | None) -> bytes:
        """The body's bytes; extra items in ascending id order."""
        for name, value, maximum in (
            ("alarm_flags", self.alarm_flags, 0xFFFFFFFF),
            ("status_flags", self.status_flags, 0xFFFFFFFF),
            ("latitude_e6", self.latitude_e6, 0xFFFFFFFF),
            ("longitude_e6", self.longitude_e6, 0xFFFFFFFF),
            ("altitude_m", self.altitude_m, 0xFFFF),
            ("speed_dkmh", self.speed_dkmh, 0xFFFF),
            ("direction", self.direction, 0xFFFF),
        ):
            _check_range(value, maximum, f"body.{name}")
        out = bytearray(
            _LOCATION.pack(
                self.alarm_flags,
                self.status_flags,
                self.latitude_e6,
                self.longitude_e6,
                self.altitude_m,
                self.speed_dkmh,
                self.direction,
                _encode_time(self.time, "body.time"),
            )
        )
        items: list[tuple[int, bytes]] = list(self.other_extras)
        for item, (name, width) in _EXTRA_FIELDS.items():
            number: int | None = getattr(self, name)
            if number is not None:
                _check_range(number, (1 << (8 * width)) - 1, f"body.{name}")
                items.append((item, number.to_bytes(width)))
        for item, raw in sorted(items, key=lambda pair: pair[0]):
            _check_range(item, 0xFF, "body.extra")
            if len(raw) > 0xFF:
                raise FrameError("length", f"body.extra[0x{item:02x}]", "at most 255 bytes")
            out += bytes([item, len(raw)]) + raw
        return bytes(out)


class BatchKind(IntEnum):
    """The kind of positions in a batch upload."""

    NORMAL = 0
    BLIND_AREA = 1


@dataclass(frozen=True)
class BatchLocation:
    """Batch upload of location data (0x0704): positions kept while out of coverage."""

    kind: int
    locations: tuple[Location, ...]

    @classmethod
    def decode(cls, data: bytes, protocol_version: int | None) -> BatchLocation:
        """Parse the body; the count must match the items."""
        r = _Reader(data, "body")
        count = r.word("count")
        kind = r.byte("kind")
        locations = []
        for i in range(count):
            size = r.word(f"items[{i}].length")
            locations.append(Location._decode(r.take(size, f"items[{i}]"), f"body.items[{i}]"))
        r.done()
        return cls(kind, tuple(locations))

    def encode(self, protocol_version: int | None) -> bytes:
        """The body's bytes."""
        _check_range(self.kind, 0xFF, "body.kind")
        _check_range(len(self.locations), 0xFFFF, "body.count")
        out = bytearray(struct.pack(">HB", len(self.locations), self.kind))
        for location in self.locations:
            item = location.encode(protocol_version)
            out += _WORD.pack(len(item)) + item
        return bytes(out)


Body = (
    RawBody
    | GeneralResponse
    | Heartbeat
    | Registration
    | RegistrationReply
    | Authentication
    | Location
    | BatchLocation
)

_DECODERS: dict[int, Any] = {
    MessageId.TERMINAL_RESPONSE: GeneralResponse,
    MessageId.PLATFORM_RESPONSE: GeneralResponse,
    MessageId.HEARTBEAT: Heartbeat,
    MessageId.REGISTRATION: Registration,
    MessageId.REGISTRATION_REPLY: RegistrationReply,
    MessageId.AUTHENTICATION: Authentication,
    MessageId.LOCATION: Location,
    MessageId.BATCH_LOCATION: BatchLocation,
}
