"""JT/T 808 location reports (0x0200) and their batch upload (0x0704): position, alarm and
status bits, BCD times and the extra items, decoded in one pass per report."""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from datetime import datetime
from enum import IntEnum
from typing import Any

from twonets.operations.devices.jt808.framing import (
    _WORD,
    CHINA_STANDARD_TIME,
    FrameError,
    _check_range,
)
from twonets.operations.devices.jt808.reader import _Reader

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
