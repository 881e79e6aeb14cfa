"""The reserve register: hospitals, reservists checked against their licences, readiness."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from twonets.core.auth import Principal
from twonets.core.errors import Conflict, Invalid, NotFound, ProblemList
from twonets.core.events import record_event
from twonets.core.ids import InvalidIdentifier, validate_id_number
from twonets.core.models import Citizen, District
from twonets.governance.service import ReadQuery, ReadResult, read
from twonets.health.models import (
    Hospital,
    Reservist,
    Specialty,
    Training,
    TrainingKind,
)
from twonets.health.service.common import (
    PURPOSE,
    QUALIFICATION_TYPE,
    RESERVIST_DATASET,
    TRAINING_VALIDITY,
    HealthContext,
    _specialty_choices,
)
from twonets.licences import service as licences

# Through the licence service (a domain may not import another's models); the ignore goes
# once licences.service lists it in __all__.
from twonets.licences.service import LicenceStatus


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


def district_names(session: Session, *, chinese: bool = False) -> dict[str, str]:
    """District code -> English name (or Chinese, for pages in Chinese), for figures and pages."""
    column = District.name if chinese else District.name_en
    return dict(session.execute(select(District.code, column)).all())


def readiness(session: Session, *, today: date) -> list[ReadinessRow]:
    """Readiness per specialty and district: reservists, available, trained and current."""
    current = _current(session, today)
    names = district_names(session)
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
