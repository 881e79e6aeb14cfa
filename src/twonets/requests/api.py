"""HTTP routes of enterprise requests and citizen reports under ``/api/v1/requests``.

Open311 GeoReport v2 is served by ``open311.py``. Routes parse, call one service function
and shape the answer; who may do what is decided in ``service``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Header, Request, UploadFile
from fastapi.responses import FileResponse
from sqlalchemy.orm import Session, sessionmaker

from twonets.core.auth import Principal
from twonets.core.db import unit_of_work
from twonets.core.events import Event
from twonets.core.http import Caller, Clock, Uow, public, require
from twonets.core.models import Role
from twonets.governance.service import Governance
from twonets.requests import categories, city, service
from twonets.requests.models import PolicyAnswer
from twonets.requests.models import Request as RequestRow
from twonets.requests.outlets import outlets_for
from twonets.requests.schemas import (
    AnswerChangeIn,
    AnswerEntryIn,
    AnswerIn,
    AskDepartmentIn,
    AssignIn,
    DeclineIn,
    MarkReadIn,
    MessageIn,
    NewRequest,
    RateIn,
    ReopenIn,
    RequestOut,
    StepOut,
)

router = APIRouter(tags=["requests"])
log = logging.getLogger(__name__)
# How often the scheduled work checks time limits and sends waiting e-mails and messages.
DEADLINE_CHECK_SECONDS = 300.0
IdempotencyKey = Annotated[str | None, Header(alias="Idempotency-Key")]
Anyone = Annotated[
    Principal,
    Depends(
        require(
            Role.ENTERPRISE,
            Role.CITIZEN,
            Role.STAFF,
            Role.OPERATOR,
            Role.FIELD,
            Role.SUPERVISOR,
        )
    ),
]

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
    outlets = outlets_for(app.state.settings)

    def deadlines_and_deliveries() -> tuple[service.DeadlineRun, int]:
        with unit_of_work(factory) as session:
            run = service.check_deadlines(session, now=app.state.clock())
        with unit_of_work(factory) as session:
            sent = service.deliver_pending(
                session, app.state.governance, outlets, now=app.state.clock()
            )
        return run, sent

    async def watch_deadlines(stop: asyncio.Event) -> None:
        """Remind, escalate and send, every few minutes, until the app stops."""
        while not stop.is_set():
            try:
                run, sent = await asyncio.to_thread(deadlines_and_deliveries)
                if run.reminded or run.escalated or sent:
                    log.info(
                        "requests: %d reminded, %d escalated, %d sent",
                        run.reminded,
                        run.escalated,
                        sent,
                    )
            except Exception:  # a busy database: look again next round
                log.exception("requests: the deadline check failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=DEADLINE_CHECK_SECONDS)

    app.state.background.append(watch_deadlines)


def request_out(
    session: Session, row: RequestRow, *, steps: list[service.HistoryEntry] | None = None
) -> RequestOut:
    """The JSON shape of a request (with its history when given)."""
    department = service.department_of(session, row.department_id)
    escalated = service.department_of(session, row.escalated_to_id)
    kb = session.get(PolicyAnswer, row.answer_id) if row.answer_id else None
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
        urgency=row.urgency,
        escalated_at=row.escalated_at,
        escalated_to_code=escalated[0] if escalated else None,
        escalation_level=row.escalation_level,
        answer_code=kb.code if kb else None,
        answer_text=kb.answer if kb else None,
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
def submit(
    body: NewRequest, caller: Filer, uow: Uow, clock: Clock, key: IdempotencyKey = None
) -> dict[str, Any]:
    """File a request (an enterprise) or a report (a resident); it is classified and routed,
    or answered at once from the knowledge base. A retry with the same ``Idempotency-Key``
    files nothing and gets the first answer."""
    with uow() as session:

        def write() -> dict[str, Any]:
            row = service.submit_request(
                session, service.Filer(principal=caller), body, now=clock()
            )
            return request_out(session, row).model_dump(mode="json")

        scope = f"requests.submit:{caller.account_id}"
        return service.once(session, scope, key, body.model_dump(mode="json"), write)


def _answer_json(a: PolicyAnswer) -> dict[str, Any]:
    return {
        "code": a.code,
        "category": a.category_code,
        "also_categories": list(a.also_categories or []),
        "version": a.version,
        "question": a.question,
        "answer": a.answer,
        "source": a.source,
        "active": a.active,
        "updated_at": a.updated_at.isoformat(),
    }


@router.get("/api/v1/requests/answers", dependencies=[Depends(public)])
def list_answers(uow: Uow, category: str | None = None) -> list[dict[str, Any]]:
    """The knowledge base of policy answers (public policy)."""
    with uow() as session:
        return [_answer_json(a) for a in service.list_answers(session, category=category)]


@router.post("/api/v1/requests/answers", status_code=201)
def create_answer(body: AnswerEntryIn, caller: Staff, uow: Uow, clock: Clock) -> dict[str, Any]:
    """Add a policy answer (staff of the government services office)."""
    with uow() as session:
        return _answer_json(
            service.create_answer(session, caller, now=clock(), **body.model_dump())
        )


@router.patch("/api/v1/requests/answers/{code}")
def change_answer(
    code: str, body: AnswerChangeIn, caller: Staff, uow: Uow, clock: Clock
) -> dict[str, Any]:
    """Change or withdraw a policy answer (staff of the government services office)."""
    with uow() as session:
        row = service.change_answer(session, caller, code, now=clock(), **body.model_dump())
        return _answer_json(row)


@router.get("/api/v1/requests/answers/{code}/versions")
def answer_versions(code: str, caller: Staff, uow: Uow) -> list[dict[str, Any]]:
    """Every version of a policy answer, who changed it and when (those who keep the base)."""
    with uow() as session:
        return [
            {
                "version": v.version,
                "action": v.action,
                "at": v.at.isoformat(),
                "by": v.actor_name,
                "categories": list(v.categories),
                "question": v.question,
                "answer": v.answer,
                "source": v.source,
                "active": v.active,
            }
            for v in service.answer_versions(session, caller, code)
        ]


def _notice_json(n: Any) -> dict[str, Any]:
    return {
        "id": n.id,
        "request_id": n.request_id,
        "kind": n.kind,
        "action": n.action,
        "text": n.text,
        "at": n.at.isoformat(),
        "read_at": n.read_at.isoformat() if n.read_at else None,
    }


@router.get("/api/v1/requests/inbox")
def list_inbox(caller: Anyone, uow: Uow, unread: bool = False) -> list[dict[str, Any]]:
    """The caller's notices: status changes and messages on requests, newest first."""
    with uow() as session:
        return [_notice_json(n) for n in service.list_inbox(session, caller, unread_only=unread)]


@router.post("/api/v1/requests/inbox/read")
def mark_read(body: MarkReadIn, caller: Anyone, uow: Uow, clock: Clock) -> dict[str, int]:
    """Mark the caller's notices read (the ones named, or all)."""
    with uow() as session:
        return {"marked": service.mark_read(session, caller, body.ids, now=clock())}


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


@router.post("/api/v1/requests/{request_id}/ask-department", response_model=RequestOut)
def ask_department(
    request_id: int, body: AskDepartmentIn, caller: Filer, uow: Uow, clock: Clock
) -> RequestOut:
    """After an answer from the knowledge base, ask a department to answer after all."""
    with uow() as session:
        row = service.ask_department(session, caller, request_id, reason=body.reason, now=clock())
        return request_out(session, row)


def _attachment_json(a: Any) -> dict[str, Any]:
    return {
        "id": a.id,
        "name": a.name,
        "url": a.url,
        "content_type": a.content_type,
        "size": a.size,
        "sha256": a.sha256,
        "added_at": a.added_at.isoformat(),
    }


def _store(request: Request) -> Any:
    return service.attachment_dir(request.app.state.settings.var_dir)


@router.post("/api/v1/requests/{request_id}/attachments", status_code=201)
async def add_attachment(
    request_id: int, file: UploadFile, request: Request, caller: Writer, uow: Uow, clock: Clock
) -> dict[str, Any]:
    """Upload a file (multipart, field ``file``): a photo or a PDF, at most 5 MiB."""
    # Read one byte past the limit: the service refuses what is larger, without reading it all.
    data = await file.read(service.MAX_BYTES + 1)

    def work() -> dict[str, Any]:
        with uow() as session:
            found = service.add_attachment(
                session,
                caller,
                request_id,
                name=file.filename,
                data=data,
                store=_store(request),
                now=clock(),
            )
            return _attachment_json(found)

    return await asyncio.to_thread(work)


@router.get("/api/v1/requests/{request_id}/attachments")
def list_attachments(request_id: int, caller: Caller, uow: Uow) -> list[dict[str, Any]]:
    """The files and links of a request."""
    with uow() as session:
        return [_attachment_json(a) for a in service.list_attachments(session, caller, request_id)]


@router.get("/api/v1/requests/{request_id}/attachments/{attachment_id}")
def get_attachment(
    request_id: int, attachment_id: int, request: Request, caller: Caller, uow: Uow
) -> FileResponse:
    """A kept file, to those who may see the request."""
    with uow() as session:
        found = service.open_attachment(
            session, caller, request_id, attachment_id, store=_store(request)
        )
        return FileResponse(
            found.path,
            media_type=found.attachment.content_type or "application/octet-stream",
            filename=found.attachment.name,
            headers={"X-Content-Type-Options": "nosniff", "Cache-Control": "private"},
        )


@router.get("/api/v1/requests/{request_id}/deliveries")
def list_deliveries(request_id: int, caller: Caller, uow: Uow) -> list[dict[str, Any]]:
    """The e-mails and text messages sent to the filer about a request, with their status."""
    with uow() as session:
        return [
            {
                "id": d.id,
                "channel": d.channel,
                "subject": d.subject,
                "status": d.status,
                "attempts": d.attempts,
                "detail": d.detail,
                "created_at": d.created_at.isoformat(),
                "sent_at": d.sent_at.isoformat() if d.sent_at else None,
            }
            for d in service.list_request_deliveries(session, caller, request_id)
        ]


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
