"""Validators for Chinese identifiers: GB 11643 ID numbers and GB 32100 credit codes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Annotated, Literal

from pydantic import AfterValidator, WithJsonSchema
from pydantic_core import PydanticCustomError
from stdnum.cn import ric as _ric
from stdnum.cn import uscc as _uscc

__all__ = [
    "CREDIT_CODE_ALPHABET",
    "PROVINCE_CODES",
    "CreditCode",
    "IdNumber",
    "IdNumberInfo",
    "IdentifierCheck",
    "IdentifierKind",
    "InvalidIdentifier",
    "Sex",
    "check_identifier",
    "credit_code_check_character",
    "id_number_check_character",
    "make_credit_code",
    "make_id_number",
    "parse_id_number",
    "validate_credit_code",
    "validate_id_number",
]

Sex = Literal["male", "female"]
IdentifierKind = Literal["id_number", "credit_code", "unknown"]

LENGTH = 18
_DIGITS = "0123456789"
# GB 32100-2015 drops I, O, Z, S and V because they read like 1, 0, 2, 5 and U.
CREDIT_CODE_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_CREDIT_CODE_CHARS = frozenset(CREDIT_CODE_ALPHABET)

# Province-level codes of GB/T 2260: the 34 stdnum lists in stdnum/cn/loc.dat, plus 83,
# which the residence permits of Taiwan residents use (810000 and 820000 serve Hong Kong
# and Macao residents). County codes are not checked: codes retired since a card was
# issued stay valid on that card.
PROVINCE_CODES = frozenset(
    {
        "11", "12", "13", "14", "15",
        "21", "22", "23",
        "31", "32", "33", "34", "35", "36", "37",
        "41", "42", "43", "44", "45", "46",
        "50", "51", "52", "53", "54",
        "61", "62", "63", "64", "65",
        "71", "81", "82", "83",
    }
)  # fmt: skip
_EARLIEST_BIRTH_DATE = date(1900, 1, 1)

# GB 11714-1997 weights for the eight body characters of an organisation code.
_ORGANISATION_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)

_ASCII_UPPER = str.maketrans("abcdefghijklmnopqrstuvwxyz", "ABCDEFGHIJKLMNOPQRSTUVWXYZ")


class InvalidIdentifier(ValueError):
    """An identifier that breaks its standard; ``reason`` says which rule, for a person."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason

    def __str__(self) -> str:
        return self.reason


@dataclass(frozen=True)
class IdNumberInfo:
    """What a valid resident ID number says about its holder."""

    number: str
    region_code: str
    birth_date: date
    sex: Sex


@dataclass(frozen=True)
class IdentifierCheck:
    """The verdict on one value whose kind was guessed from its shape."""

    value: str
    kind: IdentifierKind
    valid: bool
    reason: str | None

    def to_json(self) -> dict[str, object]:
        """The verdict as a JSON object (keys value, kind, valid, reason)."""
        return {"value": self.value, "kind": self.kind, "valid": self.valid, "reason": self.reason}


def _normalise(value: str) -> str:
    """Strip surrounding whitespace and upper-case ASCII letters only."""
    # str.upper() would turn "ß" into "SS" and change the length; only ASCII matters here.
    return value.strip().translate(_ASCII_UPPER)


def _is_digits(value: str) -> bool:
    """True if every character is an ASCII digit (str.isdigit also accepts "²" and "١")."""
    return all(c in _DIGITS for c in value)


# --- resident ID numbers, GB 11643-1999 --------------------------------------------------


def id_number_check_character(first17: str) -> str:
    """The ISO 7064 MOD 11-2 check character (0-9 or X) for the first 17 digits."""
    if len(first17) != LENGTH - 1 or not _is_digits(first17):
        raise ValueError(f"expected 17 digits, got {first17!r}")
    # stdnum expects the check position to be present and ignores what is in it.
    return _ric.calc_check_digit(first17 + "0")


def _read_id_number(number: str, today: date) -> date:
    """The birth date of a normalised ID number; raise InvalidIdentifier if it is invalid."""
    if len(number) != LENGTH:
        raise InvalidIdentifier(f"length should be {LENGTH}, got {len(number)}")
    for position, char in enumerate(number[:17], start=1):
        if char not in _DIGITS:
            raise InvalidIdentifier(
                f"only digits are allowed before the check character, "
                f"got {char!r} at position {position}"
            )
    if number[17] not in _DIGITS and number[17] != "X":
        raise InvalidIdentifier(f"check character must be a digit or X, got {number[17]!r}")
    digits = number[6:14]
    try:
        birth = date(int(digits[:4]), int(digits[4:6]), int(digits[6:]))
    except ValueError:
        raise InvalidIdentifier(f"birth date {digits} is not a real date") from None
    if birth > today:
        raise InvalidIdentifier(f"birth date {digits} is in the future")
    if birth < _EARLIEST_BIRTH_DATE:
        raise InvalidIdentifier(f"birth date {digits} is before 1900")
    if number[:2] not in PROVINCE_CODES:
        raise InvalidIdentifier(f"region code {number[:6]} is not a province-level region")
    expected = id_number_check_character(number[:17])
    if number[17] != expected:
        raise InvalidIdentifier(f"check character should be {expected}, got {number[17]}")
    return birth


def _id_number_reason(number: str, today: date) -> str | None:
    """Why a normalised value is not a valid ID number, or None if it is."""
    try:
        _read_id_number(number, today)
    except InvalidIdentifier as exc:
        return exc.reason
    return None


def parse_id_number(value: str, *, today: date | None = None) -> IdNumberInfo:
    """Validate a resident ID number and return its region, birth date and sex."""
    number = _normalise(value)
    birth = _read_id_number(number, today or date.today())
    # The sequence (positions 15-17) is odd for men and even for women.
    sex: Sex = "male" if int(number[16]) % 2 else "female"
    return IdNumberInfo(number=number, region_code=number[:6], birth_date=birth, sex=sex)


def validate_id_number(value: str, *, today: date | None = None) -> str:
    """Return the normalised ID number, or raise InvalidIdentifier with the broken rule."""
    return parse_id_number(value, today=today).number


def make_id_number(region_code: str, birth_date: date, sequence: int) -> str:
    """Build an ID number with its check character (for the demo city and tests)."""
    if len(region_code) != 6 or not _is_digits(region_code):
        raise ValueError(f"region code must be 6 digits, got {region_code!r}")
    if not 0 <= sequence <= 999:
        raise ValueError(f"sequence must be 0 to 999, got {sequence}")
    first17 = f"{region_code}{birth_date:%Y%m%d}{sequence:03d}"
    if len(first17) != LENGTH - 1:
        raise ValueError(f"birth year must have 4 digits, got {birth_date.year}")
    return first17 + id_number_check_character(first17)


# --- unified social credit codes, GB 32100-2015 ------------------------------------------


def _organisation_check_character(body: str) -> str:
    """The GB 11714 check character (0-9 or X) of an 8-character organisation code body."""
    # Letters count from A = 10, like base-36 digits, whatever the GB 32100 alphabet.
    total = sum(int(c, 36) * w for c, w in zip(body, _ORGANISATION_WEIGHTS, strict=True))
    check = (11 - total % 11) % 11
    return "X" if check == 10 else str(check)


def credit_code_check_character(first17: str) -> str:
    """The GB 32100 check character for the first 17 characters of a credit code."""
    if len(first17) != LENGTH - 1 or not set(first17) <= _CREDIT_CODE_CHARS:
        raise ValueError(f"expected 17 characters of the credit code alphabet, got {first17!r}")
    return _uscc.calc_check_digit(first17)


def _credit_code_reason(code: str) -> str | None:
    """Why a normalised value is not a valid credit code, or None if it is."""
    if len(code) != LENGTH:
        return f"length should be {LENGTH}, got {len(code)}"
    for position, char in enumerate(code, start=1):
        if char not in _CREDIT_CODE_CHARS:
            return (
                f"character {char!r} at position {position} is not allowed "
                f"(the alphabet has no I, O, Z, S or V)"
            )
    if not _is_digits(code[2:8]):
        return f"region code at positions 3-8 must be 6 digits, got {code[2:8]!r}"
    expected = _organisation_check_character(code[8:16])
    if code[16] != expected:
        return f"organisation code check character should be {expected}, got {code[16]}"
    expected = credit_code_check_character(code[:17])
    if code[17] != expected:
        return f"check character should be {expected}, got {code[17]}"
    return None


def validate_credit_code(value: str) -> str:
    """Return the normalised credit code, or raise InvalidIdentifier with the broken rule."""
    code = _normalise(value)
    reason = _credit_code_reason(code)
    if reason is not None:
        raise InvalidIdentifier(reason)
    return code


def make_credit_code(
    *, authority: str = "9", kind: str = "1", region_code: str, organisation_body: str
) -> str:
    """Build a credit code with both its GB 11714 and GB 32100 check characters."""
    if len(authority) != 1 or authority not in _CREDIT_CODE_CHARS:
        raise ValueError(f"authority must be one character of the alphabet, got {authority!r}")
    if len(kind) != 1 or kind not in _CREDIT_CODE_CHARS:
        raise ValueError(f"kind must be one character of the alphabet, got {kind!r}")
    if len(region_code) != 6 or not _is_digits(region_code):
        raise ValueError(f"region code must be 6 digits, got {region_code!r}")
    if len(organisation_body) != 8 or not set(organisation_body) <= _CREDIT_CODE_CHARS:
        raise ValueError(
            f"organisation body must be 8 characters of the alphabet, got {organisation_body!r}"
        )
    first17 = (
        authority
        + kind
        + region_code
        + organisation_body
        + _organisation_check_character(organisation_body)
    )
    return first17 + credit_code_check_character(first17)


# --- either kind -------------------------------------------------------------------------


def check_identifier(value: str, *, today: date | None = None) -> IdentifierCheck:
    """Guess whether a value is an ID number or a credit code and check it; never raises."""
    text = _normalise(value)
    if len(text) != LENGTH:
        return IdentifierCheck(
            text, "unknown", False, f"length should be {LENGTH}, got {len(text)}"
        )
    id_reason = _id_number_reason(text, today or date.today())
    head, last = text[:17], text[17]
    if _is_digits(head):
        if last in _DIGITS or last == "X":
            # Both readings are plausible: accept whichever holds, else explain the ID number.
            if id_reason is None:
                return IdentifierCheck(text, "id_number", True, None)
            if _credit_code_reason(text) is None:
                return IdentifierCheck(text, "credit_code", True, None)
            return IdentifierCheck(text, "id_number", False, id_reason)
        if last in _CREDIT_CODE_CHARS:
            # A letter other than X can only end a credit code.
            return _credit_code_check(text)
        return IdentifierCheck(text, "id_number", False, id_reason)
    if any("A" <= c <= "Z" for c in head):
        return _credit_code_check(text)
    # Neither shape fits; the ID number reason pinpoints the first stray character.
    return IdentifierCheck(text, "unknown", False, id_reason)


def _credit_code_check(code: str) -> IdentifierCheck:
    """The verdict on a value read as a credit code."""
    reason = _credit_code_reason(code)
    return IdentifierCheck(code, "credit_code", reason is None, reason)


# --- pydantic field types ----------------------------------------------------------------


def _pydantic_id_number(value: str) -> str:
    """Pydantic hook: the normalised ID number, or an error typed ``id_number``."""
    try:
        return validate_id_number(value)
    except InvalidIdentifier as exc:
        raise PydanticCustomError("id_number", "{reason}", {"reason": exc.reason}) from None


def _pydantic_credit_code(value: str) -> str:
    """Pydantic hook: the normalised credit code, or an error typed ``credit_code``."""
    try:
        return validate_credit_code(value)
    except InvalidIdentifier as exc:
        raise PydanticCustomError("credit_code", "{reason}", {"reason": exc.reason}) from None


# The patterns document the shape for API clients; enforcing them would replace our precise
# reasons with a generic pattern mismatch, so they live in the schema only.
IdNumber = Annotated[
    str,
    AfterValidator(_pydantic_id_number),
    WithJsonSchema(
        {
            "type": "string",
            "description": "GB 11643-1999 resident ID number, 18 characters.",
            "pattern": "^[0-9]{17}[0-9X]$",
            "examples": ["11010519491231002X"],
        }
    ),
]
CreditCode = Annotated[
    str,
    AfterValidator(_pydantic_credit_code),
    WithJsonSchema(
        {
            "type": "string",
            "description": "GB 32100-2015 unified social credit code, 18 characters.",
            "pattern": "^[0-9A-HJ-NPQRTUWXY]{18}$",
            "examples": ["91110000600037341L"],
        }
    ),
]
