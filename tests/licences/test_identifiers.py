"""Licence identifiers: structure, precise reasons, and every single-character error caught."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from twonets.core.ids import InvalidIdentifier, make_credit_code
from twonets.licences.identifiers import (
    ALPHABET,
    make_licence_id,
    parse_licence_id,
    validate_licence_id,
)

ISSUER = make_credit_code(
    authority="1", kind="1", region_code="310000", organisation_body="00242049"
)


def test_parts_come_back() -> None:
    value = make_licence_id("DL", ISSUER, 12345, 2)
    parsed = parse_licence_id(value.lower())
    assert (parsed.type_code, parsed.issuer, parsed.number, parsed.version) == (
        "DL",
        ISSUER,
        12345,
        2,
    )
    assert validate_licence_id(f"  {value.lower()} ") == value


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        (
            "DL-X-1",
            "should have 5 parts separated by '-' (type-issuer-number-version-check), got 3",
        ),
        (f"D-{ISSUER}-0000012345-01-A", "type code should be 2 to 6 letters or digits, got 'D'"),
        (f"DL-{ISSUER}-12345-01-A", "number should be 10 digits, got '12345'"),
        (f"DL-{ISSUER}-0000012345-00-A", "version should be 2 digits from 01, got '00'"),
        (
            f"DL-{ISSUER}-0000012345-01-AB",
            "check character should be one letter or digit, got 'AB'",
        ),
    ],
)
def test_precise_reasons(value: str, reason: str) -> None:
    with pytest.raises(InvalidIdentifier) as caught:
        parse_licence_id(value)
    assert caught.value.reason == reason


def test_a_bad_issuer_names_the_credit_code_rule() -> None:
    bad = ISSUER[:-1] + ("0" if ISSUER[-1] != "0" else "1")
    with pytest.raises(InvalidIdentifier, match=r"^issuer credit code: check character should be"):
        parse_licence_id(f"DL-{bad}-0000012345-01-A")


def test_a_wrong_check_character_says_which_is_right() -> None:
    good = make_licence_id("BL", ISSUER, 7)
    wrong = good[:-1] + ("0" if good[-1] != "0" else "1")
    with pytest.raises(InvalidIdentifier) as caught:
        parse_licence_id(wrong)
    assert caught.value.reason == f"check character should be {good[-1]}, got {wrong[-1]}"


@settings(max_examples=60)
@given(
    type_code=st.text(alphabet=ALPHABET, min_size=2, max_size=6),
    number=st.integers(0, 10**10 - 1),
    version=st.integers(1, 99),
    data=st.data(),
)
def test_every_single_substitution_is_caught(
    type_code: str, number: int, version: int, data: st.DataObject
) -> None:
    value = make_licence_id(type_code, ISSUER, number, version)
    assert validate_licence_id(value) == value
    positions = [i for i, c in enumerate(value) if c != "-"]
    i = data.draw(st.sampled_from(positions))
    replacement = data.draw(st.sampled_from([c for c in ALPHABET if c != value[i]]))
    corrupted = value[:i] + replacement + value[i + 1 :]
    with pytest.raises(InvalidIdentifier):
        parse_licence_id(corrupted)


@given(st.text(max_size=60))
def test_any_text_gets_a_reason_not_a_crash(text: str) -> None:
    try:
        parse_licence_id(text)
    except InvalidIdentifier as exc:
        reason = exc.reason
    else:
        reason = "valid"
    assert reason


def test_a_licence_issued_on_29_february_runs_to_28_february() -> None:
    from datetime import date

    from twonets.licences.dates import add_years

    assert add_years(date(2024, 2, 29), 10) == date(2034, 2, 28)
    assert add_years(date(2024, 2, 29), 4) == date(2028, 2, 29)
    assert add_years(date(2025, 3, 1), 1) == date(2026, 3, 1)
