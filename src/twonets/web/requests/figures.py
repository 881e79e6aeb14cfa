"""The requests' figures: volume, answered at once, on time, handling time, reopens, ratings."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse

from twonets.core.auth import Principal
from twonets.core.http import Clock, Uow, require
from twonets.core.models import Role
from twonets.requests import figures
from twonets.requests.service import figures as figures_service
from twonets.web.pages import local_time, render

router = APIRouter(include_in_schema=False)
Overseer = Annotated[Principal, Depends(require(Role.OPERATOR, Role.SUPERVISOR))]


@router.get("/requests/figures", response_class=HTMLResponse)
def figures_page(
    request: Request,
    caller: Overseer,
    uow: Uow,
    clock: Clock,
    days: Annotated[int, Query(ge=1, le=figures_service.MAX_DAYS)] = 30,
) -> HTMLResponse:
    """The figures of the last ``days`` as bars (server-drawn SVG) and numbers."""
    with uow() as session:
        found = figures_service.get_figures(session, caller, now=clock(), days=days)
    return render(
        request,
        "requests/figures.html",
        caller,
        f=found,
        days=days,
        periods=figures_service.PERIODS,
        busiest=figures.busiest,
        local_time=local_time,
    )
