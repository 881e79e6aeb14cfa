"""What models declare about their columns: the data class of each field (PIPL) and datasets.

Every column of every table carries a data class in its ``info`` (or inherits its table's
default): ``public``, ``personal``, or ``sensitive`` with the kind of sensitive information
(PIPL Art. 28). A table that holds data about people declares itself a *dataset* — its name,
which column identifies the data subject, and optionally a district column (for row filters),
a time column and a retention rule. Governance builds its catalogue from these declarations;
a test fails on any column that declares nothing.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any


class DataClass(StrEnum):
    """How much protection a field needs."""

    PUBLIC = "public"
    PERSONAL = "personal"
    SENSITIVE = "sensitive"


class SensitiveKind(StrEnum):
    """The kinds of sensitive personal information of PIPL Art. 28."""

    HEALTH = "health"
    BIOMETRIC = "biometric"
    WHEREABOUTS = "whereabouts"
    FINANCIAL = "financial"
    MINOR = "minor"
    RELIGION = "religion"
    IDENTITY = "identity"
    CREDENTIAL = "credential"


INFO_CLASS = "data_class"
INFO_KIND = "sensitive_kind"
INFO_DATASET = "dataset"
INFO_DEFAULT = "data_class_default"


def public(**extra: Any) -> dict[str, Any]:
    """Column info of a field anyone may see."""
    return {INFO_CLASS: DataClass.PUBLIC.value, **extra}


def personal(**extra: Any) -> dict[str, Any]:
    """Column info of a field that identifies or describes a person."""
    return {INFO_CLASS: DataClass.PERSONAL.value, **extra}


def sensitive(kind: SensitiveKind, **extra: Any) -> dict[str, Any]:
    """Column info of sensitive personal information; such values are sealed at rest."""
    return {INFO_CLASS: DataClass.SENSITIVE.value, INFO_KIND: kind.value, **extra}


def dataset(
    name: str,
    *,
    subject: str,
    subject_kind: str,
    district: str | None = None,
    time: str | None = None,
    retention: dict[str, str] | None = None,
    minor_birth_date: str | None = None,
    default: DataClass | None = None,
) -> dict[str, Any]:
    """Table info declaring a dataset of personal data (``__table_args__ = {"info": ...}``)."""
    info: dict[str, Any] = {
        INFO_DATASET: {
            "name": name,
            "subject": subject,
            "subject_kind": subject_kind,
            "district": district,
            "time": time,
            "retention": retention,
            "minor_birth_date": minor_birth_date,
        }
    }
    if default is not None:
        info[INFO_DEFAULT] = default.value
    return info


def all_public() -> dict[str, Any]:
    """Table info of a table that holds no personal data at all (reference data)."""
    return {INFO_DEFAULT: DataClass.PUBLIC.value}
