"""Trust (``/trust``): the regions whose licences verify here and the state of their lists;
administrators recognise and drop regions; admins and DPOs see verification counts."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from twonets.core.auth import Principal
from twonets.core.errors import Invalid, NotFound, TwonetsError
from twonets.core.http import Caller, Clock, UnitOfWork, Uow, require
from twonets.core.models import Role
from twonets.licences import service
from twonets.licences.service import regions
from twonets.trust import remote
from twonets.trust import service as trust
from twonets.web.licences.words import Words, page, places_of
from twonets.web.pages import FormFields

router = APIRouter(include_in_schema=False)

Admin = Annotated[Principal, Depends(require(Role.ADMIN))]

COUNT_DAYS = 30


def _trust_page(
    request: Request,
    caller: Principal,
    uow: UnitOfWork,
    now: datetime,
    *,
    form: Mapping[str, str] | None = None,
    added: str = "",
    dropped: str = "",
    error: TwonetsError | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    sees_counts = caller.has_any({Role.ADMIN, Role.DPO})
    with uow() as session:
        recognised = list(trust.list_recognised(session))
        regions = [
            (
                record,
                trust.describe_recognised(record, now),
                trust.holds_region(session, record.region_code),
            )
            for record in recognised
        ]
        remote_of = {f.region: f for f in remote.describe_remote(session, now=now)}
        places = places_of(session)
        counts = (
            service.verification_totals(session, since=(now - timedelta(days=COUNT_DAYS)).date())
            if sees_counts
            else []
        )
    return page(
        request,
        "licences/trust.html",
        caller,
        status_code=status_code,
        regions=regions,
        remote_of=remote_of,
        places=places,
        counts=counts,
        total=sum(c.count for c in counts),
        valid_total=sum(c.count for c in counts if c.result == "valid"),
        sees_counts=sees_counts,
        is_admin=Role.ADMIN in caller.roles,
        days=COUNT_DAYS,
        form=form or {},
        added=added,
        dropped=dropped,
        error=error,
        errors=Words.of(request).form_errors(error),
        now=now,
    )


@router.get("/trust", response_class=HTMLResponse)
def trust_page(
    request: Request,
    caller: Caller,
    uow: Uow,
    clock: Clock,
    added: Annotated[str, Query(max_length=8)] = "",
    dropped: Annotated[str, Query(max_length=8)] = "",
) -> HTMLResponse:
    """Recognised regions and their trust lists; verification counts for admins and DPOs."""
    return _trust_page(request, caller, uow, clock(), added=added, dropped=dropped)


@router.post("/trust/regions", response_class=HTMLResponse)
def recognise_region(
    request: Request, caller: Admin, uow: Uow, clock: Clock, form: FormFields
) -> Response:
    """Recognise another region from its anchor and signed trust list."""
    now = clock()
    try:
        anchor, trust_list = form.get("anchor", ""), form.get("trust_list", "")
        if not anchor:
            raise Invalid.field("anchor", "required", "paste the region's anchor (a PEM key)")
        if not trust_list:
            raise Invalid.field("trust_list", "required", "paste the region's signed trust list")
        with uow() as session:
            record = trust.recognise_region(session, anchor=anchor, trust_list=trust_list, now=now)
            region = record.region_code
    except TwonetsError as exc:
        if exc.status >= 500:
            raise
        return _trust_page(request, caller, uow, now, form=form, error=exc, status_code=exc.status)
    return RedirectResponse(f"/trust?added={region}", status_code=303)


@router.post("/trust/remote-regions", response_class=HTMLResponse)
def recognise_remote_region(
    request: Request, caller: Admin, uow: Uow, clock: Clock, form: FormFields
) -> Response:
    """Recognise another region's own platform by its anchor; its lists come from its URL."""
    now = clock()
    ctx: service.Licensing = request.app.state.licensing
    try:
        for name, rule in (("region", "a region code, e.g. JS"), ("url", "its platform's address")):
            if not form.get(name, "").strip():
                raise Invalid.field(name, "required", rule)
        if not form.get("anchor", "").strip():
            raise Invalid.field("anchor", "required", "paste the region's anchor (a PEM key)")
        with uow() as session:
            found = regions.recognise(
                session,
                ctx,
                caller,
                region=form["region"].strip().upper(),
                base_url=form["url"],
                anchor=form["anchor"],
                now=now,
            )
            region = found.region_code
    except TwonetsError as exc:
        if exc.status >= 500 and exc.status != 503:
            raise
        form = {**form, "remote": "1"}
        return _trust_page(request, caller, uow, now, form=form, error=exc, status_code=exc.status)
    return RedirectResponse(f"/trust?added={region}", status_code=303)


@router.post("/trust/regions/{region}/drop", response_class=HTMLResponse)
def drop_region(request: Request, region: str, caller: Admin, uow: Uow, clock: Clock) -> Response:
    """Stop recognising a region: its licences no longer verify here."""
    try:
        with uow() as session:
            trust.drop_region(session, region=region)
    except (Invalid, NotFound) as exc:
        return _trust_page(request, caller, uow, clock(), error=exc, status_code=exc.status)
    return RedirectResponse(f"/trust?dropped={region}", status_code=303)
