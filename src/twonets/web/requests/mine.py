"""The filer's own requests: the list, one request with its history and dialogue, closure."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response

from twonets.core.auth import Principal
from twonets.core.errors import TwonetsError
from twonets.core.http import Clock, Uow, require
from twonets.core.models import Role
from twonets.requests import service
from twonets.web.pages import FormFields, local_time, render
from twonets.web.requests.common import attempt, category_of, request_page
from twonets.web.requests.words import STATUS

router = APIRouter(include_in_schema=False)
Filer = Annotated[Principal, Depends(require(Role.ENTERPRISE, Role.CITIZEN))]


@router.get("/requests", response_class=HTMLResponse)
def my_requests(request: Request, caller: Filer, uow: Uow) -> HTMLResponse:
    """My requests: where each is and who holds it."""
    with uow() as session:
        rows = [
            {
                "row": r,
                "category": category_of(r.category_code),
                "department": service.department_of(session, r.department_id),
            }
            for r in service.list_requests(session, caller)
        ]
    return render(
        request,
        "requests/mine.html",
        caller,
        rows=rows,
        status=STATUS,
        can_file=Role.ENTERPRISE in caller.roles,
        local_time=local_time,
    )


def _detail(
    request: Request,
    caller: Principal,
    uow: Uow,
    request_id: int,
    *,
    form: Mapping[str, str] | None = None,
    error: TwonetsError | None = None,
) -> HTMLResponse:
    return request_page(
        request, "requests/detail.html", caller, uow, request_id, form=form, error=error
    )


@router.get("/requests/{request_id}", response_class=HTMLResponse)
def my_request(request: Request, request_id: int, caller: Filer, uow: Uow) -> HTMLResponse:
    """One of my requests: its history (who declined and why), the dialogue, the answer."""
    return _detail(request, caller, uow, request_id)


def _act(
    request: Request,
    caller: Principal,
    uow: Uow,
    request_id: int,
    form: Mapping[str, str],
    act: Any,
) -> Response:
    return attempt(
        uow,
        act,
        done=f"/requests/{request_id}",
        refused=lambda exc: _detail(request, caller, uow, request_id, form=form, error=exc),
    )


@router.post("/requests/{request_id}/messages", response_class=HTMLResponse)
def send_message(
    request: Request, request_id: int, caller: Filer, uow: Uow, clock: Clock, form: FormFields
) -> Response:
    """Write to the department that holds the request."""
    return _act(
        request,
        caller,
        uow,
        request_id,
        form,
        lambda s: service.post_message(
            s, caller, request_id, body=form.get("body", ""), now=clock()
        ),
    )


@router.post("/requests/{request_id}/confirm", response_class=HTMLResponse)
def confirm(
    request: Request, request_id: int, caller: Filer, uow: Uow, clock: Clock, form: FormFields
) -> Response:
    """The answer settles it: close the request."""
    return _act(
        request,
        caller,
        uow,
        request_id,
        form,
        lambda s: service.confirm_request(s, caller, request_id, now=clock()),
    )


@router.post("/requests/{request_id}/reopen", response_class=HTMLResponse)
def reopen(
    request: Request, request_id: int, caller: Filer, uow: Uow, clock: Clock, form: FormFields
) -> Response:
    """Marked fixed, not fixed: send it back to the same department."""
    return _act(
        request,
        caller,
        uow,
        request_id,
        form,
        lambda s: service.reopen_request(
            s, caller, request_id, reason=form.get("reason", ""), now=clock()
        ),
    )
