"""What the group-rental page draws: leads per district, a lead against its building's peers.

Both are the housing department's (the same checks as the leads). Consumption reaches them
as ratios only, as in the reasons: a lead's use per registered occupant over the median of
its building's residential households that month, with the peers' middle half (their own
ratios' 25th and 75th percentiles) — never a household's readings.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from dataclasses import dataclass

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from twonets.core.auth import Principal
from twonets.operations.rentals.models import Household, Lead, Reading
from twonets.operations.rentals.service import LeadState, _lead, check_housing

UTILITIES = ("water", "electricity", "gas")


def leads_by_district(session: Session, caller: Principal) -> dict[str, int]:
    """Leads still worth a look (open, referred or confirmed) per district, the caller's."""
    check_housing(caller)
    where: list[ColumnElement[bool]] = [
        Lead.state.in_([LeadState.OPEN, LeadState.REFERRED, LeadState.CONFIRMED])
    ]
    if caller.district_code is not None:
        where.append(Lead.district_code == caller.district_code)
    return dict(
        session.execute(
            select(Lead.district_code, func.count(Lead.id))
            .where(*where)
            .group_by(Lead.district_code)
        ).all()
    )


@dataclass(frozen=True)
class Month:
    """One month of a lead against its building: per utility, its ratio and the peers' band."""

    month: str
    ratio: dict[str, float]  # the household's use per occupant over the building's median
    low: dict[str, float]  # the peers' 25th percentile of the same ratio
    high: dict[str, float]  # their 75th


def _quartiles(values: list[float]) -> tuple[float, float]:
    if len(values) < 2:
        return (values[0], values[0]) if values else (0.0, 0.0)
    q = statistics.quantiles(values, n=4, method="inclusive")
    return q[0], q[2]


def lead_history(session: Session, caller: Principal, lead_id: int) -> list[Month]:
    """The lead's household against its building's peers, month by month (ratios only)."""
    lead = _lead(session, caller, lead_id)
    building = session.scalar(
        select(Household.building_id).where(Household.id == lead.household_pk)
    )
    rows = session.execute(
        select(
            Household.id,
            Household.registered_occupants,  # governance: ratios only leave
            Reading.month,
            Reading.water_m3,
            Reading.electricity_kwh,
            Reading.gas_m3,
        )
        .join(Reading, Reading.household_pk == Household.id)
        .where(Household.building_id == building, Household.use == "residential")
    ).all()
    per_month: dict[str, dict[int, tuple[float, float, float]]] = defaultdict(dict)
    for pk, registered, month, water, power, gas in rows:
        people = max(int(registered or 0), 1)
        per_month[month][pk] = (water / people, power / people, gas / people)
    out = []
    for month in sorted(per_month):
        homes = per_month[month]
        if lead.household_pk not in homes:
            continue
        ratio, low, high = {}, {}, {}
        for i, u in enumerate(UTILITIES):
            median = statistics.median(v[i] for v in homes.values())
            ratios = [v[i] / median if median > 0 else 0.0 for v in homes.values()]
            peers = [r for pk, r in zip(homes, ratios, strict=True) if pk != lead.household_pk]
            ratio[u] = round(homes[lead.household_pk][i] / median if median > 0 else 0.0, 3)
            lo, hi = _quartiles(peers)
            low[u], high[u] = round(lo, 3), round(hi, 3)
        out.append(Month(month, ratio, low, high))
    return out
