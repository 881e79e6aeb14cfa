"""JT/T 808 message bodies: registration, authentication, heartbeats and responses.

Location reports are :mod:`twonets.operations.devices.jt808.locations`; this module gathers
every body type (``Body``) and the decoder of each message id.

Values keep the protocol's own units (latitude in 10^-6 degrees, speed in 1/10 km/h) so that
encoding gives back the bytes received; properties give degrees and km/h.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from enum import IntEnum
from typing import Any, ClassVar

from twonets.operations.devices.jt808.framing import (
    FrameError,
    MessageId,
    _check_range,
)
from twonets.operations.devices.jt808.locations import (
    ALARM_BITS,
    STATUS_BITS,
    BatchKind,
    BatchLocation,
    Location,
    flag_names,
)
from twonets.operations.devices.jt808.reader import _fixed_text, _Reader, _text, _text_bytes


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


__all__ = [
    "ALARM_BITS",
    "STATUS_BITS",
    "Authentication",
    "BatchKind",
    "BatchLocation",
    "Body",
    "GeneralResponse",
    "Heartbeat",
    "Location",
    "RawBody",
    "Registration",
    "RegistrationReply",
    "RegistrationResult",
    "flag_names",
]
