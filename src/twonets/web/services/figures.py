"""The contactless figures of the services: per service and month, for staff and operators."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse

from twonets.core.auth import Principal
from twonets.core.http import Uow, require
from twonets.core.models import Role
from twonets.services import service
from twonets.web.pages import render
from twonets.web.services import words

router = APIRouter(include_in_schema=False)

Watcher = Annotated[Principal, Depends(require(Role.STAFF, Role.OPERATOR, Role.SUPERVISOR))]


@router.get("/services/figures", response_class=HTMLResponse)
def figures_page(request: Request, caller: Watcher, uow: Uow) -> HTMLResponse:
    """Contactless rate, handling time (median, 90th percentile) and overdue, by month."""
    with uow() as session:
        rows = service.contactless_figures(session)
    return render(request, "services/figures.html", caller, rows=rows, words=words)
