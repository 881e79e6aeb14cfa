"""Filing: who files, where it is, the classifier's proposal, the case loop or routing."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from twonets.core import geo
from twonets.core.auth import Principal
from twonets.core.errors import Forbidden, Invalid
from twonets.core.models import Enterprise, Role
from twonets.requests import categories, city, routing
from twonets.requests.models import (
    Request,
    RequestAttachment,
    RequestContact,
    RequestStep,
)
from twonets.requests.schemas import NewRequest
from twonets.requests.service import answers
from twonets.requests.service.common import (
    CONFIDENCE_THRESHOLD,
    Classify,
    RequestKind,
    RequestStatus,
    _declined_by,
    _step,
    _units,
    default_classify,
    start_clock,
)

# --- intake -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Filer:
    """Who files: a logged-in principal, or an Open311 client application."""

    principal: Principal | None = None
    open311_client_id: int | None = None


@dataclass
class Placement:
    """Where a request is: WGS-84 position, address, district."""

    lon: float | None = None
    lat: float | None = None
    address: str | None = None
    district_code: str | None = None


def _place(new: NewRequest) -> Placement:
    lon, lat = new.lon, new.lat
    if (lon is None) != (lat is None):
        raise Invalid.field("lat", "pair", "give both latitude and longitude, or neither")
    district = None
    if lon is not None and lat is not None:
        if new.crs == "gcj02":
            lon, lat = geo.gcj02_to_wgs84(lon, lat)
        district = geo.locate_district(lon, lat, crs="wgs84")
    address = (new.address or "").strip() or None
    return Placement(lon, lat, address, district)


def _kind(filer: Filer) -> RequestKind:
    caller = filer.principal
    if caller is not None and Role.ENTERPRISE in caller.roles and caller.enterprise_id:
        return RequestKind.ENTERPRISE
    if caller is not None and Role.CITIZEN in caller.roles and caller.citizen_id:
        return RequestKind.CITIZEN
    if caller is None and filer.open311_client_id is not None:
        return RequestKind.CITIZEN
    raise Forbidden(
        "requests are filed by an enterprise, a resident, or an Open311 client application",
        extra={"rule": "filer"},
    )


def _check_category(session: Session, code: str, kind: RequestKind) -> None:
    if categories.is_enterprise_category(code):
        if kind is not RequestKind.ENTERPRISE:
            raise Invalid.field(
                "category", "enterprise-only", f"{code} is for enterprises' requests"
            )
        return
    if code in categories.NOT_REPORTED_BY_RESIDENTS or code not in {
        e.code for e in city.list_elements(session)
    }:
        raise Invalid.field("category", "service", f"no service {code!r} to report")


def submit_request(
    session: Session,
    filer: Filer,
    new: NewRequest,
    *,
    now: datetime,
    classify: Classify = default_classify,
) -> Request:
    """File a request: classify it when no category was chosen, then route it.

    A city problem goes to the operations centre as a case; an enterprise request goes to
    the department the rules propose, or waits for a dispatcher when the classifier is not
    sure enough.
    """
    kind = _kind(filer)
    place = _place(new)
    caller = filer.principal
    enterprise_district = None
    enterprise_id = caller.enterprise_id if kind is RequestKind.ENTERPRISE and caller else None
    if enterprise_id is not None:
        enterprise_district = session.scalar(
            select(Enterprise.district_code).where(Enterprise.id == enterprise_id)
        )
    proposed: str | None = None
    confidence: float | None = None
    candidates: list[tuple[str, float]] = []
    if new.category:
        category = new.category.strip()
        _check_category(session, category, kind)
    else:
        allowed = [
            (c, p)
            for c, p in classify(new.description)
            if kind is RequestKind.ENTERPRISE or not categories.is_enterprise_category(c)
        ]
        candidates = [(c, round(float(p), 4)) for c, p in allowed[:3]]
        if not candidates:
            raise Invalid.field("category", "required", "choose a category")
        proposed, confidence = candidates[0]
        category = proposed
    row = Request(
        number=f"pending-{uuid.uuid4().hex[:20]}",
        kind=kind.value,
        category_code=category,
        description=new.description.strip(),
        lon=place.lon,
        lat=place.lat,
        address=place.address,
        district_code=place.district_code or enterprise_district,
        status="",
        enterprise_id=enterprise_id,
        open311_client_id=filer.open311_client_id,
        proposed_category=proposed,
        confidence=confidence,
        token=str(uuid.uuid4()),
        urgency=new.urgency,
        submitted_at=now,
        updated_at=now,
    )
    session.add(row)
    session.flush()
    row.number = f"R{now:%Y%m%d}{row.id:06d}"
    if kind is RequestKind.CITIZEN or new.contact_name or new.contact_phone or new.contact_email:
        session.add(
            RequestContact(
                request_id=row.id,
                citizen_id=caller.citizen_id if caller is not None else None,
                name=(new.contact_name or "").strip() or None,
                email=(new.contact_email or "").strip() or None,
                phone=(new.contact_phone or "").strip() or None,
                given_at=now,
            )
        )
    for url in new.media_urls:
        session.add(
            RequestAttachment(
                request_id=row.id,
                name=url.rsplit("/", 1)[-1][:128] or "media",
                url=url,
                added_at=now,
            )
        )
    _step(session, row, action="submit", to_status=RequestStatus.PENDING, now=now, actor=caller)
    if proposed is not None:
        row.status = RequestStatus.PENDING.value
        session.add(
            RequestStep(
                request_id=row.id,
                at=now,
                action="classify",
                from_status=RequestStatus.PENDING.value,
                to_status=RequestStatus.PENDING.value,
                note=f"proposed {proposed} ({confidence:.0%})",
                details={"candidates": [[c, p] for c, p in candidates]},
            )
        )
    if not new.ask_department and answers.answer_at_once(session, row, now=now):
        return row  # answered from the knowledge base; the filer may still ask a department
    if proposed is not None and confidence is not None and confidence < CONFIDENCE_THRESHOLD:
        return row  # a dispatcher decides
    _forward(session, row, now=now, reporter=caller)
    return row


def _forward(
    session: Session, row: Request, *, now: datetime, reporter: Principal | None = None
) -> None:
    """Send a request on: a city problem to the case loop, anything else by the rules."""
    if not categories.is_enterprise_category(row.category_code):
        if row.lon is None or row.lat is None:
            raise Invalid.field(
                "lat", "required", "a city problem needs its position (latitude and longitude)"
            )
        opened = city.open_case(
            session,
            request_number=row.number,
            category=row.category_code,
            description=row.description,
            lon=row.lon,
            lat=row.lat,
            address=row.address,
            reporter=reporter,
            now=now,
        )
        row.case_number = opened.number
        _step(
            session,
            row,
            action="case",
            to_status=RequestStatus.CASE,
            now=now,
            note=f"operations case {opened.number}",
            case=opened.number,
        )
        return
    _route(session, row, now=now)


def _route(
    session: Session,
    row: Request,
    *,
    now: datetime,
    actor: Principal | None = None,
    note: str | None = None,
) -> None:
    """Route an enterprise request by the rules, past the departments that declined it."""
    category = categories.get_category(row.category_code)
    industry = None
    if row.enterprise_id is not None:
        industry = session.scalar(
            select(Enterprise.industry).where(Enterprise.id == row.enterprise_id)
        )
    proposals = routing.propose(
        _units(session),
        function=category.department_function,
        level=category.level,
        district_code=row.district_code,
        industry=industry,
        excluded=_declined_by(session, row.id),
    )
    if not proposals:
        row.department_id = None
        _step(
            session,
            row,
            action="route",
            to_status=RequestStatus.PENDING,
            now=now,
            actor=actor,
            note=note or "no department left to propose: a dispatcher decides",
        )
        return
    chosen = proposals[0]
    row.department_id = chosen.unit.id
    start_clock(session, row, now)
    _step(
        session,
        row,
        action="route",
        to_status=RequestStatus.ASSIGNED,
        now=now,
        actor=actor,
        department_id=chosen.unit.id,
        note=note or chosen.reason,
        department=chosen.unit.code,
        level=chosen.unit.level,
    )
