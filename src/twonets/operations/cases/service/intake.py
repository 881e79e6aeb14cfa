"""Intake of reports: duplicates merged, filing or rejection, alarms and retries."""

from __future__ import annotations

import json
import math
import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from twonets.core import geo, idempotency
from twonets.core.auth import Principal
from twonets.core.errors import Invalid
from twonets.core.models import Role
from twonets.operations.cases import catalogue, elements, queries, worktime
from twonets.operations.cases.elements import Urgency
from twonets.operations.cases.models import (
    Case,
    CaseReport,
)
from twonets.operations.cases.schemas import IntakeReport as IntakeReport  # for other domains
from twonets.operations.cases.schemas import SourceKind as SourceKind  # for other domains
from twonets.operations.cases.service.common import (
    CLOCK_SKEW,
    DEFAULT_RULES,
    Rules,
    _check,
    _step,
)
from twonets.operations.cases.states import (
    OPEN_STATES,
    CaseState,
    get_case,
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
