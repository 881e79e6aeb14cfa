"""What the group-rental pages draw: leads per district, a lead against its building's peers,
the street teams' caps, and the layer of leads on the operations centre's map.

The first three are the housing department's (the same checks as the leads); the layer is
also the operations centre's, per building and without households. Consumption reaches them
as ratios only, as in the reasons: a lead's use per registered occupant over the median of
its building's residential households that month, with the peers' middle half (their own
ratios' 25th and 75th percentiles) — never a household's readings.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, case, func, select
from sqlalchemy.orm import Session

from twonets.core.auth import Principal
from twonets.core.errors import Forbidden
from twonets.core.models import Role
from twonets.operations.rentals.models import Household, Lead, Reading, Team
from twonets.operations.rentals.service import (
    HOUSING_FUNCTION,
    LeadState,
    _lead,
    check_housing,
)
from twonets.operations.rentals.service_loop import DEFAULT_DAILY_CAP, SHANGHAI

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


# --- street teams' caps, as the page shows them ---------------------------------------------


@dataclass(frozen=True)
class TeamView:
    """A street team: its district, daily cap (set or the default) and referrals today."""

    team: str
    district: str
    daily_cap: int
    cap_set: bool  # False: the default applies
    referred_today: int


def teams(session: Session, caller: Principal, *, now: datetime) -> list[TeamView]:
    """The street teams of the caller's households (and those with a cap set), by code.

    A team is a street of the households, or the district where a household has none.
    """
    check_housing(caller)
    code = func.coalesce(Household.street_code, Household.district_code)
    homes = select(code, Household.district_code).distinct()
    set_caps = select(Team.code, Team.district_code, Team.daily_cap)
    if caller.district_code is not None:
        homes = homes.where(Household.district_code == caller.district_code)
        set_caps = set_caps.where(Team.district_code == caller.district_code)
    districts: dict[str, str] = dict(session.execute(homes).all())
    caps: dict[str, int] = {}
    for team, district, cap in session.execute(set_caps):
        districts[team] = district
        caps[team] = cap
    local = now.astimezone(SHANGHAI)
    midnight = local.replace(hour=0, minute=0, second=0, microsecond=0)
    today: dict[str, int] = dict(
        session.execute(
            select(code, func.count(Lead.id))
            .join(Lead, Lead.household_pk == Household.id)
            .where(
                Lead.case_id.is_not(None),
                Lead.decided_at >= midnight,
                Lead.decided_at < midnight + timedelta(days=1),
            )
            .group_by(code)
        ).all()
    )
    return [
        TeamView(
            team=team,
            district=districts[team],
            daily_cap=caps.get(team, DEFAULT_DAILY_CAP),
            cap_set=team in caps,
            referred_today=int(today.get(team, 0)),
        )
        for team in sorted(districts)
    ]


# --- the operations centre's map --------------------------------------------------------------

# Who sees the layer of leads: housing staff (their district's), and the operations centre.
MAP_FUNCTIONS = frozenset({"operations"})
MAP_ROLES = (Role.OPERATOR, Role.SUPERVISOR, Role.STAFF)


def check_may_map(caller: Principal) -> None:
    """Housing staff, or operators, supervisors and staff of the operations centre."""
    if caller.department_function == HOUSING_FUNCTION:
        check_housing(caller)
        return
    caller.require(*MAP_ROLES)
    if caller.department_function not in MAP_FUNCTIONS:
        raise Forbidden(
            "the map of group-rental leads is for the operations centre and housing staff",
            extra={"rule": "rentals-map"},
        )


def leads_layer(session: Session, caller: Principal) -> dict[str, Any]:
    """Leads still worth a look, per building, as GeoJSON points (WGS-84) for the map.

    One point per building with a known place (the mean of its households' points): how many
    leads (open, sent for inspection, confirmed) and the best score. No household, address or
    reading leaves: the households are the housing department's.
    """
    check_may_map(caller)
    where: list[ColumnElement[bool]] = [
        Lead.state.in_([LeadState.OPEN, LeadState.REFERRED, LeadState.CONFIRMED]),
        Household.lon.is_not(None),
        Household.lat.is_not(None),
    ]
    if caller.district_code is not None:
        where.append(Lead.district_code == caller.district_code)
    rows = session.execute(
        select(
            Household.building_id,
            Lead.district_code,
            func.count(Lead.id),
            func.sum(case((Lead.state == LeadState.OPEN, 1), else_=0)),
            func.max(Lead.score),
            func.avg(Household.lon),
            func.avg(Household.lat),
        )
        .join(Household, Household.id == Lead.household_pk)
        .where(*where)
        .group_by(Household.building_id, Lead.district_code)
        .order_by(Household.building_id)
    ).all()
    return {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "geometry": {
                    "type": "Point",
                    "coordinates": [round(float(lon), 6), round(float(lat), 6)],
                },
                "properties": {
                    "building": building,
                    "district": district,
                    "leads": int(leads),
                    "open": int(still_open or 0),
                    "score": round(float(best), 4),
                },
            }
            for building, district, leads, still_open, best, lon, lat in rows
        ],
    }
