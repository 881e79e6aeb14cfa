"""JT/T 808 (2013 and 2019) framing and message bodies: a pure codec, no I/O.

``framing`` holds the delimiters, escaping, checksum and header; ``bodies`` the messages;
``frames`` puts the two together. Callers use the names this package gathers.

A frame on the wire is ``0x7e | header | body | checksum | 0x7e``; inside the delimiters
``0x7e`` is sent as ``0x7d 0x02`` and ``0x7d`` as ``0x7d 0x01``; the checksum is the XOR of
header and body. The header's body-properties word carries the body length (bits 0-9), the
encryption method (10-12), the subpackage flag (13) and, since 2019, the version flag (14):
a 2019 header adds a protocol-version byte and widens the terminal phone number from BCD[6]
to BCD[10].

Values keep the protocol's own units (latitude in 10^-6 degrees, speed in 1/10 km/h) so that
encoding gives back the bytes received; properties give degrees and km/h. Anything malformed
raises ``FrameError`` naming what is wrong and where, and nothing else.
"""

from twonets.operations.devices.jt808.bodies import (
    ALARM_BITS,
    STATUS_BITS,
    Authentication,
    BatchKind,
    BatchLocation,
    Body,
    GeneralResponse,
    Heartbeat,
    Location,
    RawBody,
    Registration,
    RegistrationReply,
    RegistrationResult,
    flag_names,
)
from twonets.operations.devices.jt808.frames import Frame, decode, decode_stream, encode, to_json
from twonets.operations.devices.jt808.framing import (
    CHINA_STANDARD_TIME,
    DELIMITER,
    ESCAPE,
    MAX_BODY,
    MAX_FRAME,
    FrameError,
    Framer,
    Header,
    MessageId,
    checksum,
    escape,
    unescape,
)

__all__ = [
    "ALARM_BITS",
    "CHINA_STANDARD_TIME",
    "DELIMITER",
    "ESCAPE",
    "MAX_BODY",
    "MAX_FRAME",
    "STATUS_BITS",
    "Authentication",
    "BatchKind",
    "BatchLocation",
    "Body",
    "Frame",
    "FrameError",
    "Framer",
    "GeneralResponse",
    "Header",
    "Heartbeat",
    "Location",
    "MessageId",
    "RawBody",
    "Registration",
    "RegistrationReply",
    "RegistrationResult",
    "checksum",
    "decode",
    "decode_stream",
    "encode",
    "escape",
    "flag_names",
    "to_json",
    "unescape",
]
