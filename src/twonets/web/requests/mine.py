"""The filer's own requests: the list, one request with its history and dialogue, closure."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from twonets.core.auth import Principal
from twonets.core.errors import TwonetsError
from twonets.core.http import Clock, Uow, require
from twonets.core.models import Role
from twonets.requests import categories, service
from twonets.web.pages import FormFields, local_time, render
from twonets.web.requests.words import ACTIONS, STATUS, worded

router = APIRouter(include_in_schema=False)
Filer = Annotated[Principal, Depends(require(Role.ENTERPRISE, Role.CITIZEN))]


def _category(code: str) -> Any:
    return categories.get_category(code) if categories.is_enterprise_category(code) else None


@router.get("/requests", response_class=HTMLResponse)
def my_requests(request: Request, caller: Filer, uow: Uow) -> HTMLResponse:
    """My requests: where each is and who holds it."""
    with uow() as session:
        rows = [
            {
                "row": r,
                "category": _category(r.category_code),
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
    with uow() as session:
        row = service.get_request(session, caller, request_id)
        context = {
            "row": row,
            "category": _category(row.category_code),
            "department": service.department_of(session, row.department_id),
            "steps": service.history(session, caller, request_id),
            "messages": service.list_messages(session, caller, request_id),
        }
    message, field = worded(error) if error else (None, None)
    return render(
        request,
        "requests/detail.html",
        caller,
        status_code=error.status if error else 200,
        status=STATUS,
        actions=ACTIONS,
        form=form or {},
        error=message,
        error_field=field,
        local_time=local_time,
        **context,
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
    try:
        with uow() as session:
            act(session)
    except TwonetsError as exc:
        return _detail(request, caller, uow, request_id, form=form, error=exc)
    return RedirectResponse(f"/requests/{request_id}", status_code=303)


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
