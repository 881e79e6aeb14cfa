"""Reports on scans: retention by scenario, counts for statistics, the verifier's trust bundle."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import delete, distinct, func, select
from sqlalchemy.orm import Session

from twonets.codes.models import ScanRecord
from twonets.core.errors import Invalid
from twonets.core.events import record_event
from twonets.trust import service as trust


def purge_scans(session: Session, *, now: datetime, batch: int = 50_000) -> int:
    """Delete scans whose scenario's retention has run out (in batches; safe to rerun)."""
    total = 0
    while True:
        ids = session.scalars(
            select(ScanRecord.id).where(ScanRecord.keep_until <= now).limit(batch)
        ).all()
        if not ids:
            break
        done = session.execute(delete(ScanRecord).where(ScanRecord.id.in_(ids)))
        total += int(getattr(done, "rowcount", 0) or 0)
        if len(ids) < batch:
            break
    if total:
        record_event(session, "codes.scans.purged", {"deleted": total}, now=now)
    return total


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


def trust_bundle(session: Session, *, now: datetime) -> dict[str, Any]:
    """What an offline verifier of codes needs: every recognised region's anchor and list.

    The same format as the licences' bundle (without status lists: a code lives a minute),
    so one file serves both commands.
    """
    return {
        "format": "twonets-trust-bundle",
        "version": 1,
        "generated_at": now.isoformat(),
        "regions": [
            {
                "region": record.region_code,
                "kind": record.kind,
                "anchor": record.anchor_pem,
                "trust_list": record.trust_list,
            }
            for record in trust.list_recognised(session)
        ],
        "status_lists": {},
    }
