"""A request's files on its pages: fetched by the filer and the departments holding it,
uploaded from the filer's page and from the holding department's page.

The service decides who may (``open_attachment``, ``add_attachment``): anyone else gets 403.
"""

from __future__ import annotations

import asyncio
from typing import Annotated

from fastapi import APIRouter, Depends, File, Request, UploadFile
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response

from twonets.core.auth import Principal
from twonets.core.errors import TwonetsError
from twonets.core.http import AppSettings, Caller, Clock, Uow, require
from twonets.core.models import Role
from twonets.requests import service
from twonets.web.requests.common import request_page
from twonets.web.requests.words import STAFF_FIELD_WORDS

router = APIRouter(include_in_schema=False)
Filer = Annotated[Principal, Depends(require(Role.ENTERPRISE, Role.CITIZEN))]
Staff = Annotated[Principal, Depends(require(Role.STAFF))]
Upload = Annotated[UploadFile, File()]


@router.get("/requests/{request_id}/files/{attachment_id}")
def download(
    request_id: int, attachment_id: int, caller: Caller, uow: Uow, settings: AppSettings
) -> FileResponse:
    """One file of a request, for its filer and the departments holding it."""
    with uow() as session:
        found = service.open_attachment(
            session,
            caller,
            request_id,
            attachment_id,
            store=service.attachment_dir(settings.var_dir),
        )
        return FileResponse(
            found.path,
            media_type=found.attachment.content_type or "application/octet-stream",
            filename=found.attachment.name,
            headers={"X-Content-Type-Options": "nosniff", "Cache-Control": "private, no-store"},
        )


async def _upload(
    request: Request,
    caller: Principal,
    uow: Uow,
    clock: Clock,
    settings: AppSettings,
    request_id: int,
    file: UploadFile,
    *,
    page: str,
    template: str,
) -> Response:
    data = await file.read(service.MAX_BYTES + 1)

    def work() -> None:
        with uow() as session:
            service.add_attachment(
                session,
                caller,
                request_id,
                name=file.filename,
                data=data,
                store=service.attachment_dir(settings.var_dir),
                now=clock(),
            )

    try:
        await asyncio.to_thread(work)
    except TwonetsError as exc:
        return await asyncio.to_thread(_refused, request, caller, uow, request_id, template, exc)
    return RedirectResponse(page, status_code=303)


def _refused(
    request: Request,
    caller: Principal,
    uow: Uow,
    request_id: int,
    template: str,
    error: TwonetsError,
) -> HTMLResponse:
    """The filer's or the staff's page of the request, with why the file was refused."""
    if template == "requests/work_detail.html":
        return request_page(
            request,
            template,
            caller,
            uow,
            request_id,
            error=error,
            field_words=STAFF_FIELD_WORDS,
            failed_action="file",
            holds=lambda context: context["row"].department_id == caller.department_id,
        )
    return request_page(request, template, caller, uow, request_id, error=error)


@router.post("/requests/{request_id}/files", response_class=HTMLResponse)
async def filer_upload(
    request: Request,
    request_id: int,
    caller: Filer,
    uow: Uow,
    clock: Clock,
    settings: AppSettings,
    file: Upload,
) -> Response:
    """The filer adds a photo or a PDF to the request."""
    return await _upload(
        request,
        caller,
        uow,
        clock,
        settings,
        request_id,
        file,
        page=f"/requests/{request_id}",
        template="requests/detail.html",
    )


@router.post("/requests/work/{request_id}/files", response_class=HTMLResponse)
async def staff_upload(
    request: Request,
    request_id: int,
    caller: Staff,
    uow: Uow,
    clock: Clock,
    settings: AppSettings,
    file: Upload,
) -> Response:
    """The department holding the request adds a file (a reply letter, a photo of the site)."""
    return await _upload(
        request,
        caller,
        uow,
        clock,
        settings,
        request_id,
        file,
        page=f"/requests/work/{request_id}",
        template="requests/work_detail.html",
    )
