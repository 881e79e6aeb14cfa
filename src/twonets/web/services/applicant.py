"""The applicant's screens: the services to apply for, the one form, and each application.

``/services`` lists the services and the resident's applications and holds the form of the
NEV plate (name and ID number come from the account: the applicant never types them);
``/services/applications/{id}`` shows every step with its department, state and due time,
what a department asked for (and a form to supply it), the history and the result.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

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

Resident = Annotated[Principal, Depends(require(Role.CITIZEN))]
PROCESS = "nev_plate"


def _as_text(value: Any) -> str:
    """A held value as the form's text (a yes-no field as a ticked box)."""
    if isinstance(value, bool):
        return "on" if value else ""
    return "" if value is None else str(value)


def _context() -> dict[str, Any]:
    return {
        "words": words,
        "when": local_time,
        "districts": places.DISTRICTS,
        "fields": forms.start_form(PROCESS),
    }


def _index(
    request: Request,
    caller: Principal,
    uow: Uow,
    *,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    problem: str | None = None,
    status_code: int = 200,
    held: dict[str, Any] | None = None,
    prefill_problem: str | None = None,
) -> HTMLResponse:
    with uow() as session:
        processes = service.list_definitions(session)
        mine = service.list_my_applications(session, caller)
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
        **_context(),
    )


@router.get("/services", response_class=HTMLResponse)
def services_page(
    request: Request, caller: Resident, uow: Uow, clock: Clock, gov: Gov, prefill: str = ""
) -> HTMLResponse:
    """The services to apply for, the form, and the resident's applications.

    With ``?prefill=yes`` (the applicant's consent, given by the button that asks for it) the
    form is filled from what the government holds, read under the service's purpose.
    """
    if prefill != "yes":
        return _index(request, caller, uow)
    try:
        with uow() as session:
            held = service.prefill_form(session, gov, caller, PROCESS, now=clock())
    except TwonetsError as exc:
        return _index(request, caller, uow, prefill_problem=exc.detail)
    values = {name: _as_text(value) for name, value in held["values"].items()}
    values["district_code"] = held["district_code"] or caller.district_code or "310101"
    return _index(request, caller, uow, values=values, held=held)


@router.post("/services/apply", response_class=HTMLResponse)
def apply_submit(
    request: Request, caller: Resident, uow: Uow, clock: Clock, gov: Gov, form: FormFields
) -> Response:
    """Apply for the NEV plate with the one form; a refusal keeps what was typed."""
    district = form.get("district_code", "")
    try:
        data = forms.parse_form(PROCESS, form)
        with uow() as session:
            application = service.apply(
                session,
                caller,
                process_id=PROCESS,
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
            values=form,
            errors=words.field_words(request, exc),
            status_code=422,
        )
    except TwonetsError as exc:
        return _index(request, caller, uow, values=form, problem=exc.detail, status_code=exc.status)
    return RedirectResponse(target, status_code=303)


def _application(
    request: Request,
    caller: Principal,
    uow: Uow,
    application_id: int,
    *,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    with uow() as session:
        application = service.get_application(session, caller, application_id)
    return render(
        request,
        "services/application.html",
        caller,
        status_code=status_code,
        application=application,
        mine=caller.citizen_id is not None and Role.CITIZEN in caller.roles,
        values=values or {},
        errors=errors or {},
        **_context(),
    )


@router.get("/services/applications/{application_id}", response_class=HTMLResponse)
def application_page(
    request: Request, application_id: int, caller: Caller, uow: Uow
) -> HTMLResponse:
    """One application: its steps, what is asked for, its history and its result."""
    return _application(request, caller, uow, application_id)


@router.post("/services/applications/{application_id}/material", response_class=HTMLResponse)
def material_submit(
    request: Request,
    application_id: int,
    caller: Resident,
    uow: Uow,
    clock: Clock,
    form: FormFields,
) -> Response:
    """Supply what a department asked for; a refusal keeps what was typed."""
    data = {k: v for k, v in form.items() if v}
    try:
        with uow() as session:
            service.supply_material(session, caller, application_id, data=data, now=clock())
    except Invalid as exc:
        return _application(
            request,
            caller,
            uow,
            application_id,
            values=form,
            errors=words.field_words(request, exc),
            status_code=422,
        )
    return RedirectResponse(f"/services/applications/{application_id}", status_code=303)
