"""Early warning over stored counts: daily counts, the detectors, alerts and their events."""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from twonets.core.errors import Invalid
from twonets.core.events import record_event
from twonets.core.models import District
from twonets.health import warning
from twonets.health.models import (
    Alert,
    AlertKind,
    SyndromeCount,
)
from twonets.health.service.common import PATHOGEN


@dataclass(frozen=True)
class DailyCount:
    """One day's cases of a syndrome in a district."""

    day: date
    district_code: str
    syndrome: str
    count: int


def record_counts(session: Session, counts: Iterable[DailyCount]) -> int:
    """Store daily counts; a count for a day already stored replaces it (reports get revised)."""
    districts = set(session.scalars(select(District.code)))
    batch = list(counts)
    for i, c in enumerate(batch):
        if c.district_code not in districts:
            raise Invalid.field(f"counts[{i}].district_code", "exists", "no such district")
        if c.count < 0:
            raise Invalid.field(f"counts[{i}].count", "minimum", "must be >= 0")
        if not PATHOGEN.fullmatch(c.syndrome):
            raise Invalid.field(
                f"counts[{i}].syndrome", "name", "lower-case letters, digits and dashes"
            )
    keys = {(c.day, c.district_code, c.syndrome) for c in batch}
    if len(keys) != len(batch):
        raise Invalid.field("counts", "unique", "one count per day, district and syndrome")
    days = {c.day for c in batch}
    stored = (
        {
            (r.day, r.district_code, r.syndrome): r
            for r in session.scalars(select(SyndromeCount).where(SyndromeCount.day.in_(days)))
        }
        if days
        else {}
    )
    for c in batch:
        row = stored.get((c.day, c.district_code, c.syndrome))
        if row is None:
            session.add(
                SyndromeCount(
                    day=c.day, district_code=c.district_code, syndrome=c.syndrome, count=c.count
                )
            )
        else:
            row.count = c.count
    session.flush()
    return len(batch)


def series(
    session: Session, *, district_code: str, syndrome: str, since: date, until: date
) -> tuple[list[date], list[int]]:
    """Daily counts of one series, zero on days with no report."""
    stored: dict[date, int] = dict(
        session.execute(
            select(SyndromeCount.day, SyndromeCount.count).where(
                SyndromeCount.district_code == district_code,
                SyndromeCount.syndrome == syndrome,
                SyndromeCount.day >= since,
                SyndromeCount.day <= until,
            )
        ).all()
    )
    days = [since + timedelta(days=k) for k in range((until - since).days + 1)]
    return days, [int(stored.get(d, 0)) for d in days]


def _store_alert(session: Session, alert: Alert, now: datetime) -> Alert | None:
    """Add an alert unless the same one is stored; record ``health.alert.raised`` when new."""
    same = session.scalar(
        select(Alert.id).where(
            Alert.kind == alert.kind,
            Alert.district_code == alert.district_code
            if alert.district_code is not None
            else Alert.district_code.is_(None),
            Alert.signal == alert.signal,
            Alert.day == alert.day,
            Alert.method == alert.method,
            Alert.sample_id == alert.sample_id,
        )
    )
    if same is not None:
        return None
    session.add(alert)
    session.flush()
    record_event(
        session,
        "health.alert.raised",
        {
            "alert_id": alert.id,
            "kind": alert.kind,
            "district_code": alert.district_code,
            "signal": alert.signal,
            "day": alert.day.isoformat(),
            "method": alert.method,
            "observed": alert.observed,
            "threshold": alert.threshold,
            "detail": alert.detail,
        },
        now=now,
    )
    return alert


def detect(
    session: Session,
    *,
    today: date,
    window: int = 14,
    methods: Sequence[str] = ("C2",),
    farrington: bool = True,
    now: datetime,
) -> list[Alert]:
    """Run EARS on daily and Farrington flexible on weekly counts; store new alarms as alerts.

    Alarms of the last ``window`` days are kept; running again finds the same alarms and
    stores nothing twice.
    """
    if not 1 <= window <= 366:
        raise Invalid.field("window", "range", "between 1 and 366 days")
    for m in methods:
        if m not in ("C1", "C2", "C3"):
            raise Invalid.field("methods", "choice", "C1, C2 or C3")
    first = today - timedelta(days=2 * 365 + window)
    rows = session.execute(
        select(
            SyndromeCount.district_code, SyndromeCount.syndrome, SyndromeCount.day,
            SyndromeCount.count,
        ).where(SyndromeCount.day >= first, SyndromeCount.day <= today)
    ).all()  # fmt: skip
    by_series: dict[tuple[str, str], dict[date, int]] = defaultdict(dict)
    for district, syndrome, day, count in rows:
        by_series[(district, syndrome)][day] = count
    raised: list[Alert] = []
    start = today - timedelta(days=window - 1)
    for (district, syndrome), stored in sorted(by_series.items()):
        begin = min(stored)
        days = [begin + timedelta(days=k) for k in range((today - begin).days + 1)]
        x = np.array([float(stored.get(d, 0)) for d in days])
        for method in methods:
            need = {"C1": 7, "C2": 9, "C3": 11}[method] + 1
            if x.size < need:
                continue
            lo = max(need, x.size - window + 1)
            for det in warning.ears(x, method=method, range=(lo, x.size)):  # type: ignore[arg-type]
                day = days[det.t - 1]
                if det.alarm and day >= start:
                    raised += _kept(
                        session,
                        Alert(
                            kind=AlertKind.SYNDROME,
                            district_code=district,
                            signal=syndrome,
                            day=day,
                            method=method,
                            observed=det.observed,
                            threshold=_finite(det.upperbound),
                            sample_id="",
                            detail=f"EARS {method}: {det.observed:g} cases, bound "
                            f"{det.upperbound:.1f}",
                            raised_at=now,
                        ),
                        now,
                    )
        if farrington:
            raised += _farrington_weekly(
                session, district, syndrome, days, x, start=start, today=today, now=now
            )
    return raised


def _kept(session: Session, alert: Alert, now: datetime) -> list[Alert]:
    stored = _store_alert(session, alert, now)
    return [stored] if stored is not None else []


def _finite(value: float) -> float | None:
    return float(value) if math.isfinite(value) else None


def _farrington_weekly(
    session: Session,
    district: str,
    syndrome: str,
    days: list[date],
    x: np.ndarray[Any, Any],
    *,
    start: date,
    today: date,
    now: datetime,
) -> list[Alert]:
    """Farrington flexible on weeks ending today (one year back, b = 1, w = 3)."""
    weeks = x.size // 7
    if weeks < 52 + 4 + 1:
        return []
    tail = x[x.size - weeks * 7 :].reshape(weeks, 7).sum(axis=1)
    out: list[Alert] = []
    for det in warning.farrington_flexible(tail, b=1, w=3, range=(weeks, weeks)):
        week_end = today - timedelta(days=7 * (weeks - det.t))
        if det.alarm and week_end >= start:
            out += _kept(
                session,
                Alert(
                    kind=AlertKind.SYNDROME,
                    district_code=district,
                    signal=syndrome,
                    day=week_end,
                    method="farrington",
                    observed=det.observed,
                    threshold=_finite(det.upperbound),
                    sample_id="",
                    detail=f"Farrington flexible: {det.observed:g} cases in the week, "
                    f"bound {det.upperbound:.1f}",
                    raised_at=now,
                ),
                now,
            )
    del days
    return out


def list_alerts(
    session: Session, *, since: date | None = None, kind: str | None = None, limit: int = 100
) -> Sequence[Alert]:
    """Alerts, the latest first."""
    if not 1 <= limit <= 1000:
        raise Invalid.field("limit", "range", "between 1 and 1000")
    statement = select(Alert).order_by(Alert.day.desc(), Alert.id.desc()).limit(limit)
    if since is not None:
        statement = statement.where(Alert.day >= since)
    if kind is not None:
        statement = statement.where(Alert.kind == kind)
    return session.scalars(statement).all()


def most_aberrant_series(alerts: Iterable[Alert]) -> tuple[str, str] | None:
    """The (district, syndrome) series whose alarms went furthest above their bounds.

    Excess over the detectors' bounds is summed over a series' alarms, so one large outbreak
    outranks scattered alarms just over a bound. None without syndrome alarms in a district.
    """
    excess: dict[tuple[str, str], float] = defaultdict(float)
    for a in alerts:
        if a.kind != "syndrome" or not a.district_code:
            continue
        bound = a.threshold if a.threshold else 1.0
        excess[(a.district_code, a.signal)] += max(0.0, a.observed / bound - 1.0)
    return max(excess, key=lambda k: excess[k]) if excess else None


def alert_json(alert: Alert) -> dict[str, Any]:
    """An alert as JSON."""
    return {
        "id": alert.id,
        "kind": alert.kind,
        "district_code": alert.district_code,
        "signal": alert.signal,
        "day": alert.day.isoformat(),
        "method": alert.method,
        "observed": alert.observed,
        "threshold": alert.threshold,
        "sample_id": alert.sample_id or None,
        "lab_department_code": alert.lab_department_code,
        "detail": alert.detail,
        "raised_at": alert.raised_at.isoformat(),
    }
