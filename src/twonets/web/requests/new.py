"""The intake form: an enterprise writes its request; the platform routes it."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Annotated

from fastapi import APIRouter, Depends, File, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError

from twonets.core.auth import Principal
from twonets.core.errors import Invalid, TwonetsError
from twonets.core.http import AppSettings, Clock, Uow, require
from twonets.core.models import Role
from twonets.requests import categories, service
from twonets.requests.schemas import NewRequest
from twonets.web.pages import render
from twonets.web.requests.words import worded

router = APIRouter(include_in_schema=False)
Enterprise = Annotated[Principal, Depends(require(Role.ENTERPRISE))]


def _page(
    request: Request,
    caller: Principal,
    *,
    form: Mapping[str, str] | None = None,
    error: TwonetsError | None = None,
) -> HTMLResponse:
    message, field = worded(error) if error else (None, None)
    return render(
        request,
        "requests/new.html",
        caller,
        status_code=error.status if error else 200,
        categories=categories.ENTERPRISE_CATEGORIES,
        form=form or {},
        error=message,
        error_field=field,
    )


@router.get("/requests/new", response_class=HTMLResponse)
def new_page(request: Request, caller: Enterprise) -> HTMLResponse:
    """The form an enterprise writes its request in."""
    return _page(request, caller)


def _new_request(form: Mapping[str, str]) -> NewRequest:
    try:
        return NewRequest(
            category=form.get("category") or None,
            description=form.get("description", ""),
            address=form.get("address") or None,
            contact_name=form.get("contact_name") or None,
            contact_phone=form.get("contact_phone") or None,
            contact_email=form.get("contact_email") or None,
            urgency="urgent" if form.get("urgency") == "urgent" else "normal",
        )
    except ValidationError as exc:
        field = str(exc.errors()[0]["loc"][0]) if exc.errors() else "description"
        raise Invalid.field(field, "form", "check this field") from None


@router.post("/requests/new", response_class=HTMLResponse)
async def new_submit(
    request: Request,
    caller: Enterprise,
    uow: Uow,
    clock: Clock,
    settings: AppSettings,
    attachment: Annotated[UploadFile | None, File()] = None,
) -> Response:
    """File the request, with a file if one is attached (all or nothing); the answer is its
    own page, with where it went (or the knowledge base's answer)."""
    submitted = await request.form()
    form = {k: v.strip() for k, v in submitted.items() if isinstance(v, str)}
    data = await attachment.read(service.MAX_BYTES + 1) if attachment is not None else b""
    name = attachment.filename if attachment is not None else None

    def write() -> int:
        with uow() as session:
            row = service.submit_request(
                session, service.Filer(principal=caller), _new_request(form), now=clock()
            )
            if data or name:
                service.add_attachment(
                    session,
                    caller,
                    row.id,
                    name=name,
                    data=data,
                    store=service.attachment_dir(settings.var_dir),
                    now=clock(),
                )
            return row.id

    try:
        request_id = await asyncio.to_thread(write)
    except TwonetsError as exc:
        return _page(request, caller, form=form, error=exc)
    return RedirectResponse(f"/requests/{request_id}", status_code=303)
