"""Use cases of enterprise requests and citizen reports: intake, routing, handling, Open311.

A request is filed by an enterprise (logged in by its credit code), a resident, or a client
application through Open311. The classifier proposes its category when the filer did not
choose one; routing rules propose the department; below the confidence threshold a
dispatcher (an operations operator) decides. A department works only the requests routed to
it, and may decline one as "not ours" with a reason: it is re-routed, and the filer sees who
declined and why. A city problem (a management element) becomes an operations case and its
status follows the case. Every status change and routing decision is written to the
request's history with who, when and why.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from twonets.core import geo
from twonets.core.auth import Principal
from twonets.core.errors import Conflict, Forbidden, Invalid, NotFound
from twonets.core.events import record_event
from twonets.core.models import Department, Enterprise, Role
from twonets.governance.service import Governance, ReadQuery, ReadResult, read
from twonets.requests import categories, city, routing
from twonets.requests.categories import Level
from twonets.requests.models import (
    Open311Client,
    Request,
    RequestAttachment,
    RequestContact,
    RequestMessage,
    RequestStep,
)
from twonets.requests.schemas import NewRequest

# Below this confidence the classifier's proposal waits for a dispatcher.
CONFIDENCE_THRESHOLD = 0.5
# The purpose under which a department reads a filer's name and contacts.
CONTACT_PURPOSE = "requests.handling"
CONTACT_DATASET = "requests.contact"


class RequestKind(StrEnum):
    """Who filed: an enterprise (企业诉求) or a resident (12345 citizen report)."""

    ENTERPRISE = "enterprise"
    CITIZEN = "citizen"


class RequestStatus(StrEnum):
    """Where a request is."""

    PENDING = "pending"  # 待派单: a dispatcher decides the category or the department
    ASSIGNED = "assigned"  # 已派单: routed to a department
    ACCEPTED = "accepted"  # 办理中: the department is working on it
    ANSWERED = "answered"  # 已答复: the department recorded its answer
    CASE = "case"  # 转城运: a city problem, handled as an operations case
    CLOSED = "closed"  # 办结


OPEN_STATUSES = frozenset(set(RequestStatus) - {RequestStatus.CLOSED})
# Statuses in which the department holding the request may act on it.
HELD_STATUSES = frozenset({RequestStatus.ASSIGNED, RequestStatus.ACCEPTED})


class IllegalStatus(Conflict):
    """The request is not in a status the action may start from."""

    slug = "illegal-request-status"
    title = "Illegal request status"


# A classifier: text -> (category, confidence) candidates, best first.
Classify = Callable[[str], Sequence[tuple[str, float]]]


def default_classify(text: str) -> Sequence[tuple[str, float]]:
    """The trained classifier of ``twonets.requests.classify`` (trained once per process)."""
    from twonets.requests import classify  # scikit-learn and jieba load only when used

    return classify.default_classifier().predict(text)


# --- helpers ----------------------------------------------------------------------------------


def _step(
    session: Session,
    row: Request,
    *,
    action: str,
    to_status: RequestStatus,
    now: datetime,
    actor: Principal | None = None,
    department_id: int | None = None,
    note: str | None = None,
    **details: Any,
) -> None:
    previous = row.status
    staff = actor is not None and actor.department_id is not None
    session.add(
        RequestStep(
            request_id=row.id,
            at=now,
            action=action,
            from_status=previous or None,
            to_status=to_status.value,
            actor_account_id=actor.account_id if staff and actor else None,
            actor_name=actor.display_name if staff and actor else None,
            department_id=department_id,
            note=note,
            details=details,
        )
    )
    row.status = to_status.value
    row.updated_at = now
    if to_status is RequestStatus.CLOSED:
        row.closed_at = now
    record_event(
        session,
        f"requests.request.{action}",
        {
            "request": row.number,
            "kind": row.kind,
            "category": row.category_code,
            "from": previous or None,
            "to": to_status.value,
            "department": department_id,
        },
        now=now,
    )


def _units(session: Session) -> list[routing.Unit]:
    rows = session.execute(
        select(
            Department.id,
            Department.code,
            Department.name,
            Department.function,
            Department.level,
            Department.district_code,
        )
    ).all()
    return [routing.Unit(r[0], r[1], r[2], r[3], str(r[4]), r[5]) for r in rows]


def _department_id(session: Session, code: str) -> int:
    found = session.scalar(select(Department.id).where(Department.code == code.strip()))
    if found is None:
        raise Invalid.field("department_code", "exists", f"no department {code!r}")
    return found


def get_request_row(session: Session, request_id: int) -> Request:
    """One request by its id (no authority check: callers check)."""
    row = session.get(Request, request_id)
    if row is None:
        raise NotFound(f"no request {request_id}")
    return row


def _declined_by(session: Session, request_id: int) -> list[int]:
    return [
        d
        for d in session.scalars(
            select(RequestStep.department_id).where(
                RequestStep.request_id == request_id, RequestStep.action == "decline"
            )
        )
        if d is not None
    ]


# --- authority --------------------------------------------------------------------------------


def _is_filer(caller: Principal, row: Request, session: Session) -> bool:
    if row.kind == RequestKind.ENTERPRISE.value:
        return caller.enterprise_id is not None and caller.enterprise_id == row.enterprise_id
    if caller.citizen_id is None:
        return False
    owner = session.scalar(
        select(RequestContact.id).where(
            RequestContact.request_id == row.id, RequestContact.citizen_id == caller.citizen_id
        )
    )
    return owner is not None


def _require_holder(caller: Principal, row: Request) -> None:
    """Only staff of the department the request is routed to may work it."""
    caller.require(Role.STAFF)
    if caller.department_id is None or caller.department_id != row.department_id:
        raise Forbidden(
            f"request {row.number} is routed to another department; "
            "a department works only the requests routed to it",
            extra={"rule": "routed-department"},
        )


def check_may_see(session: Session, caller: Principal, row: Request) -> None:
    """The filer, the department it is routed to, and dispatchers see a request; no one else."""
    if _is_filer(caller, row, session):
        return
    if caller.has_any({Role.OPERATOR}):
        return
    if (
        Role.STAFF in caller.roles
        and caller.department_id is not None
        and caller.department_id == row.department_id
    ):
        return
    raise Forbidden(
        f"request {row.number} is not yours to see: an enterprise sees its own requests, "
        "a department those routed to it",
        extra={"rule": "request-visibility"},
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
    details: dict[str, Any] = field(default_factory=dict)


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
        if confidence is not None and confidence < CONFIDENCE_THRESHOLD:
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


# --- the dispatcher and the department -------------------------------------------------------


def assign_request(
    session: Session,
    caller: Principal,
    request_id: int,
    *,
    now: datetime,
    category: str | None = None,
    department_code: str | None = None,
    note: str | None = None,
) -> Request:
    """派单: a dispatcher decides the category and/or the department of a waiting request."""
    caller.require(Role.OPERATOR)
    row = get_request_row(session, request_id)
    if row.status != RequestStatus.PENDING.value:
        raise IllegalStatus(
            f"request {row.number} is {row.status}: a dispatcher decides only pending requests",
            extra={"status": row.status, "rule": "assign needs status pending"},
        )
    if category:
        _check_category(session, category.strip(), RequestKind(row.kind))
        row.category_code = category.strip()
    if department_code:
        if not categories.is_enterprise_category(row.category_code):
            raise Invalid.field(
                "department_code", "case-loop", "city problems are dispatched as cases"
            )
        department_id = _department_id(session, department_code)
        row.department_id = department_id
        _step(
            session,
            row,
            action="assign",
            to_status=RequestStatus.ASSIGNED,
            now=now,
            actor=caller,
            department_id=department_id,
            note=note or "decided by a dispatcher",
            category=row.category_code,
        )
        return row
    _forward(session, row, now=now)
    return row


def accept_request(
    session: Session, caller: Principal, request_id: int, *, now: datetime
) -> Request:
    """受理: the department routed to takes the request on."""
    row = get_request_row(session, request_id)
    _require_holder(caller, row)
    if row.status != RequestStatus.ASSIGNED.value:
        raise IllegalStatus(
            f"request {row.number} is {row.status}: accepting needs status assigned",
            extra={"status": row.status, "rule": "accept needs status assigned"},
        )
    _step(
        session,
        row,
        action="accept",
        to_status=RequestStatus.ACCEPTED,
        now=now,
        actor=caller,
        department_id=row.department_id,
    )
    return row


def decline_request(
    session: Session, caller: Principal, request_id: int, *, reason: str, now: datetime
) -> Request:
    """退回: the department says "not ours" with a reason; the request is routed on."""
    row = get_request_row(session, request_id)
    _require_holder(caller, row)
    if row.status not in {s.value for s in HELD_STATUSES}:
        raise IllegalStatus(
            f"request {row.number} is {row.status}: declining needs status assigned or accepted",
            extra={"status": row.status, "rule": "decline needs status assigned or accepted"},
        )
    if not reason or not reason.strip():
        raise Invalid.field("reason", "required", "say why the request is not yours")
    declining = row.department_id
    _step(
        session,
        row,
        action="decline",
        to_status=RequestStatus.PENDING,
        now=now,
        actor=caller,
        department_id=declining,
        note=reason.strip(),
    )
    row.department_id = None
    _route(session, row, now=now)
    return row


def answer_request(
    session: Session, caller: Principal, request_id: int, *, answer: str, now: datetime
) -> Request:
    """答复: the department records its answer; the filer confirms or reopens it."""
    row = get_request_row(session, request_id)
    _require_holder(caller, row)
    if row.status not in {s.value for s in HELD_STATUSES}:
        raise IllegalStatus(
            f"request {row.number} is {row.status}: answering needs status assigned or accepted",
            extra={"status": row.status, "rule": "answer needs status assigned or accepted"},
        )
    if not answer or not answer.strip():
        raise Invalid.field("answer", "required", "write the answer to the request")
    _step(
        session,
        row,
        action="answer",
        to_status=RequestStatus.ANSWERED,
        now=now,
        actor=caller,
        department_id=row.department_id,
        note=answer.strip(),
    )
    return row


# --- dialogue ---------------------------------------------------------------------------------


class Side(StrEnum):
    """Who wrote a message: the filer, or the department working the request."""

    FILER = "filer"
    DEPARTMENT = "department"


def post_message(
    session: Session, caller: Principal, request_id: int, *, body: str, now: datetime
) -> RequestMessage:
    """A message on a request, from its filer or from the department it is routed to."""
    row = get_request_row(session, request_id)
    if _is_filer(caller, row, session):
        side = Side.FILER
    else:
        _require_holder(caller, row)
        side = Side.DEPARTMENT
    if not body or not body.strip():
        raise Invalid.field("body", "required", "write a message")
    if row.status == RequestStatus.CLOSED.value:
        raise IllegalStatus(f"request {row.number} is closed", extra={"status": row.status})
    message = RequestMessage(
        request_id=row.id,
        at=now,
        side=side.value,
        author_account_id=caller.account_id,
        department_id=row.department_id if side is Side.DEPARTMENT else None,
        body=body.strip(),
    )
    session.add(message)
    row.updated_at = now
    record_event(
        session,
        "requests.message.posted",
        {"request": row.number, "side": side.value, "department": row.department_id},
        now=now,
    )
    session.flush()
    return message


def list_messages(session: Session, caller: Principal, request_id: int) -> Sequence[RequestMessage]:
    """The dialogue on a request, oldest first, for those who may see the request."""
    row = get_request(session, caller, request_id)
    return session.scalars(
        select(RequestMessage)
        .where(RequestMessage.request_id == row.id)
        .order_by(RequestMessage.at, RequestMessage.id)
    ).all()


# --- following the case ---------------------------------------------------------------------


def follow_case(session: Session, topic: str, payload: dict[str, Any], *, now: datetime) -> int:
    """Keep requests in step with their operations case (a handler of ``ops.case.*``).

    A merge points the request at the case it was merged into; a closed or rejected case
    closes the request. Idempotent: events may come twice. Returns the requests changed.
    """
    number = str(payload.get("case") or "")
    if not number:
        return 0
    rows = session.scalars(select(Request).where(Request.case_number == number)).all()
    changed = 0
    for row in rows:
        if topic.endswith(".merge") and payload.get("into"):
            row.case_number = str(payload["into"])
            row.updated_at = now
            changed += 1
        elif payload.get("to") in city.CLOSED_CASE_STATES and row.status != "closed":
            _step(
                session,
                row,
                action="case-" + str(payload["to"]),
                to_status=RequestStatus.CLOSED,
                now=now,
                note=f"operations case {number} is {payload['to']}",
                case=number,
            )
            changed += 1
    return changed


# --- reading ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class RequestFilter:
    """Which requests a list shows."""

    ids: Sequence[int] = ()
    numbers: Sequence[str] = ()
    categories: Sequence[str] = ()
    statuses: Sequence[str] = ()
    start: datetime | None = None
    end: datetime | None = None
    limit: int = 100


def _filtered(query: Select[Request], where: RequestFilter) -> Select[Request]:
    if where.ids:
        query = query.where(Request.id.in_(list(where.ids)))
    if where.numbers:
        query = query.where(Request.number.in_(list(where.numbers)))
    if where.categories:
        query = query.where(Request.category_code.in_(list(where.categories)))
    if where.statuses:
        query = query.where(Request.status.in_(list(where.statuses)))
    if where.start is not None:
        query = query.where(Request.submitted_at >= where.start)
    if where.end is not None:
        query = query.where(Request.submitted_at <= where.end)
    return query.order_by(Request.submitted_at.desc(), Request.id.desc()).limit(where.limit)


def list_requests(
    session: Session, caller: Principal, where: RequestFilter | None = None
) -> Sequence[Request]:
    """The requests ``caller`` may see: its own, its department's, or (dispatchers) all."""
    where = where or RequestFilter()
    query = select(Request)
    if caller.has_any({Role.OPERATOR}):
        pass
    elif Role.ENTERPRISE in caller.roles and caller.enterprise_id is not None:
        query = query.where(Request.enterprise_id == caller.enterprise_id)
    elif Role.CITIZEN in caller.roles and caller.citizen_id is not None:
        query = query.join(RequestContact, RequestContact.request_id == Request.id).where(
            RequestContact.citizen_id == caller.citizen_id
        )
    elif Role.STAFF in caller.roles and caller.department_id is not None:
        query = query.where(Request.department_id == caller.department_id)
    else:
        raise Forbidden("requests are seen by their filers, their departments and dispatchers")
    return session.scalars(_filtered(query, where)).all()


def list_public(session: Session, where: RequestFilter) -> Sequence[Request]:
    """Citizen reports as Open311 shows them to anyone (no personal data is in them)."""
    query = select(Request).where(Request.kind == RequestKind.CITIZEN.value)
    return session.scalars(_filtered(query, where)).all()


def get_request(session: Session, caller: Principal, request_id: int) -> Request:
    """One request, for someone who may see it."""
    row = get_request_row(session, request_id)
    check_may_see(session, caller, row)
    return row


def get_public(session: Session, *, number: str | None = None, token: str | None = None) -> Request:
    """One citizen report by its number or its Open311 token, as anyone may see it."""
    query = select(Request).where(Request.kind == RequestKind.CITIZEN.value)
    if number is not None:
        query = query.where(Request.number == number)
    elif token is not None:
        query = query.where(Request.token == token)
    else:
        raise Invalid.field("service_request_id", "required", "name a request")
    row = session.scalar(query)
    if row is None:
        raise NotFound(f"no service request {number or token!r}")
    return row


@dataclass(frozen=True)
class HistoryEntry:
    """One step of a request's history as its readers see it."""

    at: datetime
    action: str
    from_status: str | None
    to_status: str
    department_code: str | None
    department_name: str | None
    actor_name: str | None
    note: str | None
    details: dict[str, Any]


def history(session: Session, caller: Principal, request_id: int) -> list[HistoryEntry]:
    """Every status change and routing decision of a request, oldest first.

    The filer sees which department declined and why (the note), as the department does.
    """
    row = get_request(session, caller, request_id)
    rows = session.execute(
        select(RequestStep, Department.code, Department.name)
        .outerjoin(Department, Department.id == RequestStep.department_id)
        .where(RequestStep.request_id == row.id)
        .order_by(RequestStep.at, RequestStep.id)
    ).all()
    return [
        HistoryEntry(
            s.at,
            s.action,
            s.from_status,
            s.to_status,
            code,
            name,
            s.actor_name,
            s.note,
            dict(s.details or {}),
        )
        for s, code, name in rows
    ]


def department_of(session: Session, department_id: int | None) -> tuple[str, str] | None:
    """(code, name) of a department, for showing who is responsible."""
    if department_id is None:
        return None
    found = session.execute(
        select(Department.code, Department.name).where(Department.id == department_id)
    ).one_or_none()
    return (found[0], found[1]) if found else None


def read_contact(
    session: Session, gov: Governance, caller: Principal, request_id: int, *, now: datetime
) -> ReadResult:
    """The filer's name and contacts, through the one door (the read lands in the ledger)."""
    row = get_request_row(session, request_id)
    if not caller.has_any({Role.OPERATOR}):
        _require_holder(caller, row)
    return read(
        session,
        gov,
        caller,
        purpose=CONTACT_PURPOSE,
        dataset=CONTACT_DATASET,
        query=ReadQuery(where={"request_id": row.id}, limit=1),
        now=now,
    )


# --- Open311 client applications ------------------------------------------------------------


def _key_digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def create_client(session: Session, name: str, *, now: datetime) -> tuple[int, str]:
    """A new Open311 client application and its key (shown once; only its hash is kept)."""
    name = name.strip()
    if not name or len(name) > 64:
        raise Invalid.field("name", "length", "should be 1 to 64 characters")
    if session.scalar(select(Open311Client.id).where(Open311Client.name == name)) is not None:
        raise Conflict(f"an Open311 client {name!r} exists already")
    key = secrets.token_urlsafe(24)
    client = Open311Client(name=name, key_hash=_key_digest(key), created_at=now)
    session.add(client)
    session.flush()
    return client.id, key


def revoke_client(session: Session, name: str, *, now: datetime) -> None:
    """Revoke an Open311 client application's key at once."""
    found = session.execute(
        select(Open311Client.id, Open311Client.revoked_at).where(Open311Client.name == name.strip())
    ).one_or_none()
    if found is None:
        raise NotFound(f"no Open311 client {name!r}")
    if found[1] is None:
        client = session.get(Open311Client, found[0])  # governance: revoking, nothing is read
        assert client is not None
        client.revoked_at = now


def authenticate_client(session: Session, api_key: str | None) -> int:
    """The id of the live client application holding ``api_key``; ``Forbidden`` otherwise."""
    if not api_key:
        raise Forbidden("api_key: an Open311 client application's key is required")
    found = session.scalar(
        select(Open311Client.id).where(
            Open311Client.key_hash == _key_digest(api_key), Open311Client.revoked_at.is_(None)
        )
    )
    if found is None:
        raise Forbidden("api_key: invalid or revoked")
    return found


def statuses_of_open311(statuses: Sequence[str]) -> list[str]:
    """This platform's statuses that Open311's ``open`` and ``closed`` stand for."""
    found: list[str] = []
    if "open" in statuses:
        found += sorted(s.value for s in OPEN_STATUSES)
    if "closed" in statuses:
        found.append(RequestStatus.CLOSED.value)
    return found


STATUS_NOTES = {
    RequestStatus.PENDING: "等待派单 (awaiting a dispatcher)",
    RequestStatus.ASSIGNED: "已派单 (routed to a department)",
    RequestStatus.ACCEPTED: "办理中 (being handled)",
    RequestStatus.ANSWERED: "已答复 (answered)",
    RequestStatus.CASE: "已转城市运行管理中心立案处置 (handled as a city operations case)",
    RequestStatus.CLOSED: "已办结 (closed)",
}


def status_note(row: Request) -> str:
    """A short note on where a request is, for those who filed it and for Open311."""
    note = STATUS_NOTES[RequestStatus(row.status)]
    return f"{note}; case {row.case_number}" if row.case_number else note


def first_media_url(session: Session, request_id: int) -> str | None:
    """The first linked media of a request (Open311 shows one)."""
    return session.scalar(
        select(RequestAttachment.url)
        .where(RequestAttachment.request_id == request_id, RequestAttachment.url.is_not(None))
        .order_by(RequestAttachment.id)
        .limit(1)
    )


def is_open311_status_closed(row: Request) -> bool:
    """Open311 knows two statuses: a request is closed once it is closed here."""
    return row.status == RequestStatus.CLOSED.value


def level_of(code: str) -> Level | None:
    """The level that answers an enterprise category first (None for city problems)."""
    return categories.get_category(code).level if categories.is_enterprise_category(code) else None
