"""Figures of the operations centre and its map layers: reads over cases, no writes."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import and_, case, func, or_, select
from sqlalchemy.orm import Session

from twonets.core.errors import Invalid
from twonets.core.models import Department, District
from twonets.operations.cases.models import Case, Category
from twonets.operations.cases.states import (
    CLOCK_STATES,
    COUNTED_STATES,
    OPEN_STATES,
    CaseState,
    is_overdue,
)

# --- figures -------------------------------------------------------------------------------


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def figures(session: Session, *, by: str, now: datetime) -> list[dict[str, Any]]:
    """Closure, on-time closure and rework rates and overdue counts per district or department.

    Cases counted are those filed (not merged, rejected or awaiting filing). Closure rate is
    closed / cases; on-time rate is closed without a missed time limit / closed; rework rate
    is cases sent back at least once / cases handled at least once.
    """
    if by not in {"district", "department"}:
        raise Invalid.field("by", "figures-by", "should be district or department")
    key = Case.district_code if by == "district" else Case.department_id
    closed = Case.state == CaseState.CLOSED.value
    handled = or_(Case.handled_at.is_not(None), Case.rework_count > 0)
    overdue = and_(Case.state.in_([s.value for s in CLOCK_STATES]), Case.deadline_at < now)
    rows = session.execute(
        select(
            key,
            func.count(),
            func.sum(case((closed, 1), else_=0)),
            func.sum(case((and_(closed, Case.breached.is_(False)), 1), else_=0)),
            func.sum(case((Case.rework_count > 0, 1), else_=0)),
            func.sum(case((handled, 1), else_=0)),
            func.sum(case((overdue, 1), else_=0)),
        )
        .where(Case.state.in_([s.value for s in COUNTED_STATES]))
        .where(key.is_not(None))
        .group_by(key)
    ).all()
    names: dict[Any, str] = {}
    codes: dict[Any, str] = {}
    if by == "district":
        names = {d.code: d.name for d in session.scalars(select(District))}
    else:
        for d in session.scalars(select(Department)):
            names[d.id], codes[d.id] = d.name, d.code
    out: list[dict[str, Any]] = []
    for k, cases, n_closed, on_time, reworked, n_handled, n_overdue in rows:
        n_closed, on_time, reworked, n_handled, n_overdue = (
            int(n_closed or 0),
            int(on_time or 0),
            int(reworked or 0),
            int(n_handled or 0),
            int(n_overdue or 0),
        )
        out.append(
            {
                "key": str(codes.get(k, k)),
                "name": names.get(k, str(k)),
                "cases": int(cases),
                "closed": n_closed,
                "closed_on_time": on_time,
                "reworked": reworked,
                "overdue": n_overdue,
                "closure_rate": _rate(n_closed, int(cases)),
                "on_time_rate": _rate(on_time, n_closed),
                "rework_rate": _rate(reworked, n_handled),
            }
        )
    out.sort(key=lambda r: str(r["key"]))
    return out


def totals(rows: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """The city-wide line of a figures table."""
    rows = list(rows)
    cases = sum(r["cases"] for r in rows)
    closed = sum(r["closed"] for r in rows)
    on_time = sum(r["closed_on_time"] for r in rows)
    reworked = sum(r["reworked"] for r in rows)
    return {
        "key": "city",
        "name": "City",
        "cases": cases,
        "closed": closed,
        "closed_on_time": on_time,
        "reworked": reworked,
        "overdue": sum(r["overdue"] for r in rows),
        "closure_rate": _rate(closed, cases),
        "on_time_rate": _rate(on_time, closed),
        "rework_rate": None,
    }


def state_counts(session: Session) -> dict[str, int]:
    """Number of cases in each state."""
    rows = session.execute(select(Case.state, func.count()).group_by(Case.state)).all()
    return {str(state): int(n) for state, n in rows}


def dashboard_version(session: Session) -> str:
    """A token that changes whenever a case changes (the dashboard's live updates poll it)."""
    count, latest = session.execute(select(func.count(), func.max(Case.updated_at))).one()
    return f"{count}:{latest.isoformat() if latest else '-'}"


# --- layers --------------------------------------------------------------------------------


def open_cases_layer(
    session: Session, *, now: datetime, district: str | None = None
) -> dict[str, Any]:
    """Open cases as GeoJSON points (WGS-84), with their age in hours and whether overdue."""
    query = select(Case).where(Case.state.in_([s.value for s in OPEN_STATES]))
    if district:
        query = query.where(Case.district_code == district)
    names = {c.code: (c.name, c.name_en) for c in session.scalars(select(Category))}
    features = []
    for row in session.scalars(query.order_by(Case.id)):
        age = (now - row.reported_at).total_seconds() / 3600
        features.append(
            {
                "type": "Feature",
                "geometry": {
                    "type": "Point",
                    "coordinates": [round(row.lon, 6), round(row.lat, 6)],
                },
                "properties": {
                    "id": row.id,
                    "number": row.number,
                    "state": row.state,
                    "category": row.category_code,
                    "category_name": names.get(row.category_code, ("", ""))[0],
                    "category_name_en": names.get(row.category_code, ("", ""))[1],
                    "district": row.district_code,
                    "urgency": row.urgency,
                    "age_hours": round(age, 1),
                    "overdue": is_overdue(row, now),
                    "reports": row.report_count,
                },
            }
        )
    return {"type": "FeatureCollection", "features": features}


def case_points(session: Session, *, since: datetime) -> list[tuple[float, float]]:
    """WGS-84 points of the problems reported since ``since`` (for the density layer); merged
    duplicates and reports not filed are left out."""
    return [
        (lon, lat)
        for lon, lat in session.execute(
            select(Case.lon, Case.lat).where(
                Case.reported_at >= since,
                Case.state.not_in([CaseState.MERGED.value, CaseState.REJECTED.value]),
            )
        )
    ]
