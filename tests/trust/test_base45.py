"""Base45 (RFC 9285): the published examples, precise refusals, round trips."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from twonets.trust.base45 import ALPHABET as B45_ALPHABET
from twonets.trust.base45 import b45decode, b45encode, is_base45_text

RFC_9285_EXAMPLES = [
    (b"AB", "BB8"),
    (b"Hello!!", "%69 VD92EX0"),
    (b"base-45", "UJCLQE7W581"),
    (b"ietf!", "QED8WEX0"),
    (b"", ""),
]


@pytest.mark.parametrize(("data", "text"), RFC_9285_EXAMPLES)
def test_base45_encodes_the_rfc_examples(data: bytes, text: str) -> None:
    assert b45encode(data) == text


@pytest.mark.parametrize(("data", "text"), RFC_9285_EXAMPLES)
def test_base45_decodes_the_rfc_examples(data: bytes, text: str) -> None:
    assert b45decode(text) == data


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("GGW", "'GGW' at position 0 is 65536, over 65535"),
        ("BB8:::", "':::' at position 3 is 91124, over 65535"),
        (":/", "':/' at position 0 is 1979, over 255"),
        ("A", "length 1 leaves one character over"),
        ("BB8A", "length 4 leaves one character over"),
        ("bB8", "character 'b' at position 0 is not base45"),
        ("BB8=", "character '=' at position 3 is not base45"),
    ],
)
def test_base45_rejects_bad_text_and_says_where(text: str, message: str) -> None:
    with pytest.raises(ValueError, match="^" + re.escape(message)):
        b45decode(text)


@given(st.binary(max_size=300))
def test_base45_round_trips_any_bytes(data: bytes) -> None:
    text = b45encode(data)
    assert set(text) <= set(B45_ALPHABET)
    assert b45decode(text) == data


def test_prefixes_are_checked_against_the_alphabet() -> None:
    assert is_base45_text("SH1:")
    assert not is_base45_text("sh1:")
