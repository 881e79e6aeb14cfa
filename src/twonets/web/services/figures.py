"""The contactless figures of the services: per service and month, for staff and operators."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from twonets.core.auth import Principal
from twonets.core.errors import TwonetsError
from twonets.core.http import Clock, Uow, require
from twonets.core.models import Role
from twonets.services import service
from twonets.web.pages import local_time, render
from twonets.web.services import words

router = APIRouter(include_in_schema=False)

Watcher = Annotated[Principal, Depends(require(Role.STAFF, Role.OPERATOR, Role.SUPERVISOR))]


@router.get("/services/figures", response_class=HTMLResponse)
def figures_page(request: Request, caller: Watcher, uow: Uow) -> HTMLResponse:
    """Contactless rate, handling time (median, 90th percentile) and overdue, by month; and
    the applications whose timers failed too often (parked), with a retry for the desk."""
    return _page(request, caller, uow)


def _page(
    request: Request,
    caller: Principal,
    uow: Uow,
    *,
    problem: str | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    with uow() as session:
        rows = service.contactless_figures(session)
        parked = service.list_parked(session)
    return render(
        request,
        "services/figures.html",
        caller,
        status_code=status_code,
        rows=rows,
        parked=parked,
        may_retry=service.may_retry_timers(caller),
        problem=problem,
        words=words,
        when=local_time,
    )


@router.post("/services/timers/{application_id}/retry", response_class=HTMLResponse)
def retry_submit(
    request: Request, application_id: int, caller: Watcher, uow: Uow, clock: Clock
) -> Response:
    """Take a parked application back into the scheduled work's next run."""
    try:
        with uow() as session:
            service.retry_timers(session, caller, application_id, now=clock())
    except TwonetsError as exc:
        return _page(request, caller, uow, problem=exc.detail, status_code=exc.status)
    return RedirectResponse("/services/figures", status_code=303)
