"""The closed loop of group rentals: the meter feed, street teams' daily caps, outcomes.

- **Meter feed**: readings from the operations centre's MQTT feed add to a household's month
  once each, with registers, resets and implausible jumps told apart
  (:mod:`service_meters`, re-exported here: the platform's own work, nobody is shown anything).
- **Daily cap**: a street team (the household's street, else its district) inspects at most
  its cap of referred leads a day (Shanghai's day); :func:`check_cap` refuses the one more.
  The housing department sets a team's cap (:func:`set_cap`).
- **Thresholds from outcomes**: :func:`propose_thresholds` rescores the stored households
  under candidate thresholds and shows, for each, how many leads there would be and how many
  of the inspected ones would stay — confirmed and not — before :func:`apply_thresholds`
  makes one the district's (or the city's). Detection uses the newest that applies.
- **Precision** of inspected leads per month of their outcome (:func:`precision_over_time`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from twonets.core.auth import Principal
from twonets.core.errors import Conflict, Invalid
from twonets.core.events import record_event
from twonets.operations.rentals import model
from twonets.operations.rentals.models import Household, Lead, Team, ThresholdSet
from twonets.operations.rentals.service_meters import (
    Applied,
    MeterReading,
    MeterRules,
    add_meter_readings,
)

# The meter feed's writes live in service_meters; kept importable from here.
__all__ = ["Applied", "MeterReading", "MeterRules", "add_meter_readings"]

SHANGHAI = ZoneInfo("Asia/Shanghai")
DEFAULT_DAILY_CAP = 5


# --- street teams' daily caps ------------------------------------------------------------------


def team_of(session: Session, household_pk: int) -> tuple[str, str]:
    """The street team that inspects a household (its street, else its district) and district."""
    street, district = session.execute(
        select(Household.street_code, Household.district_code).where(Household.id == household_pk)
    ).one()
    return (street or district), district


def daily_cap(session: Session, team: str) -> int:
    """The team's cap of inspections a day (the default unless set)."""
    cap = session.scalar(select(Team.daily_cap).where(Team.code == team))
    return DEFAULT_DAILY_CAP if cap is None else cap


def referred_today(session: Session, team: str, *, now: datetime) -> int:
    """Leads of the team's households referred since Shanghai's midnight."""
    local = now.astimezone(SHANGHAI)
    midnight = local.replace(hour=0, minute=0, second=0, microsecond=0)
    return int(
        session.scalar(
            select(func.count(Lead.id))
            .join(Household, Household.id == Lead.household_pk)
            .where(
                func.coalesce(Household.street_code, Household.district_code) == team,
                Lead.case_id.is_not(None),
                Lead.decided_at >= midnight,
                Lead.decided_at < midnight + timedelta(days=1),
            )
        )
        or 0
    )


def check_cap(session: Session, household_pk: int, *, now: datetime) -> None:
    """Refuse a referral beyond the street team's cap for today."""
    team, _ = team_of(session, household_pk)
    cap = daily_cap(session, team)
    done = referred_today(session, team, now=now)
    if done >= cap:
        raise Conflict(
            f"street team {team} has {done} leads to inspect today, its daily cap is {cap}"
        )


def set_cap(
    session: Session, caller: Principal, team: str, district: str, cap: int, *, now: datetime
) -> Team:
    """Set a street team's daily cap (housing staff of its district or the city's)."""
    from twonets.operations.rentals.service import check_district

    check_district(caller, district)
    if not 0 <= cap <= 500:
        raise Invalid.field("daily_cap", "range", "should be between 0 and 500")
    row = session.get(Team, team)
    if row is None:
        row = Team(code=team, district_code=district)
        session.add(row)
    elif row.district_code != district:
        raise Invalid.field("district", "same", f"team {team} is of district {row.district_code}")
    row.daily_cap = cap
    session.flush()
    record_event(session, "ops.rentals.cap", {"team": team, "cap": cap}, now=now)
    return row


# --- thresholds tuned from outcomes ------------------------------------------------------------


def thresholds_for(session: Session, district: str | None) -> model.Thresholds:
    """The newest thresholds that apply to a district (its own, else the city's, else default)."""
    scopes: list[ColumnElement[bool]] = [ThresholdSet.district_code.is_(None)]
    if district is not None:
        scopes.insert(0, ThresholdSet.district_code == district)
    for scope in scopes:
        row = session.scalar(
            select(ThresholdSet).where(scope).order_by(ThresholdSet.id.desc()).limit(1)
        )
        if row is not None:
            return model.Thresholds(
                high=row.high,
                z=row.z,
                agreement=row.agreement,
                over_registered=row.over_registered,
                min_score=row.min_score,
            )
    return model.DEFAULT


@dataclass(frozen=True)
class Effect:
    """What a set of thresholds would do to the stored households, before it applies."""

    thresholds: model.Thresholds
    leads: int
    confirmed_kept: int
    confirmed: int
    not_confirmed_kept: int
    not_confirmed: int
    current: bool

    @property
    def precision(self) -> float:
        """Among inspected leads it keeps, the share confirmed (0 when it keeps none)."""
        kept = self.confirmed_kept + self.not_confirmed_kept
        return self.confirmed_kept / kept if kept else 0.0


CANDIDATES = tuple(
    model.Thresholds(high=high, agreement=agreement, min_score=min_score)
    for high in (1.5, 2.0, 2.5, 3.0)
    for agreement in (2, 3)
    for min_score in (0.0, 0.2)
)


def propose_thresholds(session: Session, caller: Principal, *, now: datetime) -> list[Effect]:
    """Each candidate's effect on the caller's households and on the inspected leads.

    The current thresholds first, then the best: the most confirmed kept, then the fewest
    not-confirmed kept, then the fewest leads.
    """
    from twonets.operations.rentals import detection, engine
    from twonets.operations.rentals.service import _stored, check_housing

    check_housing(caller)
    homes, readings, pks = _stored(session, caller.district_code)
    labels: dict[str, int] = {}
    ids = {pk: hid for hid, pk in pks.items()}
    for pk, label in session.execute(
        select(Lead.household_pk, Lead.label).where(
            Lead.label.is_not(None), Lead.household_pk.in_(list(pks.values()))
        )
    ):
        labels[ids[pk]] = int(label or 0)
    current = thresholds_for(session, caller.district_code)
    # One feature table for every candidate: columns converted and the forest fitted once.
    table = (
        model.Columns(
            engine.duckdb_features(engine.households_arrow(homes), engine.readings_arrow(readings))
        )
        if homes and readings
        else None
    )
    effects = []
    for t in dict.fromkeys((current, *CANDIDATES)):
        found = set() if table is None else detection.lead_ids(table, t)
        effects.append(
            Effect(
                thresholds=t,
                leads=len(found),
                confirmed_kept=sum(1 for h, v in labels.items() if v == 1 and h in found),
                confirmed=sum(1 for v in labels.values() if v == 1),
                not_confirmed_kept=sum(1 for h, v in labels.items() if v == 0 and h in found),
                not_confirmed=sum(1 for v in labels.values() if v == 0),
                current=t == current,
            )
        )
    effects.sort(key=lambda e: (not e.current, -e.confirmed_kept, e.not_confirmed_kept, e.leads))
    return effects


def apply_thresholds(
    session: Session, caller: Principal, t: model.Thresholds, *, now: datetime
) -> ThresholdSet:
    """Make ``t`` the caller's district's thresholds (the city's, for the city's department)."""
    from twonets.operations.rentals.service import check_housing

    check_housing(caller)
    if t not in CANDIDATES and t != model.DEFAULT:
        raise Invalid.field("thresholds", "proposed", "apply one of the proposed thresholds")
    row = ThresholdSet(
        district_code=caller.district_code,
        high=t.high,
        z=t.z,
        agreement=t.agreement,
        over_registered=t.over_registered,
        min_score=t.min_score,
        set_at=now,
        set_by=caller.username,
    )
    session.add(row)
    session.flush()
    record_event(
        session,
        "ops.rentals.thresholds",
        {"by": caller.username, "district": caller.district_code, "high": t.high},
        now=now,
    )
    return row


# --- precision over time -----------------------------------------------------------------------


@dataclass(frozen=True)
class MonthPrecision:
    """Inspected and confirmed leads whose outcome came in a month."""

    month: str
    inspected: int
    confirmed: int

    @property
    def precision(self) -> float:
        """Confirmed over inspected."""
        return self.confirmed / self.inspected if self.inspected else 0.0


def precision_over_time(session: Session, caller: Principal) -> list[MonthPrecision]:
    """Precision of inspected leads per month of outcome (Shanghai), the caller's district's."""
    from twonets.operations.rentals.service import check_housing

    check_housing(caller)
    where: list[ColumnElement[bool]] = [Lead.label.is_not(None), Lead.decided_at.is_not(None)]
    if caller.district_code is not None:
        where.append(Lead.district_code == caller.district_code)
    counts: dict[str, list[int]] = {}
    for decided, label in session.execute(select(Lead.decided_at, Lead.label).where(*where)):
        assert decided is not None
        month = decided.astimezone(SHANGHAI).strftime("%Y-%m")
        seen = counts.setdefault(month, [0, 0])
        seen[0] += 1
        seen[1] += int(label == 1)
    return [MonthPrecision(m, n, c) for m, (n, c) in sorted(counts.items())]
