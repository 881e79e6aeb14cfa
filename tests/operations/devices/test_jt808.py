"""The JT/T 808 codec against published example frames, and its properties under hypothesis.

Example frames are the test vectors of two open-source implementations:
- SmallChi/JT808 (C#), src/JT808.Protocol.Test/MessageBody/JT808_0x0100Test.cs,
  JT808_0x0102Test.cs, JT808_0x0200Test.cs, JT808_0x0704Test.cs, JT808_0x8100Test.cs;
- makeclan/xtream-codec (Java), debug/jt/jt-808-server-spring-boot-starter-debug-ui/src/
  utils/codec-utils.ts (2019 frames of BuiltinMessage0200 and BuiltinMessage0704).
"""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from twonets.operations.devices import jt808
from twonets.operations.devices.jt808 import (
    CHINA_STANDARD_TIME,
    Authentication,
    BatchLocation,
    Frame,
    FrameError,
    GeneralResponse,
    Header,
    Heartbeat,
    Location,
    Registration,
    RegistrationReply,
)


def _hex(text: str) -> bytes:
    return bytes.fromhex("".join(text.split()))


def _sealed(content: str) -> str:
    """A frame around ``content`` (hex) with the right checksum, to test what comes after."""
    raw = _hex(content)
    return (b"\x7e" + jt808.escape(raw + bytes([jt808.checksum(raw)])) + b"\x7e").hex()


def _cst(*args: int) -> datetime:
    return datetime(*args, tzinfo=CHINA_STANDARD_TIME)  # type: ignore[misc]


# SmallChi/JT808 JT808_0x0200Test.Demo2: 0x7e in the serial and 0x7d in the fuel are escaped.
LOCATION_2013 = (
    "7E 02 00 00 26 12 34 56 78 90 12 00 7D 02 00 00 00 01 00 00 00 02 00 BA 7F 0E 07 E4 F1"
    " 1C 00 28 00 3C 00 00 18 10 15 10 10 10 01 04 00 00 00 64 02 02 00 7D 01 13 7E"
)
# SmallChi/JT808 JT808_0x0200Test.Test6: a real terminal's report with eight extra items.
LOCATION_2013_EXTRAS = (
    "7E 02 00 00 3C 04 00 21 68 20 87 1D 0C 00 00 00 00 00 0C 00 C2 01 5B 6C 6E 06 C8 56 98"
    " 00 1E 00 00 00 E0 18 09 16 10 35 37 01 04 00 05 4C 7D 01 02 02 00 00 03 02 00 00 25 04"
    " 00 00 00 00 2B 04 00 00 00 00 30 01 1D 31 01 0D 97 7E"
)
# makeclan/xtream-codec BuiltinMessage0200 (2019 header, version 1, BCD[10] phone).
LOCATION_2019 = (
    "7e02004026010000000001391234432900000000006f0000001601dc9a0707456246007b0042000325012922"
    "33440202006401040000000c417e"
)
# SmallChi/JT808 JT808_0x0100Test.Test1_1 (2013) and Test2019_2 (2019 widths).
REGISTRATION_2013 = (
    "7E 01 00 00 2D 00 01 23 45 67 89 00 0A 00 28 00 32 31 32 33 34 30 73 6D 61 6C 6C 63 68 69"
    " 31 32 33 30 30 30 30 30 30 30 30 30 43 48 49 31 32 33 30 01 D4 C1 41 31 32 33 34 35 BA 7E"
)
REGISTRATION_2019 = (
    "7E010040540100000000000123456789000A0028003230303030303030313233343030303030303030303030"
    "3030303030303030736D616C6C63686931323330303030303030303030303030303030303030303030303043"
    "484931323301D4C1413132333435B27E"
)
# SmallChi/JT808 JT808_0x0102Test.Test4.
AUTHENTICATION_2013 = "7E 01 02 00 09 01 23 45 67 89 00 30 39 34 35 36 31 32 31 31 31 31 BE 7E"
# SmallChi/JT808 JT808_0x8100Test.Test6 (success with a code) and Test4 (no such terminal).
REGISTRATION_REPLY = "7E81000013012345678900000A0064007A7373646166323331323473666473633B7E"
REGISTRATION_REFUSED = "7E 81 00 00 03 01 23 45 67 89 00 00 0A 00 64 04 61 7E"
# SmallChi/JT808 JT808_0x0704Test.Test2 (2013) and makeclan/xtream-codec BuiltinMessage0704.
BATCH_2013 = (
    "7E0704005311223344556622B80002000026000000010000000200BA7F0E07E4F11C0028003C000018071510"
    "1010010400000064020200370026000000020000000100CB735507E6A32300290036007818071510103001040000"
    "006002020042D47E"
)
BATCH_2019 = (
    "7e0704403f01000000000139123443290000000200001c000000010000000101d907f2073d336c029a002100"
    "59241029213903001c000000010000000101d907f3073d336d03090043005a241029213903f87e"
)


def test_a_2013_location_report_with_escaped_bytes() -> None:
    frame = jt808.decode(_hex(LOCATION_2013))
    assert frame.header == Header(message_id=0x0200, phone="123456789012", serial=126)
    body = frame.body
    assert isinstance(body, Location)
    assert (body.alarm_flags, body.status_flags) == (1, 2)
    assert (body.latitude_e6, body.longitude_e6) == (12222222, 132444444)
    assert (body.latitude, body.longitude) == (12.222222, 132.444444)
    assert (body.altitude_m, body.speed_dkmh, body.direction) == (40, 60, 0)
    assert body.speed_kmh == 6.0
    assert body.time == _cst(2018, 10, 15, 10, 10, 10)
    assert body.time.astimezone(UTC) == datetime(2018, 10, 15, 2, 10, 10, tzinfo=UTC)
    assert (body.mileage, body.fuel) == (100, 125)
    assert body.alarms == ["emergency"]
    assert body.statuses == ["positioned"]
    assert jt808.encode(frame) == _hex(LOCATION_2013)


def test_a_location_report_with_many_extra_items() -> None:
    frame = jt808.decode(_hex(LOCATION_2013_EXTRAS))
    body = frame.body
    assert isinstance(body, Location)
    assert frame.header.phone == "40021682087"
    assert body.time == _cst(2018, 9, 16, 10, 35, 37)
    assert body.mileage == 0x00054C7D  # the 0x7d in it arrived escaped
    assert (body.fuel, body.recorder_speed, body.vehicle_signals) == (0, 0, 0)
    assert (body.signal_strength, body.satellites) == (0x1D, 0x0D)
    assert body.other_extras == ((0x2B, b"\x00\x00\x00\x00"),)
    assert jt808.encode(frame) == _hex(LOCATION_2013_EXTRAS)


def test_a_2019_location_report() -> None:
    frame = jt808.decode(_hex(LOCATION_2019))
    assert frame.header.is_2019
    assert frame.header.protocol_version == 1
    assert frame.header.phone == "13912344329"
    body = frame.body
    assert isinstance(body, Location)
    assert (body.alarm_flags, body.status_flags) == (111, 22)
    assert (body.latitude_e6, body.longitude_e6) == (31_234_567, 121_987_654)
    assert (body.altitude_m, body.speed_dkmh, body.direction) == (123, 66, 3)
    assert body.time == _cst(2025, 1, 29, 22, 33, 44)
    assert (body.fuel, body.mileage) == (100, 12)
    # Status 22 sets bit 2: the latitude is south, whatever the sample meant.
    assert body.latitude == -31.234567
    assert "south" in body.statuses
    # Its extra items come as 0x02 then 0x01: decoded the same, re-encoded in id order.
    assert jt808.decode(jt808.encode(frame)) == frame


def test_a_2013_registration_and_its_2019_widths() -> None:
    old = jt808.decode(_hex(REGISTRATION_2013))
    assert old.header == Header(message_id=0x0100, phone="123456789", serial=10)
    assert old.body == Registration(
        40, 50, "12340", "smallchi123000000000", "CHI1230", 1, "粤A12345"
    )
    new = jt808.decode(_hex(REGISTRATION_2019))
    assert new.header.protocol_version == 1
    assert new.body == Registration(
        40,
        50,
        "1234".rjust(11, "0"),
        "smallchi123".rjust(30, "0"),
        "CHI123".rjust(30, "0"),
        1,
        "粤A12345",
    )
    assert jt808.encode(old) == _hex(REGISTRATION_2013)
    assert jt808.encode(new) == _hex(REGISTRATION_2019)


def test_authentication_and_registration_replies() -> None:
    auth = jt808.decode(_hex(AUTHENTICATION_2013))
    assert auth.header.serial == 12345
    assert auth.header.phone == "12345678900"
    assert auth.body == Authentication("456121111")
    reply = jt808.decode(_hex(REGISTRATION_REPLY))
    assert reply.body == RegistrationReply(100, 0, "zssdaf23124sfdsc")
    refused = jt808.decode(_hex(REGISTRATION_REFUSED))
    assert refused.body == RegistrationReply(100, 4, None)
    for text in (AUTHENTICATION_2013, REGISTRATION_REPLY, REGISTRATION_REFUSED):
        assert jt808.encode(jt808.decode(_hex(text))) == _hex(text)


def test_batch_uploads_2013_and_2019() -> None:
    old = jt808.decode(_hex(BATCH_2013))
    assert isinstance(old.body, BatchLocation)
    assert old.header.serial == 8888
    first, second = old.body.locations
    assert (first.latitude_e6, first.mileage, first.fuel) == (12222222, 100, 55)
    assert (second.alarm_flags, second.direction, second.speed_dkmh) == (2, 120, 54)
    assert second.time == _cst(2018, 7, 15, 10, 10, 30)
    new = jt808.decode(_hex(BATCH_2019))
    assert isinstance(new.body, BatchLocation)
    assert new.header.is_2019
    assert [x.altitude_m for x in new.body.locations] == [666, 777]
    assert [x.latitude_e6 for x in new.body.locations] == [31000562, 31000563]
    assert new.body.locations[1].time == _cst(2024, 10, 29, 21, 39, 3)
    assert jt808.encode(old) == _hex(BATCH_2013)
    assert jt808.encode(new) == _hex(BATCH_2019)


def test_a_2019_authentication_carries_imei_and_software_version() -> None:
    frame = Frame(
        Header(message_id=0x0102, phone="13912344329", serial=3, protocol_version=1),
        Authentication("abc123", "862845051234567", "V1.2.3"),
    )
    data = jt808.encode(frame)
    # Body: length byte, the code, IMEI padded to 15 bytes, version padded to 20.
    assert data[17 + 1] == 6
    assert jt808.decode(data) == frame


def test_escaping_checksum_and_delimiters() -> None:
    assert jt808.escape(b"\x30\x7e\x08\x7d\x55") == b"\x30\x7d\x02\x08\x7d\x01\x55"
    assert jt808.unescape(b"\x30\x7d\x02\x08\x7d\x01\x55") == b"\x30\x7e\x08\x7d\x55"
    assert jt808.checksum(b"\x01\x02\x04") == 0x07
    # JT/T 808 §4.4.1: checksum of the unescaped bytes, then the whole thing escaped.
    raw = jt808.unescape(_hex(LOCATION_2013)[1:-1])
    assert jt808.checksum(raw[:-1]) == raw[-1] == 0x13


@pytest.mark.parametrize(
    ("frame", "rule", "where"),
    [
        (LOCATION_2013.replace("13 7E", "14 7E"), "checksum", "frame.checksum"),
        ("7E 02 00 7D 03 7E", "escape", "byte 2"),
        ("7E 00 02 00 00 12 34 7E", "length", "frame"),
        (AUTHENTICATION_2013.replace("00 09 01", "00 08 01"), "checksum", "frame.checksum"),
        (_sealed("0002 0000 0123456789 8A 0001"), "bcd", "header.phone"),
        (_sealed("0200 0000 012345678900 0001"), "truncated", "body"),
        (_sealed("0704 0003 012345678900 0001 000100"), "truncated", "body.items[0].length"),
        (_sealed("0002 0000 012345678900 0001 00"), "length", "header.body_length"),
    ],
)
def test_malformed_frames_say_what_and_where(frame: str, rule: str, where: str) -> None:
    with pytest.raises(FrameError) as caught:
        jt808.decode(_hex(frame))
    assert caught.value.rule == rule
    assert caught.value.where == where
    assert caught.value.detail.startswith(where)


def test_a_length_that_disagrees_with_the_body_is_refused() -> None:
    header = bytes.fromhex("000200050123456789000001")
    data = header + bytes([jt808.checksum(header)])
    with pytest.raises(FrameError) as caught:
        jt808.decode(data)
    assert (caught.value.rule, caught.value.where) == ("length", "header.body_length")


def test_a_truncated_location_names_the_field() -> None:
    good = jt808.decode(_hex(LOCATION_2013))
    assert isinstance(good.body, Location)
    body = good.body.encode(None)[:-1]  # cut inside the fuel item
    content = bytes.fromhex("0200") + len(body).to_bytes(2) + bytes.fromhex("1234567890120001")
    content += body
    with pytest.raises(FrameError) as caught:
        jt808.decode(jt808.escape(content + bytes([jt808.checksum(content)])))
    assert caught.value.rule == "truncated"
    assert caught.value.where == "body.extra[0x02]"


def test_the_framer_splits_a_stream_across_reads() -> None:
    one, two = _hex(LOCATION_2013), _hex(AUTHENTICATION_2013)
    stream = b"junk" + one + two + one
    framer = jt808.Framer()
    chunks: list[bytes] = []
    for i in range(0, len(stream), 7):
        chunks.extend(framer.feed(stream[i : i + 7]))
    assert chunks == [b"junk", one[1:-1], two[1:-1], one[1:-1]]
    assert framer.pending == 0
    framer = jt808.Framer(max_frame=64)
    assert framer.feed(b"\x01" * 65) == [b"\x01" * 65]  # junk without a delimiter is cut
    assert framer.pending == 0


def test_a_subpackaged_or_unknown_body_is_kept_raw() -> None:
    header = Header(message_id=0x0801, phone="1", serial=1, packet_total=3, packet_index=2)
    frame = Frame(header, jt808.RawBody(b"\x01\x02\x7e"))
    assert jt808.decode(jt808.encode(frame)) == frame
    assert jt808.to_json(frame)["message"] == "unknown"


# --- hypothesis --------------------------------------------------------------------------

# The machine running the suite is shared: a slow example is load, not a bug in the codec.
unhurried = settings(deadline=None)

_times = st.datetimes(
    min_value=datetime(2000, 1, 1), max_value=datetime(2099, 12, 31, 23, 59, 59)
).map(lambda t: t.replace(microsecond=0, tzinfo=CHINA_STANDARD_TIME))
_u32 = st.integers(0, 0xFFFFFFFF)
_u16 = st.integers(0, 0xFFFF)
_u8 = st.integers(0, 0xFF)
_known = {0x01, 0x02, 0x03, 0x25, 0x30, 0x31}
_others = st.lists(
    st.tuples(st.integers(0, 0xFF).filter(lambda i: i not in _known), st.binary(max_size=12)),
    max_size=3,
    unique_by=lambda pair: pair[0],
).map(lambda items: tuple(sorted(items)))
_locations = st.builds(
    Location,
    alarm_flags=_u32,
    status_flags=_u32,
    latitude_e6=st.integers(0, 90_000_000),
    longitude_e6=st.integers(0, 180_000_000),
    altitude_m=_u16,
    speed_dkmh=_u16,
    direction=st.integers(0, 359),
    time=_times,
    mileage=st.none() | _u32,
    fuel=st.none() | _u16,
    recorder_speed=st.none() | _u16,
    vehicle_signals=st.none() | _u32,
    signal_strength=st.none() | _u8,
    satellites=st.none() | _u8,
    other_extras=_others,
)
# Fixed-width fields are ASCII in practice (at most 5 bytes in 2013); free text is GBK.
_ascii = st.text(st.sampled_from("ABCDEFGHJKLMNPQRSTUVWXYZ0123456789-"), max_size=5)
_text = st.text(
    st.characters(codec="gbk", exclude_characters="\x00", exclude_categories=("Cs",)),
    max_size=12,
)
_bodies = st.one_of(
    _locations,
    st.builds(
        BatchLocation, kind=st.integers(0, 1), locations=st.lists(_locations, max_size=3).map(tuple)
    ),
    st.builds(GeneralResponse, reply_serial=_u16, reply_id=_u16, result=st.integers(0, 4)),
    st.just(Heartbeat()),
    st.builds(
        Registration,
        province=_u16,
        city=_u16,
        manufacturer=_ascii,
        model=_ascii,
        terminal_id=_ascii,
        plate_colour=_u8,
        plate=st.text(st.sampled_from("沪苏浙皖ABCDEFGH0123456789"), max_size=8),
    ),
    st.builds(RegistrationReply, reply_serial=_u16, result=st.just(0), auth_code=_text),
    st.builds(RegistrationReply, reply_serial=_u16, result=st.integers(1, 4), auth_code=st.none()),
)
_ids = {
    Location: 0x0200,
    BatchLocation: 0x0704,
    GeneralResponse: 0x8001,
    Heartbeat: 0x0002,
    Registration: 0x0100,
    RegistrationReply: 0x8100,
}


@st.composite
def _frames(draw: st.DrawFn) -> Frame:
    body = draw(_bodies)
    version = draw(st.none() | st.integers(0, 255))
    digits = 20 if version is not None else 12
    phone = draw(st.text("0123456789", min_size=1, max_size=digits)).lstrip("0") or "0"
    header = Header(
        message_id=_ids[type(body)], phone=phone, serial=draw(_u16), protocol_version=version
    )
    return Frame(header, body)


@unhurried
@given(_frames())
def test_encode_then_decode_gives_the_frame_back(frame: Frame) -> None:
    data = jt808.encode(frame)
    assert data[0] == data[-1] == 0x7E
    assert b"\x7e" not in data[1:-1]
    assert jt808.decode(data) == frame


@unhurried
@given(st.binary(max_size=300))
def test_random_bytes_raise_only_the_frame_error(data: bytes) -> None:
    try:
        frame = jt808.decode(data)
    except FrameError as exc:
        error: FrameError | None = exc
    else:
        error = None
        assert jt808.decode(jt808.encode(frame)) == frame
    if error is not None:
        assert error.rule
        assert error.detail.startswith(error.where)


@unhurried
@given(_frames(), st.integers(0, 400), st.integers(0, 255))
def test_a_corrupted_frame_raises_only_the_frame_error(frame: Frame, at: int, byte: int) -> None:
    data = bytearray(jt808.encode(frame))
    data[at % len(data)] = byte
    with contextlib.suppress(FrameError):
        jt808.decode(bytes(data))


@unhurried
@given(st.binary(max_size=200))
def test_escape_round_trips_and_removes_delimiters(data: bytes) -> None:
    escaped = jt808.escape(data)
    assert b"\x7e" not in escaped
    assert jt808.unescape(escaped) == data


@unhurried
@given(st.binary(max_size=1100))
def test_the_checksum_is_the_xor_of_every_byte(data: bytes) -> None:
    expected = 0
    for byte in data:
        expected ^= byte
    assert jt808.checksum(data) == expected


@unhurried
@given(st.binary(max_size=60))
def test_unescaping_refuses_what_escaping_never_makes(data: bytes) -> None:
    """Bytes that are not an escaped frame: the error of the step-by-step reading, else the
    same bytes as reading them pair by pair."""
    valid = b"\x7e" not in data and data.count(b"\x7d") == data.count(b"\x7d\x01") + data.count(
        b"\x7d\x02"
    )
    if valid:
        assert jt808.escape(jt808.unescape(data)) == data
    else:
        with pytest.raises(FrameError) as caught:
            jt808.unescape(data)
        assert caught.value.rule in {"delimiter", "escape"}


def test_reports_whose_extras_differ_but_have_the_same_length_decode_apart() -> None:
    """Decoding remembers the layout of extra items per length: another layout of the same
    length (vehicle signals instead of mileage, both four bytes) is read as itself."""
    base = {
        "alarm_flags": 0,
        "status_flags": 3,
        "latitude_e6": 31_200_000,
        "longitude_e6": 121_400_000,
        "altitude_m": 5,
        "speed_dkmh": 300,
        "direction": 90,
        "time": _cst(2026, 11, 30, 8, 0, 0),
    }
    reports = [
        Location(**base, mileage=1234),  # type: ignore[arg-type]
        Location(**base, vehicle_signals=1234),  # type: ignore[arg-type]
        Location(**base, mileage=99),  # type: ignore[arg-type]
        Location(**base, other_extras=((0x2B, b"\x00\x00\x00\x07"),)),  # type: ignore[arg-type]
        Location(**base, mileage=7),  # type: ignore[arg-type]
    ]
    for n, report in enumerate(reports):
        frame = Frame(Header(0x0200, "13912345678", n), report)
        assert jt808.decode(jt808.encode(frame)) == frame
