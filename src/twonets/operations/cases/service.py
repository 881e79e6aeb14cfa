"""The operations centre's use cases: elements, intake, the closed loop of cases, figures.

A case runs intake → filing (立案) → dispatch (派遣) → handling (处置) → feedback (反馈) →
verification (核查) → closure (结案), and may be evaluated after closure. A failed
verification sends it back to the handling department (返工, counted as rework). Every
transition is checked against the case's state, written to its history and announced as an
event ``ops.case.<action>``. Time limits are working hours from dispatch to feedback.
"""

from __future__ import annotations

import hashlib
import json
import math
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from twonets.core import geo, idempotency
from twonets.core.auth import Principal
from twonets.core.errors import Conflict, Forbidden, Invalid
from twonets.core.events import record_event
from twonets.core.models import Department, DepartmentLevel, Region, Role
from twonets.operations.cases import catalogue, elements, queries, worktime
from twonets.operations.cases import photos as photos_mod
from twonets.operations.cases.elements import Urgency
from twonets.operations.cases.models import (
    Case,
    CasePhoto,
    CaseReport,
    CaseStep,
    Category,
)
from twonets.operations.cases.schemas import IntakeReport as IntakeReport  # for other domains
from twonets.operations.cases.schemas import SourceKind as SourceKind  # for other domains
from twonets.operations.cases.states import (
    CLOCK_STATES,
    OPEN_STATES,
    CaseState,
    get_case,
)

# action -> states it may start from
TRANSITIONS: dict[str, frozenset[CaseState]] = {
    "file": frozenset({CaseState.REPORTED}),
    "reject": frozenset({CaseState.REPORTED}),
    "dispatch": frozenset({CaseState.FILED}),
    "accept": frozenset({CaseState.DISPATCHED}),
    "feedback": frozenset({CaseState.DISPATCHED, CaseState.HANDLING}),
    "verify": frozenset({CaseState.HANDLED}),
    "close": frozenset({CaseState.VERIFIED}),
    "evaluate": frozenset({CaseState.CLOSED}),
}

# Reports may be a little ahead of the server's clock (a device's clock drifts).
CLOCK_SKEW = timedelta(minutes=5)


@dataclass(frozen=True)
class Rules:
    """Tunable rules of the centre: the duplicate check's radius and window."""

    duplicate_radius_m: float = 50.0
    duplicate_hours: float = 24.0


DEFAULT_RULES = Rules()


class IllegalTransition(Conflict):
    """The case is not in a state the action may start from."""

    slug = "illegal-transition"
    title = "Illegal case transition"


# --- intake --------------------------------------------------------------------------------


def _step(
    session: Session,
    case_row: Case,
    *,
    action: str,
    to_state: CaseState,
    now: datetime,
    actor: Principal | None = None,
    note: str | None = None,
    from_state: str | None = None,
    **details: Any,
) -> None:
    previous = case_row.state if from_state is None else from_state
    session.add(
        CaseStep(
            case_id=case_row.id,
            at=now,
            action=action,
            from_state=previous,
            to_state=to_state.value,
            actor_account_id=actor.account_id if actor else None,
            actor_name=actor.display_name if actor else None,
            note=note,
            details=details,
        )
    )
    case_row.state = to_state.value
    case_row.updated_at = now
    record_event(
        session,
        f"ops.case.{action.replace('_', '-')}",
        {
            "case": case_row.number,
            "category": case_row.category_code,
            "district": case_row.district_code,
            "from": previous,
            "to": to_state.value,
            **details,
        },
        now=now,
    )


def find_duplicate(
    session: Session,
    *,
    category: str,
    lon: float,
    lat: float,
    reported_at: datetime,
    rules: Rules = DEFAULT_RULES,
) -> Case | None:
    """An open case of the same minor category within the radius and window, nearest first."""
    dlat = rules.duplicate_radius_m / 111_320.0
    dlon = dlat / max(math.cos(math.radians(lat)), 0.01)
    window = timedelta(hours=rules.duplicate_hours)
    candidates = session.scalars(
        select(Case).where(
            Case.category_code == category,
            Case.state.in_([s.value for s in OPEN_STATES]),
            Case.lat.between(lat - dlat, lat + dlat),
            Case.lon.between(lon - dlon, lon + dlon),
            Case.reported_at >= reported_at - window,
            Case.reported_at <= reported_at + window,
        )
    ).all()
    near = [
        (geo.haversine_m(lon, lat, c.lon, c.lat), c.id, c)
        for c in candidates
        if geo.haversine_m(lon, lat, c.lon, c.lat) <= rules.duplicate_radius_m
    ]
    return min(near, key=lambda t: (t[0], t[1]))[2] if near else None


def intake(
    session: Session,
    report: IntakeReport,
    *,
    now: datetime,
    reporter: Principal | None = None,
    rules: Rules = DEFAULT_RULES,
) -> Case:
    """Take in a problem; a duplicate of an open case is merged into it and counted there.

    Reports from detectors, devices and other departments' alarms are filed at once (the
    data found them); patrol and citizen reports wait for an operator to file them.
    """
    category = catalogue.get_category(session, report.category)
    lon, lat, district = catalogue.place(report.lon, report.lat, report.crs)
    reported_at = report.reported_at or now
    if reported_at > now + CLOCK_SKEW:
        raise Invalid.field("reported_at", "not-future", "lies in the future")
    if report.component_identifier is not None:
        ident = elements.parse_identifier(report.component_identifier, field="component_identifier")
        if ident.category != category.code:
            raise Invalid.field(
                "component_identifier",
                "same-category",
                f"is a {ident.category} component, the report says {category.code}",
            )
    citizen_id = reporter.citizen_id if reporter is not None else None
    if report.source_kind is SourceKind.CITIZEN and citizen_id is None:
        raise Invalid.field(
            "source_kind", "citizen", "citizen reports come from a resident's login"
        )
    # Another department's alarms are distinct signals by construction (it deduplicates its
    # own); everything else is checked for a duplicate by place, kind and time.
    duplicate = (
        None
        if report.source_kind is SourceKind.ALARM
        else find_duplicate(
            session, category=category.code, lon=lon, lat=lat, reported_at=reported_at, rules=rules
        )
    )
    row = Case(
        number=f"pending-{uuid.uuid4().hex[:20]}",  # the id decides the number
        category_code=category.code,
        component_identifier=report.component_identifier,
        district_code=district,
        lon=lon,
        lat=lat,
        address=(report.address or "").strip() or None,
        description=report.description.strip(),
        urgency=report.urgency.value,
        source_kind=report.source_kind.value,
        source_ref=report.source_ref,
        state=CaseState.REPORTED.value,
        reported_at=reported_at,
        report_count=1,
        updated_at=now,
    )
    session.add(row)
    session.flush()
    local = reported_at.astimezone(worktime.SHANGHAI)
    row.number = f"{local:%Y%m%d}{district[-4:]}{row.id:06d}"
    session.add(
        CaseReport(
            case_id=row.id,
            source_kind=report.source_kind.value,
            source_ref=report.source_ref,
            reporter_citizen_id=citizen_id,
            lon=lon,
            lat=lat,
            description=row.description,
            reported_at=reported_at,
        )
    )
    _step(
        session,
        row,
        action="report",
        to_state=CaseState.REPORTED,
        now=now,
        # Who reported is personal when a resident did: it stays in the report (a dataset
        # read through governance), not in the history every operator reads.
        actor=None if citizen_id is not None else reporter,
        from_state="",
        source=report.source_kind.value,
    )
    if duplicate is not None:
        row.merged_into_id = duplicate.id
        duplicate.report_count += 1
        duplicate.updated_at = now
        _step(
            session,
            row,
            action="merge",
            to_state=CaseState.MERGED,
            now=now,
            note=f"duplicate of {duplicate.number}",
            into=duplicate.number,
        )
        return row
    if report.source_kind in {SourceKind.DETECTOR, SourceKind.DEVICE, SourceKind.ALARM}:
        row.filed_at = now
        _step(
            session,
            row,
            action="file",
            to_state=CaseState.FILED,
            now=now,
            note="filed on intake: found by data",
        )
    return row


# --- the loop ------------------------------------------------------------------------------


def _check(case_row: Case, action: str) -> None:
    allowed = TRANSITIONS[action]
    if CaseState(case_row.state) not in allowed:
        names = ", ".join(sorted(s.value for s in allowed))
        raise IllegalTransition(
            f"case {case_row.number} is {case_row.state}: '{action}' needs state {names}",
            extra={
                "state": case_row.state,
                "action": action,
                "rule": f"{action} needs state {names}",
                "allowed_from": sorted(s.value for s in allowed),
            },
        )


def file_case(
    session: Session, caller: Principal, case_id: int, *, now: datetime, note: str | None = None
) -> Case:
    """立案: accept a report as a case of the city."""
    caller.require(Role.OPERATOR)
    row = get_case(session, case_id)
    _check(row, "file")
    row.filed_at = now
    _step(session, row, action="file", to_state=CaseState.FILED, now=now, actor=caller, note=note)
    return row


def reject_case(
    session: Session, caller: Principal, case_id: int, *, now: datetime, note: str | None
) -> Case:
    """不予立案: the report is not a case for the city (a reason is required)."""
    caller.require(Role.OPERATOR)
    if not note or not note.strip():
        raise Invalid.field("note", "required", "say why the report is not filed")
    row = get_case(session, case_id)
    _check(row, "reject")
    _step(
        session, row, action="reject", to_state=CaseState.REJECTED, now=now, actor=caller, note=note
    )
    return row


def responsible_department(session: Session, case_row: Case, category: Category) -> Department:
    """The dispatch rule: the district's department of the category's function, else the
    city's, else the district's operations centre."""
    function = category.department_function
    found = (
        session.scalar(
            select(Department)
            .where(
                Department.function == function, Department.district_code == case_row.district_code
            )
            .order_by(Department.code)
            .limit(1)
        )
        or session.scalar(
            select(Department)
            .where(
                Department.function == function,
                Department.level == DepartmentLevel.CITY.value,
                Department.region_code.in_(select(Region.code).where(Region.home.is_(True))),
            )
            .order_by(Department.code)
            .limit(1)
        )
        or session.scalar(
            select(Department)
            .where(
                Department.function == "operations",
                Department.district_code == case_row.district_code,
            )
            .limit(1)
        )
    )
    if found is None:
        raise Conflict(
            f"no department of function {function!r} in district {case_row.district_code} "
            "or the city, and no district operations centre: name one",
            extra={"field": "department_code", "rule": "dispatch-rule"},
        )
    return found


def _region_of(session: Session, caller: Principal) -> str | None:
    """The caller's region (the home region's for an account without a department)."""
    return caller.region_code or session.scalar(select(Region.code).where(Region.home.is_(True)))


def dispatch_departments(session: Session, caller: Principal) -> list[Department]:
    """The departments an operator may dispatch to: those of the operator's own region (the
    home region's for an account without one), city level first."""
    caller.require(Role.OPERATOR)
    region = _region_of(session, caller)
    return list(
        session.scalars(
            select(Department)
            .where(Department.region_code == region)
            .order_by(Department.level, Department.code)
        )
    )


def _deadline(session: Session, row: Case, category: Category, now: datetime) -> datetime:
    hours = float(category.limits_hours[row.urgency])
    return worktime.add_working_hours(now, hours, catalogue.calendar(session))


def dispatch_case(
    session: Session,
    caller: Principal,
    case_id: int,
    *,
    now: datetime,
    department_code: str | None = None,
    note: str | None = None,
) -> Case:
    """派遣: send a filed case to the responsible department; its time limit starts."""
    caller.require(Role.OPERATOR)
    row = get_case(session, case_id)
    _check(row, "dispatch")
    category = catalogue.get_category(session, row.category_code)
    if department_code:
        department = session.scalar(select(Department).where(Department.code == department_code))
        if department is None:
            raise Invalid.field("department_code", "exists", f"no department {department_code!r}")
        if department.region_code != _region_of(session, caller):
            raise Invalid.field(
                "department_code",
                "own-region",
                f"{department.name} is a department of another region",
            )
    else:
        department = responsible_department(session, row, category)
    row.department_id = department.id
    row.dispatched_at = now
    row.deadline_at = _deadline(session, row, category, now)
    _step(
        session,
        row,
        action="dispatch",
        to_state=CaseState.DISPATCHED,
        now=now,
        actor=caller,
        note=note,
        department=department.code,
        deadline=row.deadline_at.isoformat(),
    )
    return row


def _require_handler(caller: Principal, row: Case) -> None:
    caller.require(Role.FIELD)
    if caller.department_id is None or caller.department_id != row.department_id:
        raise Forbidden(
            f"case {row.number} is a task of another department",
            extra={"rule": "own-department-task"},
        )


def accept_case(session: Session, caller: Principal, case_id: int, *, now: datetime) -> Case:
    """A handler of the department takes the task on."""
    row = get_case(session, case_id)
    _require_handler(caller, row)
    _check(row, "accept")
    row.handler_account_id = caller.account_id
    _step(session, row, action="accept", to_state=CaseState.HANDLING, now=now, actor=caller)
    return row


def _checked_photos(photos: Sequence[photos_mod.Photo]) -> list[photos_mod.Photo]:
    """The photos if each passes the checks (count, type, size), before anything is written."""
    if len(photos) > photos_mod.MAX_PHOTOS:
        raise Invalid.field(
            "photos", "count", f"at most {photos_mod.MAX_PHOTOS} photos, got {len(photos)}"
        )
    for i, photo in enumerate(photos):
        photos_mod.check_photo(photo, i)
    return list(photos)


def _keep_photos(
    session: Session,
    case_id: int,
    photos: Sequence[photos_mod.Photo],
    *,
    caller: Principal,
    now: datetime,
    photo_dir: Path | None,
) -> None:
    if photos and photo_dir is None:
        raise ValueError("photos given without a folder to keep them")
    for photo in photos:
        digest = hashlib.sha256(photo.content).hexdigest()
        assert photo_dir is not None
        photos_mod.store_photo(photo_dir, photo, digest)
        session.add(
            CasePhoto(
                case_id=case_id,
                sha256=digest,
                content_type=photo.content_type,
                size=len(photo.content),
                uploaded_by=caller.account_id,
                uploaded_at=now,
            )
        )


def report_problem(
    session: Session,
    caller: Principal,
    report: IntakeReport,
    *,
    now: datetime,
    photos: Sequence[photos_mod.Photo] = (),
    photo_dir: Path | None = None,
    rules: Rules = DEFAULT_RULES,
) -> Case:
    """随手拍: a resident reports a problem, with up to five photos.

    The photos are checked before anything is written, and kept with the case the report
    became, or with the open case it was merged into (where the handlers will look).
    """
    caller.require(Role.CITIZEN)
    if report.source_kind is not SourceKind.CITIZEN:
        raise Invalid.field("source_kind", "citizen", "a resident's report is a citizen report")
    checked = _checked_photos(photos)
    row = intake(session, report, now=now, reporter=caller, rules=rules)
    target = row.merged_into_id or row.id
    _keep_photos(session, target, checked, caller=caller, now=now, photo_dir=photo_dir)
    session.flush()
    return row


def report_handling(
    session: Session,
    caller: Principal,
    case_id: int,
    *,
    now: datetime,
    note: str | None,
    photos: Sequence[photos_mod.Photo] = (),
    photo_dir: Path | None = None,
) -> Case:
    """反馈: the handler reports the problem solved, with photos; a late report is a breach."""
    row = get_case(session, case_id)
    _require_handler(caller, row)
    _check(row, "feedback")
    checked = _checked_photos(photos)
    _keep_photos(session, row.id, checked, caller=caller, now=now, photo_dir=photo_dir)
    row.handler_account_id = caller.account_id
    row.handled_at = now
    late = row.deadline_at is not None and now > row.deadline_at
    if late:
        row.breached = True
    _step(
        session,
        row,
        action="feedback",
        to_state=CaseState.HANDLED,
        now=now,
        actor=caller,
        note=note,
        photos=len(checked),
        late=late,
    )
    return row


def verify_case(
    session: Session,
    caller: Principal,
    case_id: int,
    *,
    passed: bool,
    now: datetime,
    note: str | None = None,
) -> Case:
    """核查: a supervisor, never the handler, confirms on site; a failure sends it back (返工).

    A supervisor of a district department verifies that district's cases; one of a city
    department, any case of the city.
    """
    caller.require(Role.SUPERVISOR)
    row = get_case(session, case_id)
    if caller.district_code is not None and caller.district_code != row.district_code:
        raise Forbidden(
            f"case {row.number} lies in another district than yours",
            extra={"rule": "own-district", "state": row.state},
        )
    _check(row, "verify")
    if row.handler_account_id == caller.account_id:
        raise Forbidden(
            f"case {row.number} was handled by you: someone else verifies it",
            extra={"rule": "verifier-not-handler", "state": row.state},
        )
    row.verifier_account_id = caller.account_id
    if passed:
        row.verified_at = now
        _step(
            session,
            row,
            action="verify",
            to_state=CaseState.VERIFIED,
            now=now,
            actor=caller,
            note=note,
        )
        return row
    if not note or not note.strip():
        raise Invalid.field("note", "required", "say what is still wrong, for the handlers")
    category = catalogue.get_category(session, row.category_code)
    row.rework_count += 1
    row.handled_at = None
    row.handler_account_id = None
    row.dispatched_at = now
    row.deadline_at = _deadline(session, row, category, now)
    _step(
        session,
        row,
        action="redispatch",
        to_state=CaseState.DISPATCHED,
        now=now,
        actor=caller,
        note=note,
        rework=row.rework_count,
        deadline=row.deadline_at.isoformat(),
    )
    return row


def close_case(
    session: Session, caller: Principal, case_id: int, *, now: datetime, note: str | None = None
) -> Case:
    """结案: close a verified case."""
    caller.require(Role.OPERATOR)
    row = get_case(session, case_id)
    _check(row, "close")
    row.closed_at = now
    _step(session, row, action="close", to_state=CaseState.CLOSED, now=now, actor=caller, note=note)
    return row


def evaluate_case(
    session: Session,
    caller: Principal,
    case_id: int,
    *,
    score: int,
    now: datetime,
    note: str | None = None,
) -> Case:
    """评价: a closed case's satisfaction score, by an operator or the resident who reported it."""
    row = get_case(session, case_id)
    _check(row, "evaluate")
    if not caller.has_any({Role.OPERATOR}):
        reported = caller.citizen_id is not None and session.scalar(
            select(CaseReport.id)
            .where(
                CaseReport.case_id == row.id, CaseReport.reporter_citizen_id == caller.citizen_id
            )
            .limit(1)
        )
        if not reported:
            raise Forbidden("only an operator or the resident who reported it evaluates a case")
    if row.evaluation is not None:
        raise Conflict(f"case {row.number} was evaluated already", extra={"rule": "evaluate-once"})
    if not 1 <= score <= 5:
        raise Invalid.field("score", "range", f"should be 1 to 5, got {score}")
    row.evaluation = score
    row.evaluation_note = note
    _step(
        session,
        row,
        action="evaluate",
        to_state=CaseState.CLOSED,
        now=now,
        actor=caller,
        note=note,
        score=score,
    )
    return row


def mark_overdue(session: Session, *, now: datetime) -> int:
    """Mark cases whose time limit passed while being handled; one event per breach."""
    rows = session.scalars(
        select(Case).where(
            Case.state.in_([s.value for s in CLOCK_STATES]),
            Case.deadline_at < now,
            Case.breached.is_(False),
        )
    ).all()
    for row in rows:
        row.breached = True
        row.updated_at = now
        record_event(
            session,
            "ops.case.overdue",
            {
                "case": row.number,
                "district": row.district_code,
                "deadline": row.deadline_at.isoformat() if row.deadline_at else None,
            },
            now=now,
        )
    return len(rows)


def intake_health_alert(
    session: Session, payload: dict[str, Any], event_id: str, *, now: datetime
) -> Case | None:
    """Open a case for an alarm of the health early-warning system (idempotent per event)."""
    exists = session.scalar(
        select(Case.id).where(
            Case.source_kind == SourceKind.ALARM.value, Case.source_ref == event_id
        )
    )
    if exists is not None:
        return None
    district = payload.get("district_code") or payload.get("district")
    lon, lat = payload.get("lon"), payload.get("lat")
    if not isinstance(lon, int | float) or not isinstance(lat, int | float):
        code = district if isinstance(district, str) and district else "310101"
        try:
            point = geo.district_boundary(code, crs="wgs84").representative_point()
        except KeyError:
            point = geo.district_boundary("310101", crs="wgs84").representative_point()
        lon, lat = point.x, point.y
    what = (
        payload.get("description")
        or payload.get("disease")
        or payload.get("signal")
        or "health alarm"
    )
    report = IntakeReport(
        source_kind=SourceKind.ALARM,
        source_ref=event_id,
        category="E0450",
        description=f"Health early warning: {what}"[:2000],
        lon=float(lon),
        lat=float(lat),
        urgency=Urgency.URGENT,
    )
    return intake(session, report, now=now)


def intake_once(
    session: Session,
    report: IntakeReport,
    *,
    key: str | None,
    scope: str,
    now: datetime,
    reporter: Principal | None = None,
    rules: Rules = DEFAULT_RULES,
) -> dict[str, Any]:
    """``intake`` under an idempotency key: a retried report returns the first answer."""

    def write() -> dict[str, Any]:
        row = intake(session, report, now=now, reporter=reporter, rules=rules)
        answer: dict[str, Any] = json.loads(
            json.dumps(queries.case_json(session, row, now=now), default=str)
        )
        return answer

    return idempotency.once(session, scope, key, report.model_dump(mode="json"), write)


# --- for other domains ------------------------------------------------------------------------


def list_categories(session: Session) -> Sequence[Category]:
    """The management elements the centre keeps (another domain offers them to residents)."""
    return catalogue.list_categories(session)


def working_days_after(session: Session, start: datetime, days: int) -> datetime:
    """``days`` full working days after ``start`` on the centre's working calendar."""
    calendar = catalogue.calendar(session)
    hours = days * calendar.day_seconds / worktime.SECONDS_PER_HOUR
    return worktime.add_working_hours(start, hours, calendar)
