"""The departments' workbench: the queue of one's lane and district, and each step's actions.

Staff claim an open step, then complete it with its form, return it for material (chosen
from what the service may ask, with the reason the applicant reads) or refuse the
application with a reason. Every action is checked by ``twonets.services`` (lane, district,
region, claimant); the page only shows the answer.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from twonets.core.auth import Principal
from twonets.core.errors import Invalid, TwonetsError
from twonets.core.http import Caller, Clock, Uow, require
from twonets.core.models import Role
from twonets.licences.service import Licensing
from twonets.services import forms, service
from twonets.services.api import Ctx, Gov, material_response
from twonets.web.pages import FormFields, local_time, render
from twonets.web.services import words

router = APIRouter(include_in_schema=False)

Staff = Annotated[Principal, Depends(require(Role.STAFF))]
# An enterprise works its own lane (the employer's confirmation) on the same page.
Worker = Annotated[Principal, Depends(require(Role.STAFF, Role.ENTERPRISE))]


def _queue(
    request: Request,
    caller: Principal,
    uow: Uow,
    *,
    failed: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    problem: str | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    with uow() as session:
        tasks = service.list_queue(session, caller)
        inbox = (
            service.list_inbox(
                session, request.app.state.secret_key, caller, now=request.app.state.clock()
            )
            if Role.STAFF in caller.roles and caller.region_code is not None
            else []
        )
    for asked in inbox:  # the signed request's time, shown in the page's time zone
        asked["reply_by"] = datetime.fromisoformat(asked["request"]["reply_by"])
    return render(
        request,
        "services/workbench.html",
        caller,
        status_code=status_code,
        tasks=tasks,
        inbox=inbox,
        materials=forms.MATERIALS,
        is_staff=Role.STAFF in caller.roles,
        failed=failed or {},
        errors=errors or {},
        problem=problem,
        words=words,
        when=local_time,
    )


@router.get("/services/tasks", response_class=HTMLResponse)
def workbench_page(request: Request, caller: Worker, uow: Uow) -> HTMLResponse:
    """The queue of the caller's department: live steps, the most urgent first."""
    return _queue(request, caller, uow)


@router.get("/services/applications/{application_id}/form", response_class=HTMLResponse)
def form_page(
    request: Request, application_id: int, caller: Staff, uow: Uow, clock: Clock, gov: Gov
) -> HTMLResponse:
    """The applicant's form, read through governance under the service's purpose (recorded)."""
    with uow() as session:
        form = service.read_application_form(session, gov, caller, application_id, now=clock())
    return render(request, "services/form.html", caller, form=form, words=words, when=local_time)


def _act(
    request: Request,
    caller: Principal,
    uow: Uow,
    task_id: int | str,
    form: dict[str, str],
    action: str,
    run: Any,
) -> Response:
    try:
        with uow() as session:
            run(session)
        # A step that opened a request to another region's department: send it now rather
        # than at the scheduled work's next run (which retries whatever is still pending).
        with uow() as session:
            service.send_pending(
                session,
                request.app.state.remote_transport,
                request.app.state.secret_key,
                now=request.app.state.clock(),
            )
    except Invalid as exc:
        failed = {"id": task_id, "action": action, **form}
        return _queue(
            request,
            caller,
            uow,
            failed=failed,
            errors=words.field_words(request, exc),
            status_code=422,
        )
    except TwonetsError as exc:
        return _queue(request, caller, uow, problem=exc.detail, status_code=exc.status)
    return RedirectResponse("/services/tasks", status_code=303)


@router.post("/services/tasks/{task_id}/claim", response_class=HTMLResponse)
def claim_submit(
    request: Request, task_id: int, caller: Worker, uow: Uow, clock: Clock
) -> Response:
    """Take an open step."""
    return _act(
        request,
        caller,
        uow,
        task_id,
        {},
        "claim",
        lambda session: service.claim_task(session, caller, task_id, now=clock()),
    )


@router.post("/services/tasks/{task_id}/complete", response_class=HTMLResponse)
def complete_submit(
    request: Request,
    task_id: int,
    caller: Worker,
    uow: Uow,
    clock: Clock,
    ctx: Ctx,
    form: FormFields,
) -> Response:
    """Complete one's claimed step with its form."""
    licensing: Licensing = ctx

    def run(session: Any) -> None:
        data = forms.parse_step({k: v for k, v in form.items() if v})
        service.complete_task(session, licensing, caller, task_id, data=data, now=clock())

    return _act(request, caller, uow, task_id, form, "complete", run)


async def ticked(request: Request) -> list[str]:
    """The material items ticked on a return form (a field sent once per ticked box)."""
    submitted = await request.form()
    return [str(v) for v in submitted.getlist("missing")]


@router.post("/services/tasks/{task_id}/return", response_class=HTMLResponse)
def return_submit(
    request: Request,
    task_id: int,
    caller: Worker,
    uow: Uow,
    clock: Clock,
    form: FormFields,
    missing: Annotated[list[str], Depends(ticked)],
) -> Response:
    """Ask the applicant for material: the items ticked, and why."""
    reason = form.get("reason", "")
    return _act(
        request,
        caller,
        uow,
        task_id,
        {"reason": reason, "missing": ",".join(missing)},
        "return",
        lambda session: service.return_task(
            session, caller, task_id, missing=missing, reason=reason, now=clock()
        ),
    )


@router.post("/services/tasks/{task_id}/reject", response_class=HTMLResponse)
def reject_submit(
    request: Request, task_id: int, caller: Worker, uow: Uow, clock: Clock, form: FormFields
) -> Response:
    """Refuse the application at this step, with the reason the applicant reads."""
    reason = form.get("reason", "")
    return _act(
        request,
        caller,
        uow,
        task_id,
        form,
        "reject",
        lambda session: service.reject_task(session, caller, task_id, reason=reason, now=clock()),
    )


@router.post("/services/remote/{message_id}/reply", response_class=HTMLResponse)
def remote_reply_submit(
    request: Request, message_id: str, caller: Staff, uow: Uow, clock: Clock, form: FormFields
) -> Response:
    """Another region's department answers a request with what it asks (signed reply)."""

    def run(session: Any) -> None:
        data = forms.parse_step({k: v for k, v in form.items() if v})
        service.answer_remote_request(
            session, request.app.state.secret_key, caller, message_id, data=data, now=clock()
        )

    return _act(
        request,
        caller,
        uow,
        message_id,
        form,
        "reply",
        run,
    )


@router.get("/services/materials/{material_id}")
def material_download(material_id: int, caller: Caller, uow: Uow) -> Response:
    """A file the applicant sent, for the applicant and the department that asked for it."""
    with uow() as session:
        return material_response(service.open_material(session, caller, material_id))
