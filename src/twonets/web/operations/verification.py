"""The supervisor's desk: handled cases waiting to be checked on site."""

from __future__ import annotations

from collections.abc import Mapping

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from twonets.core.auth import Principal
from twonets.core.errors import TwonetsError
from twonets.core.http import Clock, Uow
from twonets.operations.cases import queries, service
from twonets.web.i18n import N_
from twonets.web.operations.common import (
    STATE_LABELS,
    Supervisor,
    gettext_of,
    worded,
)
from twonets.web.pages import FormFields, local_time, render

router = APIRouter(include_in_schema=False)


VERIFY_LABELS = {"note": N_("What you found"), "*": N_("Verification")}


def _verification_page(
    request: Request,
    caller: Principal,
    uow: Uow,
    clock: Clock,
    *,
    error: TwonetsError | None = None,
    failed: int | None = None,
    kept: Mapping[str, str] | None = None,
    done: str | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    now = clock()
    with uow() as session:
        rows = queries.cases_to_verify(session, caller)
        waiting = queries.cases_json(session, rows, now=now)
        notes = queries.last_feedback(session, rows)
    message, errors = (
        worded(error, VERIFY_LABELS, gettext=gettext_of(request)) if error else (None, {})
    )
    number, _, outcome = (done or "").partition(":")
    return render(
        request,
        "operations/verification.html",
        caller,
        status_code=status_code,
        cases=waiting,
        notes=notes,
        states=STATE_LABELS,
        error=message,
        errors=errors,
        failed=failed,
        kept=kept or {},
        done_number=number,
        done_outcome=outcome,
        local_time=local_time,
    )


@router.get("/ops/verification", response_class=HTMLResponse)
def verification_page(
    request: Request, caller: Supervisor, uow: Uow, clock: Clock, done: str | None = None
) -> HTMLResponse:
    """Cases handled and waiting for a supervisor to check on site, the longest first."""
    return _verification_page(request, caller, uow, clock, done=done)


@router.post("/ops/verification/{case_id}", response_class=HTMLResponse)
def verify_from_desk(
    request: Request,
    case_id: int,
    form: FormFields,
    caller: Supervisor,
    uow: Uow,
    clock: Clock,
) -> Response:
    """Record what the supervisor found: solved (verified) or still there (sent back)."""
    passed = form.get("passed") != "no"
    try:
        with uow() as session:
            row = service.verify_case(
                session,
                caller,
                case_id,
                passed=passed,
                now=clock(),
                note=form.get("note") or None,
            )
            number = row.number
    except TwonetsError as exc:
        return _verification_page(
            request,
            caller,
            uow,
            clock,
            error=exc,
            failed=case_id,
            kept=form,
            status_code=exc.status,
        )
    outcome = "verified" if passed else "sent-back"
    return RedirectResponse(f"/ops/verification?done={number}:{outcome}", status_code=303)
