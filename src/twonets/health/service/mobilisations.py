"""Mobilisations: plan a call-up exactly, notify, take answers, re-plan on refusals.

The use cases around the pure optimisation of ``health/mobilisation_plan.py``.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from twonets.core.auth import Principal
from twonets.core.errors import Conflict, Forbidden, NotFound, ProblemList
from twonets.core.events import record_event
from twonets.core.models import Role
from twonets.health.mobilisation_plan import (
    Candidate,
    Need,
    allowance_of,
    haversine_km,
    plan_mobilisation,
)
from twonets.health.models import (
    Assignment,
    AssignmentStatus,
    Hospital,
    Mobilisation,
    MobilisationStatus,
    Reservist,
    Specialty,
)
from twonets.health.service.common import MAX_MOBILISATION_LINES, _specialty_choices
from twonets.health.service.reserve import _current


@dataclass(frozen=True)
class DemandLine:
    """Posts of a specialty to fill at a centre."""

    centre: str
    lon: float
    lat: float
    specialty: str
    count: int


def _check_demand(lines: Sequence[DemandLine]) -> None:
    problems = ProblemList()
    if not lines:
        problems.add("demand", "non-empty", "give at least one centre and specialty")
    if len(lines) > MAX_MOBILISATION_LINES:
        problems.add("demand", "max-items", f"at most {MAX_MOBILISATION_LINES} lines")
    places: dict[str, tuple[float, float]] = {}
    for i, line in enumerate(lines):
        if not line.centre.strip():
            problems.add(f"demand[{i}].centre", "required", "name the centre")
        if line.specialty not in Specialty.__members__.values():
            problems.add(f"demand[{i}].specialty", "choice", _specialty_choices())
        if not 1 <= line.count <= 10_000:
            problems.add(f"demand[{i}].count", "range", "between 1 and 10000")
        if not (-180 <= line.lon <= 180 and -90 <= line.lat <= 90):
            problems.add(f"demand[{i}].lon", "range", "WGS-84 degrees expected")
        seen = places.setdefault(line.centre, (line.lon, line.lat))
        if seen != (line.lon, line.lat):
            problems.add(f"demand[{i}].lon", "same-centre", "one place per centre name")
    problems.raise_if_any()


def _line_json(d: DemandLine) -> dict[str, Any]:
    return {
        "centre": d.centre,
        "lon": d.lon,
        "lat": d.lat,
        "specialty": d.specialty,
        "count": d.count,
    }


def create_mobilisation(
    session: Session,
    principal: Principal,
    *,
    name: str,
    demand: Sequence[DemandLine],
    max_share: float,
    now: datetime,
    idempotency_key: str | None = None,
) -> Mobilisation:
    """Plan a call-up (an exact MIP), record the assignments and notify each reservist."""
    if idempotency_key is not None:
        earlier = session.scalar(
            select(Mobilisation).where(Mobilisation.idempotency_key == idempotency_key)
        )
        if earlier is not None:
            same = (
                earlier.name == name.strip()
                and earlier.max_share == max_share
                and earlier.demand == [_line_json(d) for d in demand]
            )
            if not same:
                raise Conflict("this Idempotency-Key was used for a different mobilisation")
            return earlier
    problems = ProblemList()
    if not name.strip():
        problems.add("name", "required", "name the mobilisation")
    if not 0 < max_share <= 0.5:
        problems.add("max_share", "range", "a share of each hospital's staff in (0, 0.5]")
    problems.raise_if_any()
    _check_demand(demand)
    mobilisation = Mobilisation(
        name=name.strip(),
        status=MobilisationStatus.OPEN,
        max_share=max_share,
        demand=[_line_json(d) for d in demand],
        rounds=1,
        created_by=principal.username,
        created_at=now,
        idempotency_key=idempotency_key,
    )
    session.add(mobilisation)
    session.flush()
    _plan_round(session, mobilisation, round_=1, now=now)
    return mobilisation


def _plan_round(session: Session, mobilisation: Mobilisation, *, round_: int, now: datetime) -> int:
    """Fill what is still open: keep accepted and pending calls, never call a refuser again."""
    lines = [DemandLine(**d) for d in mobilisation.demand]
    centre_names = list(dict.fromkeys(line.centre for line in lines))
    where = {line.centre: (line.lon, line.lat) for line in lines}
    existing = session.execute(
        select(
            Assignment.reservist_id, Assignment.centre, Assignment.specialty, Assignment.status
        ).where(Assignment.mobilisation_id == mobilisation.id)
    ).all()
    called = {rid for rid, *_ in existing}
    held: dict[tuple[str, str], int] = defaultdict(int)
    for _, centre, spec, status in existing:
        if status != AssignmentStatus.REFUSED:
            held[(centre, spec)] += 1
    needs: list[Need] = []
    wanted: dict[tuple[str, str], int] = defaultdict(int)
    for line in lines:
        wanted[(line.centre, line.specialty)] += line.count
    for (centre, spec), count in wanted.items():
        open_posts = count - held[(centre, spec)]
        if open_posts > 0:
            needs.append(Need(centre_names.index(centre), spec, open_posts))
    if not needs:
        return 0
    # Staff already away on any open mobilisation count against their hospital's share.
    away: dict[int, int] = dict(
        session.execute(
            select(Reservist.hospital_id, func.count())
            .join(Assignment, Assignment.reservist_id == Reservist.id)
            .join(Mobilisation, Mobilisation.id == Assignment.mobilisation_id)
            .where(
                Mobilisation.status == MobilisationStatus.OPEN,
                Assignment.status != AssignmentStatus.REFUSED,
            )
            .group_by(Reservist.hospital_id)
        ).all()
    )
    busy = set(
        session.scalars(
            select(Assignment.reservist_id)
            .join(Mobilisation, Mobilisation.id == Assignment.mobilisation_id)
            .where(
                Mobilisation.status == MobilisationStatus.OPEN,
                Assignment.status != AssignmentStatus.REFUSED,
            )
        )
    )
    hospitals = {h.id: h for h in session.scalars(select(Hospital))}
    current = _current(session, now.date())
    specs = {n.specialty for n in needs}
    pool = [
        (rid, spec, hid)
        for rid, spec, hid in session.execute(
            select(Reservist.id, Reservist.specialty, Reservist.hospital_id)
            .where(Reservist.available.is_(True), Reservist.specialty.in_(specs))
            .order_by(Reservist.id)
        )
        if rid not in called and rid not in busy
    ]
    candidates = [
        Candidate(key=rid, specialty=spec, hospital=str(hid), trained=rid in current)
        for rid, spec, hid in pool
    ]
    distance = np.array(
        [
            [
                haversine_km(hospitals[hid].lon, hospitals[hid].lat, *where[centre])
                for centre in centre_names
            ]
            for _, _, hid in pool
        ],
        dtype=float,
    ).reshape(len(pool), len(centre_names))
    allowance = allowance_of(
        {str(h.id): h.staff_total for h in hospitals.values()},
        {str(h): n for h, n in away.items()},
        mobilisation.max_share,
    )
    plan = plan_mobilisation(candidates, needs, distance, allowance, time_limit=60.0)
    index = {rid: i for i, (rid, _, _) in enumerate(pool)}
    for rid, ci in plan.assignments:
        assignment = Assignment(
            mobilisation_id=mobilisation.id,
            reservist_id=rid,
            centre=centre_names[ci],
            specialty=pool[index[rid]][1],
            distance_km=round(float(distance[index[rid], ci]), 2),
            round=round_,
            status=AssignmentStatus.NOTIFIED,
            notified_at=now,
        )
        session.add(assignment)
        session.flush()
        record_event(
            session,
            "health.mobilisation.notified",
            {
                "mobilisation_id": mobilisation.id,
                "assignment_id": assignment.id,
                "reservist_id": rid,
                "centre": assignment.centre,
                "specialty": assignment.specialty,
                "round": round_,
            },
            now=now,
        )
    return len(plan.assignments)


def get_mobilisation(session: Session, mobilisation_id: int) -> Mobilisation:
    """One mobilisation by id."""
    mobilisation = session.get(Mobilisation, mobilisation_id)
    if mobilisation is None:
        raise NotFound(f"mobilisation {mobilisation_id} does not exist")
    return mobilisation


def list_mobilisations(session: Session, *, limit: int = 20) -> Sequence[Mobilisation]:
    """The latest mobilisations first."""
    return session.scalars(
        select(Mobilisation).order_by(Mobilisation.created_at.desc()).limit(limit)
    ).all()


def respond(
    session: Session,
    principal: Principal,
    *,
    assignment_id: int,
    accept: bool,
    now: datetime,
) -> Assignment:
    """Record a reservist's answer: the reservist themself, or a planner taking it by phone."""
    assignment = session.get(Assignment, assignment_id)
    if assignment is None:
        raise NotFound(f"assignment {assignment_id} does not exist")
    planner = Role.HEALTH_PLANNER in principal.roles
    if not planner:
        own = session.scalar(
            select(Reservist.citizen_id).where(Reservist.id == assignment.reservist_id)
        )
        if principal.citizen_id is None or own != principal.citizen_id:
            raise Forbidden("only the reservist called, or a health planner, answers a call")
    mobilisation = get_mobilisation(session, assignment.mobilisation_id)
    if mobilisation.status != MobilisationStatus.OPEN:
        raise Conflict(f"mobilisation {mobilisation.id} is {mobilisation.status}")
    status = AssignmentStatus.ACCEPTED if accept else AssignmentStatus.REFUSED
    if assignment.status == status:
        return assignment  # a retried answer
    if assignment.status != AssignmentStatus.NOTIFIED:
        raise Conflict(f"the call was already answered: {assignment.status}")
    assignment.status = status
    assignment.responded_at = now
    record_event(
        session,
        f"health.mobilisation.{status.value}",
        {"mobilisation_id": mobilisation.id, "assignment_id": assignment.id},
        now=now,
    )
    return assignment


def replan(session: Session, *, mobilisation_id: int, now: datetime) -> int:
    """Fill the posts left open by refusals; returns how many reservists were newly called."""
    mobilisation = get_mobilisation(session, mobilisation_id)
    if mobilisation.status != MobilisationStatus.OPEN:
        raise Conflict(f"mobilisation {mobilisation.id} is {mobilisation.status}")
    mobilisation.rounds += 1
    return _plan_round(session, mobilisation, round_=mobilisation.rounds, now=now)


def close_mobilisation(session: Session, *, mobilisation_id: int) -> Mobilisation:
    """Stand a mobilisation down; its reservists go back to their hospitals."""
    mobilisation = get_mobilisation(session, mobilisation_id)
    mobilisation.status = MobilisationStatus.CLOSED
    return mobilisation


def mobilisation_json(session: Session, mobilisation: Mobilisation) -> dict[str, Any]:
    """A mobilisation with its posts per centre and specialty and the answers so far."""
    rows = session.execute(
        select(Assignment.centre, Assignment.specialty, Assignment.status, func.count())
        .where(Assignment.mobilisation_id == mobilisation.id)
        .group_by(Assignment.centre, Assignment.specialty, Assignment.status)
    ).all()
    counts: dict[tuple[str, str], dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for centre, spec, status, n in rows:
        counts[(centre, spec)][status] += n
    lines = []
    for d in mobilisation.demand:
        c = counts[(d["centre"], d["specialty"])]
        held = c[AssignmentStatus.ACCEPTED] + c[AssignmentStatus.NOTIFIED]
        lines.append(
            {
                **d,
                "accepted": c[AssignmentStatus.ACCEPTED],
                "notified": c[AssignmentStatus.NOTIFIED],
                "refused": c[AssignmentStatus.REFUSED],
                "open": max(0, d["count"] - held),
            }
        )
    assignments = session.execute(
        select(
            Assignment.id,
            Assignment.reservist_id,
            Assignment.centre,
            Assignment.specialty,
            Assignment.distance_km,
            Assignment.round,
            Assignment.status,
        )
        .where(Assignment.mobilisation_id == mobilisation.id)
        .order_by(Assignment.id)
    ).all()
    return {
        "id": mobilisation.id,
        "name": mobilisation.name,
        "status": mobilisation.status,
        "max_share": mobilisation.max_share,
        "rounds": mobilisation.rounds,
        "created_by": mobilisation.created_by,
        "created_at": mobilisation.created_at.isoformat(),
        "lines": lines,
        "totals": {
            key: sum(line[key] for line in lines)
            for key in ("count", "accepted", "notified", "refused", "open")
        },
        "assignments": [
            {
                "id": a.id,
                "reservist_id": a.reservist_id,
                "centre": a.centre,
                "specialty": a.specialty,
                "distance_km": a.distance_km,
                "round": a.round,
                "status": a.status,
            }
            for a in assignments
        ],
    }
