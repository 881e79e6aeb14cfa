"""The field view: my department's cases to handle, and reporting one handled."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from typing import Annotated

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from twonets.core.auth import Principal
from twonets.core.errors import TwonetsError
from twonets.core.http import AppSettings, Clock, Uow
from twonets.operations.cases import api as ops_api
from twonets.operations.cases import queries, service
from twonets.operations.cases.photos import Photo
from twonets.web.i18n import N_
from twonets.web.operations.common import (
    STATE_LABELS,
    Field,
    gettext_of,
    worded,
)
from twonets.web.pages import local_time, render

router = APIRouter(include_in_schema=False)


TASK_LABELS = {"note": N_("What was done"), "photos": N_("Photos"), "*": N_("This task")}


def _tasks_page(
    request: Request,
    caller: Principal,
    uow: Uow,
    clock: Clock,
    *,
    error: TwonetsError | None = None,
    failed: int | None = None,
    kept: Mapping[str, str] | None = None,
    photos: Sequence[Photo] = (),
    status_code: int = 200,
    done: str | None = None,
) -> HTMLResponse:
    now = clock()
    with uow() as session:
        tasks = queries.cases_json(session, queries.my_tasks(session, caller), now=now)
    message, errors = (
        worded(error, TASK_LABELS, photos=photos, gettext=gettext_of(request))
        if error
        else (None, {})
    )
    return render(
        request,
        "operations/tasks.html",
        caller,
        status_code=status_code,
        tasks=tasks,
        states=STATE_LABELS,
        error=message,
        errors=errors,
        failed=failed,
        kept=kept or {},
        done=done,
        local_time=local_time,
        now=now,
    )


@router.get("/ops/tasks", response_class=HTMLResponse)
def tasks_page(
    request: Request, caller: Field, uow: Uow, clock: Clock, done: str | None = None
) -> HTMLResponse:
    """My tasks: my department's cases to handle, soonest deadline first."""
    return _tasks_page(request, caller, uow, clock, done=done)


@router.post("/ops/tasks/{case_id}/accept", response_class=HTMLResponse)
def task_accept(request: Request, case_id: int, caller: Field, uow: Uow, clock: Clock) -> Response:
    """Take a task on."""
    try:
        with uow() as session:
            service.accept_case(session, caller, case_id, now=clock())
    except TwonetsError as exc:
        return _tasks_page(
            request, caller, uow, clock, error=exc, failed=case_id, status_code=exc.status
        )
    return RedirectResponse("/ops/tasks", status_code=303)


@router.post("/ops/tasks/{case_id}/feedback", response_class=HTMLResponse)
async def task_feedback(
    request: Request,
    case_id: int,
    caller: Field,
    uow: Uow,
    clock: Clock,
    settings: AppSettings,
    note: Annotated[str, Form()] = "",
    photos: Annotated[list[UploadFile] | None, File()] = None,
) -> Response:
    """Report a task handled, with photos."""
    taken = [p for p in await ops_api.read_photos(photos or []) if p.content or p.filename]

    def write() -> str:
        with uow() as session:
            row = service.report_handling(
                session,
                caller,
                case_id,
                now=clock(),
                note=note or None,
                photos=taken,
                photo_dir=ops_api.photo_dir(settings),
            )
            return row.number

    try:
        number = await asyncio.to_thread(write)
    except TwonetsError as exc:
        return _tasks_page(
            request,
            caller,
            uow,
            clock,
            error=exc,
            failed=case_id,
            kept={"note": note},
            photos=taken,
            status_code=exc.status,
        )
    return RedirectResponse(f"/ops/tasks?done={number}", status_code=303)
