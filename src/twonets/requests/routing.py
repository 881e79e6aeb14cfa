"""Routing rules: which department answers a request, at which level. Pure functions.

The rule is category × district × the enterprise's registration: the category names a
department function and the level that answers first; the district is where the enterprise
is registered (or, for a citizen's report, where the problem is); firms the register lists
as foreign-invested or listed go to the city level. A department that declined the request
("not ours") is never proposed again for it. When no department of the function exists, the
city's government services office (the 12345 hub) takes it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from twonets.requests.categories import CITY_LEVEL_INDUSTRIES, FALLBACK_FUNCTION, Level


@dataclass(frozen=True)
class Unit:
    """A department as the rules see it."""

    id: int
    code: str
    name: str
    function: str
    level: str
    district_code: str | None


@dataclass(frozen=True)
class Candidate:
    """A department the rules propose, and why."""

    unit: Unit
    reason: str


def _city(units: Sequence[Unit], function: str) -> Unit | None:
    found = sorted(
        (u for u in units if u.function == function and u.district_code is None),
        key=lambda u: u.code,
    )
    return found[0] if found else None


def _district(units: Sequence[Unit], function: str, district: str | None) -> Unit | None:
    if district is None:
        return None
    found = sorted(
        (u for u in units if u.function == function and u.district_code == district),
        key=lambda u: u.code,
    )
    return found[0] if found else None


def propose(
    units: Iterable[Unit],
    *,
    function: str,
    level: Level,
    district_code: str | None,
    industry: str | None = None,
    excluded: Iterable[int] = (),
) -> list[Candidate]:
    """Departments in the order the rules prefer them (none twice, the excluded left out)."""
    skip = set(excluded)
    pool = [u for u in units if u.id not in skip]
    first_city = level is Level.CITY or (industry or "") in CITY_LEVEL_INDUSTRIES
    district = _district(pool, function, district_code)
    city = _city(pool, function)
    order: list[Candidate] = []
    district_reason = f"{function} of district {district_code}"
    city_reason = f"{function} at city level"
    if first_city:
        if (industry or "") in CITY_LEVEL_INDUSTRIES and level is Level.DISTRICT:
            city_reason += f" (a {industry} firm is served by the city)"
        pairs = [(city, city_reason), (district, district_reason)]
    else:
        pairs = [(district, district_reason), (city, city_reason)]
    pairs.append((_city(pool, FALLBACK_FUNCTION), "no rule places it: the 12345 hub"))
    seen: set[int] = set()
    for unit, reason in pairs:
        if unit is not None and unit.id not in seen:
            seen.add(unit.id)
            order.append(Candidate(unit, reason))
    return order
