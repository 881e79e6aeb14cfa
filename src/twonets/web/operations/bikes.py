"""The shared-bikes page: a day's heat map of H3 cells by hour, the forecast and plan, alerts.

``/ops/bikes`` shows staff of operations and transport departments (the service decides) one
local day of counts per cell and hour — trip starts (demand), arrivals, parked bikes (supply),
net flow and the imbalance index — as a map layer with an hour slider (``static/bikes.js``),
for all operators or one; the zones over capacity with their cases; and, loaded after the page
(``/ops/bikes/plan``), the forecast of the next 24 hours and the rebalancing plan for a fleet of
trucks the operator sets.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Annotated, Any

import pandas as pd
from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse

from twonets.core.auth import Principal
from twonets.core.errors import TwonetsError
from twonets.core.http import AppSettings, Clock, Uow, require
from twonets.operations.bikes import heat
from twonets.operations.bikes import service as bikes
from twonets.web.i18n import N_
from twonets.web.pages import SHANGHAI, local_time, render

router = APIRouter(include_in_schema=False)

Watcher = Annotated[Principal, Depends(require(*bikes.SEEING_ROLES))]
MEASURES = {
    "supply": N_("Parked bikes (supply)"),
    "starts": N_("Trip starts (demand)"),
    "arrivals": N_("Arrivals"),
    "net": N_("Net flow (arrivals − starts)"),
    "imbalance": N_("Imbalance (supply against demand)"),
}
DEFAULT_TRUCKS, DEFAULT_CAPACITY = 10, 20
# The name of this part's layer on the operations centre's map, for the catalogue.
LAYER_NAME = N_("Shared bikes: supply against demand")


def _day(value: str | None, now: datetime) -> date:
    today = now.astimezone(SHANGHAI).date()
    if not value:
        return today
    try:
        return date.fromisoformat(value)
    except ValueError:
        return today


def _hours(table: pd.DataFrame, start: datetime) -> list[list[list[Any]]]:
    """Rows per local hour of the day: ``[cell, starts, arrivals, supply, net, imbalance]``."""
    out: list[list[list[Any]]] = [[] for _ in range(24)]
    for r in table.itertuples(index=False):
        index = int((r.hour.to_pydatetime() - start) / timedelta(hours=1))
        if 0 <= index < 24:
            out[index].append(
                [r.cell, int(r.starts), int(r.arrivals), int(r.supply), int(r.net), r.imbalance]
            )
    return out


@router.get("/ops/bikes", response_class=HTMLResponse)
def bikes_page(
    request: Request,
    caller: Watcher,
    uow: Uow,
    clock: Clock,
    settings: AppSettings,
    day: Annotated[str | None, Query(max_length=10)] = None,
    operator: Annotated[str | None, Query(max_length=32)] = None,
) -> HTMLResponse:
    """One day's cells by hour, for all operators or one, and the zones over capacity."""
    now = clock()
    shown = _day(day, now)
    start = datetime.combine(shown, datetime.min.time(), tzinfo=SHANGHAI)
    resolution = settings.bikes_h3_resolution
    with uow() as session:
        operators = bikes.list_operators(session, caller, resolution=resolution)
        chosen = operator if operator in operators else None
        table = bikes.heat_cells(
            session,
            caller,
            since=start,
            until=start + timedelta(days=1),
            resolution=resolution,
            operator=chosen,
        )
        zones = bikes.list_zones(session, caller, resolution=resolution)
    hours = _hours(table, start)
    local_now = now.astimezone(SHANGHAI)
    # Today's latest hour with data (the feeds lag the clock); another day opens at 08:00.
    latest = [h for h in range(local_now.hour + 1) if any(r[1] or r[3] for r in hours[h])]
    hour = (latest[-1] if latest else local_now.hour) if shown == local_now.date() else 8
    data = {
        "cells": {str(c): heat.boundary(str(c)) for c in sorted(set(table["cell"]))},
        "hours": hours,
        "zones": [
            {
                "name": z.zone.name,
                "lat": z.zone.lat,
                "lon": z.zone.lon,
                "radius": z.zone.radius_m,
                "over": z.case_number is not None,
            }
            for z in zones
        ],
    }
    return render(
        request,
        "operations/bikes.html",
        caller,
        day=shown,
        hour=hour,
        operators=operators,
        operator=chosen,
        measures=MEASURES,
        data=data,
        trips=int(table["starts"].sum()),
        alerts=[z for z in zones if z.case_number is not None],
        zone_count=len(zones),
        trucks=DEFAULT_TRUCKS,
        capacity=DEFAULT_CAPACITY,
        local_time=local_time,
    )


@router.get("/ops/bikes/plan", response_class=HTMLResponse)
def plan_fragment(
    request: Request,
    caller: Watcher,
    uow: Uow,
    clock: Clock,
    settings: AppSettings,
    trucks: Annotated[int, Query()] = DEFAULT_TRUCKS,
    capacity: Annotated[int, Query()] = DEFAULT_CAPACITY,
) -> HTMLResponse:
    """The forecast of the next 24 hours and the plan for ``trucks`` of ``capacity`` bikes."""
    now = clock()
    resolution = settings.bikes_h3_resolution
    error = None
    forecast = plan = None
    try:
        with uow() as session:
            forecast = bikes.forecast_demand(session, caller, resolution=resolution, now=now)
            plan = bikes.plan_rebalancing(
                session, caller, resolution=resolution, trucks=trucks, capacity=capacity, now=now
            )
    except TwonetsError as exc:
        if exc.status == 403:
            raise
        error = exc.detail
    busiest = list(forecast.by_cell().items())[:8] if forecast is not None else []
    by_operator: dict[str, list[Any]] = {}
    for move in plan.moves if plan is not None else []:
        by_operator.setdefault(move.operator, []).append(move)
    return render(
        request,
        "operations/_bikes_plan.html",
        caller,
        forecast=forecast,
        total=round(sum(v for _, v in forecast.by_cell().items())) if forecast else 0,
        busiest=busiest,
        plan=plan,
        by_operator=by_operator,
        error=error,
        local_time=local_time,
    )
