"""Checks as positions arrive: the live checker's state for a process, and what its reports
become (a violation with its case and alerts once per episode and trip; repeats and ends
folded into the violation recorded)."""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from twonets.operations.trucks import checks
from twonets.operations.trucks.checks import Fix, Rules
from twonets.operations.trucks.live import Change, LiveChecker, Report
from twonets.operations.trucks.models import Truck, TruckViolation
from twonets.operations.trucks.service.alerts import push_alerts
from twonets.operations.trucks.service.violations import record_episode, scene


class LiveSupervision:
    """One process's live checks: the checker (each truck's state) and its scene, reloaded
    from the registry every ``reload_seconds`` and when the day changes, so new permits and
    zones count within a minute. Not shared between processes: a truck's positions must all
    reach the same one (one consumer of the location topic, or partitioned by terminal)."""

    def __init__(self, *, rules: Rules = checks.DEFAULT_RULES, reload_seconds: float = 60.0):
        self.rules = rules
        self.reload_seconds = reload_seconds
        self.checker: LiveChecker | None = None
        self._loaded: tuple[datetime, date] | None = None
        self.lock = threading.Lock()

    def checker_for(self, session: Session, now: datetime) -> LiveChecker:
        """The checker, its scene reloaded when stale."""
        today = now.astimezone(checks.Scene([], [], self.rules).tz).date()
        stale = (
            self._loaded is None
            or self._loaded[1] != today
            or (now - self._loaded[0]).total_seconds() >= self.reload_seconds
        )
        if self.checker is None or stale:
            found = scene(
                session,
                first_day=today - timedelta(days=1),
                last_day=today + timedelta(days=1),
                rules=self.rules,
            )
            if self.checker is None:
                self.checker = LiveChecker(found)
            else:
                self.checker.use(found)
            self._loaded = (now, today)
        return self.checker


def check_arrivals(
    session: Session,
    live: LiveSupervision,
    rows: Sequence[Mapping[str, Any]],
    *,
    now: datetime,
) -> list[TruckViolation]:
    """Check positions as they arrive (rows of ``truck_position``); the violations opened."""
    if not rows:
        return []
    ids = {int(r["truck_id"]) for r in rows}
    plate_of = dict(session.execute(select(Truck.id, Truck.plate).where(Truck.id.in_(ids))).all())
    fixes = [
        Fix(plate_of[r["truck_id"]], r["time"], r["lon"], r["lat"], r["speed_kmh"]) for r in rows
    ]
    with live.lock:
        reports = live.checker_for(session, now).feed(fixes)
    return _apply(session, reports, {p: i for i, p in plate_of.items()}, now=now)


def check_silences(
    session: Session,
    live: LiveSupervision,
    *,
    now: datetime,
    reports: Sequence[Report] | None = None,
) -> list[TruckViolation]:
    """Trucks silent while moving, as of ``now`` (or the ``reports`` of ``silent_reports``
    already taken); the violations opened."""
    if reports is None:
        reports = silent_reports(live, now=now)
    if not reports:
        return []
    plates = {r.episode.plate for r in reports}
    truck_of = dict(
        session.execute(select(Truck.plate, Truck.id).where(Truck.plate.in_(plates))).all()
    )
    return _apply(session, reports, truck_of, now=now)


def silent_reports(live: LiveSupervision, *, now: datetime) -> list[Report]:
    """The live checker's silences as of ``now``, without the database (most rounds have
    none, and then need no transaction)."""
    if live.checker is None:
        return []
    with live.lock:
        return live.checker.silences(now)


def _apply(
    session: Session, reports: Sequence[Report], truck_of: Mapping[str, int], *, now: datetime
) -> list[TruckViolation]:
    opened = []
    for report in reports:
        truck_id = truck_of.get(report.episode.plate)
        if truck_id is None:
            continue
        episode = report.episode
        if report.change is Change.OPENED:
            row = record_episode(session, truck_id, episode, now=now)
            if row is not None:
                row.evidence = {**row.evidence, "trip": report.trip.isoformat()}
                push_alerts(session, row, now=now)
                opened.append(row)
            continue
        query = select(TruckViolation).where(
            TruckViolation.truck_id == truck_id, TruckViolation.kind == episode.kind.value
        )
        if report.change is Change.REPEAT:
            query = query.where(TruckViolation.start_at >= report.trip)
        else:
            query = query.where(TruckViolation.start_at <= episode.start)
        row = session.scalar(query.order_by(TruckViolation.start_at.desc()).limit(1))
        if row is None:
            continue
        if episode.end > row.end_at:
            row.end_at = episode.end
        if report.change is Change.REPEAT:
            row.evidence = {**row.evidence, "repeats": int(row.evidence.get("repeats", 0)) + 1}
    session.flush()
    return opened
