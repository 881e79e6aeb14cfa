"""The muck-trucks page: live positions on a map, a truck's track on demand, the alerts of
the caller's department, violations of the last 30 days, camera and drone sightings, and
each company's score.

``/ops/trucks`` shows operations staff what the checks found on the trucks' tracks (a
district's staff see their district's only: the service decides), each violation with its
case, and the transport companies with their fleets, violations and scores, worst first. The
map (``static/trucks.js``) reads the positions and tracks from the trucks' API routes.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from twonets.core.auth import Principal
from twonets.core.http import Clock, Uow, require
from twonets.core.models import Role
from twonets.core.places import DISTRICTS
from twonets.operations.trucks import api as truck_api
from twonets.operations.trucks import service as truck_service
from twonets.web.i18n import N_
from twonets.web.pages import local_time, render

router = APIRouter(include_in_schema=False)

Watcher = Annotated[Principal, Depends(require(Role.OPERATOR, Role.SUPERVISOR, Role.FIELD))]
Company = Annotated[Principal, Depends(require(Role.ENTERPRISE))]
_DISTRICT_NAMES = {d.code: d.name for d in DISTRICTS}
# The words people read for each kind of violation.
KIND_LABELS = {
    "off_route": N_("Off the permitted route"),
    "out_of_hours": N_("Outside permitted hours"),
    "speeding": N_("Speeding"),
    "suspected_dumping": N_("Suspected illegal dumping"),
    "no_permit": N_("No valid permit"),
    "silent": N_("Terminal silent while moving"),
    "no_go_zone": N_("Entered a no-go zone"),
}
EVENT_LABELS = {
    "uncovered_load": N_("Uncovered load"),
    "spilled_material": N_("Spilled material"),
    "dirty_wheels": N_("Dirty wheels"),
    "camera": N_("Road camera"),
    "drone": N_("Patrol drone"),
}


@router.get("/ops/trucks", response_class=HTMLResponse)
def trucks_page(request: Request, caller: Watcher, uow: Uow, clock: Clock) -> HTMLResponse:
    """Violations of muck trucks and the companies' counts."""
    now = clock()
    with uow() as session:
        seen = truck_service.overview(session, caller, now=now)
        alerts = truck_service.list_alerts(session, caller, now=now, days=30)
        sightings = truck_service.list_sightings(session, caller, now=now, days=30)
    violations = [
        {
            "plate": v.plate,
            "kind": v.kind,
            "start": local_time(v.start),
            "case": v.case_number,
            "lon": v.lon,
            "lat": v.lat,
        }
        for v in seen.violations
    ]
    return render(
        request,
        "operations/trucks.html",
        caller,
        overview=seen,
        alerts=alerts,
        sightings=sightings,
        map_violations=violations,
        event_kinds=EVENT_LABELS,
        kinds=KIND_LABELS,
        district_names=_DISTRICT_NAMES,
        local_time=local_time,
    )


@router.get("/trucks/notices", response_class=HTMLResponse)
def company_notices(request: Request, caller: Company, uow: Uow, clock: Clock) -> HTMLResponse:
    """A transport company's notices: each violation of its trucks, newest first."""
    with uow() as session:
        notices = truck_service.list_alerts(session, caller, now=clock(), days=90)
    return render(
        request,
        "operations/truck_notices.html",
        caller,
        notices=notices,
        kinds=KIND_LABELS,
        local_time=local_time,
    )


@router.post("/trucks/notices/{alert_id}/read", response_class=HTMLResponse)
def read_notice(alert_id: int, caller: Company, uow: Uow, clock: Clock) -> Response:
    """Mark one notice read (the service checks it is the caller's company's)."""
    with uow() as session:
        truck_service.acknowledge_alert(session, caller, alert_id, now=clock())
    return RedirectResponse("/trucks/notices", status_code=303)


@router.get("/ops/trucks/positions.geojson")
def trucks_positions(caller: Watcher, uow: Uow, clock: Clock) -> JSONResponse:
    """The page map's layer: each truck's newest fix (the API's shape, WGS-84)."""
    now = clock()
    with uow() as session:
        found = truck_service.live_positions(session, caller, now=now)
    return JSONResponse(truck_api.positions_geojson(found, now=now, crs="wgs84"))


@router.get("/ops/trucks/{plate}/track.geojson")
def trucks_track(plate: str, caller: Watcher, uow: Uow, clock: Clock) -> JSONResponse:
    """The page map's track of one truck over the last 24 hours (WGS-84)."""
    now = clock()
    with uow() as session:
        fixes = truck_service.track(
            session, caller, plate, since=now - timedelta(hours=24), until=now
        )
    return JSONResponse(truck_api.track_geojson(plate, fixes, crs="wgs84"))


@router.get("/ops/trucks/permits.geojson")
def trucks_permits(caller: Watcher, uow: Uow, clock: Clock) -> JSONResponse:
    """The page map's permitted routes and zones (WGS-84)."""
    with uow() as session:
        return JSONResponse(truck_service.permit_map(session, caller, now=clock()))
