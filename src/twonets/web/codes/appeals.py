"""Appeals against health colours: the health codes authority's queue and its decisions.

Every codes authority finds the page in the menu; one of another function is told whose
work appeals are. A rejected decision keeps what was typed and names the form's labels.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from twonets.codes import service
from twonets.codes.api import Ctx
from twonets.codes.context import Coding
from twonets.core.auth import Principal
from twonets.core.errors import Forbidden, TwonetsError
from twonets.core.http import Clock, UnitOfWork, Uow, require
from twonets.core.models import Role
from twonets.web.codes.shared import COLOURS, STATES, Words
from twonets.web.i18n import N_
from twonets.web.pages import field_errors, local_time, render

router = APIRouter(include_in_schema=False)

Authority = Annotated[Principal, Depends(require(Role.CODES_AUTHORITY))]
DECISION_LABELS = {
    "reason": N_("Reason (the resident reads it)"),
    "colour": N_("Colour if upheld"),
    "decision": N_("Decision"),
}


@router.get("/codes/appeals", response_class=HTMLResponse)
def appeals_page(
    request: Request,
    caller: Authority,
    uow: Uow,
    clock: Clock,
    ctx: Ctx,
    state: Annotated[str, Query(alias="status", max_length=16)] = "pending",
) -> HTMLResponse:
    """The health codes authority's queue of appeals against automated health status."""
    return _appeals(request, caller, uow, ctx, clock(), state)


def _appeals(
    request: Request,
    caller: Principal,
    uow: UnitOfWork,
    ctx: Coding,
    now: datetime,
    state: str,
    *,
    error: TwonetsError | None = None,
    failed: dict[str, Any] | None = None,
) -> HTMLResponse:
    words = Words.of(request)
    problem: TwonetsError | None = None
    rows: list[dict[str, Any]] = []
    elsewhere: list[str] | None = None
    try:
        with uow() as session:
            rows = service.list_appeals(session, ctx, caller, status=state, now=now)
    except Forbidden as exc:
        problem = exc
        # Every codes authority finds this page in the menu; one of another function is told
        # whose work appeals are and what is theirs, rather than shown an error.
        with uow() as session:
            elsewhere = [
                s.name if words.chinese else s.name_en
                for s in service.scenarios_decided_by(session, caller)
            ]
    except TwonetsError as exc:
        problem = exc
    shown = error or (problem if elsewhere is None else None)
    return render(
        request,
        "codes/appeals.html",
        caller,
        status_code=shown.status if shown is not None else 200,
        rows=rows,
        state=state,
        problem=problem if elsewhere is None else None,
        elsewhere=elsewhere,
        error=error,
        errors=field_errors(error),
        messages=words.labelled(error, DECISION_LABELS),
        joined=words.joined,
        states=STATES,
        failed=failed or {},
        colours=COLOURS,
        when=local_time,
    )


@router.post("/codes/appeals/{appeal_id}", response_class=HTMLResponse)
def decide_submit(
    request: Request,
    appeal_id: int,
    caller: Authority,
    uow: Uow,
    clock: Clock,
    ctx: Ctx,
    decision: Annotated[str, Form(max_length=16)] = "",
    colour: Annotated[str, Form(max_length=8)] = "",
    reason: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    """Uphold (with a colour) or reject one appeal."""
    try:
        with uow() as session:
            service.decide_appeal(
                session,
                ctx,
                caller,
                appeal_id=appeal_id,
                uphold=decision == "uphold",
                colour=colour or None,
                reason=reason,
                now=clock(),
            )
    except TwonetsError as exc:
        typed = {"id": appeal_id, "decision": decision, "colour": colour, "reason": reason}
        return _appeals(request, caller, uow, ctx, clock(), "pending", error=exc, failed=typed)
    return RedirectResponse("/codes/appeals?status=pending", status_code=303)
