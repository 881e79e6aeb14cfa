"""Status lists: the draft's test vectors, round trips, random indices, signed tokens, the cache."""

from __future__ import annotations

import base64
import json
import math
import zlib
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from hypothesis import given, settings
from hypothesis import strategies as st

from twonets.core.errors import ConfigurationError, Invalid, TwonetsError
from twonets.licences.status import (
    InvalidStatusList,
    InvalidStatusListToken,
    KeySigner,
    PublicKey,
    StatusCache,
    StatusList,
    StatusListToken,
    StatusType,
    UntrustedStatusListToken,
    compressed_size,
    open_status_list_token,
    sign_status_list_token,
    verify_status_list_token,
)

# --- draft-ietf-oauth-status-list test vectors ---------------------------------------------

# Section 4.1: 16 statuses of 1 bit, bytes [0xB9, 0xA3].
DRAFT_1BIT = [1, 0, 0, 1, 1, 1, 0, 1, 1, 1, 0, 0, 0, 1, 0, 1]
DRAFT_1BIT_LST = "eNrbuRgAAhcBXQ"
# Section 4.1: 12 statuses of 2 bits, bytes [0xC9, 0x44, 0xF9].
DRAFT_2BIT = [1, 2, 0, 3, 0, 1, 0, 1, 1, 2, 3, 3]
DRAFT_2BIT_LST = "eNo76fITAAPfAgc"

# Appendix "Test vectors for Status List encoding": lists of 2^20 entries, all VALID except these.
LONG_SIZE = 2**20
LONG_1BIT = dict.fromkeys(
    (0, 1993, 25460, 159495, 495669, 554353, 645645, 723232, 854545, 934534, 1000345), 1
)
LONG_2BIT = {
    0: 0b01,
    1993: 0b10,
    25460: 0b01,
    159495: 0b11,
    495669: 0b01,
    554353: 0b01,
    645645: 0b10,
    723232: 0b01,
    854545: 0b01,
    934534: 0b10,
    1000345: 0b11,
}
LONG_4BIT = {
    0: 1,
    1993: 2,
    35460: 3,
    459495: 4,
    595669: 5,
    754353: 6,
    845645: 7,
    923232: 8,
    924445: 9,
    934534: 10,
    1004534: 11,
    1000345: 12,
    1030203: 13,
    1030204: 14,
    1030205: 15,
}
# The 8-bit vector sets status[i] = value for value 0..255, in this order of indices.
_LONG_8BIT_INDICES = (
    233478, 52451, 576778, 513575, 468106, 292632, 214947, 182323, 884834, 66653, 62489, 196493,
    458517, 487925, 55649, 416992, 879796, 462297, 942059, 583408, 13628, 334829, 886286, 713557,
    582738, 326064, 451545, 705889, 214350, 194502, 796765, 202828, 752834, 721327, 554740, 91122,
    963483, 261779, 793844, 165255, 614839, 758403, 403258, 145867, 96100, 477937, 606890, 167335,
    488197, 211815, 797182, 582952, 950870, 765108, 341110, 776325, 745056, 439368, 559893, 149741,
    358903, 513405, 342679, 969429, 795775, 566121, 460566, 680070, 117310, 480348, 67319, 661552,
    841303, 561493, 138807, 442463, 659927, 445910, 1046963, 829700, 962282, 299623, 555493,
    292826, 517215, 551009, 898490, 837603, 759161, 459948, 290102, 1034977, 190650, 98810,
    229950, 320531, 335506, 885333, 133227, 806915, 800313, 981571, 527253, 24077, 240232, 559572,
    713399, 233941, 615514, 911768, 331680, 951527, 6805, 552366, 374660, 223159, 625884, 417146,
    320527, 784154, 338792, 1199, 679804, 1024680, 40845, 234603, 761225, 644903, 502167, 121477,
    505144, 165165, 179628, 1019195, 145149, 263738, 269256, 996739, 346296, 555864, 887384,
    444173, 421844, 653716, 836747, 783119, 918762, 946835, 253764, 519895, 471224, 134272,
    709016, 44112, 482585, 461829, 15080, 148883, 123467, 480125, 141348, 65877, 692958, 148598,
    499131, 584009, 1017987, 449287, 277478, 991262, 509602, 991896, 853666, 399318, 197815,
    203278, 903979, 743015, 888308, 862143, 979421, 113605, 206397, 127113, 844358, 711569,
    229153, 521470, 401793, 398896, 940810, 293983, 884749, 384802, 584151, 970201, 523882,
    158093, 929312, 205329, 106091, 30949, 195586, 495723, 348779, 852312, 1018463, 1009481,
    448260, 841042, 122967, 345269, 794764, 4520, 818773, 556171, 954221, 598210, 887110, 1020623,
    324632, 398244, 622241, 456551, 122648, 127837, 657676, 119884, 105156, 999897, 330160,
    119285, 168005, 389703, 143699, 142524, 493258, 846778, 251420, 516351, 83344, 171931, 879178,
    663475, 546865, 428362, 658891, 500560, 557034, 830023, 274471, 629139, 958869, 663071,
    152133, 19535,
)  # fmt: skip
LONG_8BIT = {idx: value for value, idx in enumerate(_LONG_8BIT_INDICES) if value}


def _unwrap(text: str) -> str:
    """An ``lst`` as the draft prints it, wrapped at 66 columns, as one string."""
    return "".join(text.split())


# The lst strings exactly as the draft prints them (the JSON encodings of the appendix).
LONG_1BIT_LST = _unwrap(
    """
    eNrt3AENwCAMAEGogklACtKQPg9LugC9k_ACvreiogE
    AAKkeCQAAAAAAAAAAAAAAAAAAAIBylgQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA
    AAAAAAAAAAAAAAAAAAAXG9IAAAAAAAAAPwsJAAAAAAAAAAAAAAAvhsSAAAAAAAAAAA
    A7KpLAAAAAAAAAAAAAAAAAAAAAJsLCQAAAAAAAAAAADjelAAAAAAAAAAAKjDMAQAAA
    ACAZC8L2AEb
"""
)

LONG_2BIT_LST = _unwrap(
    """
    eNrt2zENACEQAEEuoaBABP5VIO01fCjIHTMStt9ovGV
    IAAAAAABAbiEBAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAEB5WwIAAAAAA
    AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA
    AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAID0ugQAAAAAAAAAAAAAAAAAQG12SgAAA
    AAAAAAAAAAAAAAAAAAAAAAAAOCSIQEAAAAAAAAAAAAAAAAAAAAAAAD8ExIAAAAAAAA
    AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAwJEuAQAAAAAAAAAAAAAAAAAAAAAAAMB9S
    wIAAAAAAAAAAAAAAAAAAACoYUoAAAAAAAAAAAAAAEBqH81gAQw
"""
)

LONG_4BIT_LST = _unwrap(
    """
    eNrt0EENgDAQADAIHwImkIIEJEwCUpCEBBQRHOy35Li
    1EjoOQGabAgAAAAAAAAAAAAAAAAAAACC1SQEAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA
    AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA
    AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA
    AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA
    AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAABADrsCAAAAAAAAAAAAAAAAA
    AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA
    AAADoxaEAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA
    AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAIIoCgAAAAAAAAAAAAAAAAA
    AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAACArpwKAAAAAAAAAAAAAAAAAAAAA
    AAAAAAAAAAAAAAAAAAAAAAAAAAAAGhqVkAzlwIAAAAAiGVRAAAAAAAAAAAAAAAAAAA
    AAAAAAAAAAAAAAAAAAAAAAABx3AoAgLpVAQAAAAAAAAAAAAAAwM89rwMAAAAAAAAAA
    AjsA9xMBMA
"""
)

LONG_8BIT_LST = _unwrap(
    """
    eNrt0WOQM2kYhtGsbdu2bdu2bdu2bdu2bdu2jVnU1my
    -SWYm6U5enFPVf7ue97orFYAo7CQBAACQuuckAABStqUEAAAAAAAAtN6wEgAE71QJA
    AAAAIrwhwQAAAAAAdtAAgAAAAAAACLwkAQAAAAAAAAAAACUaFcJAACAeJwkAQAAAAA
    AAABQvL4kAAAAWmJwCQAAAAAAAAjAwBIAAAB06ywJoDKQBARpfgkAAAAAAAAAAAAAA
    AAAAACo50sJAAAAAAAAAOiRcSQAAAAAgAJNKgEAAG23mgQAAAAAAECw3pUAQvegBAA
    AAAAAAADduE4CAAAAyjSvBAAQiw8koHjvSABAb-wlARCONyVoxtMSZOd0CQAAAOjWD
    RKQmLckAAAAAACysLYEQGcnSAAAAAAQooUlAABI15kSAIH5RAIgLB9LABC4_SUgGZN
    IAABAmM6RoLbTJIASzCIBAEAhfpcAAAAAAABquk8CAAAAAAAAaJl9SvvzBOICAFWmk
    IBgfSgBAAAANOgrCQAAAAAAAADStK8EAAC03gASAAAAAAAAAADFWFUCAAAAMjOaBEA
    DHpYAQjCIBADduFwCAAAAAGitMSSI3BUSAECOHpAA6IHrJQAAAAAAsjeVBAAAKRpVA
    orWvwQAAAAAAAAAkKRtJAAAAAAAgCbcLAF0bXUJAAAAoF02kYDg7CYBAAAAAEB6NpQ
    AAAAAAAAAAAAAAEr1uQQAAF06VgIAAAAAAAAAqDaeBAAQqgMkAAAAAABogQMlAAAAA
    AAa87MEAAAQiwslAAAAAAAAAAAAAAAAMrOyBAAAiekv-hcsY0Sgne6QAAAAAAAgaUt
    JAAAAAAAAAAAAAAAAAAAAAAAAAADwt-07vjVkAAAAgDy8KgFAUEaSAAAAAJL3vgQAW
    dhcAgAAoBHDSUDo1pQAAACI2o4SAABZm14CALoyuwQAAPznGQkgZwdLAAAQukclAAA
    AAAAAAAAAgKbMKgEAAAAAAAAAAAAAAAAAAECftpYAAAAAAAAAAAAACnaXBAAAAADk7
    iMJAAAAAAAAAABqe00CAnGbBBG4TAIAgFDdKgFAXCaWAAAAAAAAAAAAAAAAAKAJQwR
    72XbGAQAAAKAhh0sAAAAAAABQgO8kAAAAAAAAAAAAACAaM0kAAAC5W0QCAIJ3mAQAx
    GwxCQAA6nhSAsjZBRIAANEbWQIAAAAAaJE3JACAwA0qAUBIVpKAlphbAiAPp0iQnKE
    kAAAAAAAgBP1KAAAAdOl4CQAAAAAAAPjLZBIAAG10RtrPm8_CAEBMTpYAAAAAAIjQY
    BL8z5QSAAAAAEDYPpUAACAsj0gAAADQkHMlAAjHDxIA0Lg9JQAAgHDsLQEAAABAQS6
    WAAAAgLjNFs2l_RgLAIAEfCEBlGZZCQAAaIHjJACgtlskAAAozb0SAAAAVFtfAgAAA
    AAAAAAAAAAAAAAAAAAAAKDDtxIAAAAAVZaTAKB5W0kAANCAsSUgJ0tL0GqHSNBbL0g
    AZflRAgCARG0kQXNmlgCABiwkAQAAAEB25pIAAAAAAAAAAAAAoFh9SwAAAAAAADWNm
    OSrpjFsEoaRgDKcF9Q1dxsEAAAAAAAAAAAAAAAAgPZ6SQIAAAAAAAAAgChMLgEAAAA
    AAAAAqZlQAsK2qQQAAAAAAAD06XUJAAAAqG9bCQAAgLD9IgEAAAAAAAAAAAAAAAAAA
    EBNe0gAAAAAAAAAAEBPHSEBAAAAlOZtCYA4fS8B0GFRCQAo0gISAOTgNwmC840EAAA
    AAAAAAAAAAAAAAAAAUJydJfjXPBIAAAAAAAAAAAAAAABk6WwJAAAAAAAAAAAAAAAAq
    G8UCQAAgPpOlAAAIA83SQAANWwc9HUjGAgAAAAAAACAusaSAAAAAAAAAAAAAAAAAAA
    AAAAAAAAAqHKVBACQjxklAAAAAAAAAKBHxpQAAAAAACBME0lAdlaUAACyt7sEAAAA0
    Nl0EgAAAAAAAAAAAABA-8wgAQAAAAAAAKU4SgKgUtlBAgAAAAAAAAAAgMCMLwEE51k
    JICdzSgCJGl2CsE0tAQAA0L11JQAAAAAAAAjUOhIAAAAAAAAAAAAAAGTqeQkAAAAAA
    AAAAAAAKM8SEjTrJwkAAAAAAACocqQEULgVJAAAACjDUxJUKgtKAAAAqbpRAgCA0n0
    mAQAAAABAGzwmAUCTLpUAAAAAAAAAAEjZNRIAAAAAAAAAAAAAAAAAAAAA8I-vJaAlh
    pQAAAAAAHrvzjJ-OqCuuVlLAojP8BJAr70sQZVDJYAgXS0BAAAAAAAAAAAAtMnyEgA
    AAAAAFONKCQAAAAAAAADorc0kAAAAAAAAgDqOlgAAAAAAAAAAAADIwv0SAAAAAAAAA
    AAAAADBuV0CIFVDSwAAAABAAI6RAAAAAGIwrQSEZAsJAABouRclAAAAAKDDrxIAAAA
    0bkkJgFiMKwEAAAAAAHQyhwRk7h4JAAAAAAAAAAAgatdKAACUYj0JAAAAAAAAAAAAQ
    nORBLTFJRIAAAAAkIaDJAAAAJryngQAAAAAAAAAAAA98oQEAAAAAAAAAEC2zpcgWY9
    LQKL2kwAgGK9IAAAAAPHaRQIAAAAAAAAAAADIxyoSAAAAAAAAAAAAAADQFotLAECz_
    gQ1PX-B
"""
)
LONG_VECTORS = [
    pytest.param(1, LONG_1BIT, LONG_1BIT_LST, id="1-bit"),
    pytest.param(2, LONG_2BIT, LONG_2BIT_LST, id="2-bit"),
    pytest.param(4, LONG_4BIT, LONG_4BIT_LST, id="4-bit"),
    pytest.param(8, LONG_8BIT, LONG_8BIT_LST, id="8-bit"),
]


def status_list(values: list[int], *, bits: int = 1) -> StatusList:
    """A list holding exactly ``values``."""
    lst = StatusList(len(values), bits)
    for idx, value in enumerate(values):
        lst.set(idx, value)
    return lst


def lst_of(data: bytes) -> str:
    """The ``lst`` string for raw (already compressed) bytes."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def test_draft_1bit_example_decodes_to_its_statuses() -> None:
    decoded = StatusList.decode({"bits": 1, "lst": DRAFT_1BIT_LST})
    assert decoded.to_bytes() == bytes([0xB9, 0xA3])
    assert [decoded.get(i) for i in range(16)] == DRAFT_1BIT


def test_draft_1bit_example_encodes_to_its_lst() -> None:
    assert status_list(DRAFT_1BIT).to_bytes() == bytes([0xB9, 0xA3])
    assert status_list(DRAFT_1BIT).encode() == {"bits": 1, "lst": DRAFT_1BIT_LST}


def test_draft_2bit_example_decodes_to_its_statuses() -> None:
    decoded = StatusList.decode({"bits": 2, "lst": DRAFT_2BIT_LST}, size=12)
    assert decoded.to_bytes() == bytes([0xC9, 0x44, 0xF9])
    assert [decoded.get(i) for i in range(12)] == DRAFT_2BIT


def test_draft_2bit_example_encodes_to_its_lst() -> None:
    assert status_list(DRAFT_2BIT, bits=2).encode() == {"bits": 2, "lst": DRAFT_2BIT_LST}


@pytest.mark.parametrize(("bits", "statuses", "lst"), LONG_VECTORS)
def test_draft_long_vectors_decode_to_exactly_their_statuses(
    bits: int, statuses: Mapping[int, int], lst: str
) -> None:
    decoded = StatusList.decode({"bits": bits, "lst": lst}, size=LONG_SIZE)
    raw = decoded.to_bytes()
    # Only the bytes that are not zero: reading all 2^20 entries one by one would be slow.
    set_bytes = [i for i, b in enumerate(raw) if b]
    per_byte = 8 // bits
    found = {
        idx: decoded.get(idx)
        for byte in set_bytes
        for idx in range(byte * per_byte, (byte + 1) * per_byte)
        if decoded.get(idx)
    }
    assert found == statuses


@pytest.mark.parametrize(("bits", "statuses", "lst"), LONG_VECTORS)
def test_draft_long_vectors_round_trip_from_their_statuses(
    bits: int, statuses: Mapping[int, int], lst: str
) -> None:
    built = StatusList(LONG_SIZE, bits)
    for idx, value in statuses.items():
        built.set(idx, value)
    assert StatusList.decode({"bits": bits, "lst": lst}) == built
    assert StatusList.decode(built.encode(), size=LONG_SIZE) == built


@pytest.mark.parametrize(("bits", "statuses", "lst"), LONG_VECTORS)
def test_draft_long_vectors_encode_byte_for_byte(
    bits: int, statuses: Mapping[int, int], lst: str
) -> None:
    # zlib at level 9 (the draft's recommendation) reproduces the draft's own compression.
    built = StatusList(LONG_SIZE, bits)
    for idx, value in statuses.items():
        built.set(idx, value)
    assert built.encode() == {"bits": bits, "lst": lst}


def test_status_types_are_the_registered_values() -> None:
    assert (StatusType.VALID, StatusType.INVALID, StatusType.SUSPENDED) == (0, 1, 2)


# --- round trips ---------------------------------------------------------------------------


@st.composite
def values_and_bits(draw: st.DrawFn) -> tuple[int, list[int]]:
    bits = draw(st.sampled_from([1, 2, 4, 8]))
    values = draw(st.lists(st.integers(0, 2**bits - 1), min_size=1, max_size=300))
    return bits, values


@given(values_and_bits())
@settings(max_examples=200, deadline=None)
def test_any_list_round_trips_through_its_json_form(case: tuple[int, list[int]]) -> None:
    bits, values = case
    original = status_list(values, bits=bits)
    encoded = original.encode()
    assert set(encoded) == {"bits", "lst"}
    assert "=" not in encoded["lst"]
    decoded = StatusList.decode(json.loads(json.dumps(encoded)), size=len(values))
    assert decoded == original
    assert [decoded.get(i) for i in range(len(values))] == values


@given(values_and_bits(), st.data())
@settings(max_examples=100, deadline=None)
def test_setting_one_status_leaves_every_other_alone(
    case: tuple[int, list[int]], data: st.DataObject
) -> None:
    bits, values = case
    lst = status_list(values, bits=bits)
    idx = data.draw(st.integers(0, len(values) - 1))
    value = data.draw(st.integers(0, 2**bits - 1))
    lst.set(idx, value)
    expected = [*values[:idx], value, *values[idx + 1 :]]
    assert [lst.get(i) for i in range(len(values))] == expected


@pytest.mark.parametrize(("bits", "size", "length"), [(1, 9, 2), (2, 5, 2), (4, 3, 2), (8, 3, 3)])
def test_byte_length_rounds_up_to_whole_bytes(bits: int, size: int, length: int) -> None:
    assert len(StatusList(size, bits).to_bytes()) == length


def test_decode_without_size_keeps_every_slot_of_the_bytes() -> None:
    lst = StatusList(10, 2)
    lst.set(9, 3)
    decoded = StatusList.decode(lst.encode())
    assert (decoded.size, decoded.get(9), decoded.get(11)) == (12, 3, 0)


def test_from_bytes_and_to_bytes_are_inverse() -> None:
    lst = StatusList.from_bytes(bytes([0xB9, 0xA3]), bits=1)
    assert [lst.get(i) for i in range(16)] == DRAFT_1BIT
    assert lst.to_bytes() == bytes([0xB9, 0xA3])


def test_decode_accepts_extra_members_such_as_aggregation_uri() -> None:
    obj = {"bits": 1, "lst": DRAFT_1BIT_LST, "aggregation_uri": "https://example.com/agg"}
    assert StatusList.decode(obj) == status_list(DRAFT_1BIT)


def test_lists_compare_by_content() -> None:
    assert status_list([1, 0]) == status_list([1, 0])
    assert status_list([1, 0]) != status_list([0, 1])
    assert status_list([1, 0], bits=1) != status_list([1, 0], bits=2)
    assert status_list([1, 0]) != "not a list"
    assert repr(StatusList(8, 2)) == "StatusList(size=8, bits=2)"


# --- error paths ---------------------------------------------------------------------------


def _zlib(data: bytes) -> str:
    return lst_of(zlib.compress(data, 9))


LIST_ERRORS: list[Any] = [
    pytest.param(lambda: StatusList(8, 3), "bits: must be 1, 2, 4 or 8, not 3", id="bits-3"),
    pytest.param(lambda: StatusList(8, 0), "bits: must be 1, 2, 4 or 8, not 0", id="bits-0"),
    pytest.param(
        lambda: StatusList(8, True), "bits: must be 1, 2, 4 or 8, not True", id="bits-bool"
    ),
    pytest.param(lambda: StatusList(0), "size: must be a positive integer, not 0", id="size-0"),
    pytest.param(lambda: StatusList(-5), "size: must be a positive integer, not -5", id="size-neg"),
    pytest.param(lambda: StatusList(16).get(16), "idx: 16 is outside 0..15", id="get-past-end"),
    pytest.param(lambda: StatusList(16).get(-1), "idx: -1 is outside 0..15", id="get-negative"),
    pytest.param(lambda: StatusList(16).set(16, 1), "idx: 16 is outside 0..15", id="set-past-end"),
    pytest.param(
        lambda: StatusList(16).set(0, 2), "value: 2 does not fit in 1 bit (0..1)", id="value-1bit"
    ),
    pytest.param(
        lambda: StatusList(16, 2).set(0, 4),
        "value: 4 does not fit in 2 bits (0..3)",
        id="value-2bit",
    ),
    pytest.param(
        lambda: StatusList(16, 8).set(0, 256),
        "value: 256 does not fit in 8 bits (0..255)",
        id="value-8bit",
    ),
    pytest.param(
        lambda: StatusList(16).set(0, -1), "value: -1 does not fit in 1 bit (0..1)", id="value-neg"
    ),
    pytest.param(
        lambda: StatusList(16).set(0, StatusType.SUSPENDED),
        "value: 2 does not fit in 1 bit (0..1)",
        id="suspended-in-1bit",
    ),
    pytest.param(
        lambda: StatusList(16).set(0, True), "value: True does not fit in 1 bit (0..1)", id="bool"
    ),
    pytest.param(
        lambda: StatusList.decode([1, "x"]),
        "status_list: must be a JSON object, not list",
        id="not-object",
    ),
    pytest.param(
        lambda: StatusList.decode({"lst": DRAFT_1BIT_LST}),
        "bits: must be 1, 2, 4 or 8, not None",
        id="bits-missing",
    ),
    pytest.param(
        lambda: StatusList.decode({"bits": "1", "lst": DRAFT_1BIT_LST}),
        "bits: must be 1, 2, 4 or 8, not '1'",
        id="bits-string",
    ),
    pytest.param(
        lambda: StatusList.decode({"bits": 1}), "lst: must be a string, not NoneType", id="no-lst"
    ),
    pytest.param(
        lambda: StatusList.decode({"bits": 1, "lst": "eNrbuRgAAhcBXQ=="}),
        "lst: not base64url: '=' is not in the base64url alphabet",
        id="padding",
    ),
    pytest.param(
        lambda: StatusList.decode({"bits": 1, "lst": "eNrbuRg+AhcBXQ"}),
        "lst: not base64url: '+' is not in the base64url alphabet",
        id="plain-base64",
    ),
    pytest.param(
        lambda: StatusList.decode({"bits": 1, "lst": "eNrbu"}),
        "lst: not base64url: 5 characters cannot encode whole bytes",
        id="base64-length",
    ),
    pytest.param(
        lambda: StatusList.decode({"bits": 1, "lst": lst_of(b"\xb9\xa3")}),
        "lst: not zlib data (Error -3 while decompressing data: unknown compression method)",
        id="not-zlib",
    ),
    pytest.param(
        lambda: StatusList.decode({"bits": 1, "lst": lst_of(zlib.compress(b"\xb9\xa3")[:-3])}),
        "lst: the zlib stream is truncated",
        id="truncated",
    ),
    pytest.param(
        lambda: StatusList.decode({"bits": 1, "lst": lst_of(zlib.compress(b"\xb9\xa3") + b"xy")}),
        "lst: 2 bytes follow the end of the zlib stream",
        id="trailing",
    ),
    pytest.param(
        lambda: StatusList.decode({"bits": 1, "lst": _zlib(b"")}),
        "lst: holds 0 bytes; a list of 0 statuses of 1 bit needs at least 1",
        id="empty",
    ),
    pytest.param(
        lambda: StatusList.decode({"bits": 1, "lst": DRAFT_1BIT_LST}, size=17),
        "lst: holds 2 bytes; a list of 17 statuses of 1 bit needs 3",
        id="length-short",
    ),
    pytest.param(
        lambda: StatusList.decode({"bits": 2, "lst": DRAFT_2BIT_LST}, size=8),
        "lst: holds 3 bytes; a list of 8 statuses of 2 bits needs 2",
        id="length-long",
    ),
    pytest.param(
        lambda: StatusList.decode({"bits": 1, "lst": _zlib(bytes(1000))}, max_bytes=999),
        "lst: inflates past 999 bytes",
        id="bomb",
    ),
    pytest.param(
        lambda: compressed_size(100, 1.5),
        "revoked_fraction: must be between 0 and 1, not 1.5",
        id="fraction",
    ),
]


@pytest.mark.parametrize(("action", "message"), LIST_ERRORS)
def test_status_list_errors_say_exactly_what_is_wrong(
    action: Callable[[], object], message: str
) -> None:
    with pytest.raises(InvalidStatusList) as caught:
        action()
    assert caught.value.detail == message
    assert isinstance(caught.value, Invalid)
    assert caught.value.to_problem()["status"] == 422
    [problem] = caught.value.errors
    assert message == f"{problem.field}: {problem.detail}"


def test_a_decompression_bomb_is_refused_before_it_inflates_fully() -> None:
    bomb = {"bits": 1, "lst": _zlib(bytes(64 * 1024 * 1024))}
    with pytest.raises(InvalidStatusList, match="inflates past 33554432 bytes"):
        StatusList.decode(bomb)


# --- the Status List Token -----------------------------------------------------------------

# Keys are made once: generating them per test would dominate the run time.
ES256_KEY = ec.generate_private_key(ec.SECP256R1())
OTHER_ES256_KEY = ec.generate_private_key(ec.SECP256R1())
ES384_KEY = ec.generate_private_key(ec.SECP384R1())
ED25519_KEY = ed25519.Ed25519PrivateKey.generate()

URI = "https://status.twonets.dev/licences/lists/1"
ISSUED = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
EXPIRES = ISSUED + timedelta(days=1)
DURING = ISSUED + timedelta(hours=3)
KEYS: dict[str, PublicKey] = {
    "sl-es256": ES256_KEY.public_key(),
    "sl-ed25519": ED25519_KEY.public_key(),
    "sl-p384": ES384_KEY.public_key(),
}


def signed_token(
    lst: StatusList | None = None,
    *,
    key: ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey = ES256_KEY,
    kid: str = "sl-es256",
    uri: str = URI,
    issued_at: datetime = ISSUED,
    expires_at: datetime = EXPIRES,
    ttl: int = 3600,
) -> str:
    """A Status List Token signed with ``key``; defaults for all a test does not care about."""
    return sign_status_list_token(
        lst if lst is not None else status_list(DRAFT_1BIT),
        uri=uri,
        issued_at=issued_at,
        expires_at=expires_at,
        ttl=ttl,
        signer=KeySigner(key, kid),
    )


def forged_token(
    header: Mapping[str, Any],
    claims: Mapping[str, Any],
    *,
    key: ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey = ES256_KEY,
    raw_signature: bytes | None = None,
) -> str:
    """A compact JWS with any header and claims, properly signed unless ``raw_signature``."""

    def part(obj: Mapping[str, Any]) -> str:
        return lst_of(json.dumps(obj).encode())

    signing_input = f"{part(header)}.{part(claims)}"
    signature = raw_signature
    if signature is None:
        signature = KeySigner(key, "any").sign(signing_input.encode())
    return f"{signing_input}.{lst_of(signature)}"


def good_claims(**changes: Any) -> dict[str, Any]:
    claims: dict[str, Any] = {
        "sub": URI,
        "iat": int(ISSUED.timestamp()),
        "exp": int(EXPIRES.timestamp()),
        "ttl": 3600,
        "status_list": {"bits": 1, "lst": DRAFT_1BIT_LST},
    }
    claims.update(changes)
    return {k: v for k, v in claims.items() if v is not None}


GOOD_HEADER = {"alg": "ES256", "kid": "sl-es256", "typ": "statuslist+jwt"}


def header_and_claims(jwt: str) -> tuple[dict[str, Any], dict[str, Any]]:
    head, body, _ = jwt.split(".")
    return json.loads(unb64(head)), json.loads(unb64(body))


def unb64(text: str) -> bytes:
    """The bytes of a base64url string without padding."""
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@pytest.mark.parametrize(
    ("key", "kid", "alg", "signature_bytes"),
    [(ES256_KEY, "sl-es256", "ES256", 64), (ED25519_KEY, "sl-ed25519", "EdDSA", 64)],
)
def test_a_signed_token_verifies_and_returns_its_list(
    key: ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey,
    kid: str,
    alg: str,
    signature_bytes: int,
) -> None:
    lst = status_list(DRAFT_2BIT, bits=2)
    jwt = signed_token(lst, key=key, kid=kid)
    header, claims = header_and_claims(jwt)
    assert header == {"alg": alg, "kid": kid, "typ": "statuslist+jwt"}
    assert claims == {
        "sub": URI,
        "iat": int(ISSUED.timestamp()),
        "exp": int(EXPIRES.timestamp()),
        "ttl": 3600,
        "status_list": {"bits": 2, "lst": DRAFT_2BIT_LST},
    }
    assert len(unb64(jwt.split(".")[2])) == signature_bytes

    assert verify_status_list_token(jwt, public_keys=KEYS, at=DURING) == lst
    token = open_status_list_token(jwt, public_keys=KEYS, at=DURING, uri=URI)
    assert token == StatusListToken(
        uri=URI,
        issued_at=ISSUED,
        expires_at=EXPIRES,
        ttl=3600,
        status_list=lst,
        kid=kid,
    )


def test_the_issuer_claim_is_carried_when_given() -> None:
    jwt = sign_status_list_token(
        status_list(DRAFT_1BIT),
        uri=URI,
        issued_at=ISSUED,
        expires_at=EXPIRES,
        ttl=60,
        signer=KeySigner(ES256_KEY, "sl-es256"),
        issuer="https://twonets.dev/regions/SH",
    )
    assert header_and_claims(jwt)[1]["iss"] == "https://twonets.dev/regions/SH"
    token = open_status_list_token(jwt, public_keys=KEYS, at=DURING)
    assert token.issuer == "https://twonets.dev/regions/SH"


def test_a_token_without_exp_or_ttl_from_another_issuer_is_accepted() -> None:
    jwt = forged_token(GOOD_HEADER, good_claims(exp=None, ttl=None))
    token = open_status_list_token(jwt, public_keys=KEYS, at=DURING)
    assert (token.expires_at, token.ttl) == (None, None)


def test_typ_with_the_media_type_prefix_is_accepted() -> None:
    jwt = forged_token({**GOOD_HEADER, "typ": "application/statuslist+jwt"}, good_claims())
    assert verify_status_list_token(jwt, public_keys=KEYS, at=DURING) == status_list(DRAFT_1BIT)


def test_the_drafts_example_token_is_read_up_to_its_signature() -> None:
    # Section 5.1's example, signed with a key the draft does not publish: everything up to the
    # signature must pass, and the signature must then fail against another P-256 key.
    example = (
        "eyJhbGciOiJFUzI1NiIsImtpZCI6IjEyIiwidHlwIjoic3RhdHVzbGlzdCtqd3QifQ.eyJleHAiOjIyOTE3MjAx"
        "NzAsImlhdCI6MTY4NjkyMDE3MCwiaXNzIjoiaHR0cHM6Ly9leGFtcGxlLmNvbSIsInN0YXR1c19saXN0Ijp7ImJp"
        "dHMiOjEsImxzdCI6ImVOcmJ1UmdBQWhjQlhRIn0sInN1YiI6Imh0dHBzOi8vZXhhbXBsZS5jb20vc3RhdHVzbGlz"
        "dHMvMSIsInR0bCI6NDMyMDB9.2lKUUNG503R9htu4aHAYi7vjmr3sgApbfoDvPrl65N3URUO1EYqqQl45Jfzd-Av4"
        "QzlKa3oVALpLwOEUOq-U_g"
    )
    header, claims = header_and_claims(example)
    assert header == {"alg": "ES256", "kid": "12", "typ": "statuslist+jwt"}
    assert claims["status_list"] == {"bits": 1, "lst": DRAFT_1BIT_LST}
    with pytest.raises(UntrustedStatusListToken) as caught:
        verify_status_list_token(
            example, public_keys={"12": OTHER_ES256_KEY.public_key()}, at=DURING
        )
    assert caught.value.detail == "signature: does not verify with key '12'"


def _swap_payload(jwt: str, claims: Mapping[str, Any]) -> str:
    head, _, signature = jwt.split(".")
    return f"{head}.{lst_of(json.dumps(claims).encode())}.{signature}"


def _flip_last_signature_char(jwt: str) -> str:
    head, body, signature = jwt.split(".")
    return f"{head}.{body}.{signature[:-2]}{'A' if signature[-2] != 'A' else 'B'}{signature[-1]}"


TOKEN_ERRORS: list[Any] = [
    pytest.param(
        lambda: "a.b",
        InvalidStatusListToken,
        "token: a compact JWS has 3 dot-separated parts, this has 2",
        id="parts",
    ),
    pytest.param(
        lambda: "e30.e30.e30.e30",
        InvalidStatusListToken,
        "token: a compact JWS has 3 dot-separated parts, this has 4",
        id="jwe-like",
    ),
    pytest.param(
        lambda: "!!.e30.",
        InvalidStatusListToken,
        "header: not base64url of a JSON object (not base64url: '!' is not in the base64url "
        "alphabet)",
        id="header-base64",
    ),
    pytest.param(
        lambda: f"{lst_of(b'[1]')}.e30.",
        InvalidStatusListToken,
        "header: must be a JSON object, not list",
        id="header-array",
    ),
    pytest.param(
        lambda: f"{lst_of(b'{')}.e30.",
        InvalidStatusListToken,
        "header: not base64url of a JSON object (Expecting property name enclosed in double "
        "quotes: line 1 column 2 (char 1))",
        id="header-json",
    ),
    pytest.param(
        lambda: f"{lst_of(json.dumps(GOOD_HEADER).encode())}.e30.a+b",
        InvalidStatusListToken,
        "signature: not base64url: '+' is not in the base64url alphabet",
        id="signature-base64",
    ),
    pytest.param(
        lambda: forged_token({**GOOD_HEADER, "typ": "JWT"}, good_claims()),
        InvalidStatusListToken,
        "typ: must be 'statuslist+jwt', not 'JWT'",
        id="typ-jwt",
    ),
    pytest.param(
        lambda: forged_token({"alg": "ES256", "kid": "sl-es256"}, good_claims()),
        InvalidStatusListToken,
        "typ: must be 'statuslist+jwt', not None",
        id="typ-missing",
    ),
    pytest.param(
        lambda: forged_token({**GOOD_HEADER, "crit": ["b64"], "b64": False}, good_claims()),
        InvalidStatusListToken,
        "crit: no critical header extension is supported",
        id="crit",
    ),
    pytest.param(
        lambda: forged_token({**GOOD_HEADER, "alg": "none"}, good_claims(), raw_signature=b""),
        UntrustedStatusListToken,
        "alg: 'none' is not accepted; a status list token must be signed with ES256 or EdDSA",
        id="alg-none",
    ),
    pytest.param(
        lambda: forged_token({**GOOD_HEADER, "alg": "HS256"}, good_claims(), raw_signature=b"x"),
        UntrustedStatusListToken,
        "alg: 'HS256' is not accepted; a status list token must be signed with ES256 or EdDSA",
        id="alg-mac",
    ),
    pytest.param(
        lambda: signed_token(kid="sl-unknown"),
        UntrustedStatusListToken,
        "kid: 'sl-unknown' is not trusted",
        id="kid-unknown",
    ),
    pytest.param(
        lambda: forged_token({**GOOD_HEADER, "kid": 7}, good_claims()),
        UntrustedStatusListToken,
        "kid: 7 is not trusted",
        id="kid-not-string",
    ),
    pytest.param(
        lambda: forged_token({**GOOD_HEADER, "kid": "sl-ed25519"}, good_claims()),
        UntrustedStatusListToken,
        "kid: 'sl-ed25519' is an Ed25519 key; ES256 needs a P-256 key",
        id="es256-with-ed25519-key",
    ),
    pytest.param(
        lambda: forged_token({**GOOD_HEADER, "kid": "sl-p384"}, good_claims()),
        UntrustedStatusListToken,
        "kid: 'sl-p384' is an EC secp384r1 key; ES256 needs a P-256 key",
        id="es256-with-p384-key",
    ),
    pytest.param(
        lambda: forged_token(
            {**GOOD_HEADER, "alg": "EdDSA", "kid": "sl-es256"}, good_claims(), key=ED25519_KEY
        ),
        UntrustedStatusListToken,
        "kid: 'sl-es256' is an EC secp256r1 key; EdDSA needs an Ed25519 or Ed448 key",
        id="eddsa-with-ec-key",
    ),
    pytest.param(
        lambda: forged_token(GOOD_HEADER, good_claims(), raw_signature=bytes(70)),
        UntrustedStatusListToken,
        "signature: an ES256 signature is 64 bytes (r || s), this is 70",
        id="der-signature",
    ),
    pytest.param(
        lambda: forged_token(GOOD_HEADER, good_claims(), key=OTHER_ES256_KEY),
        UntrustedStatusListToken,
        "signature: does not verify with key 'sl-es256'",
        id="wrong-key",
    ),
    pytest.param(
        lambda: _swap_payload(
            signed_token(), good_claims(status_list={"bits": 1, "lst": "eNoDAAAAAAE"})
        ),
        UntrustedStatusListToken,
        "signature: does not verify with key 'sl-es256'",
        id="tampered-list",
    ),
    pytest.param(
        lambda: _flip_last_signature_char(signed_token(key=ED25519_KEY, kid="sl-ed25519")),
        UntrustedStatusListToken,
        "signature: does not verify with key 'sl-ed25519'",
        id="tampered-signature",
    ),
    pytest.param(
        lambda: forged_token(GOOD_HEADER, good_claims(sub=None)),
        InvalidStatusListToken,
        "sub: must be a non-empty string",
        id="sub-missing",
    ),
    pytest.param(
        lambda: forged_token(GOOD_HEADER, good_claims(sub="https://elsewhere.example/lists/9")),
        InvalidStatusListToken,
        f"sub: 'https://elsewhere.example/lists/9' is not the requested list {URI!r}",
        id="sub-other-list",
    ),
    pytest.param(
        lambda: forged_token(GOOD_HEADER, good_claims(iat=None)),
        InvalidStatusListToken,
        "iat: must be an integer (seconds), not None",
        id="iat-missing",
    ),
    pytest.param(
        lambda: forged_token(GOOD_HEADER, good_claims(iat="2026-03-01")),
        InvalidStatusListToken,
        "iat: must be an integer (seconds), not '2026-03-01'",
        id="iat-string",
    ),
    pytest.param(
        lambda: forged_token(GOOD_HEADER, good_claims(exp=1.5e9)),
        InvalidStatusListToken,
        "exp: must be an integer (seconds), not 1500000000.0",
        id="exp-float",
    ),
    pytest.param(
        lambda: signed_token(issued_at=DURING + timedelta(minutes=5), expires_at=EXPIRES),
        InvalidStatusListToken,
        "iat: issued at 2026-03-01T11:05:00Z, after the time of checking 2026-03-01T11:00:00Z",
        id="iat-future",
    ),
    pytest.param(
        lambda: signed_token(
            issued_at=DURING - timedelta(hours=2), expires_at=DURING - timedelta(minutes=2)
        ),
        InvalidStatusListToken,
        "exp: expired at 2026-03-01T10:58:00Z; it is 2026-03-01T11:00:00Z",
        id="expired",
    ),
    pytest.param(
        lambda: forged_token(GOOD_HEADER, good_claims(ttl=0)),
        InvalidStatusListToken,
        "ttl: must be positive, not 0",
        id="ttl-zero",
    ),
    pytest.param(
        lambda: forged_token(GOOD_HEADER, good_claims(iss=5)),
        InvalidStatusListToken,
        "iss: must be a string",
        id="iss-type",
    ),
    pytest.param(
        lambda: forged_token(GOOD_HEADER, good_claims(status_list=None)),
        InvalidStatusList,
        "status_list: must be a JSON object, not NoneType",
        id="status-list-missing",
    ),
    pytest.param(
        lambda: forged_token(GOOD_HEADER, good_claims(status_list={"bits": 3, "lst": "eNo"})),
        InvalidStatusList,
        "status_list.bits: must be 1, 2, 4 or 8, not 3",
        id="status-list-bits",
    ),
    pytest.param(
        lambda: forged_token(
            GOOD_HEADER, good_claims(status_list={"bits": 1, "lst": lst_of(b"\x00\x01")})
        ),
        InvalidStatusList,
        "status_list.lst: not zlib data (Error -3 while decompressing data: incorrect header "
        "check)",
        id="status-list-zlib",
    ),
]


@pytest.mark.parametrize(("make", "error", "message"), TOKEN_ERRORS)
def test_token_errors_say_exactly_what_is_wrong(
    make: Callable[[], str], error: type[TwonetsError], message: str
) -> None:
    jwt = make()
    with pytest.raises(error) as caught:
        verify_status_list_token(jwt, public_keys=KEYS, at=DURING, uri=URI)
    assert type(caught.value) is error
    assert caught.value.detail == message


def test_an_untrusted_token_is_forbidden_and_a_malformed_one_invalid() -> None:
    assert UntrustedStatusListToken("x").to_problem()["status"] == 403
    assert InvalidStatusListToken("x").to_problem()["status"] == 422


def test_expiry_allows_for_clock_skew_but_not_beyond() -> None:
    jwt = signed_token()
    just_after = EXPIRES + timedelta(seconds=30)
    assert verify_status_list_token(jwt, public_keys=KEYS, at=just_after)
    with pytest.raises(InvalidStatusListToken, match=r"^exp: expired at"):
        verify_status_list_token(jwt, public_keys=KEYS, at=just_after, leeway=timedelta(0))
    with pytest.raises(InvalidStatusListToken, match=r"^exp: expired at"):
        verify_status_list_token(jwt, public_keys=KEYS, at=EXPIRES + timedelta(seconds=60))


def test_a_token_issued_seconds_ahead_of_the_verifiers_clock_is_accepted() -> None:
    jwt = signed_token(issued_at=DURING + timedelta(seconds=20))
    assert verify_status_list_token(jwt, public_keys=KEYS, at=DURING)
    with pytest.raises(InvalidStatusListToken, match=r"^iat: issued at"):
        verify_status_list_token(jwt, public_keys=KEYS, at=DURING, leeway=timedelta(0))


SIGN_ERRORS: list[Any] = [
    pytest.param({"uri": ""}, "uri: must not be empty", id="uri"),
    pytest.param(
        {"issued_at": datetime(2026, 3, 1, 8, 0)},
        "issued_at: must be a timezone-aware datetime",
        id="naive-iat",
    ),
    pytest.param(
        {"expires_at": ISSUED}, "expires_at: must be after issued_at", id="exp-not-after-iat"
    ),
    pytest.param({"ttl": 0}, "ttl: must be a positive integer, not 0", id="ttl-zero"),
    pytest.param({"ttl": 1.5}, "ttl: must be a positive integer, not 1.5", id="ttl-float"),
]


@pytest.mark.parametrize(("changes", "message"), SIGN_ERRORS)
def test_signing_refuses_a_token_it_should_not_make(changes: dict[str, Any], message: str) -> None:
    arguments: dict[str, Any] = {
        "uri": URI,
        "issued_at": ISSUED,
        "expires_at": EXPIRES,
        "ttl": 60,
        "signer": KeySigner(ES256_KEY, "sl-es256"),
    }
    with pytest.raises(InvalidStatusListToken) as caught:
        sign_status_list_token(status_list(DRAFT_1BIT), **{**arguments, **changes})
    assert caught.value.detail == message


def test_verifying_at_a_naive_time_is_refused() -> None:
    with pytest.raises(InvalidStatusListToken, match=r"^at: must be a timezone-aware datetime$"):
        verify_status_list_token(signed_token(), public_keys=KEYS, at=datetime(2026, 3, 1, 9))


def test_signers_take_only_keys_that_make_es256_or_eddsa() -> None:
    assert KeySigner(ES256_KEY, "a").alg == "ES256"
    assert KeySigner(ED25519_KEY, "b").alg == "EdDSA"
    with pytest.raises(ConfigurationError, match="is on secp384r1; ES256 needs P-256"):
        KeySigner(ES384_KEY, "c")
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    with pytest.raises(
        ConfigurationError, match=r"is a RSAPrivateKey.*; use a P-256 or Ed25519 key"
    ):
        KeySigner(rsa_key, "d")  # type: ignore[arg-type]


class HsmLikeSigner:
    """Any object with alg, kid and sign() can sign: the protocol is all the module needs."""

    alg = "EdDSA"
    kid = "sl-ed25519"

    def sign(self, data: bytes) -> bytes:
        return ED25519_KEY.sign(data)


def test_any_object_meeting_the_signer_protocol_signs() -> None:
    jwt = sign_status_list_token(
        status_list(DRAFT_1BIT),
        uri=URI,
        issued_at=ISSUED,
        expires_at=EXPIRES,
        ttl=60,
        signer=HsmLikeSigner(),
    )
    assert verify_status_list_token(jwt, public_keys=KEYS, at=DURING) == status_list(DRAFT_1BIT)


# --- the verifier's cache ------------------------------------------------------------------


class FakeClock:
    """A clock that moves only when told."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


class FakeIssuer:
    """An issuer's status endpoint: signs its current lists afresh on every fetch."""

    def __init__(self, clock: FakeClock, *, ttl: int = 3600) -> None:
        self.clock = clock
        self.ttl = ttl
        self.lists: dict[str, StatusList] = {}
        self.fetches: list[str] = []
        self.served: dict[str, str] = {}
        self.down = False

    def fetch(self, uri: str) -> str:
        if self.down:
            raise TimeoutError(uri)
        self.fetches.append(uri)
        if uri in self.served:
            return self.served[uri]
        return signed_token(
            self.lists[uri],
            uri=uri,
            issued_at=self.clock(),
            expires_at=self.clock() + timedelta(days=1),
            ttl=self.ttl,
        )


def make_cache(
    *, ttl: int = 3600, max_age: timedelta = timedelta(minutes=15)
) -> tuple[StatusCache, FakeIssuer, FakeClock]:
    clock = FakeClock(ISSUED)
    issuer = FakeIssuer(clock, ttl=ttl)
    issuer.lists[URI] = StatusList(1000)
    cache = StatusCache(issuer.fetch, public_keys=KEYS, max_age=max_age, clock=clock)
    return cache, issuer, clock


def test_a_revocation_is_seen_once_the_cache_period_is_over_and_not_before() -> None:
    cache, issuer, clock = make_cache(max_age=timedelta(minutes=15))
    assert cache.status_of(URI, 42) == StatusType.VALID

    issuer.lists[URI].set(42, StatusType.INVALID)  # the licence is revoked
    clock.advance(minutes=14, seconds=59)
    assert cache.status_of(URI, 42) == StatusType.VALID  # still within max_age
    assert issuer.fetches == [URI]

    clock.advance(seconds=1)
    assert cache.status_of(URI, 42) == StatusType.INVALID
    assert issuer.fetches == [URI, URI]


def test_a_shorter_ttl_in_the_token_wins_over_max_age() -> None:
    cache, issuer, clock = make_cache(ttl=300, max_age=timedelta(minutes=15))
    assert cache.status_of(URI, 7) == StatusType.VALID
    issuer.lists[URI].set(7, StatusType.INVALID)
    clock.advance(minutes=4)
    assert cache.status_of(URI, 7) == StatusType.VALID
    clock.advance(minutes=1)
    assert cache.status_of(URI, 7) == StatusType.INVALID


def test_a_longer_ttl_in_the_token_does_not_extend_max_age() -> None:
    cache, issuer, clock = make_cache(ttl=86_400, max_age=timedelta(minutes=10))
    cache.status_of(URI, 1)
    issuer.lists[URI].set(1, StatusType.INVALID)
    clock.advance(minutes=10)
    assert cache.status_of(URI, 1) == StatusType.INVALID


def test_lists_are_cached_per_uri() -> None:
    cache, issuer, _ = make_cache()
    other = "https://status.twonets.dev/licences/lists/2"
    issuer.lists[other] = StatusList(8)
    issuer.lists[other].set(3, StatusType.INVALID)
    assert [cache.status_of(URI, 3), cache.status_of(other, 3)] == [0, 1]
    assert [cache.status_of(URI, 3), cache.status_of(other, 3)] == [0, 1]
    assert issuer.fetches == [URI, other]


def test_a_list_is_refetched_when_its_token_expires_even_within_max_age() -> None:
    cache, issuer, clock = make_cache(max_age=timedelta(hours=2), ttl=7200)
    issuer.served[URI] = signed_token(
        StatusList(8), issued_at=ISSUED, expires_at=ISSUED + timedelta(minutes=30), ttl=7200
    )
    cache.status_of(URI, 0)
    clock.advance(minutes=30)
    del issuer.served[URI]
    cache.status_of(URI, 0)
    assert issuer.fetches == [URI, URI]


def test_a_token_for_another_uri_is_refused() -> None:
    cache, issuer, _ = make_cache()
    issuer.served[URI] = signed_token(uri="https://status.twonets.dev/licences/lists/2")
    with pytest.raises(InvalidStatusListToken, match=r"^sub: .* is not the requested list"):
        cache.status_of(URI, 0)


def test_an_older_token_cannot_be_replayed_to_hide_a_revocation() -> None:
    cache, issuer, clock = make_cache(max_age=timedelta(minutes=5))
    old = signed_token(StatusList(1000), issued_at=ISSUED, expires_at=ISSUED + timedelta(days=1))
    clock.advance(minutes=1)
    issuer.lists[URI].set(9, StatusType.INVALID)
    assert cache.status_of(URI, 9) == StatusType.INVALID

    issuer.served[URI] = old  # an attacker in the path serves the earlier, still unexpired, list
    clock.advance(minutes=5)
    with pytest.raises(InvalidStatusListToken) as caught:
        cache.status_of(URI, 9)
    assert caught.value.detail == (
        f"iat: the list at {URI!r} was issued at 2026-03-01T08:00:00Z, before the one already "
        "held (2026-03-01T08:01:00Z)"
    )


def test_fetch_failures_pass_through_and_nothing_stale_is_served() -> None:
    cache, issuer, clock = make_cache(max_age=timedelta(minutes=5))
    cache.status_of(URI, 0)
    issuer.down = True
    clock.advance(minutes=5)
    with pytest.raises(TimeoutError):
        cache.status_of(URI, 0)
    with pytest.raises(TimeoutError):  # the stale list is not served on the next call either
        cache.status_of(URI, 0)
    issuer.down = False
    assert cache.status_of(URI, 0) == StatusType.VALID


def test_an_index_outside_the_fetched_list_is_an_error() -> None:
    cache, _, _ = make_cache()
    with pytest.raises(InvalidStatusList, match=r"^idx: 1000 is outside 0\.\.999$"):
        cache.status_of(URI, 1000)


def test_the_cache_needs_a_positive_max_age() -> None:
    with pytest.raises(InvalidStatusList, match=r"^max_age: must be positive$"):
        StatusCache(lambda uri: "", public_keys=KEYS, max_age=timedelta(0), clock=FakeClock(ISSUED))


# --- sizing --------------------------------------------------------------------------------


def test_a_million_licences_with_one_percent_revoked_compress_to_about_14_kb() -> None:
    size = compressed_size(1_000_000, 0.01)
    # No coder beats the entropy of the scattered revocations (about 10.1 KB); zlib gets close.
    entropy_bytes = 1_000_000 * -(0.01 * math.log2(0.01) + 0.99 * math.log2(0.99)) / 8
    assert entropy_bytes < size < 16_000


def test_compressed_size_is_reproducible_and_grows_with_revocations() -> None:
    assert compressed_size(100_000, 0.01, seed=4) == compressed_size(100_000, 0.01, seed=4)
    assert compressed_size(100_000, 0.0) < 200
    assert compressed_size(100_000, 0.001) < compressed_size(100_000, 0.01)
    assert compressed_size(100_000, 0.01, bits=2) > compressed_size(100_000, 0.01, bits=1) * 0.9
