"""Management elements of digital urban management (GB/T 30428.2, CJ/T 214-2007): pure data.

Elements are of two kinds: components (部件, physical objects such as a manhole cover) and
events (事件, something happening, such as exposed rubbish). Each kind has major categories
(two digits) and minor categories under them (two digits), so a minor category is named by
its four-digit code within its kind. A single component is identified as the standard does,
by its district's six-digit division code, the major and minor codes and a six-digit
sequence: ``310101`` ``01`` ``11`` ``000042`` is the 42nd gas manhole cover of Huangpu.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from enum import StrEnum
from importlib import resources
from typing import Any

from twonets.core.errors import Invalid


class ElementKind(StrEnum):
    """Components (部件) are things; events (事件) are happenings."""

    COMPONENT = "component"
    EVENT = "event"


class Urgency(StrEnum):
    """How fast a case must be handled; each minor category has a time limit per urgency."""

    NORMAL = "normal"
    URGENT = "urgent"
    EMERGENCY = "emergency"


KIND_PREFIX = {ElementKind.COMPONENT: "C", ElementKind.EVENT: "E"}
_CATEGORY_CODE = re.compile(r"^(?P<kind>[CE])(?P<major>\d{2})(?P<minor>\d{2})$")
_IDENTIFIER = re.compile(r"^(?P<district>\d{6})(?P<major>\d{2})(?P<minor>\d{2})(?P<seq>\d{6})$")
SEQUENCE_DIGITS = 6


@dataclass(frozen=True)
class MinorCategory:
    """A minor category with the department function it goes to and its time limits."""

    kind: ElementKind
    major: str
    minor: str
    name: str
    name_en: str
    major_name: str
    major_name_en: str
    department_function: str
    limits_hours: dict[str, float]
    extension: bool = False

    @property
    def code(self) -> str:
        """The category code: ``C0111`` (components) or ``E0102`` (events)."""
        return category_code(self.kind, self.major, self.minor)


def category_code(kind: ElementKind, major: str, minor: str) -> str:
    """The code of a minor category: kind letter, two-digit major, two-digit minor."""
    return f"{KIND_PREFIX[kind]}{major}{minor}"


def parse_category_code(code: str, *, field: str = "category") -> tuple[ElementKind, str, str]:
    """Split ``E0102`` into (kind, major, minor); ``Invalid`` naming ``field`` otherwise."""
    match = _CATEGORY_CODE.match(code.strip().upper()) if isinstance(code, str) else None
    if match is None:
        raise Invalid.field(
            field,
            "category-code",
            f"should be C or E then four digits (major, minor), e.g. E0102; got {code!r}",
        )
    kind = ElementKind.COMPONENT if match["kind"] == "C" else ElementKind.EVENT
    if match["major"] == "00" or match["minor"] == "00":
        raise Invalid.field(field, "category-code", f"major and minor start at 01; got {code!r}")
    return kind, match["major"], match["minor"]


@dataclass(frozen=True)
class ComponentIdentifier:
    """The parts of a component's 16-digit identifier."""

    district_code: str
    major: str
    minor: str
    sequence: int

    def __str__(self) -> str:
        return f"{self.district_code}{self.major}{self.minor}{self.sequence:0{SEQUENCE_DIGITS}d}"

    @property
    def category(self) -> str:
        """The component's minor category code (``C0111``)."""
        return category_code(ElementKind.COMPONENT, self.major, self.minor)


def make_identifier(district_code: str, major: str, minor: str, sequence: int) -> str:
    """A component identifier: district code, major, minor, six-digit sequence."""
    if not re.fullmatch(r"\d{6}", district_code):
        raise Invalid.field("district_code", "division-code", "should be six digits")
    if not (re.fullmatch(r"\d{2}", major) and re.fullmatch(r"\d{2}", minor)):
        raise Invalid.field("category", "category-code", "major and minor are two digits each")
    if not 1 <= sequence < 10**SEQUENCE_DIGITS:
        raise Invalid.field(
            "sequence", "range", f"should be 1 to {10**SEQUENCE_DIGITS - 1}, got {sequence}"
        )
    return str(ComponentIdentifier(district_code, major, minor, sequence))


def parse_identifier(value: str, *, field: str = "identifier") -> ComponentIdentifier:
    """Split a component identifier into its parts; ``Invalid`` naming ``field`` otherwise."""
    match = _IDENTIFIER.match(value.strip()) if isinstance(value, str) else None
    if match is None:
        raise Invalid.field(
            field,
            "component-identifier",
            "should be 16 digits: district code (6), major (2), minor (2), sequence (6); "
            f"got {value!r}",
        )
    sequence = int(match["seq"])
    if sequence == 0 or match["major"] == "00" or match["minor"] == "00":
        raise Invalid.field(field, "component-identifier", "major, minor and sequence start at 1")
    return ComponentIdentifier(match["district"], match["major"], match["minor"], sequence)


def check_limits(limits: dict[str, Any], *, field: str = "limits_hours") -> dict[str, float]:
    """Time limits per urgency, each a positive number of working hours, for every urgency."""
    checked: dict[str, float] = {}
    for urgency in Urgency:
        value = limits.get(urgency.value)
        if not isinstance(value, int | float) or isinstance(value, bool) or not 0 < value <= 2000:
            raise Invalid.field(
                f"{field}.{urgency.value}",
                "working-hours",
                f"should be a number of working hours above 0 and at most 2000, got {value!r}",
            )
        checked[urgency.value] = float(value)
    unknown = set(limits) - {u.value for u in Urgency}
    if unknown:
        raise Invalid.field(field, "urgency", f"unknown urgencies: {', '.join(sorted(unknown))}")
    return checked


def load_standard() -> list[MinorCategory]:
    """The minor categories shipped with the platform (``data/elements.json``)."""
    text = (
        resources.files("twonets.operations.cases")
        .joinpath("data/elements.json")
        .read_text("utf-8")
    )
    return parse_catalogue(json.loads(text))


def parse_catalogue(document: dict[str, Any]) -> list[MinorCategory]:
    """Minor categories from a catalogue document; codes are checked and unique."""
    found: list[MinorCategory] = []
    seen: set[str] = set()
    for kind, key in ((ElementKind.COMPONENT, "components"), (ElementKind.EVENT, "events")):
        for major in document.get(key, []):
            for minor in major["minors"]:
                category = MinorCategory(
                    kind=kind,
                    major=major["code"],
                    minor=minor["code"],
                    name=minor["name"],
                    name_en=minor["name_en"],
                    major_name=major["name"],
                    major_name_en=major["name_en"],
                    department_function=minor["department_function"],
                    limits_hours=check_limits(minor["limits_hours"]),
                    extension=bool(minor.get("extension", False)),
                )
                parse_category_code(category.code)
                if category.code in seen:
                    raise Invalid.field(key, "unique", f"category {category.code} appears twice")
                seen.add(category.code)
                found.append(category)
    return found
