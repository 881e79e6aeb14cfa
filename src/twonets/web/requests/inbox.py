"""The notices about requests: what changed on the requests of the caller (or of the caller's
department) since they last looked, each linking to its request."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from twonets.core.http import Caller, Clock, Uow
from twonets.core.models import Role
from twonets.requests import service
from twonets.web.pages import local_time, render
from twonets.web.requests.words import ACTIONS

router = APIRouter(include_in_schema=False)


@router.get("/requests/inbox", response_class=HTMLResponse)
def inbox(request: Request, caller: Caller, uow: Uow) -> HTMLResponse:
    """The caller's notices, newest first, the unread ones marked."""
    with uow() as session:
        notices = service.list_inbox(session, caller)
    # Filers follow their own requests; staff work theirs.
    filer = bool(caller.roles & {Role.ENTERPRISE, Role.CITIZEN})
    base = "/requests/" if filer else "/requests/work/"
    return render(
        request,
        "requests/inbox.html",
        caller,
        notices=notices,
        base=base,
        actions=ACTIONS,
        unread=sum(1 for n in notices if n.read_at is None),
        local_time=local_time,
    )


@router.post("/requests/inbox/read", response_class=HTMLResponse)
def read_all(caller: Caller, uow: Uow, clock: Clock) -> Response:
    """Mark every notice of the caller read."""
    with uow() as session:
        service.mark_read(session, caller, None, now=clock())
    return RedirectResponse("/requests/inbox", status_code=303)
