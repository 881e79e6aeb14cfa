"""HTTP routes of "one thing" services: applying, following, and the departments' workbench."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Header, Request, UploadFile
from fastapi.encoders import jsonable_encoder
from fastapi.responses import Response

from twonets.core import idempotency
from twonets.core.auth import Principal
from twonets.core.db import unit_of_work
from twonets.core.http import Caller, Clock, Uow, public, require
from twonets.core.models import Role
from twonets.governance.service import Governance
from twonets.licences.service import Licensing
from twonets.services import service
from twonets.services.payments import DemoPayments
from twonets.services.remote import InProcessTransport
from twonets.services.schemas import (
    ApplicationOut,
    ApplicationStepOut,
    ApplyIn,
    CompleteIn,
    FormOut,
    MaterialIn,
    MaterialOut,
    MonthFiguresOut,
    ParkedTimerOut,
    PrefillOut,
    ProcessOut,
    QueueStepOut,
    RejectIn,
    RemoteMessageIn,
    RemoteReplyIn,
    RemoteRequestOut,
    ReturnIn,
    StepOut,
)

log = logging.getLogger(__name__)

router = APIRouter(prefix="/api/v1/services", tags=["services"])

Resident = Annotated[Principal, Depends(require(Role.CITIZEN))]
# A resident, or an enterprise applying for itself (tax and fees).
Applicant = Annotated[Principal, Depends(require(Role.CITIZEN, Role.ENTERPRISE))]
Staff = Annotated[Principal, Depends(require(Role.STAFF))]
# Staff, and enterprises working their own lane (the employer's confirmation).
Worker = Annotated[Principal, Depends(require(Role.STAFF, Role.ENTERPRISE))]
Watcher = Annotated[Principal, Depends(require(Role.STAFF, Role.OPERATOR, Role.SUPERVISOR))]
IdempotencyKey = Annotated[str | None, Header(alias="Idempotency-Key")]
# How often the scheduled work fires due process timers and looks for overdue steps.
ESCALATE_EVERY = timedelta(minutes=1)


def get_licensing(request: Request) -> Licensing:
    """The licensing context the app was built with (a completed step may issue a licence)."""
    ctx: Licensing = request.app.state.licensing
    return ctx


Ctx = Annotated[Licensing, Depends(get_licensing)]


def get_governance(request: Request) -> Governance:
    """The governance context (prefilling and reading forms go through its one door)."""
    gov: Governance = request.app.state.governance
    return gov


Gov = Annotated[Governance, Depends(get_governance)]


def setup(app: FastAPI) -> None:
    """Register this domain's background work: due BPMN timers, steps past their due time."""

    async def escalate(stop: asyncio.Event) -> None:
        """Fire due process timers and escalate overdue steps every minute while the app runs."""

        def once() -> tuple[int, int]:
            with unit_of_work(app.state.session_factory) as session:
                fired = service.fire_timers(session, now=app.state.clock())
            with unit_of_work(app.state.session_factory) as session:
                service.send_pending(
                    session,
                    app.state.remote_transport,
                    app.state.secret_key,
                    now=app.state.clock(),
                    post=app.state.remote_post,
                )
            with unit_of_work(app.state.session_factory) as session:
                service.deliver_pending_replies(
                    session, now=app.state.clock(), post=app.state.remote_post
                )
            with unit_of_work(app.state.session_factory) as session:
                return fired, service.escalate_overdue(session, now=app.state.clock())

        while not stop.is_set():
            try:
                fired, count = await asyncio.to_thread(once)
                if fired:
                    log.info("services: fired %d process timers", fired)
                if count:
                    log.info("services: escalated %d overdue steps", count)
            except Exception:  # keep the app serving; the next run tries again
                log.exception("services: escalation run failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), ESCALATE_EVERY.total_seconds())

    # A region recognised as a deployment of its own gets its requests POSTed to its inbox
    # (``remote_post``); one whose keys this platform holds reads them from the shared table.
    app.state.remote_transport = InProcessTransport()
    app.state.remote_post = service.http_post
    # The demo's stand-in bank (a real provider implements services.payments.PaymentProvider).
    app.state.payments = DemoPayments()
    app.state.background.append(escalate)


@router.get("/processes", response_model=list[ProcessOut], dependencies=[Depends(public)])
def list_processes(uow: Uow) -> list[dict[str, Any]]:
    """The services one can apply for: each process and its newest version."""
    with uow() as session:
        return service.list_definitions(session)


@router.get("/figures", response_model=list[MonthFiguresOut])
def figures(caller: Watcher, uow: Uow) -> list[dict[str, Any]]:
    """Per service and month: contactless rate, handling time (median, p90), overdue count."""
    with uow() as session:
        return service.contactless_figures(session)


@router.get("/timers/parked", response_model=list[ParkedTimerOut])
def parked_timers(caller: Watcher, uow: Uow) -> list[dict[str, Any]]:
    """Applications whose timers failed too often (the last error and how many attempts)."""
    with uow() as session:
        return service.list_parked(session)


@router.post("/timers/{application_id}/retry", response_model=ApplicationOut)
def retry_timers(application_id: int, caller: Watcher, uow: Uow, clock: Clock) -> dict[str, Any]:
    """Take a parked application back into the next run of the scheduled work."""
    with uow() as session:
        application = service.retry_timers(session, caller, application_id, now=clock())
        return service.application_json(session, application)


@router.get("/processes/{process_id}/prefill", response_model=PrefillOut)
def prefill(process_id: str, caller: Resident, uow: Uow, clock: Clock, gov: Gov) -> dict[str, Any]:
    """What the government holds for the form, read under the service's purpose (recorded)."""
    with uow() as session:
        return service.prefill_form(session, gov, caller, process_id, now=clock())


@router.post("/applications", response_model=ApplicationOut, status_code=201)
def apply(
    body: ApplyIn, caller: Applicant, uow: Uow, clock: Clock, gov: Gov, key: IdempotencyKey = None
) -> dict[str, Any]:
    """Apply once for a service; its process starts with the form (prefilled with consent)."""
    with uow() as session:

        def write() -> dict[str, Any]:
            application = service.apply(session, caller, now=clock(), gov=gov, **body.model_dump())
            answer: dict[str, Any] = jsonable_encoder(
                service.application_json(session, application)
            )
            return answer

        scope = f"services.apply:{caller.account_id}"
        return idempotency.once(session, scope, key, body.model_dump(), write)


@router.get("/applications", response_model=list[ApplicationOut])
def my_applications(caller: Applicant, uow: Uow) -> list[dict[str, Any]]:
    """The caller's own applications, newest first."""
    with uow() as session:
        return service.list_my_applications(session, caller)


@router.get("/applications/{application_id}", response_model=ApplicationOut)
def get_application(application_id: int, caller: Caller, uow: Uow) -> dict[str, Any]:
    """One application, for its applicant or a department that works one of its steps."""
    with uow() as session:
        return service.get_application(session, caller, application_id)


@router.get("/applications/{application_id}/form", response_model=FormOut)
def application_form(
    application_id: int, caller: Staff, uow: Uow, clock: Clock, gov: Gov
) -> dict[str, Any]:
    """The application's form, for staff working one of its steps (a governance read)."""
    with uow() as session:
        return service.read_application_form(session, gov, caller, application_id, now=clock())


@router.post("/applications/{application_id}/material", response_model=ApplicationOut)
def supply_material(
    application_id: int, body: MaterialIn, caller: Applicant, uow: Uow, clock: Clock
) -> dict[str, Any]:
    """Supply what a department asked for; the step goes back to its queue."""
    with uow() as session:
        application = service.supply_material(
            session, caller, application_id, data=body.data, now=clock()
        )
        return service.application_json(session, application)


@router.post(
    "/applications/{application_id}/materials/{item}", response_model=MaterialOut, status_code=201
)
async def upload_material(
    application_id: int, item: str, file: UploadFile, caller: Applicant, uow: Uow, clock: Clock
) -> dict[str, Any]:
    """Upload a file (multipart, field ``file``) for an item a department asked for: a photo
    or a PDF, at most 5 MiB; then ``POST .../material`` sends what was asked."""
    # One byte past the limit: the service refuses what is larger without reading it all.
    data = await file.read(service.MATERIAL_MAX_BYTES + 1)

    def work() -> dict[str, Any]:
        with uow() as session:
            found = service.upload(
                session,
                caller,
                application_id,
                item=item,
                name=file.filename,
                data=data,
                now=clock(),
            )
            return service.material_json(found)

    return await asyncio.to_thread(work)


@router.get("/applications/{application_id}/materials", response_model=list[MaterialOut])
def list_materials(application_id: int, caller: Caller, uow: Uow) -> list[dict[str, Any]]:
    """The files of an application: for its applicant and the department that asked."""
    with uow() as session:
        return service.list_materials(session, caller, application_id)


@router.get("/materials/{material_id}")
def get_material(material_id: int, caller: Caller, uow: Uow) -> Response:
    """A file's bytes, for the applicant and the department that asked for it."""
    with uow() as session:
        return material_response(service.open_material(session, caller, material_id))


def material_response(material: Any) -> Response:
    """A kept file as a download (never rendered in the page's origin as it claims to be)."""
    return Response(
        content=material.content,
        media_type=material.content_type,
        headers={
            "Content-Disposition": f'attachment; filename="material-{material.id}"',
            "X-Content-Type-Options": "nosniff",
            "Cache-Control": "private",
        },
    )


@router.post("/applications/{application_id}/pay", response_model=ApplicationOut)
def pay(
    application_id: int, caller: Applicant, uow: Uow, clock: Clock, request: Request
) -> dict[str, Any]:
    """Pay once everything the filing computed as due; the process goes on to the receipt."""
    with uow() as session:
        application = service.pay(
            session, request.app.state.payments, caller, application_id, now=clock()
        )
        return service.application_json(session, application)


@router.get("/tasks", response_model=list[QueueStepOut])
def queue(caller: Worker, uow: Uow) -> list[dict[str, Any]]:
    """The caller's department's queue: live steps of its lane (and district)."""
    with uow() as session:
        return service.list_queue(session, caller)


@router.post("/tasks/{task_id}/claim", response_model=StepOut)
def claim(task_id: int, caller: Worker, uow: Uow, clock: Clock) -> dict[str, Any]:
    """Take an open step of one's department's lane."""
    with uow() as session:
        return service.task_json(service.claim_task(session, caller, task_id, now=clock()))


@router.post("/tasks/{task_id}/complete", response_model=ApplicationOut)
def complete(
    task_id: int, body: CompleteIn, caller: Worker, uow: Uow, clock: Clock, ctx: Ctx
) -> dict[str, Any]:
    """Complete one's claimed step with its form; the process runs on."""
    with uow() as session:
        application = service.complete_task(
            session, ctx, caller, task_id, data=body.data, now=clock()
        )
        return service.application_json(session, application)


@router.post("/tasks/{task_id}/return", response_model=ApplicationOut)
def return_for_material(
    task_id: int, body: ReturnIn, caller: Worker, uow: Uow, clock: Clock
) -> dict[str, Any]:
    """Ask the applicant for what is missing, and say why."""
    with uow() as session:
        application = service.return_task(
            session, caller, task_id, missing=body.missing, reason=body.reason, now=clock()
        )
        return service.application_json(session, application)


@router.post("/tasks/{task_id}/reject", response_model=ApplicationOut)
def reject(task_id: int, body: RejectIn, caller: Worker, uow: Uow, clock: Clock) -> dict[str, Any]:
    """Refuse the application at this step, with the reason."""
    with uow() as session:
        application = service.reject_task(session, caller, task_id, reason=body.reason, now=clock())
        return service.application_json(session, application)


@router.get("/remote/inbox", response_model=list[RemoteRequestOut])
def remote_inbox(caller: Staff, uow: Uow, clock: Clock, request: Request) -> list[dict[str, Any]]:
    """Requests from another region waiting for the caller's department, signatures checked."""
    with uow() as session:
        return service.list_inbox(session, request.app.state.secret_key, caller, now=clock())


@router.post("/remote/requests/{message_id}/reply", response_model=ApplicationStepOut)
def remote_reply(
    message_id: str, body: RemoteReplyIn, caller: Staff, uow: Uow, clock: Clock, request: Request
) -> dict[str, Any]:
    """Answer a request from another region: the reply is signed with this region's key."""
    with uow() as session:
        return service.answer_remote(
            session,
            request.app.state.secret_key,
            caller,
            message_id,
            data=body.data,
            now=clock(),
            post=request.app.state.remote_post,
        )


@router.post("/remote/messages", dependencies=[Depends(public)])
def remote_message(
    body: RemoteMessageIn, uow: Uow, clock: Clock, request: Request
) -> dict[str, Any]:
    """This region's inbox for other regions' deployments: a signed request for one of its
    departments, or a signed reply to one of its requests (the signature is the credential:
    it must verify under a recognised region's key)."""
    with uow() as session:
        return service.receive_message(session, request.app.state.secret_key, body.jws, now=clock())
