"""The masking rule of one field in an access policy: parsed, rendered and applied.

A policy gives each field it releases one rule, written as a compact spec in the policy JSON
and the policy editor. What each rule protects against, and where it stops:

- ``keep``: nothing is hidden; for fields the purpose really needs in full.
- ``redact``: the value becomes ``None``. The reader still learns that the field exists and,
  through the row filter, that the row does; use the policy's field list to hide the field.
- ``partial:<first>:<last>``: keeps the first and last characters, every other character
  becomes ``*``. It stops shoulder-surfing and casual copying, not identification: an ID
  number under ``partial:6:4`` still shows the region of registration (first six digits) and
  the last four, which with a name and a district often single a person out. The mask keeps
  the length of the value; a value no longer than first+last is masked whole, since keeping
  first and last would show it all.
- ``year``: a date, a datetime or an extended ISO 8601 string (``1987-06-05``, optionally
  with a time) becomes its four-digit year (``"1987"``). Age bands stay computable; the
  birthday is gone. Combined with district and sex the year can still narrow a person down.
- ``grid:<metres>``: a coordinate (longitude or latitude, in degrees) becomes the centre of
  its grid cell. The cell is ``metres / 111320`` degrees on both axes, anchored at 0°, so
  every reader with the same rule gets the same cells and repeated reads reveal nothing
  more. On the longitude axis that cell is narrower in metres than on the latitude axis
  (at Shanghai, 31°N, about 0.86 times). Generalising each point does not hide a
  trajectory: the cells of home and workplace together identify many people, so tracks of
  a subject need a coarse cell or ``redact``.
- ``pseudonym``: the value becomes ``p_`` and 16 base32 characters (80 bits) of an
  HMAC-SHA256 under the key of the reading department and purpose. Rows of one subject can
  be linked within that department and purpose, but two departments, or one department
  under two purposes, get unrelated pseudonyms and cannot join their outputs. Whoever holds
  the root secret can recompute pseudonyms for guessed values (ID numbers are a small
  space), so pseudonymised data is still personal data.

Error messages never quote the value being masked: it is personal data.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from itertools import repeat
from operator import attrgetter, truediv
from typing import cast

from twonets.core.errors import Invalid

# Metres per degree of latitude, near enough (it runs 110,574-111,694 from equator to pole).
METRES_PER_DEGREE = 111_320.0
GRID_MIN_M = 10
GRID_MAX_M = 100_000
PSEUDONYM_CHARS = 16
MIN_PSEUDONYM_KEY_BYTES = 16
# Centres are rounded to 1e-7 degrees (about 1 cm): tidy output, far below any cell size.
_GRID_DIGITS = 7
# Nine digits keep int() cheap and far above any sensible prefix, suffix or cell size.
_NUMBER = re.compile(r"-?[0-9]{1,9}", re.ASCII)
# Extended ISO 8601 dates, optionally with a time: the form APIs and databases write.
_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}(?:[T ].+)?", re.ASCII)
_RULE = "mask-rule"
_VALUE = "mask-value"


class MaskKind(StrEnum):
    """The kinds of masking a policy can give a field."""

    KEEP = "keep"
    REDACT = "redact"
    PARTIAL = "partial"
    YEAR = "year"
    GRID = "grid"
    PSEUDONYM = "pseudonym"


# The parameters each kind takes, in spec order.
_PARAMETERS: dict[MaskKind, tuple[str, ...]] = {
    MaskKind.KEEP: (),
    MaskKind.REDACT: (),
    MaskKind.PARTIAL: ("first", "last"),
    MaskKind.YEAR: (),
    MaskKind.GRID: ("cell_m",),
    MaskKind.PSEUDONYM: (),
}
_USAGE: dict[MaskKind, str] = {
    MaskKind.KEEP: "keep",
    MaskKind.REDACT: "redact",
    MaskKind.PARTIAL: "partial:<first>:<last>",
    MaskKind.YEAR: "year",
    MaskKind.GRID: "grid:<metres>",
    MaskKind.PSEUDONYM: "pseudonym",
}
VALID_KINDS = ", ".join(kind.value for kind in MaskKind)
# How a parameter is named to a person writing a spec.
_LABELS = {"first": "first", "last": "last", "cell_m": "metres"}


def _problem(kind: MaskKind, first: int, last: int, cell_m: int) -> str | None:
    """Why these parameters do not make a rule of ``kind``, or ``None`` if they do."""
    values = {"first": first, "last": last, "cell_m": cell_m}
    for name in ("first", "last", "cell_m"):
        if name not in _PARAMETERS[kind] and values[name] != 0:
            return f"{kind.value} takes no {name}"
    if kind is MaskKind.PARTIAL:
        if first < 0 or last < 0:
            return f"partial numbers must not be negative, got {first}:{last}"
        if first + last == 0:
            return "partial:0:0 keeps no character; that is redact, so write redact"
    if kind is MaskKind.GRID and not GRID_MIN_M <= cell_m <= GRID_MAX_M:
        return f"grid cell must be between {GRID_MIN_M} and {GRID_MAX_M} metres, got {cell_m}"
    return None


@dataclass(frozen=True)
class MaskRule:
    """One masking rule; parameters a kind does not take are 0, so equal rules compare equal."""

    kind: MaskKind
    first: int = 0
    last: int = 0
    cell_m: int = 0

    def __post_init__(self) -> None:
        try:
            kind = MaskKind(self.kind)
        except ValueError:
            raise Invalid.field(
                "rule", _RULE, f"unknown mask kind {self.kind!r}; valid kinds are {VALID_KINDS}"
            ) from None
        # A plain string kind is stored as the enum, so identity checks and equality hold.
        object.__setattr__(self, "kind", kind)
        problem = _problem(kind, self.first, self.last, self.cell_m)
        if problem is not None:
            raise Invalid.field("rule", _RULE, problem)

    @property
    def spec(self) -> str:
        """The canonical compact spec, such that ``parse_rule(rule.spec) == rule``."""
        if self.kind is MaskKind.PARTIAL:
            return f"partial:{self.first}:{self.last}"
        if self.kind is MaskKind.GRID:
            return f"grid:{self.cell_m}"
        return self.kind.value

    def __str__(self) -> str:
        return self.spec


def parse_rule(spec: str, *, field: str = "rule") -> MaskRule:
    """Parse a compact spec such as ``partial:1:4``; ``Invalid`` naming ``field`` if it is wrong."""
    if not isinstance(spec, str):
        raise Invalid.field(field, _RULE, f"a mask rule is a string, got {type(spec).__name__}")
    name, *parts = spec.strip().split(":")
    if not name:
        raise Invalid.field(field, _RULE, f"the mask rule is empty; valid kinds are {VALID_KINDS}")
    try:
        kind = MaskKind(name)
    except ValueError:
        raise Invalid.field(
            field, _RULE, f"unknown mask kind {name!r}; valid kinds are {VALID_KINDS}"
        ) from None
    expected = _PARAMETERS[kind]
    if not expected and parts:
        raise Invalid.field(
            field, _RULE, f"{kind.value} takes no parameters (write just {kind.value})"
        )
    if len(parts) != len(expected):
        raise Invalid.field(
            field,
            _RULE,
            f"{kind.value} takes {len(expected)} number{'s' if len(expected) != 1 else ''} "
            f"({_USAGE[kind]}), got {len(parts)}",
        )
    numbers: dict[str, int] = {}
    for parameter, text in zip(expected, parts, strict=True):
        label = _LABELS[parameter]
        if not _NUMBER.fullmatch(text):
            raise Invalid.field(
                field, _RULE, f"{kind.value} {label} must be a whole number, got {text!r}"
            )
        number = int(text)
        if number < 0:
            raise Invalid.field(
                field, _RULE, f"{kind.value} {label} must not be negative, got {number}"
            )
        numbers[parameter] = number
    problem = _problem(
        kind, numbers.get("first", 0), numbers.get("last", 0), numbers.get("cell_m", 0)
    )
    if problem is not None:
        raise Invalid.field(field, _RULE, problem)
    return MaskRule(kind, **numbers)


def _partial(text: str, first: int, last: int) -> str:
    """``text`` with all but its first and last characters starred, length kept."""
    if len(text) <= first + last:
        return "*" * len(text)
    return text[:first] + "*" * (len(text) - first - last) + text[len(text) - last :]


def _year(value: object, field: str) -> str:
    """The four-digit year of a date, a datetime or an ISO date or datetime string."""
    if isinstance(value, date):  # datetime is a date too
        return f"{value.year:04d}"
    if isinstance(value, str):
        text = value.strip()
        # The shape is checked first: fromisoformat alone also takes week dates and, in
        # Python 3.11, basic dates with trailing garbage ("19870605xx").
        if _ISO_DATE.fullmatch(text):
            try:
                return f"{datetime.fromisoformat(text).year:04d}"
            except ValueError:
                pass
        raise Invalid.field(
            field, _VALUE, "year masking needs an ISO date or datetime; the string is neither"
        )
    raise Invalid.field(
        field,
        _VALUE,
        f"year masking needs a date, a datetime or an ISO string, got {type(value).__name__}",
    )


def _grid(value: object, cell_m: int, field: str) -> float:
    """The centre of the grid cell of side ``cell_m`` metres that holds a degree value."""
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal | str):
        raise Invalid.field(
            field, _VALUE, f"grid masking needs a number of degrees, got {type(value).__name__}"
        )
    try:
        degrees = float(value)
    except ValueError:
        raise Invalid.field(
            field, _VALUE, "grid masking needs a number of degrees; the string is not one"
        ) from None
    if not math.isfinite(degrees) or abs(degrees) > 180:
        raise Invalid.field(
            field, _VALUE, "grid masking needs a finite coordinate between -180 and 180 degrees"
        )
    size = cell_m / METRES_PER_DEGREE
    centre = (math.floor(degrees / size) + 0.5) * size
    # The cell holding ±180 may reach past it; the centre must still be a coordinate.
    return round(max(-180.0, min(180.0, centre)), _GRID_DIGITS)


def pseudonym(value: object, key: bytes) -> str:
    """The keyed pseudonym of ``str(value)``: ``p_`` and 16 lowercase base32 characters."""
    if len(key) < MIN_PSEUDONYM_KEY_BYTES:
        raise ValueError(f"a pseudonym key must be at least {MIN_PSEUDONYM_KEY_BYTES} bytes")
    digest = hmac.new(key, str(value).encode("utf-8"), hashlib.sha256).digest()
    return "p_" + base64.b32encode(digest).decode("ascii").lower()[:PSEUDONYM_CHARS]


def apply(
    rule: MaskRule,
    value: object,
    *,
    pseudonym_key: bytes | None = None,
    field: str = "value",
) -> object:
    """Mask one value under ``rule``; ``None`` stays ``None``; ``Invalid`` names ``field``."""
    if value is None:
        return None
    kind = rule.kind
    if kind is MaskKind.KEEP:
        return value
    if kind is MaskKind.REDACT:
        return None
    if kind is MaskKind.PARTIAL:
        return _partial(str(value), rule.first, rule.last)
    if kind is MaskKind.YEAR:
        return _year(value, field)
    if kind is MaskKind.GRID:
        return _grid(value, rule.cell_m, field)
    if pseudonym_key is None:
        raise ValueError(
            "pseudonym masking needs the pseudonym key of the reading department and purpose"
        )
    return pseudonym(value, pseudonym_key)


def masker(
    rule: MaskRule, *, pseudonym_key: bytes | None = None, field: str = "value"
) -> Callable[[object], object]:
    """A function that masks like ``apply(rule, ...)``, with the dispatch done once.

    The door masks thousands of values per read; choosing the rule's code once per field
    instead of once per value halves the cost of masking.
    """
    kind = rule.kind
    if kind is MaskKind.KEEP:
        return lambda value: value
    if kind is MaskKind.REDACT:
        return lambda value: None
    if kind is MaskKind.PARTIAL:
        first, last = rule.first, rule.last

        def partial(value: object) -> object:
            return None if value is None else _partial(str(value), first, last)

        return partial
    if kind is MaskKind.YEAR:

        def year(value: object) -> object:
            if value is None:
                return None
            if isinstance(value, date):
                return f"{value.year:04d}"
            return _year(value, field)

        return year
    return lambda value: apply(rule, value, pseudonym_key=pseudonym_key, field=field)


def column_masker(
    rule: MaskRule, *, pseudonym_key: bytes | None = None, field: str = "value"
) -> Callable[[Sequence[object]], list[object]]:
    """A function that masks a whole column like ``apply(rule, ...)`` on each value.

    The door masks a column of a thousand values at a time: the common cases (text for
    ``partial``, dates for ``year``, numbers and decimal strings for ``grid``) are worked
    in one loop without a call per value; anything else goes through the per-value code,
    which gives the same result or raises the same error.
    """
    kind = rule.kind
    if kind is MaskKind.KEEP:
        return list
    if kind is MaskKind.REDACT:
        return lambda values: [None] * len(values)
    if kind is MaskKind.PARTIAL:
        return _partial_column(rule.first, rule.last)
    if kind is MaskKind.YEAR:
        return _year_column(field)
    if kind is MaskKind.GRID:
        return _grid_column(rule.cell_m, field)
    one = masker(rule, pseudonym_key=pseudonym_key, field=field)
    return lambda values: [None if value is None else one(value) for value in values]


_TEXT = frozenset({str})
_DATES = frozenset({date, datetime})
_DEGREES = frozenset({str, float})
_YEAR = attrgetter("year")


def _all_of(values: Sequence[object], types: frozenset[type]) -> bool:
    """Whether every value is exactly of one of ``types`` (``None`` is not), in one C pass."""
    return set(map(type, values)) <= types


def _partial_column(first: int, last: int) -> Callable[[Sequence[object]], list[object]]:
    keep = first + last

    def partial(values: Sequence[object]) -> list[object]:
        if values and _all_of(values, _TEXT):
            sizes = set(map(len, values))  # type: ignore[arg-type]
            if len(sizes) == 1:
                # Texts of one length (phone, ID numbers): two slices and a join, by map.
                size = sizes.pop()
                if size <= keep:
                    return ["*" * size] * len(values)
                texts = cast("Sequence[str]", values)
                starred = _starred_ascii(texts, size, first, last)
                if starred is not None:
                    return starred
                stars, cut = "*" * (size - keep), size - last
                return [text[:first] + stars + text[cut:] for text in texts]
        out: list[object] = []
        append = out.append
        for value in values:
            if value is None:
                append(None)
                continue
            text = value if type(value) is str else str(value)
            size = len(text)
            if size <= keep:
                append("*" * size)
            else:
                append(text[:first] + "*" * (size - keep) + text[size - last :])
        return out

    return partial


def _starred_ascii(texts: Sequence[str], size: int, first: int, last: int) -> list[object] | None:
    """ASCII texts of one length ``size``, all but their first and last characters starred.

    The texts are joined by line breaks into one buffer, in which each starred position is
    one strided slice assignment (every text's character at that position at once), and
    split again: a few passes in C for the whole column. ``None`` (the caller slices each
    text) unless every text is ASCII without a line break of its own.
    """
    count = len(texts)
    joined = "\n".join(texts)
    if not joined.isascii() or joined.count("\n") != count - 1:
        return None
    buffer = bytearray(joined.encode("ascii"))
    stride, stars = size + 1, b"*" * count
    for position in range(first, size - last):
        buffer[position::stride] = stars
    out: list[object] = [*buffer.decode("ascii").split("\n")]
    return out


def _year_column(field: str) -> Callable[[Sequence[object]], list[object]]:
    def year(values: Sequence[object]) -> list[object]:
        if _all_of(values, _DATES):
            # Few distinct years in a column: each is written once.
            years = list(map(_YEAR, values))
            written = {year: f"{year:04d}" for year in set(years)}
            return list(map(written.__getitem__, years))
        return [
            None
            if value is None
            else f"{value.year:04d}"
            if isinstance(value, date)
            else _year(value, field)
            for value in values
        ]

    return year


def _grid_column(cell_m: int, field: str) -> Callable[[Sequence[object]], list[object]]:
    size = cell_m / METRES_PER_DEGREE
    floor, isfinite = math.floor, math.isfinite

    def grid(values: Sequence[object]) -> list[object]:
        if values and _all_of(values, _DEGREES):
            # Numbers or decimal texts, all of them: float, cell and centre by map.
            try:
                numbers = list(map(float, values))  # type: ignore[arg-type]
            except ValueError:
                numbers = []  # a text that is no number: the loop below raises its error
            # A finite sum means no number is NaN or infinite (else the loop below decides).
            if (
                numbers
                and isfinite(sum(numbers))
                and min(numbers) >= -180.0
                and max(numbers) <= 180.0
            ):
                cells = list(map(floor, map(truediv, numbers, repeat(size))))
                centre_of = {
                    cell: round(max(-180.0, min(180.0, (cell + 0.5) * size)), _GRID_DIGITS)
                    for cell in set(cells)
                }
                return list(map(centre_of.__getitem__, cells))
        # Neighbours share cells: each cell's centre is worked out once per column.
        centres: dict[int, float] = {}
        out: list[object] = []
        append = out.append
        for value in values:
            if value is None:
                append(None)
                continue
            if type(value) is str or type(value) is float:
                try:
                    degrees = float(value)
                except ValueError:
                    degrees = math.nan  # _grid below raises the error
                if isfinite(degrees) and -180.0 <= degrees <= 180.0:
                    cell = floor(degrees / size)
                    centre = centres.get(cell)
                    if centre is None:
                        centre = centres[cell] = round(
                            max(-180.0, min(180.0, (cell + 0.5) * size)), _GRID_DIGITS
                        )
                    append(centre)
                    continue
            append(_grid(value, cell_m, field))
        return out

    return grid
