"""The register of overdue requests: past their limit and not answered, with the level of
the supervising chain each reached (the holding department's, its supervisors', or all for
dispatchers; ``service.list_overdue`` decides)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse

from twonets.core.auth import Principal
from twonets.core.http import Clock, Uow, require
from twonets.core.models import Role
from twonets.requests import service
from twonets.web.pages import local_time, render
from twonets.web.requests.common import category_of
from twonets.web.requests.words import STATUS

router = APIRouter(include_in_schema=False)
Watcher = Annotated[Principal, Depends(require(Role.STAFF, Role.OPERATOR))]


@router.get("/requests/overdue", response_class=HTMLResponse)
def overdue_page(request: Request, caller: Watcher, uow: Uow, clock: Clock) -> HTMLResponse:
    """The overdue requests this account follows, the longest late first."""
    now = clock()
    with uow() as session:
        rows = [
            {
                "row": r,
                "category": category_of(r.category_code),
                "holder": service.department_of(session, r.department_id),
                "escalated_to": service.department_of(session, r.escalated_to_id),
                "late_days": (now - r.deadline_at).days if r.deadline_at else 0,
            }
            for r in service.list_overdue(session, caller, now=now)
        ]
    return render(
        request,
        "requests/overdue.html",
        caller,
        rows=rows,
        status=STATUS,
        staff=Role.STAFF in caller.roles,
        local_time=local_time,
    )
