"""The operations centre's dashboard: map with layers, cases with filters, figures; live.

The dashboard stays current without reloading: ``/ops/stream`` is a Server-Sent Events
stream that announces each change to the cases, and the page then refreshes its map layers,
case list and figures.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, StreamingResponse
from sqlalchemy.orm import Session

from twonets.core import service as core_service
from twonets.core.errors import TwonetsError
from twonets.core.http import Clock, Uow
from twonets.operations.cases import api as ops_api
from twonets.operations.cases import catalogue, figures, queries, states
from twonets.web.i18n import N_
from twonets.web.operations.common import (
    STATE_LABELS,
    Watcher,
)
from twonets.web.pages import local_time, render

router = APIRouter(include_in_schema=False)

# The names of the dashboard's own layers, for the catalogue (the page translates them).
LAYER_NAMES = (N_("Open cases"), N_("Case density (H3)"), N_("Vehicles"))
STREAM_POLL_SECONDS = 2.0
STREAM_KEEPALIVE_SECONDS = 15.0
# A stream ends after this long; the browser's EventSource reconnects by itself.
STREAM_SECONDS = 600.0


def _options(session: Session) -> dict[str, Any]:
    categories = catalogue.list_categories(session)
    majors: dict[str, tuple[str, str, str]] = {}
    for c in categories:
        kind = N_("Component") if c.kind == "component" else N_("Event")
        majors.setdefault(c.code[:3], (c.code[:3], kind, c.major_name))
    return {
        "districts": core_service.list_districts(session),
        "majors": sorted(majors.values()),
        "categories": categories,
        "states": STATE_LABELS,
    }


def _filter(params: Any) -> queries.CaseFilter:
    overdue = params.get("overdue")
    return queries.CaseFilter(
        district=params.get("district") or None,
        major=params.get("major") or None,
        category=params.get("category") or None,
        state=params.get("state") or None,
        overdue=True if overdue in {"1", "true", "on"} else None,
        open_only=params.get("open") in {"1", "true", "on"},
        limit=50,
    )


@router.get("/ops", response_class=HTMLResponse)
def dashboard(
    request: Request, caller: Watcher, uow: Uow, clock: Clock, overlays: ops_api.OpsLayers
) -> HTMLResponse:
    """The operations centre: map with layers, cases with filters, figures; live."""
    now = clock()
    with uow() as session:
        options = _options(session)
        rows = figures.figures(session, by="district", now=now)
        counts = figures.state_counts(session)
        version = figures.dashboard_version(session)
    return render(
        request,
        "operations/dashboard.html",
        caller,
        layers=overlays,
        totals=figures.totals(rows),
        open_count=sum(n for s, n in counts.items() if s in states.OPEN_STATES),
        version=version,
        **options,
    )


@router.get("/ops/fragments/cases", response_class=HTMLResponse)
def case_rows(request: Request, caller: Watcher, uow: Uow, clock: Clock) -> HTMLResponse:
    """The case list of the dashboard, filtered (an htmx fragment)."""
    now = clock()
    try:
        flt = _filter(request.query_params)
        with uow() as session:
            rows, total = queries.list_cases(session, flt, now=now)
            cases = queries.cases_json(session, rows, now=now)
        problem = None
    except TwonetsError as exc:
        cases, total, problem = [], 0, exc.detail
    return render(
        request,
        "operations/_case_rows.html",
        caller,
        cases=cases,
        total=total,
        problem=problem,
        states=STATE_LABELS,
        now=now,
        local_time=local_time,
    )


@router.get("/ops/fragments/figures", response_class=HTMLResponse)
def figure_table(
    request: Request, caller: Watcher, uow: Uow, clock: Clock, by: str = "district"
) -> HTMLResponse:
    """The figures table of the dashboard (an htmx fragment)."""
    with uow() as session:
        rows = figures.figures(
            session, by=by if by in {"district", "department"} else "district", now=clock()
        )
    return render(
        request, "operations/_figures.html", caller, rows=rows, totals=figures.totals(rows), by=by
    )


@router.get("/ops/stream")
async def stream(
    request: Request, caller: Watcher, uow: Uow, once: bool = False
) -> StreamingResponse:
    """Server-Sent Events: ``event: cases`` with a new version each time a case changes."""

    def version() -> str:
        with uow() as session:
            current: str = figures.dashboard_version(session)
            return current

    async def events() -> AsyncIterator[str]:
        last = ""
        quiet = 0.0
        waited = 0.0
        yield "retry: 3000\n\n"
        while waited < STREAM_SECONDS:
            current = await asyncio.to_thread(version)
            if current != last:
                last = current
                quiet = 0.0
                yield f"event: cases\ndata: {current}\n\n"
                if once:
                    return
            elif quiet >= STREAM_KEEPALIVE_SECONDS:
                quiet = 0.0
                yield ": keep-alive\n\n"
            if await request.is_disconnected():
                return
            await asyncio.sleep(STREAM_POLL_SECONDS)
            quiet += STREAM_POLL_SECONDS
            waited += STREAM_POLL_SECONDS

    headers = {"Cache-Control": "no-store", "X-Accel-Buffering": "no"}
    return StreamingResponse(events(), media_type="text/event-stream", headers=headers)
