"""HTTP routes of enterprise requests and citizen reports under ``/api/v1/requests``.

Open311 GeoReport v2 is served by ``open311.py``. Routes parse, call one service function
and shape the answer; who may do what is decided in ``service``.
"""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Request
from sqlalchemy.orm import Session, sessionmaker

from twonets.core.auth import Principal
from twonets.core.db import unit_of_work
from twonets.core.events import Event
from twonets.core.http import Caller, Clock, Uow, public, require
from twonets.core.models import Role
from twonets.governance.service import Governance
from twonets.requests import categories, city, service
from twonets.requests.models import Request as RequestRow
from twonets.requests.schemas import (
    AnswerIn,
    AssignIn,
    DeclineIn,
    MessageIn,
    NewRequest,
    RateIn,
    ReopenIn,
    RequestOut,
    StepOut,
)

router = APIRouter(tags=["requests"])

Filer = Annotated[Principal, Depends(require(Role.ENTERPRISE, Role.CITIZEN))]
Dispatcher = Annotated[Principal, Depends(require(Role.OPERATOR))]
Staff = Annotated[Principal, Depends(require(Role.STAFF))]
Writer = Annotated[Principal, Depends(require(Role.ENTERPRISE, Role.CITIZEN, Role.STAFF))]
Watcher = Annotated[Principal, Depends(require(Role.OPERATOR, Role.STAFF))]
ContactReader = Annotated[Principal, Depends(require(Role.STAFF, Role.OPERATOR))]


def get_governance(request: Request) -> Governance:
    """The governance door the app was built with."""
    gov: Governance = request.app.state.governance
    return gov


Gov = Annotated[Governance, Depends(get_governance)]


def setup(app: FastAPI) -> None:
    """Follow operations cases: a request's status keeps in step with its case's events."""
    factory: sessionmaker[Session] = app.state.session_factory

    def follow(event: Event) -> None:
        with unit_of_work(factory) as session:
            service.follow_case(session, event.topic, event.payload, now=app.state.clock())

    async def on_case_event(event: Event) -> None:
        await asyncio.to_thread(follow, event)

    app.state.bus.subscribe(city.CASE_EVENTS, on_case_event)


def request_out(
    session: Session, row: RequestRow, *, steps: list[service.HistoryEntry] | None = None
) -> RequestOut:
    """The JSON shape of a request (with its history when given)."""
    department = service.department_of(session, row.department_id)
    return RequestOut(
        id=row.id,
        number=row.number,
        kind=row.kind,
        category=row.category_code,
        description=row.description,
        status=row.status,
        lon=row.lon,
        lat=row.lat,
        address=row.address,
        district_code=row.district_code,
        department_code=department[0] if department else None,
        department_name=department[1] if department else None,
        proposed_category=row.proposed_category,
        confidence=row.confidence,
        case_number=row.case_number,
        submitted_at=row.submitted_at,
        deadline_at=row.deadline_at,
        updated_at=row.updated_at,
        closed_at=row.closed_at,
        rating=row.rating,
        history=None if steps is None else [StepOut(**vars(s)) for s in steps],
    )


@router.get("/api/v1/requests/categories", dependencies=[Depends(public)])
def list_categories() -> list[dict[str, Any]]:
    """The enterprise request categories, who answers them, and their time limits."""
    return [
        {
            "code": c.code,
            "name": c.name,
            "name_en": c.name_en,
            "department_function": c.department_function,
            "level": c.level.value,
            "limit_days": c.limit_days,
            "description": c.description,
        }
        for c in categories.ENTERPRISE_CATEGORIES
    ]


@router.post("/api/v1/requests", response_model=RequestOut, status_code=201)
def submit(body: NewRequest, caller: Filer, uow: Uow, clock: Clock) -> RequestOut:
    """File a request (an enterprise) or a report (a resident); it is classified and routed."""
    with uow() as session:
        row = service.submit_request(session, service.Filer(principal=caller), body, now=clock())
        return request_out(session, row)


@router.get("/api/v1/requests", response_model=list[RequestOut])
def list_requests(caller: Caller, uow: Uow, status: str | None = None) -> list[RequestOut]:
    """The requests the caller may see: its own, its department's, or (dispatchers) all."""
    where = service.RequestFilter(statuses=[s for s in (status or "").split(",") if s])
    with uow() as session:
        return [request_out(session, r) for r in service.list_requests(session, caller, where)]


@router.get("/api/v1/requests/overdue", response_model=list[RequestOut])
def list_overdue(caller: Watcher, uow: Uow, clock: Clock) -> list[RequestOut]:
    """Requests past their time limit: a department's own, or (dispatchers) all."""
    with uow() as session:
        return [request_out(session, r) for r in service.list_overdue(session, caller, now=clock())]


@router.get("/api/v1/requests/{request_id}", response_model=RequestOut)
def get_request(request_id: int, caller: Caller, uow: Uow) -> RequestOut:
    """One request with its history (who declined it and why included)."""
    with uow() as session:
        row = service.get_request(session, caller, request_id)
        return request_out(session, row, steps=service.history(session, caller, request_id))


@router.post("/api/v1/requests/{request_id}/assign", response_model=RequestOut)
def assign(
    request_id: int, body: AssignIn, caller: Dispatcher, uow: Uow, clock: Clock
) -> RequestOut:
    """A dispatcher decides the category and/or the department of a pending request."""
    with uow() as session:
        row = service.assign_request(session, caller, request_id, now=clock(), **body.model_dump())
        return request_out(session, row)


@router.post("/api/v1/requests/{request_id}/accept", response_model=RequestOut)
def accept(request_id: int, caller: Staff, uow: Uow, clock: Clock) -> RequestOut:
    """The department the request is routed to takes it on."""
    with uow() as session:
        return request_out(
            session, service.accept_request(session, caller, request_id, now=clock())
        )


@router.post("/api/v1/requests/{request_id}/decline", response_model=RequestOut)
def decline(request_id: int, body: DeclineIn, caller: Staff, uow: Uow, clock: Clock) -> RequestOut:
    """Not ours: the department says why, and the request is routed on."""
    with uow() as session:
        row = service.decline_request(session, caller, request_id, reason=body.reason, now=clock())
        return request_out(session, row)


@router.post("/api/v1/requests/{request_id}/answer", response_model=RequestOut)
def answer(request_id: int, body: AnswerIn, caller: Staff, uow: Uow, clock: Clock) -> RequestOut:
    """The department records its answer."""
    with uow() as session:
        row = service.answer_request(session, caller, request_id, answer=body.answer, now=clock())
        return request_out(session, row)


@router.post("/api/v1/requests/{request_id}/confirm", response_model=RequestOut)
def confirm(request_id: int, caller: Filer, uow: Uow, clock: Clock) -> RequestOut:
    """The filer accepts the answer; the request closes."""
    with uow() as session:
        return request_out(
            session, service.confirm_request(session, caller, request_id, now=clock())
        )


@router.post("/api/v1/requests/{request_id}/reopen", response_model=RequestOut)
def reopen(request_id: int, body: ReopenIn, caller: Filer, uow: Uow, clock: Clock) -> RequestOut:
    """Marked fixed, not fixed: back to the same department."""
    with uow() as session:
        row = service.reopen_request(session, caller, request_id, reason=body.reason, now=clock())
        return request_out(session, row)


@router.post("/api/v1/requests/{request_id}/rate", response_model=RequestOut)
def rate(request_id: int, body: RateIn, caller: Filer, uow: Uow, clock: Clock) -> RequestOut:
    """The filer rates a closed request, once."""
    with uow() as session:
        row = service.rate_request(
            session, caller, request_id, score=body.score, note=body.note, now=clock()
        )
        return request_out(session, row)


@router.get("/api/v1/requests/{request_id}/messages")
def list_messages(request_id: int, caller: Caller, uow: Uow) -> list[dict[str, Any]]:
    """The dialogue on a request, oldest first."""
    with uow() as session:
        return [
            {"id": m.id, "at": m.at.isoformat(), "side": m.side, "body": m.body}
            for m in service.list_messages(session, caller, request_id)
        ]


@router.post("/api/v1/requests/{request_id}/messages", status_code=201)
def post_message(
    request_id: int, body: MessageIn, caller: Writer, uow: Uow, clock: Clock
) -> dict[str, Any]:
    """A message from the filer or from the department the request is routed to."""
    with uow() as session:
        m = service.post_message(session, caller, request_id, body=body.body, now=clock())
        return {"id": m.id, "at": m.at.isoformat(), "side": m.side, "body": m.body}


@router.get("/api/v1/requests/{request_id}/contact")
def read_contact(
    request_id: int, caller: ContactReader, uow: Uow, clock: Clock, gov: Gov
) -> dict[str, Any]:
    """The filer's name and contacts, through governance (masked by policy, in the ledger)."""
    with uow() as session:
        result = service.read_contact(session, gov, caller, request_id, now=clock())
        return {"purpose": result.purpose, "masks": result.masks, "rows": result.rows}
