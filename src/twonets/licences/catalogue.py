"""The catalogue of licence types: what each licence says, who issues it, how it is protected.

Shanghai has gathered 377 types of licences; each is one ``LicenceType`` here, so a new type
is data, not code. Each field carries its data class (as every column does, see
``twonets.core.privacy``) and whether a holder may leave it out of a presentation.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from twonets.core.errors import NotFound, ProblemList
from twonets.core.ids import InvalidIdentifier, validate_credit_code, validate_id_number
from twonets.core.privacy import DataClass


class FieldType(StrEnum):
    """The kinds of value a licence field holds."""

    TEXT = "text"
    DATE = "date"
    ID_NUMBER = "id_number"
    CREDIT_CODE = "credit_code"
    HASH = "hash"
    CHOICE = "choice"


class HolderKind(StrEnum):
    """Who holds licences of a type."""

    CITIZEN = "citizen"
    ENTERPRISE = "enterprise"


@dataclass(frozen=True)
class LicenceField:
    """One field of a licence type."""

    name: str
    label: str
    type: FieldType
    data_class: DataClass
    required: bool = True
    choices: tuple[str, ...] = ()
    # Whether the holder may leave the field out when showing the licence (SD-JWT).
    disclosable: bool = True


@dataclass(frozen=True)
class LicenceType:
    """A kind of licence: its code, issuer, holder, fields and usual validity."""

    code: str
    name: str
    name_en: str
    issuer_function: str
    holder: HolderKind
    validity_years: int | None
    fields: tuple[LicenceField, ...] = field(default_factory=tuple)
    # Whether a holder has at most one licence of this type in force (an ID card: yes).
    one_per_holder: bool = True

    def field(self, name: str) -> LicenceField:
        """One field by name."""
        for f in self.fields:
            if f.name == name:
                return f
        raise NotFound(f"licence type {self.code} has no field {name!r}")

    def check(self, claims: Mapping[str, Any]) -> dict[str, str]:
        """Validate the claims of a licence of this type; ``Invalid`` names every bad field."""
        problems = ProblemList()
        known = {f.name for f in self.fields}
        for name in sorted(set(claims) - known):
            problems.add(f"claims.{name}", "known-field", f"{self.code} has no field {name!r}")
        out: dict[str, str] = {}
        for f in self.fields:
            value = claims.get(f.name)
            where = f"claims.{f.name}"
            if value is None or value == "":
                if f.required:
                    problems.add(where, "required", f"{f.label} is required")
                continue
            if not isinstance(value, str):
                problems.add(where, "text", "should be text")
                continue
            try:
                out[f.name] = _check_value(f, value.strip())
            except InvalidIdentifier as exc:
                problems.add(where, f.type.value, exc.reason)
            except ValueError as exc:
                problems.add(where, f.type.value, str(exc))
        problems.raise_if_any()
        return out


def _check_value(f: LicenceField, value: str) -> str:
    if f.type is FieldType.ID_NUMBER:
        return validate_id_number(value)
    if f.type is FieldType.CREDIT_CODE:
        return validate_credit_code(value)
    if f.type is FieldType.DATE:
        from datetime import date

        try:
            return date.fromisoformat(value).isoformat()
        except ValueError:
            raise ValueError(f"should be a date YYYY-MM-DD, got {value!r}") from None
    if f.type is FieldType.HASH:
        if len(value) != 64 or any(c not in "0123456789abcdef" for c in value):
            raise ValueError("should be a SHA-256 digest in lower-case hex")
        return value
    if f.type is FieldType.CHOICE and value not in f.choices:
        raise ValueError(f"should be one of {', '.join(f.choices)}")
    if len(value) > 200:
        raise ValueError("should be at most 200 characters")
    return value


P, S, PUB = DataClass.PERSONAL, DataClass.SENSITIVE, DataClass.PUBLIC
T, D = FieldType.TEXT, FieldType.DATE


def _person(*extra: LicenceField) -> tuple[LicenceField, ...]:
    return (
        LicenceField("name", "Name", T, P),
        LicenceField("id_number", "ID number", FieldType.ID_NUMBER, P),
        *extra,
    )


TYPES: tuple[LicenceType, ...] = (
    LicenceType(
        "ID",
        "居民身份证",
        "Resident ID card",
        "police",
        HolderKind.CITIZEN,
        20,
        _person(
            LicenceField("sex", "Sex", FieldType.CHOICE, P, choices=("male", "female")),
            LicenceField("birth_date", "Date of birth", D, P),
            LicenceField("address", "Address", T, P),
            LicenceField("photo_hash", "Photo (SHA-256)", FieldType.HASH, S),
        ),
    ),
    LicenceType(
        "DL",
        "机动车驾驶证",
        "Driving licence",
        "police",
        HolderKind.CITIZEN,
        6,
        _person(
            LicenceField("vehicle_classes", "Vehicle classes", T, PUB),
            LicenceField("first_issued", "First issued", D, PUB),
            LicenceField("photo_hash", "Photo (SHA-256)", FieldType.HASH, S),
        ),
    ),
    LicenceType(
        "BL",
        "营业执照",
        "Business licence",
        "market-regulation",
        HolderKind.ENTERPRISE,
        None,
        (
            LicenceField("credit_code", "Unified social credit code", FieldType.CREDIT_CODE, PUB),
            LicenceField("enterprise_name", "Name", T, PUB),
            LicenceField("legal_representative", "Legal representative", T, P),
            LicenceField("business_scope", "Business scope", T, PUB),
            LicenceField("registered_capital", "Registered capital", T, PUB),
            LicenceField("established", "Established", D, PUB),
            LicenceField("address", "Registered address", T, PUB),
        ),
    ),
    LicenceType(
        "MC",
        "结婚证",
        "Marriage certificate",
        "civil-affairs",
        HolderKind.CITIZEN,
        None,
        _person(
            LicenceField("spouse_name", "Spouse's name", T, P),
            LicenceField("spouse_id_number", "Spouse's ID number", FieldType.ID_NUMBER, P),
            LicenceField("registered_on", "Registered on", D, P),
        ),
    ),
    LicenceType(
        "HR",
        "户口簿",
        "Household register",
        "police",
        HolderKind.CITIZEN,
        None,
        _person(
            LicenceField("household_head", "Head of household", T, P),
            LicenceField("relation", "Relation to the head", T, P),
            LicenceField("address", "Registered address", T, P),
        ),
    ),
    LicenceType(
        "VR",
        "机动车行驶证",
        "Vehicle registration",
        "police",
        HolderKind.CITIZEN,
        None,
        _person(
            LicenceField("plate", "Plate", T, P),
            LicenceField("vin", "Vehicle identification number", T, P),
            LicenceField("vehicle_type", "Vehicle type", T, PUB),
            LicenceField(
                "energy", "Energy", FieldType.CHOICE, PUB, choices=("fuel", "electric", "hybrid")
            ),
            LicenceField("registered_on", "Registered on", D, PUB),
        ),
    ),
    LicenceType(
        "PQ",
        "专业技术资格证书",
        "Professional qualification",
        "social-security",
        HolderKind.CITIZEN,
        None,
        _person(
            LicenceField("profession", "Profession", T, PUB),
            LicenceField(
                "level",
                "Level",
                FieldType.CHOICE,
                PUB,
                choices=("junior", "intermediate", "senior"),
            ),
            LicenceField("specialty", "Specialty", T, PUB, required=False),
            LicenceField("awarded_on", "Awarded on", D, PUB),
        ),
        one_per_holder=False,
    ),
    # Issued at the end of the NEV plate "one thing" service (twonets.services); one in force
    # per holder, as the service's rule is "no other plate".
    LicenceType(
        "NP",
        "新能源汽车专用牌照额度证明",
        "NEV plate certificate",
        "police",
        HolderKind.CITIZEN,
        1,
        _person(
            LicenceField("plate", "Plate", T, P),
            LicenceField("vin", "Vehicle identification number", T, P),
            LicenceField("vehicle_model", "Vehicle type", T, PUB),
        ),
    ),
)


def get_type(code: str) -> LicenceType:
    """One licence type by code, or ``NotFound`` listing the known codes."""
    for t in TYPES:
        if t.code == code:
            return t
    known = ", ".join(t.code for t in TYPES)
    raise NotFound(f"no licence type {code!r} (known: {known})")


def check_claims(code: str, claims: Mapping[str, Any]) -> dict[str, str]:
    """Validate claims against their type, raising ``Invalid`` that names each field."""
    return get_type(code).check(claims)
