"""Use cases of group rentals: import, detection into leads, the housing department's work.

Authority: only staff of a housing department (function ``housing``) import readings, run
detection and see or decide leads; a district's housing department only its district's.
Households' figures and addresses reach them through governance (``governance.service.read``
under the purpose ``housing.group-rental``, each read in the ledger), never names: the tables
hold none. Detection reads the readings inside the platform (nobody sees them there) and keeps
only scores and reasons in ``rental_lead``.

The loop: a lead the housing department confirms for inspection becomes an operations case
(category E0550) through the case loop's intake; the case's outcome comes back as the lead's
label: closed after verification is a group rental found (1), not filed is none (0).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import Session

from twonets.core import geo
from twonets.core.auth import Principal, principal_of
from twonets.core.errors import Conflict, Forbidden, Invalid, NotFound
from twonets.core.events import record_event
from twonets.core.models import Account, Role
from twonets.governance.service import Governance, ReadQuery, read
from twonets.operations.cases import service as cases
from twonets.operations.cases.schemas import IntakeReport, SourceKind
from twonets.operations.cases.states import CaseState, get_case
from twonets.operations.rentals import data, detection, service_kept, service_loop
from twonets.operations.rentals.models import (
    HOUSEHOLD_DATASET,
    Household,
    Lead,
    Reading,
)

PURPOSE = "housing.group-rental"
HOUSING_FUNCTION = "housing"
CATEGORY = "E0550"
# What the housing department reads of a household (no names: the tables hold none).
HOUSEHOLD_FIELDS = (
    "household_id",
    "building_id",
    "district_code",
    "area_m2",
    "rooms",
    "registered_occupants",
    "use",
    "address",
)


class LeadState:
    """Where a lead is: found, set aside, sent for inspection, and what inspection found."""

    OPEN = "open"
    DISMISSED = "dismissed"
    REFERRED = "referred"
    CONFIRMED = "confirmed"
    NOT_CONFIRMED = "not-confirmed"


# --- authority ---------------------------------------------------------------------------------


def check_housing(caller: Principal) -> None:
    """Only staff of a housing department work on group rentals."""
    if caller.department_function != HOUSING_FUNCTION or Role.STAFF not in caller.roles:
        raise Forbidden("group-rental leads are the housing department's staff's work")


def check_district(caller: Principal, district_code: str) -> None:
    """A district's housing department works on its own district only."""
    check_housing(caller)
    if caller.district_code is not None and caller.district_code != district_code:
        raise Forbidden(
            f"district {district_code} is not this department's ({caller.district_code})"
        )


# --- import ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Imported:
    """How many rows an import added or replaced."""

    households: int
    readings: int


def import_rows(
    session: Session,
    caller: Principal,
    homes: Sequence[data.HouseholdRow],
    readings: Sequence[data.ReadingRow],
    *,
    now: datetime,
) -> Imported:
    """Add or replace households and readings (one month of a household replaces its last).

    Everything is checked before anything is written, in the caller's transaction.
    """
    check_housing(caller)
    for home in homes:
        check_district(caller, home.district)
    known = dict(session.execute(select(Household.household_id, Household.id)).all())
    given = {h.household_id for h in homes}
    unknown = sorted({r.household_id for r in readings} - given - set(known))
    if unknown:
        raise Invalid.field("household_id", "known", f"unknown household {unknown[0]!r}")
    for home in homes:
        row = (
            session.get(Household, known[home.household_id]) if home.household_id in known else None
        )  # governance: the import writes rows it was given; nothing is shown
        if row is None:
            row = Household(household_id=home.household_id)
            session.add(row)
        row.building_id = home.building_id
        row.district_code = home.district
        row.area_m2 = home.area_m2
        row.rooms = home.rooms
        row.registered_occupants = home.registered_occupants
        row.use = home.use
        row.address = home.address
        row.lon, row.lat = home.lon, home.lat
        row.street_code = home.street
    session.flush()
    pks = dict(session.execute(select(Household.household_id, Household.id)).all())
    districts = dict(session.execute(select(Household.id, Household.district_code)).all())
    for r in readings:
        check_district(caller, districts[pks[r.household_id]])
    existing = {
        (pk, month): rid
        for rid, pk, month in session.execute(
            select(Reading.id, Reading.household_pk, Reading.month)
        )  # governance: the import matches the months it was given; nothing is shown
    }
    for r in readings:
        pk = pks[r.household_id]
        reading = (
            session.get(
                Reading, existing[(pk, r.month)]
            )  # governance: the import replaces a month it was given
            if (pk, r.month) in existing
            else None
        )
        if reading is None:
            reading = Reading(household_pk=pk, month=r.month)
            session.add(reading)
        reading.water_m3 = r.water_m3
        reading.electricity_kwh = r.electricity_kwh
        reading.gas_m3 = r.gas_m3
        reading.night_share = r.night_share
        reading.weekend_share = r.weekend_share
        reading.peak_valley = r.peak_valley
    session.flush()
    record_event(
        session,
        "ops.rentals.imported",
        {"by": caller.username, "households": len(homes), "readings": len(readings)},
        now=now,
    )
    return Imported(len(homes), len(readings))


Upload = tuple[str, bytes]  # a file's name and content


def import_uploads(
    session: Session,
    caller: Principal,
    *,
    households: Upload | None,
    readings: Upload | None,
    now: datetime,
) -> Imported:
    """Import files (CSV or Parquet); a broken row is a ``FileProblem`` and nothing is written."""
    check_housing(caller)
    homes: list[data.HouseholdRow] = []
    if households is not None:
        columns, records = data.records_of(*households)
        homes = data.parse_households(columns, records, file=households[0])
    rows: list[data.ReadingRow] = []
    if readings is not None:
        known = {h.household_id for h in homes}
        known |= set(session.scalars(select(Household.household_id)))
        columns, records = data.records_of(*readings)
        rows = data.parse_readings(columns, records, file=readings[0], known=known)
    return import_rows(session, caller, homes, rows, now=now)


def import_files(
    session: Session,
    caller: Principal,
    *,
    households: Path | None,
    readings: Path | None,
    now: datetime,
) -> Imported:
    """Import files from disk, as :func:`import_uploads`."""
    for path in (households, readings):
        if path is not None and not path.is_file():
            raise data.FileProblem(str(path), None, None, "no such file")
    return import_uploads(
        session,
        caller,
        households=(str(households), households.read_bytes()) if households else None,
        readings=(str(readings), readings.read_bytes()) if readings else None,
        now=now,
    )


# --- detection ---------------------------------------------------------------------------------


def _stored(
    session: Session, district: str | None
) -> tuple[list[data.HouseholdRow], list[data.ReadingRow], dict[str, int]]:
    """Households and readings as detection reads them (the district's peers only if given)."""
    where = service_kept.scope(district)
    homes = service_kept.stored_households(session, where)
    readings = service_kept.stored_readings(session, where)
    return (
        [
            data.HouseholdRow(
                h.household_id,
                h.building_id,
                h.district_code,
                h.area_m2,
                h.rooms,
                h.registered_occupants,
                h.use,
            )
            for h in homes
        ],
        [
            data.ReadingRow(
                r.household_id,
                r.month,
                r.water_m3,
                r.electricity_kwh,
                r.gas_m3,
                r.night_share,
                r.weekend_share,
                r.peak_valley,
            )
            for r in readings
        ],
        {h.household_id: h.id for h in homes},
    )


def detect_leads(session: Session, caller: Principal, *, now: datetime) -> list[Lead]:
    """Score the stored households (the caller's district's, for a district department).

    A lead is kept per household and period (the last month scored); scoring again updates
    an open lead's score and reasons and leaves decided ones as they are. Each district's
    month is computed once and kept (``service_kept``): only new or changed months are.
    """
    check_housing(caller)
    # The months without kept figures (or whose readings changed since) are computed and
    # kept; the features are then sums and means over every month's kept figures.
    service_kept.refresh(session, caller.district_code, now=now)
    table = service_kept.features(session, caller.district_code)
    thresholds = service_loop.thresholds_for(session, caller.district_code)
    found = detection.rank(table, thresholds=thresholds) if table.num_rows else []
    where = (
        [] if caller.district_code is None else [Household.district_code == caller.district_code]
    )
    pks = dict(session.execute(select(Household.household_id, Household.id).where(*where)).all())
    existing = {
        (lead.household_pk, lead.period): lead
        for lead in session.scalars(select(Lead).where(Lead.household_pk.in_(list(pks.values()))))
    }
    out: list[Lead] = []
    for item in found:
        pk = pks[item.household_id]
        lead = existing.get((pk, item.period))
        if lead is None:
            lead = Lead(
                household_pk=pk,
                district_code=item.district,
                period=item.period,
                state=LeadState.OPEN,
                found_at=now,
            )
            session.add(lead)
        if lead.state == LeadState.OPEN:
            lead.score = item.score
            lead.reasons = item.reasons
            lead.reason_parts = [[template, values] for template, values in item.parts]
        out.append(lead)
    session.flush()
    record_event(
        session, "ops.rentals.detected", {"by": caller.username, "leads": len(out)}, now=now
    )
    return out


# --- the housing department's work -------------------------------------------------------------


@dataclass(frozen=True)
class LeadView:
    """A lead as the housing department sees it: score, reasons, and the household's figures."""

    id: int
    score: float
    reasons: str
    reason_parts: list[Any]
    state: str
    label: int | None
    period: str
    district_code: str
    case_id: int | None
    household: dict[str, Any]


def list_leads(
    session: Session,
    gov: Governance,
    caller: Principal,
    *,
    now: datetime,
    state: str | None = None,
    limit: int = 50,
) -> list[LeadView]:
    """The caller's leads, best first; households read through governance (in the ledger)."""
    check_housing(caller)
    if not 1 <= limit <= 500:
        raise Invalid.field("limit", "range", "should be between 1 and 500")
    where = []
    if caller.district_code is not None:
        where.append(Lead.district_code == caller.district_code)
    if state is not None:
        where.append(Lead.state == state)
    leads = session.scalars(
        select(Lead).where(*where).order_by(Lead.score.desc(), Lead.id).limit(limit)
    ).all()
    if not leads:
        return []
    result = read(
        session,
        gov,
        caller,
        purpose=PURPOSE,
        dataset=HOUSEHOLD_DATASET,
        query=ReadQuery(
            fields=HOUSEHOLD_FIELDS,
            subject_ids=[lead.household_pk for lead in leads],
            limit=len(leads),
        ),
        now=now,
    )
    homes = {
        row["subject_id"]: {k: v for k, v in row.items() if k != "subject_id"}
        for row in result.rows
    }
    return [
        LeadView(
            id=lead.id,
            score=lead.score,
            reasons=lead.reasons,
            reason_parts=lead.reason_parts,
            state=lead.state,
            label=lead.label,
            period=lead.period,
            district_code=lead.district_code,
            case_id=lead.case_id,
            household=homes.get(lead.household_pk, {}),
        )
        for lead in leads
    ]


def _lead(session: Session, caller: Principal, lead_id: int) -> Lead:
    check_housing(caller)
    lead = session.get(Lead, lead_id)
    if lead is None:
        raise NotFound(f"no lead {lead_id}")
    check_district(caller, lead.district_code)
    return lead


def _place(session: Session, lead: Lead) -> tuple[float, float, str]:
    """The building's point where known, else a point inside the district; and its label."""
    lon, lat, building = session.execute(
        select(Household.lon, Household.lat, Household.building_id).where(
            Household.id == lead.household_pk
        )
    ).one()
    if lon is None or lat is None:
        point = geo.district_boundary(lead.district_code).representative_point()
        lon, lat = point.x, point.y
    return float(lon), float(lat), str(building)


def refer_lead(
    session: Session, caller: Principal, lead_id: int, *, now: datetime, note: str | None = None
) -> Lead:
    """Confirm a lead for inspection: it becomes a case of the operations centre (E0550)."""
    lead = _lead(session, caller, lead_id)
    if lead.state != LeadState.OPEN:
        raise Conflict(f"lead {lead_id} is {lead.state}: only an open lead is referred")
    service_loop.check_cap(session, lead.household_pk, now=now)
    lon, lat, building = _place(session, lead)
    case = cases.intake(
        session,
        IntakeReport(
            source_kind=SourceKind.DETECTOR,
            source_ref=f"rentals/lead/{lead.id}",
            category=CATEGORY,
            description=f"疑似群租 Suspected group rental: {lead.reasons}"[:2000],
            lon=lon,
            lat=lat,
            address=f"building {building}",
        ),
        now=now,
        reporter=caller,
    )
    lead.state = LeadState.REFERRED
    lead.case_id = case.merged_into_id or case.id
    lead.decided_at = now
    lead.decided_by = caller.username
    lead.note = (note or "").strip() or None
    record_event(session, "ops.rentals.referred", {"lead": lead.id, "case": case.number}, now=now)
    return lead


def dismiss_lead(
    session: Session, caller: Principal, lead_id: int, *, now: datetime, reason: str
) -> Lead:
    """Set a lead aside without inspection (a reason is required; no label is learnt)."""
    lead = _lead(session, caller, lead_id)
    if lead.state != LeadState.OPEN:
        raise Conflict(f"lead {lead_id} is {lead.state}: only an open lead is dismissed")
    if not reason.strip():
        raise Invalid.field("reason", "required", "say why the lead is set aside")
    lead.state = LeadState.DISMISSED
    lead.decided_at = now
    lead.decided_by = caller.username
    lead.note = reason.strip()
    return lead


def record_outcomes(session: Session, *, now: datetime) -> int:
    """Label referred leads from their cases: closed is a group rental (1), rejected none (0).

    Returns how many leads learnt their label. Runs from the app's clock or a command.
    """
    changed = 0
    for lead in session.scalars(select(Lead).where(Lead.state == LeadState.REFERRED)):
        assert lead.case_id is not None
        state = get_case(session, lead.case_id).state
        if state == CaseState.CLOSED:
            lead.state, lead.label = LeadState.CONFIRMED, 1
        elif state == CaseState.REJECTED:
            lead.state, lead.label = LeadState.NOT_CONFIRMED, 0
        else:
            continue
        lead.decided_at = now
        changed += 1
        record_event(
            session, "ops.rentals.outcome", {"lead": lead.id, "label": lead.label}, now=now
        )
    return changed


@dataclass(frozen=True)
class Precision:
    """Inspected leads and how many were group rentals, per district."""

    district_code: str
    inspected: int
    confirmed: int

    @property
    def precision(self) -> float:
        """Confirmed over inspected (0 when none inspected)."""
        return self.confirmed / self.inspected if self.inspected else 0.0


def precision_by_district(session: Session, caller: Principal) -> list[Precision]:
    """Precision of inspected leads per district (the caller's district only, for a district)."""
    check_housing(caller)
    where: list[ColumnElement[bool]] = [Lead.label.is_not(None)]
    if caller.district_code is not None:
        where.append(Lead.district_code == caller.district_code)
    counts: dict[str, list[int]] = {}
    for district, label in session.execute(select(Lead.district_code, Lead.label).where(*where)):
        seen = counts.setdefault(district, [0, 0])
        seen[0] += 1
        seen[1] += int(label == 1)
    return [Precision(d, n, c) for d, (n, c) in sorted(counts.items())]


def case_number(session: Session, lead: Lead) -> str | None:
    """The number of the case a referred lead became."""
    return get_case(session, lead.case_id).number if lead.case_id is not None else None


def acting_staff(session: Session, username: str) -> Principal:
    """The staff account a command acts as (``--as``), for the same checks as the API."""
    account = session.scalar(
        select(Account).where(Account.username == username)  # governance: a staff login
    )
    if account is None or not account.active:
        raise NotFound(f"no active account {username!r}")
    return principal_of(account)
