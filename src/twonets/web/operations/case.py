"""One case: where, what, its history and photos; the operator's next step."""

from __future__ import annotations

from collections.abc import Mapping

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response

from twonets.core.auth import Principal
from twonets.core.errors import Invalid, TwonetsError
from twonets.core.http import AppSettings, Clock, Uow
from twonets.core.models import Role
from twonets.operations.cases import api as ops_api
from twonets.operations.cases import catalogue, queries, service, states
from twonets.web.i18n import N_
from twonets.web.operations.common import (
    ACTION_LABELS,
    SOURCE_LABELS,
    STATE_LABELS,
    URGENCY_LABELS,
    CaseReader,
    Operator,
    PhotoReader,
    gettext_of,
    worded,
)
from twonets.web.pages import FormFields, local_time, render

router = APIRouter(include_in_schema=False)


def _case_page(
    request: Request,
    caller: Principal,
    uow: Uow,
    clock: Clock,
    case_id: int,
    *,
    error: TwonetsError | None = None,
    status_code: int = 200,
    kept: Mapping[str, str] | None = None,
) -> HTMLResponse:
    now = clock()
    is_operator = caller.has_any({Role.OPERATOR})
    with uow() as session:
        row = queries.visible_case(session, caller, case_id)
        case = queries.case_json(session, row, now=now, history=True)
        departments = service.dispatch_departments(session, caller) if is_operator else []
        feedback = queries.last_feedback(session, [row])[row.id]
        suggested = None
        if is_operator and row.state == states.CaseState.FILED:
            try:
                category = catalogue.get_category(session, row.category_code)
                suggested = service.responsible_department(session, row, category).code
            except TwonetsError:
                suggested = None
    message, errors = (
        worded(error, CASE_LABELS, words=CASE_WORDS, gettext=gettext_of(request))
        if error
        else (None, {})
    )
    return render(
        request,
        "operations/case.html",
        caller,
        status_code=status_code,
        case=case,
        states=STATE_LABELS,
        actions=ACTION_LABELS,
        sources=SOURCE_LABELS,
        urgencies=URGENCY_LABELS,
        departments=departments,
        suggested=suggested,
        feedback=feedback,
        error=message,
        errors=errors,
        kept=kept or {},
        local_time=local_time,
        is_operator=is_operator,
        is_supervisor=caller.has_any({Role.SUPERVISOR}),
        back=_home_of(caller),
    )


def _home_of(caller: Principal) -> tuple[str, str]:
    """Where a case page leads back to: the caller's own list of cases."""
    if caller.has_any({Role.OPERATOR, Role.STAFF}):
        return "/ops", N_("Operations centre")
    if caller.has_any({Role.SUPERVISOR}):
        return "/ops/verification", N_("Cases to verify")
    return "/ops/tasks", N_("My tasks")


CASE_WORDS = {("score", "range"): N_("choose a score from 1 to 5")}
CASE_LABELS = {
    "note": N_("Note"),
    "department_code": N_("Department"),
    "score": N_("Score"),
    "*": N_("This step"),
}


@router.get("/ops/cases/{case_id}", response_class=HTMLResponse)
def case_page(
    request: Request, case_id: int, caller: CaseReader, uow: Uow, clock: Clock
) -> HTMLResponse:
    """One case: where, what, its history and photos; the operator's next step."""
    return _case_page(request, caller, uow, clock, case_id)


@router.post("/ops/cases/{case_id}/{action}", response_class=HTMLResponse)
def case_action(
    request: Request,
    case_id: int,
    action: str,
    form: FormFields,
    caller: Operator,
    uow: Uow,
    clock: Clock,
) -> Response:
    """File, reject, dispatch, verify, close or evaluate from the case page."""
    note = form.get("note") or None
    try:
        with uow() as session:
            now = clock()
            if action == "file":
                service.file_case(session, caller, case_id, now=now, note=note)
            elif action == "reject":
                service.reject_case(session, caller, case_id, now=now, note=note)
            elif action == "dispatch":
                service.dispatch_case(
                    session,
                    caller,
                    case_id,
                    now=now,
                    note=note,
                    department_code=form.get("department_code") or None,
                )
            elif action == "verify":
                service.verify_case(
                    session, caller, case_id, passed=form.get("passed") == "yes", now=now, note=note
                )
            elif action == "close":
                service.close_case(session, caller, case_id, now=now, note=note)
            elif action == "evaluate":
                score = form.get("score", "")
                if not score.isdigit():
                    raise Invalid.field("score", "range", "choose a score from 1 to 5")
                service.evaluate_case(
                    session, caller, case_id, score=int(score), now=now, note=note
                )
            else:
                return Response(status_code=404)
    except TwonetsError as exc:
        return _case_page(
            request, caller, uow, clock, case_id, error=exc, status_code=exc.status, kept=form
        )
    return RedirectResponse(f"/ops/cases/{case_id}", status_code=303)


@router.get("/ops/photos/{photo_id}")
def case_photo(photo_id: int, caller: PhotoReader, uow: Uow, settings: AppSettings) -> FileResponse:
    """One photo of a case for the pages, which hold a cookie (the API's route takes a token)."""
    with uow() as session:
        path, content_type = queries.get_photo(
            session, caller, photo_id, ops_api.photo_dir(settings)
        )
    return FileResponse(path, media_type=content_type)
