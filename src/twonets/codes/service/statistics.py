"""Statistics of scans: counts per scenario and day, unique holders, the peak minute.

Counts only: no one's whereabouts leave here.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import distinct, func, select
from sqlalchemy.orm import Session

from twonets.codes.models import ScanRecord
from twonets.core.errors import Invalid


def statistics(session: Session, *, since: date, until: date) -> dict[str, Any]:
    """Scans per scenario per day, unique holders per day, and the peak per minute."""
    if until < since:
        raise Invalid.field("until", "after-since", "should be on or after since")
    if (until - since).days > 366:
        raise Invalid.field("since", "range", "at most a year at a time")
    window = (ScanRecord.day >= since, ScanRecord.day <= until)
    per_day = session.execute(
        select(ScanRecord.day, ScanRecord.scenario_code, func.count())
        .where(*window)
        .group_by(ScanRecord.day, ScanRecord.scenario_code)
        .order_by(ScanRecord.day, ScanRecord.scenario_code)
    ).all()
    holders = session.execute(
        select(ScanRecord.day, func.count(distinct(ScanRecord.holder_token)))
        .where(*window)
        .group_by(ScanRecord.day)
        .order_by(ScanRecord.day)
    ).all()  # governance: counts distinct pseudonyms; no value leaves
    unique_total = session.scalar(
        select(func.count(distinct(ScanRecord.holder_token))).where(*window)
    )  # governance: a count only
    per_minute = (
        select(ScanRecord.minute, func.count().label("n"))
        .where(*window)
        .group_by(ScanRecord.minute)
        .subquery()
    )
    peak = session.execute(
        select(per_minute.c.minute, per_minute.c.n).order_by(per_minute.c.n.desc()).limit(1)
    ).first()
    results = dict(
        session.execute(
            select(ScanRecord.result, func.count()).where(*window).group_by(ScanRecord.result)
        ).all()
    )
    days: dict[str, dict[str, Any]] = {}
    for day, scenario, count in per_day:
        entry = days.setdefault(day.isoformat(), {"day": day.isoformat(), "scenarios": {}})
        entry["scenarios"][scenario] = int(count)
    for day, count in holders:
        days.setdefault(day.isoformat(), {"day": day.isoformat(), "scenarios": {}})[
            "unique_holders"
        ] = int(count)
    for entry in days.values():
        entry["scans"] = sum(entry["scenarios"].values())
    totals: dict[str, int] = {}
    for _, scenario, count in per_day:
        totals[scenario] = totals.get(scenario, 0) + int(count)
    return {
        "since": since.isoformat(),
        "until": until.isoformat(),
        "scans": sum(totals.values()),
        "by_scenario": totals,
        "by_result": {str(k): int(v) for k, v in results.items()},
        "unique_holders": int(unique_total or 0),
        "peak_per_minute": int(peak.n) if peak else 0,
        "peak_minute": (
            datetime.fromtimestamp(int(peak.minute) * 60, tz=UTC).isoformat() if peak else None
        ),
        "days": [days[k] for k in sorted(days)],
    }
