"""The dispatcher's queue: requests waiting for a decision, their candidates, and the decision.

Checked by ``twonets.requests.service`` (operators only, pending requests only).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from twonets.core.auth import Principal
from twonets.core.errors import TwonetsError
from twonets.core.http import Clock, Uow, require
from twonets.core.models import Role
from twonets.requests import categories, service
from twonets.requests.service import desk
from twonets.web.pages import FormFields, local_time, render
from twonets.web.requests.common import category_of
from twonets.web.requests.words import REASONS, STAFF_FIELD_WORDS, worded

router = APIRouter(include_in_schema=False)
Dispatcher = Annotated[Principal, Depends(require(Role.OPERATOR))]


def _queue(
    request: Request,
    caller: Principal,
    uow: Uow,
    *,
    failed: int | None = None,
    form: Mapping[str, str] | None = None,
    error: TwonetsError | None = None,
) -> HTMLResponse:
    with uow() as session:
        waiting = desk.list_waiting(session, caller)
        departments = desk.list_departments(session, caller)
    message, field = worded(error, STAFF_FIELD_WORDS) if error else (None, None)
    return render(
        request,
        "requests/dispatch.html",
        caller,
        status_code=error.status if error else 200,
        waiting=waiting,
        departments=departments,
        categories=categories.ENTERPRISE_CATEGORIES,
        category_of=category_of,
        reasons=REASONS,
        threshold=service.CONFIDENCE_THRESHOLD,
        failed=failed,
        form=form or {},
        error=message,
        error_field=field,
        local_time=local_time,
    )


@router.get("/requests/dispatch", response_class=HTMLResponse)
def dispatch_page(request: Request, caller: Dispatcher, uow: Uow) -> HTMLResponse:
    """Requests waiting for a dispatcher, the oldest first, with the classifier's candidates."""
    return _queue(request, caller, uow)


@router.post("/requests/dispatch/{request_id}/assign", response_class=HTMLResponse)
def assign(
    request: Request, request_id: int, caller: Dispatcher, uow: Uow, clock: Clock, form: FormFields
) -> Response:
    """Decide the category and/or the department (none chosen: the rules route it)."""
    try:
        with uow() as session:
            service.assign_request(
                session,
                caller,
                request_id,
                now=clock(),
                category=form.get("category") or None,
                department_code=form.get("department_code") or None,
                note=form.get("note") or None,
            )
    except TwonetsError as exc:
        return _queue(request, caller, uow, failed=request_id, form=form, error=exc)
    return RedirectResponse("/requests/dispatch", status_code=303)
