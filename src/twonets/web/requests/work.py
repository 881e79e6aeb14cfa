"""A department's work list and one request as its staff work it: accept, decline, answer, write.

Every action is a plain form that htmx sends and swaps in place (``static/requests.js`` lets
a refusal's page be swapped too); without script the form posts and the page comes back.
Who may do what is decided by ``twonets.requests.service``; the page shows its answer.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from twonets.core.auth import Principal
from twonets.core.errors import TwonetsError
from twonets.core.http import Clock, Uow, require
from twonets.core.models import Role
from twonets.requests import service
from twonets.requests.service import desk
from twonets.web.pages import FormFields, local_time, render
from twonets.web.requests.common import attempt, category_of, request_page
from twonets.web.requests.words import STAFF_FIELD_WORDS, STATUS

router = APIRouter(include_in_schema=False)
Staff = Annotated[Principal, Depends(require(Role.STAFF))]


@router.get("/requests/work", response_class=HTMLResponse)
def work_list(request: Request, caller: Staff, uow: Uow, clock: Clock) -> HTMLResponse:
    """The requests routed to my department, the late ones first."""
    with uow() as session:
        items = desk.list_work(session, caller, now=clock())
        department = service.department_of(session, caller.department_id)
    return render(
        request,
        "requests/work.html",
        caller,
        items=items,
        department=department,
        status=STATUS,
        category_of=category_of,
        local_time=local_time,
    )


def _detail(
    request: Request,
    caller: Principal,
    uow: Uow,
    request_id: int,
    *,
    form: Mapping[str, str] | None = None,
    action: str | None = None,
    error: TwonetsError | None = None,
) -> HTMLResponse:
    return request_page(
        request,
        "requests/work_detail.html",
        caller,
        uow,
        request_id,
        form=form,
        error=error,
        field_words=STAFF_FIELD_WORDS,
        failed_action=action,
        holds=lambda context: context["row"].department_id == caller.department_id,
    )


@router.get("/requests/work/{request_id}", response_class=HTMLResponse)
def work_request(request: Request, request_id: int, caller: Staff, uow: Uow) -> HTMLResponse:
    """One request routed to my department: its text, history, dialogue and actions."""
    return _detail(request, caller, uow, request_id)


def _act(
    request: Request,
    caller: Principal,
    uow: Uow,
    request_id: int,
    form: Mapping[str, str],
    action: str,
    act: Callable[[Session], object],
) -> Response:
    return attempt(
        uow,
        act,
        done=f"/requests/work/{request_id}",
        refused=lambda exc: _detail(
            request, caller, uow, request_id, form=form, action=action, error=exc
        ),
    )


@router.post("/requests/work/{request_id}/accept", response_class=HTMLResponse)
def accept(
    request: Request, request_id: int, caller: Staff, uow: Uow, clock: Clock, form: FormFields
) -> Response:
    """Take the request on."""
    return _act(
        request,
        caller,
        uow,
        request_id,
        form,
        "accept",
        lambda s: service.accept_request(s, caller, request_id, now=clock()),
    )


@router.post("/requests/work/{request_id}/decline", response_class=HTMLResponse)
def decline(
    request: Request, request_id: int, caller: Staff, uow: Uow, clock: Clock, form: FormFields
) -> Response:
    """Not ours: send it on with the reason the filer reads."""
    return _act(
        request,
        caller,
        uow,
        request_id,
        form,
        "decline",
        lambda s: service.decline_request(
            s, caller, request_id, reason=form.get("reason", ""), now=clock()
        ),
    )


@router.post("/requests/work/{request_id}/answer", response_class=HTMLResponse)
def answer(
    request: Request, request_id: int, caller: Staff, uow: Uow, clock: Clock, form: FormFields
) -> Response:
    """Record the department's answer; the filer confirms or reopens it."""
    return _act(
        request,
        caller,
        uow,
        request_id,
        form,
        "answer",
        lambda s: service.answer_request(
            s, caller, request_id, answer=form.get("answer", ""), now=clock()
        ),
    )


@router.post("/requests/work/{request_id}/messages", response_class=HTMLResponse)
def message(
    request: Request, request_id: int, caller: Staff, uow: Uow, clock: Clock, form: FormFields
) -> Response:
    """Write to the filer."""
    return _act(
        request,
        caller,
        uow,
        request_id,
        form,
        "message",
        lambda s: service.post_message(
            s, caller, request_id, body=form.get("body", ""), now=clock()
        ),
    )
