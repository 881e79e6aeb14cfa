"""Tests for GB 11643 ID numbers and GB 32100 credit codes in twonets.core.ids."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from datetime import date
from importlib import resources

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError

from twonets.core.ids import (
    CREDIT_CODE_ALPHABET,
    PROVINCE_CODES,
    CreditCode,
    IdentifierCheck,
    IdentifierKind,
    IdNumber,
    InvalidIdentifier,
    check_identifier,
    credit_code_check_character,
    id_number_check_character,
    make_credit_code,
    make_id_number,
    parse_id_number,
    validate_credit_code,
    validate_id_number,
)

TODAY = date.today()
DIGITS = "0123456789"

# Valid numbers published with python-stdnum (stdnum/cn/ric.py, tests/test_cn_ric.doctest).
# 110111198012010078 has a county code not yet in use in 1980: stdnum rejects it, we do not
# look at counties, only provinces.
REAL_ID_NUMBERS = [
    "360426199101010071",
    "44011320141005001X",
    "412723199010050012",
    "110102199101010078",
    "120110198012010073",
    "120110199212010072",
    "110111198012010078",
]

# Codes found online, from python-stdnum's tests/test_cn_uscc.doctest; stdnum checks only
# the GB 32100 character, these also carry correct GB 11714 organisation check characters.
REAL_CREDIT_CODES = [
    "121200004013590816",
    "91110000600037341L",
    "91110000710926094P",
    "91152201078371135X",
    "9115220107837757XE",
    "9115220107837941X1",
    "913101127033980359",
    "91310115MA1K3BTP2B",
    "9131012056010553X5",
    "91340603MA2UJXXCXF",
    "91420684MA4927PJ7B",
    "9144030071526726XG",
    "91620105L015101280",
    "91620105MA73NBBLXE",
    "92340602MA2PBMEM24",
    "92340621MA2PBKRXXG",
]


# --- reference formulas, written straight from the standards --------------------------


def reference_id_check(first17: str) -> str:
    """ISO 7064 MOD 11-2 as GB 11643 states it: weights 2^(17-i) mod 11."""
    total = sum(int(d) * (2 ** (17 - i) % 11) for i, d in enumerate(first17))
    check = (12 - total % 11) % 11
    return "X" if check == 10 else str(check)


def reference_organisation_check(body: str) -> str:
    """GB 11714: weights 3 7 9 10 5 8 4 2, letters valued A=10 .. Z=35."""
    values = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    total = sum(values.index(c) * w for c, w in zip(body, (3, 7, 9, 10, 5, 8, 4, 2), strict=True))
    check = 11 - total % 11
    return {10: "X", 11: "0"}.get(check, str(check))


def reference_credit_check(first17: str) -> str:
    """GB 32100: weights 3^i mod 31, check (31 - sum mod 31) mod 31 through the alphabet."""
    total = sum(CREDIT_CODE_ALPHABET.index(c) * (3**i % 31) for i, c in enumerate(first17))
    return CREDIT_CODE_ALPHABET[(31 - total % 31) % 31]


# --- strategies ----------------------------------------------------------------------------

region_codes = st.builds(
    lambda province, rest: f"{province}{rest:04d}",
    st.sampled_from(sorted(PROVINCE_CODES)),
    st.integers(0, 9999),
)
valid_id_numbers = st.builds(
    make_id_number,
    region_code=region_codes,
    birth_date=st.dates(date(1900, 1, 1), TODAY),
    sequence=st.integers(0, 999),
)
alphabet_chars = st.sampled_from(CREDIT_CODE_ALPHABET)
valid_credit_codes = st.builds(
    lambda authority, kind, region, body: make_credit_code(
        authority=authority, kind=kind, region_code=region, organisation_body=body
    ),
    alphabet_chars,
    alphabet_chars,
    st.text(DIGITS, min_size=6, max_size=6),
    st.text(CREDIT_CODE_ALPHABET, min_size=8, max_size=8),
)
# Mostly identifier-like text, with the characters that tend to break parsers mixed in.
messy_text = st.one_of(
    st.text(),
    st.text(DIGITS + "Xx OIZSVLA-·", min_size=16, max_size=20),
    st.text(DIGITS + "x\u00df\u0131\u0661\u00b2\uff11\u3000\n'{}", min_size=17, max_size=19),
)


def reason_of(call: Callable[..., object], *args: object, **kwargs: object) -> str:
    """The reason of the InvalidIdentifier a call raises."""
    with pytest.raises(InvalidIdentifier) as info:
        call(*args, **kwargs)
    return info.value.reason


# --- ID numbers: known values ------------------------------------------------------------


@pytest.mark.parametrize("number", ["11010519491231002X", *REAL_ID_NUMBERS])
def test_real_id_numbers_are_valid(number: str) -> None:
    assert validate_id_number(number) == number


def test_id_number_is_normalised() -> None:
    assert validate_id_number("  11010519491231002x\t") == "11010519491231002X"


def test_parse_id_number() -> None:
    info = parse_id_number("11010519491231002x")
    assert info.number == "11010519491231002X"
    assert info.region_code == "110105"
    assert info.birth_date == date(1949, 12, 31)
    assert info.sex == "female"
    assert parse_id_number("360426199101010071").sex == "male"


def test_check_character_of_the_example() -> None:
    assert id_number_check_character("11010519491231002") == "X"
    assert make_id_number("110105", date(1949, 12, 31), 2) == "11010519491231002X"


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("1101051949123100", "length should be 18, got 16"),
        ("11010519491231002XX", "length should be 18, got 19"),
        ("", "length should be 18, got 0"),
        (
            "110105A94912310020",
            "only digits are allowed before the check character, got 'A' at position 7",
        ),
        (
            "T60426199101010078",
            "only digits are allowed before the check character, got 'T' at position 1",
        ),
        # A full-width digit is a digit to str.isdigit, not to the standard.
        (
            "1101051949123100\uff12X",
            "only digits are allowed before the check character, got '\uff12' at position 17",
        ),
        ("11010519491231002Y", "check character must be a digit or X, got 'Y'"),
        ("110105194912310029", "check character should be X, got 9"),
        ("36042619910102009X", "check character should be 3, got X"),
    ],
)
def test_id_number_reasons(value: str, reason: str) -> None:
    assert reason_of(validate_id_number, value) == reason


@pytest.mark.parametrize(
    ("first17", "today", "reason"),
    [
        # Each number carries its correct check character, so only the named rule is broken.
        ("11010519491331002", TODAY, "birth date 19491331 is not a real date"),
        ("11010519490229002", TODAY, "birth date 19490229 is not a real date"),
        ("11010500000101002", TODAY, "birth date 00000101 is not a real date"),
        ("11010520990101002", TODAY, "birth date 20990101 is in the future"),
        ("11010520240102002", date(2024, 1, 1), "birth date 20240102 is in the future"),
        ("11010518000101002", TODAY, "birth date 18000101 is before 1900"),
        ("11010518991231002", TODAY, "birth date 18991231 is before 1900"),
        ("99010519491231002", TODAY, "region code 990105 is not a province-level region"),
        ("91010519491231002", TODAY, "region code 910105 is not a province-level region"),
    ],
)
def test_id_number_date_and_region_reasons(first17: str, today: date, reason: str) -> None:
    number = first17 + reference_id_check(first17)
    assert reason_of(validate_id_number, number, today=today) == reason


def test_born_today_is_accepted() -> None:
    number = make_id_number("310101", date(2024, 1, 1), 1)
    assert validate_id_number(number, today=date(2024, 1, 1)) == number


def test_id_number_check_order() -> None:
    # Length before characters, characters before date, date before region, region last.
    assert reason_of(validate_id_number, "A" * 17) == "length should be 18, got 17"
    assert reason_of(validate_id_number, "9901051949133100AY").startswith("only digits")
    assert reason_of(validate_id_number, "99010519491331002Y").startswith("check character must")
    assert reason_of(validate_id_number, "990105194913310020").startswith("birth date")
    assert reason_of(validate_id_number, "990105194912310020").startswith("region code")


def test_province_codes_match_stdnum() -> None:
    """Our provinces are stdnum's GB/T 2260 list plus 83 (Taiwan residents' permits)."""
    text = (resources.files("stdnum.cn") / "loc.dat").read_text(encoding="utf-8")
    stdnum_provinces = {
        line.split()[0] for line in text.splitlines() if line and line[0] not in " #"
    }
    assert stdnum_provinces | {"83"} == PROVINCE_CODES


@pytest.mark.parametrize(
    ("args", "match"),
    [
        (("11010", date(1949, 12, 31), 2), "region code must be 6 digits"),
        (("110105", date(1949, 12, 31), 1000), "sequence must be 0 to 999"),
        (("110105", date(1949, 12, 31), -1), "sequence must be 0 to 999"),
        (("110105", date(999, 12, 31), 2), "birth year must have 4 digits"),
    ],
)
def test_make_id_number_rejects_bad_parts(args: tuple[str, date, int], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        make_id_number(*args)


def test_id_number_check_character_needs_17_digits() -> None:
    with pytest.raises(ValueError, match="expected 17 digits"):
        id_number_check_character("1101051949123100X")


# --- ID numbers: properties ---------------------------------------------------------------


@given(st.text(DIGITS, min_size=17, max_size=17))
def test_id_check_character_matches_the_standard(first17: str) -> None:
    assert id_number_check_character(first17) == reference_id_check(first17)


@given(region_codes, st.dates(date(1900, 1, 1), TODAY), st.integers(0, 999))
def test_generated_id_numbers_parse_back(region: str, birth: date, sequence: int) -> None:
    number = make_id_number(region, birth, sequence)
    info = parse_id_number(number.lower(), today=TODAY)
    assert info.number == number
    assert info.region_code == region
    assert info.birth_date == birth
    assert info.sex == ("male" if sequence % 2 else "female")


@given(valid_id_numbers)
def test_every_single_substitution_in_an_id_number_is_rejected(number: str) -> None:
    assert validate_id_number(number, today=TODAY) == number
    for index in range(18):
        for char in DIGITS + "X" if index == 17 else DIGITS:
            if char == number[index]:
                continue
            changed = number[:index] + char + number[index + 1 :]
            reason = reason_of(validate_id_number, changed, today=TODAY)
            if index == 17:
                assert reason == f"check character should be {number[17]}, got {char}"
            elif index >= 14:
                # The sequence touches neither date nor region: only MOD 11-2 can notice.
                expected = reference_id_check(changed[:17])
                assert reason == f"check character should be {expected}, got {number[17]}"


# --- credit codes: known values -------------------------------------------------------------


@pytest.mark.parametrize("code", REAL_CREDIT_CODES)
def test_real_credit_codes_are_valid(code: str) -> None:
    assert validate_credit_code(code) == code


def test_credit_code_is_normalised() -> None:
    assert validate_credit_code(" 91110000600037341l ") == "91110000600037341L"


def test_make_credit_code_rebuilds_a_real_code() -> None:
    assert make_credit_code(region_code="110000", organisation_body="60003734") == (
        "91110000600037341L"
    )
    assert make_credit_code(region_code="440300", organisation_body="71526726") == (
        "9144030071526726XG"
    )


def with_checks(first16: str, organisation_check: str) -> str:
    """A credit code with the given organisation check character and a correct final one."""
    first17 = first16 + organisation_check
    return first17 + reference_credit_check(first17)


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("12345", "length should be 18, got 5"),
        ("91110000600037341L0", "length should be 18, got 19"),
        (
            "9111O000600037341L",
            "character 'O' at position 5 is not allowed (the alphabet has no I, O, Z, S or V)",
        ),
        (
            "91110000600O37341L",
            "character 'O' at position 12 is not allowed (the alphabet has no I, O, Z, S or V)",
        ),
        (
            "9111000060003IOZSV",
            "character 'I' at position 14 is not allowed (the alphabet has no I, O, Z, S or V)",
        ),
        (
            "91110000-60003734L",
            "character '-' at position 9 is not allowed (the alphabet has no I, O, Z, S or V)",
        ),
        (
            "9111000A600037341L",
            "region code at positions 3-8 must be 6 digits, got '11000A'",
        ),
        (
            with_checks("9111000060003734", "5"),
            "organisation code check character should be 1, got 5",
        ),
        (
            with_checks("9144030071526726", "5"),
            "organisation code check character should be X, got 5",
        ),
        (
            with_checks("9144030071526726", "A"),
            "organisation code check character should be X, got A",
        ),
        ("911100006000373413", "check character should be L, got 3"),
        ("91110000600037341N", "check character should be L, got N"),
    ],
)
def test_credit_code_reasons(value: str, reason: str) -> None:
    assert reason_of(validate_credit_code, value) == reason


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"authority": "O", "region_code": "110000"}, "authority must be one character"),
        ({"kind": "12", "region_code": "110000"}, "kind must be one character"),
        ({"region_code": "11000A"}, "region code must be 6 digits"),
        ({"region_code": "110000", "organisation_body": "6000373"}, "organisation body"),
        ({"region_code": "110000", "organisation_body": "6000373I"}, "organisation body"),
    ],
)
def test_make_credit_code_rejects_bad_parts(kwargs: dict[str, str], match: str) -> None:
    arguments = {"organisation_body": "60003734", **kwargs}
    with pytest.raises(ValueError, match=match):
        make_credit_code(**arguments)


def test_credit_code_check_character_needs_17_alphabet_characters() -> None:
    with pytest.raises(ValueError, match="expected 17 characters"):
        credit_code_check_character("9111000060003734I")


# --- credit codes: properties -------------------------------------------------------------


@given(st.text(CREDIT_CODE_ALPHABET, min_size=17, max_size=17))
def test_credit_check_character_matches_the_standard(first17: str) -> None:
    assert credit_code_check_character(first17) == reference_credit_check(first17)


@given(alphabet_chars, alphabet_chars, st.text(DIGITS, min_size=6, max_size=6), st.data())
def test_generated_credit_codes_match_the_standards(
    authority: str, kind: str, region: str, data: st.DataObject
) -> None:
    body = data.draw(st.text(CREDIT_CODE_ALPHABET, min_size=8, max_size=8))
    code = make_credit_code(
        authority=authority, kind=kind, region_code=region, organisation_body=body
    )
    assert code[:16] == authority + kind + region + body
    assert code[16] == reference_organisation_check(body)
    assert code[17] == reference_credit_check(code[:17])
    assert validate_credit_code(code.lower()) == code


# A few hundred validations per example: on a busy machine one may pass the default deadline.
@settings(deadline=None)
@given(valid_credit_codes)
def test_every_single_substitution_in_a_credit_code_is_rejected(code: str) -> None:
    assert validate_credit_code(code) == code
    for index in range(18):
        for char in CREDIT_CODE_ALPHABET:
            if char == code[index]:
                continue
            changed = code[:index] + char + code[index + 1 :]
            reason = reason_of(validate_credit_code, changed)
            if index == 17:
                assert reason == f"check character should be {code[17]}, got {char}"
            elif index == 16:
                assert reason == (
                    f"organisation code check character should be {code[16]}, got {char}"
                )
            elif index < 2:
                # Authority and kind have no rule of their own: only the MOD 31 check notices.
                expected = reference_credit_check(changed[:17])
                assert reason == f"check character should be {expected}, got {code[17]}"


# --- check_identifier ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "kind", "reason"),
    [
        ("11010519491231002X", "id_number", None),
        (" 11010519491231002x ", "id_number", None),
        ("91110000600037341L", "credit_code", None),
        ("9144030071526726XG", "credit_code", None),
        # All digits and not a valid ID number (91 is no province): the credit code reading.
        ("913101127033980359", "credit_code", None),
        (
            "91110000600O37341L",
            "credit_code",
            "character 'O' at position 12 is not allowed (the alphabet has no I, O, Z, S or V)",
        ),
        ("91110000600037341M", "credit_code", "check character should be L, got M"),
        ("110105194912310029", "id_number", "check character should be X, got 9"),
        ("11010519491231002-", "id_number", "check character must be a digit or X, got '-'"),
        ("1234", "unknown", "length should be 18, got 4"),
        (
            "11010519491231-02X",
            "unknown",
            "only digits are allowed before the check character, got '-' at position 15",
        ),
    ],
)
def test_check_identifier(value: str, kind: IdentifierKind, reason: str | None) -> None:
    result = check_identifier(value)
    assert result == IdentifierCheck(value.strip().upper(), kind, reason is None, reason)
    assert result.to_json() == {
        "value": value.strip().upper(),
        "kind": kind,
        "valid": reason is None,
        "reason": reason,
    }


@given(valid_id_numbers)
def test_check_identifier_accepts_generated_id_numbers(number: str) -> None:
    assert check_identifier(number, today=TODAY) == IdentifierCheck(number, "id_number", True, None)


@given(valid_credit_codes)
def test_check_identifier_accepts_generated_credit_codes(code: str) -> None:
    result = check_identifier(code)
    assert result.valid
    # An all-digit code can by chance also be a valid ID number, which is tried first.
    assert result.kind == "credit_code" or validate_id_number(code) == code


# --- robustness -----------------------------------------------------------------------------


@given(messy_text)
def test_arbitrary_text_raises_only_invalid_identifier(value: str) -> None:
    for validate in (validate_id_number, validate_credit_code, parse_id_number):
        # InvalidIdentifier is the one failure allowed; anything else fails the test.
        with contextlib.suppress(InvalidIdentifier):
            validate(value)
    result = check_identifier(value)
    assert result.valid == (result.reason is None)
    assert result.reason != ""
    if result.kind == "id_number" and result.valid:
        assert validate_id_number(value) == result.value
    if result.kind == "credit_code" and result.valid:
        assert validate_credit_code(value) == result.value


def test_invalid_identifier_is_a_value_error() -> None:
    exc = InvalidIdentifier("length should be 18, got 3")
    assert isinstance(exc, ValueError)
    assert str(exc) == exc.reason == "length should be 18, got 3"


# --- pydantic types -------------------------------------------------------------------------


class Holder(BaseModel):
    """A model using both identifier field types."""

    id_number: IdNumber
    credit_code: CreditCode


def test_pydantic_types_normalise() -> None:
    holder = Holder(id_number=" 11010519491231002x", credit_code="91110000600037341l")
    assert holder.id_number == "11010519491231002X"
    assert holder.credit_code == "91110000600037341L"


def test_pydantic_errors_carry_the_reason_and_the_rule() -> None:
    with pytest.raises(ValidationError) as info:
        Holder(id_number="110105194912310020", credit_code="9111O000600037341L")
    errors = {error["loc"][0]: error for error in info.value.errors()}
    assert errors["id_number"]["type"] == "id_number"
    assert errors["id_number"]["msg"] == "check character should be X, got 0"
    assert errors["credit_code"]["type"] == "credit_code"
    assert errors["credit_code"]["msg"] == (
        "character 'O' at position 5 is not allowed (the alphabet has no I, O, Z, S or V)"
    )


def test_pydantic_schema_documents_the_patterns() -> None:
    properties = Holder.model_json_schema()["properties"]
    assert properties["id_number"]["pattern"] == "^[0-9]{17}[0-9X]$"
    assert properties["credit_code"]["pattern"] == "^[0-9A-HJ-NPQRTUWXY]{18}$"
    assert properties["id_number"]["examples"] == ["11010519491231002X"]
