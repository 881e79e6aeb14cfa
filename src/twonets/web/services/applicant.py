"""The applicant's screens: the services to apply for, the one form, and each application.

``/services`` lists the services the caller applies for (a resident: the NEV plate and the
retirement; an enterprise: tax and fees), the caller's applications, and the form of the
chosen service (``?process=``), built from what its process needs (name and ID number come
from the account: the applicant never types them); ``/services/applications/{id}`` shows
every step with its department, state and due time, what a department asked for (and a
form to supply it), the history, the result, and the pay button when the process waits for
the payment.
"""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.datastructures import UploadFile

from twonets.core import places
from twonets.core.auth import Principal
from twonets.core.errors import Invalid, TwonetsError
from twonets.core.http import Caller, Clock, Uow, require
from twonets.core.models import Role
from twonets.services import forms, service
from twonets.services.api import Gov
from twonets.web.pages import FormFields, local_time, render
from twonets.web.services import words

router = APIRouter(include_in_schema=False)

# Residents apply for theirs, enterprises for their own filings; the service checks which.
Applicant = Annotated[Principal, Depends(require(Role.CITIZEN, Role.ENTERPRISE))]
PROCESS = "nev_plate"
# One byte past the limit: the service refuses a larger file without it being read whole.
MATERIAL_LIMIT = service.MATERIAL_MAX_BYTES + 1


def _as_text(value: Any) -> str:
    """A held value as the form's text (a yes-no field as a ticked box)."""
    if isinstance(value, bool):
        return "on" if value else ""
    return "" if value is None else str(value)


def _context(process_id: str = PROCESS) -> dict[str, Any]:
    return {
        "words": words,
        "when": local_time,
        "districts": places.DISTRICTS,
        "process_id": process_id,
        "fields": forms.start_form(process_id),
    }


def _index(
    request: Request,
    caller: Principal,
    uow: Uow,
    process_id: str,
    *,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    problem: str | None = None,
    status_code: int = 200,
    held: dict[str, Any] | None = None,
    prefill_problem: str | None = None,
) -> HTMLResponse:
    with uow() as session:
        processes = service.processes_for(session, caller)
        mine = service.list_my_applications(session, caller)
    offered = [p["process_id"] for p in processes]
    if process_id not in offered:
        process_id = offered[0] if offered else process_id
    return render(
        request,
        "services/index.html",
        caller,
        status_code=status_code,
        processes=processes,
        applications=mine,
        values=values or {"district_code": caller.district_code or "310101"},
        errors=errors or {},
        problem=problem,
        held=held,
        prefill_problem=prefill_problem,
        may_prefill=Role.CITIZEN in caller.roles,
        **_context(process_id),
    )


@router.get("/services", response_class=HTMLResponse)
def services_page(
    request: Request,
    caller: Applicant,
    uow: Uow,
    clock: Clock,
    gov: Gov,
    prefill: str = "",
    process: str = PROCESS,
) -> HTMLResponse:
    """The services to apply for, the chosen one's form, and the caller's applications.

    With ``?prefill=yes`` (the applicant's consent, given by the button that asks for it) the
    form is filled from what the government holds, read under the service's purpose.
    """
    if prefill != "yes":
        return _index(request, caller, uow, process)
    try:
        with uow() as session:
            held = service.prefill_form(session, gov, caller, process, now=clock())
    except TwonetsError as exc:
        return _index(request, caller, uow, process, prefill_problem=exc.detail)
    values = {name: _as_text(value) for name, value in held["values"].items()}
    values["district_code"] = held["district_code"] or caller.district_code or "310101"
    return _index(request, caller, uow, process, values=values, held=held)


@router.post("/services/apply", response_class=HTMLResponse)
def apply_submit(
    request: Request, caller: Applicant, uow: Uow, clock: Clock, gov: Gov, form: FormFields
) -> Response:
    """Apply for a service with its one form; a refusal keeps what was typed."""
    district = form.get("district_code", "")
    process = form.get("process_id", PROCESS)
    try:
        data = forms.parse_form(process, form)
        with uow() as session:
            application = service.apply(
                session,
                caller,
                process_id=process,
                district_code=district,
                data=data,
                now=clock(),
                gov=gov,
                consent=form.get("consent") == "yes",
            )
            target = f"/services/applications/{application.id}"
    except Invalid as exc:
        return _index(
            request,
            caller,
            uow,
            process,
            values=form,
            errors=words.field_words(request, exc),
            status_code=422,
        )
    except TwonetsError as exc:
        return _index(
            request, caller, uow, process, values=form, problem=exc.detail, status_code=exc.status
        )
    return RedirectResponse(target, status_code=303)


def _application(
    request: Request,
    caller: Principal,
    uow: Uow,
    application_id: int,
    *,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    problem: str | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    with uow() as session:
        application = service.get_application(session, caller, application_id)
        sent = (
            service.list_materials(session, caller, application_id) if application["mine"] else []
        )
    return render(
        request,
        "services/application.html",
        caller,
        status_code=status_code,
        application=application,
        mine=application["mine"],
        sent=sent,
        values=values or {},
        errors=errors or {},
        problem=problem,
        **_context(application["process_id"]),
    )


@router.get("/services/applications/{application_id}", response_class=HTMLResponse)
def application_page(
    request: Request, application_id: int, caller: Caller, uow: Uow
) -> HTMLResponse:
    """One application: its steps, what is asked for, its history and its result."""
    return _application(request, caller, uow, application_id)


@router.post("/services/applications/{application_id}/material", response_class=HTMLResponse)
async def material_submit(
    request: Request, application_id: int, caller: Applicant, uow: Uow, clock: Clock
) -> Response:
    """Send what a department asked for: a file per item (or a document's reference), all
    in one transaction; a refused file is named beside its item and nothing is kept."""
    async with request.form() as submitted:  # closes the uploaded files' spools after
        form = {k: v.strip() for k, v in submitted.items() if isinstance(v, str)}
        # A file for item X comes as field "file.X" (the item's reference as field "X").
        files = [
            (key.removeprefix("file."), value.filename, await value.read(MATERIAL_LIMIT))
            for key, value in submitted.multi_items()
            if isinstance(value, UploadFile) and value.filename and key.startswith("file.")
        ]

    def work() -> None:
        with uow() as session:
            for item, name, content in files:
                service.upload(
                    session,
                    caller,
                    application_id,
                    item=item,
                    name=name,
                    data=content,
                    now=clock(),
                )
            typed = {k: v for k, v in form.items() if v}
            service.supply_material(session, caller, application_id, data=typed, now=clock())

    try:
        await asyncio.to_thread(work)
    except TwonetsError as exc:
        if exc.status in (403, 404):
            raise
        return _application(
            request,
            caller,
            uow,
            application_id,
            values=form,
            errors=words.field_words(request, exc),
            problem=exc.detail if not exc.errors and not exc.extra.get("field") else None,
            status_code=exc.status,
        )
    return RedirectResponse(f"/services/applications/{application_id}", status_code=303)


@router.post("/services/applications/{application_id}/pay", response_class=HTMLResponse)
def pay_submit(
    request: Request, application_id: int, caller: Applicant, uow: Uow, clock: Clock
) -> Response:
    """Pay what the filing computed as due, once; the receipt is the page's result."""
    try:
        with uow() as session:
            service.pay(session, request.app.state.payments, caller, application_id, now=clock())
    except TwonetsError as exc:
        if exc.status == 404:
            raise
        return _application(
            request, caller, uow, application_id, problem=exc.detail, status_code=exc.status
        )
    return RedirectResponse(f"/services/applications/{application_id}", status_code=303)
