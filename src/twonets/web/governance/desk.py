"""The officer's desk: reads by department and purpose, unusual readers, one reader's reads,
the ledger's state and recent governance changes."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import HTMLResponse

from twonets.core import service as core_service
from twonets.core.auth import Principal
from twonets.core.errors import TwonetsError
from twonets.core.http import Clock, UnitOfWork, Uow
from twonets.governance import break_glass, ledger, reports, service
from twonets.governance.api import Gov
from twonets.web.governance.words import OVERVIEW_DAYS, Officer, Words, page_links, render_page
from twonets.web.i18n import N_

router = APIRouter(include_in_schema=False)


def overview(
    request: Request,
    caller: Principal,
    uow: UnitOfWork,
    now: datetime,
    days: int,
    verified: ledger.VerifyReport | None = None,
    *,
    notice: str | None = None,
    glass_error: tuple[int, TwonetsError, Mapping[str, str]] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    since = now - timedelta(days=days)
    with uow() as session:
        summary = reports.reads_summary(session, since=since)
        unusual = reports.unusual_readers(session, since=since)
        head = ledger.latest_tree_head(session)
        changes = service.list_changes(session, limit=15)
        purposes = {p.code: p for p in service.list_purposes(session)}
        departments = {d.code: d for d in core_service.list_departments(session)}
        glass = list(break_glass.list_break_glass(session, limit=50))
    totals = reports.reads_totals(summary)
    return render_page(
        request,
        "governance/overview.html",
        caller,
        status_code=status_code,
        days=days,
        day_choices=OVERVIEW_DAYS,
        since=since,
        summary=summary,
        busiest=totals.busiest,
        totals=totals,
        unusual=unusual,
        head=ledger.tree_head_json(head) if head is not None else None,
        verified=verified,
        verified_at=now if verified is not None else None,
        changes=changes,
        purposes=purposes,
        departments=departments,
        glass_pending=[g for g in glass if g.reviewed_at is None],
        glass_reviewed=[g for g in glass if g.reviewed_at is not None][:10],
        glass_error=glass_error,
        note_min=break_glass.MIN_NOTE,
        note_max=service.REASON_MAX,
        notice=notice,
    )


@router.get("/governance", response_class=HTMLResponse)
def overview_page(
    request: Request,
    caller: Officer,
    uow: Uow,
    clock: Clock,
    days: Annotated[int, Query(ge=1, le=3650)] = 30,
    reviewed: Annotated[int | None, Query(ge=1)] = None,
) -> HTMLResponse:
    """Break-glass reads to review, reads by department and purpose, unusual readers, the
    ledger, recent changes."""
    words = Words.of(request)
    notice = (
        words._(N_("Emergency read %(id)s marked reviewed.")) % {"id": reviewed}
        if reviewed
        else None
    )
    return overview(request, caller, uow, clock(), days, notice=notice)


@router.get("/governance/readers/{actor}", response_class=HTMLResponse)
def reader_page(
    request: Request,
    actor: Annotated[str, Path(max_length=64)],
    caller: Officer,
    uow: Uow,
    clock: Clock,
    days: Annotated[int, Query(ge=1, le=3650)] = 30,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> HTMLResponse:
    """Every read one member of staff made over the last days, paged: opened from the
    unusual readers and from break-glass reads."""
    since = clock() - timedelta(days=days)
    with uow() as session:
        found = reports.reads_of_reader(session, caller, actor=actor, since=since, page=page)
        departments = {d.code: d for d in core_service.list_departments(session)}
        glass = list(break_glass.list_break_glass(session, actor=actor))
    return render_page(
        request,
        "governance/reader.html",
        caller,
        found=found,
        days=days,
        day_choices=OVERVIEW_DAYS,
        department=departments.get(found.department_code or ""),
        glass=glass,
        paging=page_links(
            f"/governance/readers/{quote(actor, safe='')}",
            {"days": str(days)},
            found.page,
            found.pages,
        ),
    )


@router.post("/governance/verify", response_class=HTMLResponse)
def verify_ledger(
    request: Request,
    caller: Officer,
    uow: Uow,
    clock: Clock,
    gov: Gov,
    days: Annotated[int, Query(ge=1, le=3650)] = 30,
) -> HTMLResponse:
    """Check every ledger entry and signed tree head now; show ok or the first problem."""
    with uow() as session:
        report = ledger.verify_ledger(session, gov.signer.public_key)
    if request.headers.get("HX-Request") == "true":
        return render_page(
            request, "governance/_verify.html", caller, verified=report, verified_at=clock()
        )
    return overview(request, caller, uow, clock(), days, verified=report)
