"""Use cases of public-health readiness: the reserve, mobilisations, alarms, lab results, centres.

Every rule of the domain lives here; ``api.py`` and the pages only parse and call. Each
function takes the caller's session (one unit of work) and the time; none commits. Reads of
reservists' personal fields go through ``governance.service.read`` with the purpose
``health.reserve-mobilisation``; the figures (readiness, mobilisation status, alerts) use the
public columns only.
"""

from __future__ import annotations

import math
import re
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from twonets.core.auth import Principal
from twonets.core.errors import Conflict, Forbidden, Invalid, NotFound, ProblemList
from twonets.core.events import record_event
from twonets.core.ids import InvalidIdentifier, validate_id_number
from twonets.core.models import Citizen, Department, District, Role
from twonets.governance.service import Governance, ReadQuery, ReadResult, read
from twonets.health import centres, warning
from twonets.health.mobilisation import (
    Candidate,
    Need,
    allowance_of,
    haversine_km,
    plan_mobilisation,
)
from twonets.health.models import (
    Alert,
    AlertKind,
    Assignment,
    AssignmentStatus,
    Hospital,
    LabSample,
    Mobilisation,
    MobilisationStatus,
    Reservist,
    Specialty,
    SyndromeCount,
    Training,
    TrainingKind,
)
from twonets.licences import service as licences
from twonets.licences.models import LicenceStatus

PURPOSE = "health.reserve-mobilisation"
RESERVIST_DATASET = "health.reservist"
QUALIFICATION_TYPE = "PQ"  # the licence type of professional qualifications
# How long each training counts as current.
TRAINING_VALIDITY = {
    TrainingKind.INFECTIOUS_DISEASE_TREATMENT: timedelta(days=730),
    TrainingKind.INFECTION_CONTROL: timedelta(days=365),
    TrainingKind.DRILL: timedelta(days=365),
}
# Class A and the class B pathogens managed as class A under the Law on the Prevention and
# Treatment of Infectious Diseases, plus the surveillance-priority respiratory pathogens.
NOTIFIABLE = frozenset(
    {
        "yersinia-pestis",
        "vibrio-cholerae",
        "sars-cov",
        "sars-cov-2",
        "mers-cov",
        "influenza-a-h5n1",
        "influenza-a-h7n9",
        "bacillus-anthracis",
        "poliovirus",
    }
)
NEGATIVE = "negative"
LAB_FUNCTION = "health-lab"
PATHOGEN = re.compile(r"[a-z0-9][a-z0-9-]{0,63}")
MAX_MOBILISATION_LINES = 200


@dataclass
class HealthContext:
    """What health's use cases need besides a session: governance and the notifiable list."""

    gov: Governance
    notifiable: frozenset[str] = NOTIFIABLE
    plan_cache: dict[tuple[Any, ...], dict[str, Any]] = field(default_factory=dict)


# --- hospitals and the reserve register -------------------------------------------------------


def create_hospital(
    session: Session,
    *,
    code: str,
    name: str,
    district_code: str,
    lon: float,
    lat: float,
    staff_by_specialty: Mapping[str, int],
    staff_total: int | None = None,
) -> Hospital:
    """Add a hospital with its clinical staff per specialty."""
    problems = ProblemList()
    if session.get(District, district_code) is None:
        problems.add("district_code", "exists", f"no district {district_code!r}")
    if not (-180 <= lon <= 180 and -90 <= lat <= 90):
        problems.add("lon", "range", "longitude and latitude must be WGS-84 degrees")
    for spec, count in staff_by_specialty.items():
        if spec not in Specialty.__members__.values():
            problems.add(f"staff_by_specialty.{spec}", "choice", _specialty_choices())
        if count < 0:
            problems.add(f"staff_by_specialty.{spec}", "minimum", "must be >= 0")
    total = sum(staff_by_specialty.values()) if staff_total is None else staff_total
    if total < sum(staff_by_specialty.values()):
        problems.add("staff_total", "minimum", "must be at least the sum over specialties")
    problems.raise_if_any()
    if session.scalar(select(Hospital.id).where(Hospital.code == code)) is not None:
        raise Conflict(f"hospital {code!r} already exists")
    hospital = Hospital(
        code=code,
        name=name,
        district_code=district_code,
        lon=lon,
        lat=lat,
        staff_total=total,
        staff_by_specialty=dict(staff_by_specialty),
    )
    session.add(hospital)
    session.flush()
    return hospital


def list_hospitals(session: Session) -> Sequence[Hospital]:
    """Every hospital, by code."""
    return session.scalars(select(Hospital).order_by(Hospital.code)).all()


def _specialty_choices() -> str:
    return "one of " + ", ".join(s.value for s in Specialty)


def _hospital(session: Session, code: str) -> Hospital:
    hospital = session.scalar(select(Hospital).where(Hospital.code == code))
    if hospital is None:
        raise Invalid.field("hospital_code", "exists", f"no hospital {code!r}")
    return hospital


def check_qualification(
    session: Session, *, licence_identifier: str, citizen_id: int, today: date
) -> None:
    """The licence must exist, be a professional qualification in force, and be this person's."""
    try:
        licence = licences.find_licence(session, licence_identifier)
    except NotFound:
        raise Invalid.field(
            "licence_identifier", "licence-exists", f"no licence {licence_identifier}"
        ) from None
    except Invalid as exc:
        raise Invalid.field("licence_identifier", "licence-identifier", exc.detail) from None
    if licence.type_code != QUALIFICATION_TYPE:
        raise Invalid.field(
            "licence_identifier",
            "professional-qualification",
            f"is a {licence.type_code} licence, not a professional qualification (PQ)",
        )
    if licence.status != LicenceStatus.ACTIVE:
        raise Invalid.field("licence_identifier", "in-force", f"the licence is {licence.status}")
    if licence.valid_from > today or (
        licence.valid_until is not None and licence.valid_until < today
    ):
        raise Invalid.field("licence_identifier", "in-force", "the licence is not valid today")
    if licence.citizen_id != citizen_id:
        raise Invalid.field("licence_identifier", "holder", "the licence belongs to someone else")


def register_reservist(
    session: Session,
    *,
    id_number: str,
    name: str,
    licence_identifier: str,
    specialty: str,
    hospital_code: str,
    available: bool = True,
    now: datetime,
) -> Reservist:
    """Enrol a clinician in the reserve after checking their qualification licence."""
    problems = ProblemList()
    normalised = ""
    try:
        normalised = validate_id_number(id_number, today=now.date())
    except InvalidIdentifier as exc:
        problems.add("id_number", "id-number", exc.reason)
    if not name.strip():
        problems.add("name", "required", "say the reservist's name")
    if specialty not in Specialty.__members__.values():
        problems.add("specialty", "choice", _specialty_choices())
    problems.raise_if_any()
    hospital = _hospital(session, hospital_code)
    citizen_id = session.scalar(select(Citizen.id).where(Citizen.id_number == normalised))
    if citizen_id is None:
        raise Invalid.field("id_number", "resident", "no resident with this ID number")
    if session.scalar(select(Reservist.id).where(Reservist.citizen_id == citizen_id)):
        raise Conflict("this person is already in the reserve")
    check_qualification(
        session, licence_identifier=licence_identifier, citizen_id=citizen_id, today=now.date()
    )
    reservist = Reservist(
        citizen_id=citizen_id,
        id_number=normalised,
        name=name.strip(),
        licence_identifier=licence_identifier.strip(),
        specialty=specialty,
        hospital_id=hospital.id,
        district_code=hospital.district_code,
        available=available,
        created_at=now,
    )
    session.add(reservist)
    session.flush()
    record_event(session, "health.reservist.registered", {"reservist_id": reservist.id}, now=now)
    return reservist


def _reservist_exists(session: Session, reservist_id: int) -> None:
    if session.scalar(select(Reservist.id).where(Reservist.id == reservist_id)) is None:
        raise NotFound(f"reservist {reservist_id} does not exist")


def record_training(
    session: Session,
    *,
    reservist_id: int,
    kind: str,
    completed_on: date,
    expires_on: date | None = None,
    today: date,
) -> Training:
    """Record a completed training; it expires after the kind's validity unless told."""
    if kind not in TrainingKind.__members__.values():
        raise Invalid.field("kind", "choice", "one of " + ", ".join(k.value for k in TrainingKind))
    if completed_on > today:
        raise Invalid.field("completed_on", "not-future", "a training cannot end in the future")
    until = expires_on or completed_on + TRAINING_VALIDITY[TrainingKind(kind)]
    if until <= completed_on:
        raise Invalid.field("expires_on", "after-completed", "should be after completed_on")
    _reservist_exists(session, reservist_id)
    training = Training(
        reservist_id=reservist_id, kind=kind, completed_on=completed_on, expires_on=until
    )
    session.add(training)
    session.flush()
    return training


def set_availability(session: Session, *, reservist_id: int, available: bool) -> None:
    """Mark a reservist available for call-up or not (leave, illness)."""
    reservist = session.get(Reservist, reservist_id)  # governance: availability flag only
    if reservist is None:
        raise NotFound(f"reservist {reservist_id} does not exist")
    reservist.available = available


def _current(session: Session, today: date) -> set[int]:
    """Reservists whose every kind of training is current today."""
    rows = session.execute(
        select(Training.reservist_id, Training.kind)
        .where(Training.expires_on >= today, Training.completed_on <= today)
        .distinct()
    ).all()
    kinds: dict[int, set[str]] = defaultdict(set)
    for rid, kind in rows:
        kinds[rid].add(kind)
    needed = {k.value for k in TrainingKind}
    return {rid for rid, have in kinds.items() if have >= needed}


@dataclass(frozen=True)
class ReadinessRow:
    """Reservists of one specialty in one district, and how many are trained and current."""

    specialty: str
    district_code: str
    district: str
    reservists: int
    available: int
    current: int  # available and every training current

    @property
    def share(self) -> float:
        """Trained-and-current share of the reservists (0 when there are none)."""
        return self.current / self.reservists if self.reservists else 0.0


def district_names(session: Session) -> dict[str, str]:
    """District code -> English name, for figures and pages."""
    return dict(session.execute(select(District.code, District.name_en)).all())


def readiness(session: Session, *, today: date) -> list[ReadinessRow]:
    """Readiness per specialty and district: reservists, available, trained and current."""
    current = _current(session, today)
    names = dict(session.execute(select(District.code, District.name_en)).all())
    counts: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0, 0])
    rows = session.execute(
        select(Reservist.id, Reservist.specialty, Reservist.district_code, Reservist.available)
    ).all()
    for rid, spec, district, available in rows:
        cell = counts[(spec, district)]
        cell[0] += 1
        if available:
            cell[1] += 1
            if rid in current:
                cell[2] += 1
    return [
        ReadinessRow(spec, district, names.get(district, district), *cell)
        for (spec, district), cell in sorted(counts.items())
    ]


def list_reservists(
    session: Session,
    ctx: HealthContext,
    principal: Principal,
    *,
    now: datetime,
    limit: int = 50,
    offset: int = 0,
    where: Mapping[str, Any] | None = None,
) -> ReadResult:
    """Reservists' records through the one door, for the reserve-mobilisation purpose."""
    return read(
        session,
        ctx.gov,
        principal,
        purpose=PURPOSE,
        dataset=RESERVIST_DATASET,
        query=ReadQuery(where=dict(where or {}), limit=limit, offset=offset),
        now=now,
    )


# --- mobilisation ------------------------------------------------------------------------------


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
        demand=[
            {
                "centre": d.centre,
                "lon": d.lon,
                "lat": d.lat,
                "specialty": d.specialty,
                "count": d.count,
            }
            for d in demand
        ],
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
    planner = bool(principal.roles & {Role.HEALTH_PLANNER, Role.ADMIN})
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


# --- early warning over stored counts --------------------------------------------------------


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


# --- lab samples and pathogen alerts ---------------------------------------------------------


@dataclass(frozen=True)
class LabResult:
    """A lab's result for one sample."""

    sample_id: str
    patient_pseudonym: str
    panel: str
    result: str
    collected_at: datetime
    received_at: datetime
    reported_at: datetime
    district_code: str | None = None


def _looks_like_id_number(value: str) -> bool:
    compact = value.strip().upper()
    return bool(re.fullmatch(r"\d{17}[\dX]", compact) or re.fullmatch(r"\d{15}", compact))


def submit_lab_result(
    session: Session,
    ctx: HealthContext,
    principal: Principal,
    result: LabResult,
    *,
    now: datetime,
) -> tuple[LabSample, Alert | None]:
    """Store a lab result; a positive for a notifiable or never-seen pathogen raises an alert."""
    if principal.department_function != LAB_FUNCTION or principal.department_code is None:
        raise Forbidden("only staff of a laboratory department submit lab results")
    problems = ProblemList()
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}", result.sample_id):
        problems.add("sample_id", "sample-id", "1-64 letters, digits, '.', '_' or '-'")
    if _looks_like_id_number(result.patient_pseudonym):
        problems.add(
            "patient_pseudonym", "pseudonym", "looks like an ID number; send the lab's pseudonym"
        )
    elif not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]{5,63}", result.patient_pseudonym):
        problems.add("patient_pseudonym", "pseudonym", "6-64 letters, digits, '.', '_' or '-'")
    for name in ("panel", "result"):
        if not PATHOGEN.fullmatch(getattr(result, name)):
            problems.add(name, "name", "lower-case letters, digits and dashes")
    if result.received_at < result.collected_at:
        problems.add("received_at", "after-collected", "a sample is received after collection")
    if result.reported_at < result.received_at:
        problems.add("reported_at", "after-received", "a result is reported after receipt")
    if result.reported_at > now + timedelta(minutes=5):
        problems.add("reported_at", "not-future", "cannot be reported in the future")
    if result.district_code is not None and session.get(District, result.district_code) is None:
        problems.add("district_code", "exists", f"no district {result.district_code!r}")
    problems.raise_if_any()
    existing = session.scalar(select(LabSample.id).where(LabSample.sample_id == result.sample_id))
    if existing is not None:
        raise Conflict(f"sample {result.sample_id} was already reported")
    seen_before = (
        session.scalar(select(LabSample.id).where(LabSample.result == result.result).limit(1))
        is not None
    )
    sample = LabSample(
        sample_id=result.sample_id,
        patient_pseudonym=result.patient_pseudonym,
        lab_department_code=principal.department_code,
        district_code=result.district_code,
        panel=result.panel,
        result=result.result,
        collected_at=result.collected_at,
        received_at=result.received_at,
        reported_at=result.reported_at,
    )
    session.add(sample)
    session.flush()
    alert = None
    if result.result != NEGATIVE and (result.result in ctx.notifiable or not seen_before):
        method = "notifiable" if result.result in ctx.notifiable else "new"
        alert = _store_alert(
            session,
            Alert(
                kind=AlertKind.PATHOGEN,
                district_code=result.district_code,
                signal=result.result,
                day=result.reported_at.date(),
                method=method,
                observed=1.0,
                threshold=None,
                sample_id=result.sample_id,
                lab_department_code=principal.department_code,
                detail=(
                    f"{result.result} found in sample {result.sample_id} ({result.panel} panel)"
                    + (" — notifiable" if method == "notifiable" else " — never seen before")
                ),
                raised_at=now,
            ),
            now,
        )
    return sample, alert


@dataclass(frozen=True)
class Turnaround:
    """How fast one lab reports: hours from collection (and from receipt) to result."""

    lab_department_code: str
    lab: str
    samples: int
    positives: int
    median_hours: float
    p90_hours: float
    median_lab_hours: float  # received -> reported


def turnaround(session: Session, *, since: datetime) -> list[Turnaround]:
    """Median and 90th-percentile turnaround per lab over samples reported since ``since``."""
    rows = session.execute(
        select(
            LabSample.lab_department_code,
            LabSample.collected_at,
            LabSample.received_at,
            LabSample.reported_at,
            LabSample.result,
        ).where(LabSample.reported_at >= since)
    ).all()
    names = dict(session.execute(select(Department.code, Department.name_en)).all())
    per: dict[str, list[tuple[float, float, bool]]] = defaultdict(list)
    for lab, collected, received, reported, result in rows:
        per[lab].append(
            (
                (reported - collected).total_seconds() / 3600,
                (reported - received).total_seconds() / 3600,
                result != NEGATIVE,
            )
        )
    out = []
    for lab, items in sorted(per.items()):
        total = np.array([t for t, _, _ in items])
        inside = np.array([t for _, t, _ in items])
        out.append(
            Turnaround(
                lab_department_code=lab,
                lab=names.get(lab, lab),
                samples=len(items),
                positives=sum(1 for *_, p in items if p),
                median_hours=float(np.median(total)),
                p90_hours=float(np.percentile(total, 90)),
                median_lab_hours=float(np.median(inside)),
            )
        )
    return out


# --- centres -----------------------------------------------------------------------------------


def centre_plan(
    ctx: HealthContext,
    *,
    patients: int = 100_000,
    peak_share: float = 1.0,
    centres_count: int = 10,
    beds_min: int = 3_000,
    beds_max: int = 5_000,
    max_km: float | None = None,
) -> dict[str, Any]:
    """Chosen centres for a nationwide scenario (memoised per parameters: the data is fixed)."""
    key = (patients, peak_share, centres_count, beds_min, beds_max, max_km)
    if key not in ctx.plan_cache:
        plan = centres.plan_centres(
            patients=patients,
            peak_share=peak_share,
            centres=centres_count,
            beds_min=beds_min,
            beds_max=beds_max,
            max_km=max_km,
        )
        ctx.plan_cache[key] = centres.plan_json(plan)
    return ctx.plan_cache[key]
