"""Issuing (``/licences/issue``): the form of the licence types the clerk's department issues,
and each licence it issued with its history (``/licences/{id}``)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from twonets.core import service as core_service
from twonets.core.auth import Principal
from twonets.core.errors import Conflict, Forbidden, Invalid, TwonetsError
from twonets.core.http import Clock, UnitOfWork, Uow, require
from twonets.core.models import Role
from twonets.licences import service
from twonets.licences.api import Ctx
from twonets.web.licences.words import Words, page, places_of
from twonets.web.pages import (
    SHANGHAI,
    FormFields,
    local_date,
)

router = APIRouter(include_in_schema=False)

Clerk = Annotated[Principal, Depends(require(Role.STAFF))]


def _issue_page(
    request: Request,
    caller: Principal,
    uow: UnitOfWork,
    now: datetime,
    *,
    type_code: str,
    values: Mapping[str, str] | None = None,
    issued: Mapping[str, Any] | None = None,
    error: TwonetsError | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    types = service.issuing_types(caller)
    chosen = next((t for t in types if t.code == type_code), None)
    if chosen is None and len(types) == 1:
        chosen = types[0]
    with uow() as session:
        department = core_service.get_department(session, caller.department_code or "")
        places = places_of(session)
    today = local_date(now)
    return page(
        request,
        "licences/issue.html",
        caller,
        status_code=status_code,
        types=types,
        chosen=chosen,
        department=department,
        places=places,
        values=values or {"valid_from": _shanghai_day(now).isoformat()},
        today=today,
        issued=issued,
        error=error,
        errors=Words.of(request).form_errors(error, chosen.code if chosen else None),
    )


def _shanghai_day(now: datetime) -> date:
    return now.astimezone(SHANGHAI).date()


@router.get("/licences/issue", response_class=HTMLResponse)
def issue_page(
    request: Request,
    caller: Clerk,
    uow: Uow,
    clock: Clock,
    type: Annotated[str, Query(max_length=8)] = "",
    issued: Annotated[int | None, Query()] = None,
) -> HTMLResponse:
    """The issuing form of the licence types the caller's department issues."""
    done: dict[str, Any] | None = None
    if issued is not None:
        with uow() as session:
            done = service.licence_summary(service.get_issued_licence(session, caller, issued))
    return _issue_page(request, caller, uow, clock(), type_code=type, issued=done)


def _day_field(form: Mapping[str, str], name: str, *, required: bool) -> date | None:
    value = form.get(name, "")
    if not value:
        if required:
            raise Invalid.field(name, "required", "choose a day")
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise Invalid.field(name, "date", f"should be a date YYYY-MM-DD, got {value!r}") from None


@router.post("/licences/issue", response_class=HTMLResponse)
def issue_submit(
    request: Request, caller: Clerk, uow: Uow, clock: Clock, ctx: Ctx, form: FormFields
) -> Response:
    """Issue one licence; problems come back next to their fields."""
    type_code = form.get("type", "")
    now = clock()
    try:
        kind = next((t for t in service.types_issued_by(caller) if t.code == type_code), None)
        if kind is None:
            raise Invalid.field("type", "known", "choose a licence type your department issues")
        claims = {f.name: form.get(f"claims.{f.name}", "") for f in kind.fields}
        valid_from = _day_field(form, "valid_from", required=True)
        valid_until = _day_field(form, "valid_until", required=False)
        assert valid_from is not None
        with uow() as session:
            licence = service.issue_licence(
                session,
                ctx,
                caller,
                type_code=kind.code,
                claims={k: v for k, v in claims.items() if v},
                valid_from=valid_from,
                valid_until=valid_until,
                now=now,
            )
            licence_id = licence.id
    except (Invalid, Forbidden, Conflict) as exc:
        return _issue_page(
            request,
            caller,
            uow,
            now,
            type_code=type_code,
            values=form,
            error=exc,
            status_code=exc.status,
        )
    return RedirectResponse(
        f"/licences/issue?type={type_code}&issued={licence_id}", status_code=303
    )


@router.get("/licences/{licence_id:int}", response_class=HTMLResponse)
def issued_licence_page(request: Request, licence_id: int, caller: Clerk, uow: Uow) -> HTMLResponse:
    """A licence the caller's department issued (or may change): its facts and history."""
    with uow() as session:
        licence = service.licence_summary(service.get_issued_licence(session, caller, licence_id))
        history = service.licence_history(session, caller, licence_id=licence_id)
        places = places_of(session)
    return page(
        request,
        "licences/issued.html",
        caller,
        licence=licence,
        history=history,
        places=places,
    )
