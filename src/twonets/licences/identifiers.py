"""Structured licence identifiers: type, issuer, number, version, ISO 7064 MOD 37,36 check.

An identifier reads ``DL-113100000024204983-0000012345-01-W``: the licence type code
(2 to 6 letters or digits), the issuing department's unified social credit code (GB 32100),
a 10-digit number, a 2-digit version (amendments raise it), and one check character
computed with ISO 7064 MOD 37,36 over everything before it without the hyphens, so that any
single mistyped character or swap of neighbours is caught.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from stdnum.iso7064 import mod_37_36

from twonets.core.ids import InvalidIdentifier, validate_credit_code

ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_TYPE = re.compile(r"[A-Z0-9]{2,6}")
_NUMBER = re.compile(r"[0-9]{10}")
_VERSION = re.compile(r"[0-9]{2}")


@dataclass(frozen=True)
class LicenceId:
    """The parts of a licence identifier."""

    type_code: str
    issuer: str
    number: int
    version: int

    @property
    def body(self) -> str:
        """The characters the check character covers."""
        return f"{self.type_code}{self.issuer}{self.number:010d}{self.version:02d}"

    def __str__(self) -> str:
        check = mod_37_36.calc_check_digit(self.body)
        return f"{self.type_code}-{self.issuer}-{self.number:010d}-{self.version:02d}-{check}"


def make_licence_id(type_code: str, issuer: str, number: int, version: int = 1) -> str:
    """A valid identifier from its parts (``ValueError`` for parts out of range)."""
    if not _TYPE.fullmatch(type_code):
        raise ValueError(f"type code should be 2 to 6 letters or digits, got {type_code!r}")
    if not 0 <= number < 10**10:
        raise ValueError(f"number should have at most 10 digits, got {number}")
    if not 1 <= version <= 99:
        raise ValueError(f"version should be 1 to 99, got {version}")
    return str(LicenceId(type_code, validate_credit_code(issuer), number, version))


def parse_licence_id(value: str) -> LicenceId:
    """The parts of an identifier, or ``InvalidIdentifier`` with the precise reason."""
    text = value.strip().upper()
    parts = text.split("-")
    if len(parts) != 5:
        raise InvalidIdentifier(
            f"should have 5 parts separated by '-' (type-issuer-number-version-check), "
            f"got {len(parts)}"
        )
    type_code, issuer, number, version, check = parts
    if not _TYPE.fullmatch(type_code):
        raise InvalidIdentifier(f"type code should be 2 to 6 letters or digits, got {type_code!r}")
    try:
        validate_credit_code(issuer)
    except InvalidIdentifier as exc:
        raise InvalidIdentifier(f"issuer credit code: {exc.reason}") from None
    if not _NUMBER.fullmatch(number):
        raise InvalidIdentifier(f"number should be 10 digits, got {number!r}")
    if not _VERSION.fullmatch(version) or version == "00":
        raise InvalidIdentifier(f"version should be 2 digits from 01, got {version!r}")
    if len(check) != 1 or check not in ALPHABET:
        raise InvalidIdentifier(f"check character should be one letter or digit, got {check!r}")
    parsed = LicenceId(type_code, issuer, int(number), int(version))
    expected = mod_37_36.calc_check_digit(parsed.body)
    if check != expected:
        raise InvalidIdentifier(f"check character should be {expected}, got {check}")
    return parsed


def validate_licence_id(value: str) -> str:
    """The normalised identifier, or ``InvalidIdentifier``."""
    return str(parse_licence_id(value))
