"""Muck-truck supervision in the app: the position consumer with its live checks, the camera
and drone subscriber, the retention sweep, and the routes the trucks page reads (GeoJSON in
WGS-84, or GCJ-02 for a map whose tiles are GCJ-02: converted here, at the boundary)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import datetime, timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, FastAPI, Query

from twonets.core.auth import Principal
from twonets.core.db import unit_of_work
from twonets.core.events import Event
from twonets.core.geo import wgs84_to_gcj02
from twonets.core.http import Clock, Uow, require
from twonets.core.models import Role
from twonets.operations.devices.service import LOCATION_TOPIC
from twonets.operations.trucks import service
from twonets.operations.trucks.checks import Fix
from twonets.operations.trucks.config import TruckSettings
from twonets.operations.trucks.consumer import PositionConsumer
from twonets.operations.trucks.sightings_intake import SightingIntake

log = logging.getLogger(__name__)

PURGE_EVERY_SECONDS = 3600.0

router = APIRouter(tags=["operations"])

Watcher = Annotated[Principal, Depends(require(Role.OPERATOR, Role.SUPERVISOR, Role.FIELD))]
Reader = Annotated[
    Principal,
    Depends(require(Role.OPERATOR, Role.SUPERVISOR, Role.FIELD, Role.ENTERPRISE)),
]
Crs = Annotated[
    Literal["wgs84", "gcj02"],
    Query(description="Coordinates out: WGS-84 (default) or GCJ-02 for GCJ-02 map tiles."),
]


def _point(lon: float, lat: float, crs: str) -> list[float]:
    if crs == "gcj02":
        lon, lat = wgs84_to_gcj02(lon, lat)
    return [round(lon, 7), round(lat, 7)]


def positions_geojson(
    found: list[service.LivePosition], *, now: datetime, crs: str
) -> dict[str, Any]:
    """Newest fixes as a GeoJSON FeatureCollection of points (shared with the page's route)."""
    return {
        "type": "FeatureCollection",
        "crs_name": crs,
        "features": [
            {
                "type": "Feature",
                "geometry": {"type": "Point", "coordinates": _point(p.lon, p.lat, crs)},
                "properties": {
                    "plate": p.plate,
                    "company": p.company,
                    "time": p.time.isoformat(),
                    "speed_kmh": p.speed_kmh,
                    "age_s": round((now - p.time).total_seconds()),
                },
            }
            for p in found
        ],
    }


def track_geojson(plate: str, fixes: list[Fix], *, crs: str) -> dict[str, Any]:
    """A track as a GeoJSON LineString feature with its fixes' times (shared with the page)."""
    return {
        "type": "Feature",
        "geometry": {
            "type": "LineString",
            "coordinates": [_point(f.lon, f.lat, crs) for f in fixes],
        },
        "properties": {
            "plate": plate.strip().upper(),
            "crs_name": crs,
            "times": [f.time.isoformat() for f in fixes],
            "speeds_kmh": [f.speed_kmh for f in fixes],
        },
    }


@router.get("/api/v1/ops/trucks/positions")
def positions(caller: Watcher, uow: Uow, clock: Clock, crs: Crs = "wgs84") -> dict[str, Any]:
    """Each truck's newest fix of the last 24 hours, as GeoJSON points."""
    now = clock()
    with uow() as session:
        found = service.live_positions(session, caller, now=now)
    return positions_geojson(found, now=now, crs=crs)


@router.get("/api/v1/ops/trucks/{plate}/track")
def track(
    plate: str,
    caller: Watcher,
    uow: Uow,
    clock: Clock,
    crs: Crs = "wgs84",
    since: Annotated[datetime | None, Query(description="From (ISO 8601 with offset).")] = None,
    until: Annotated[datetime | None, Query(description="To, exclusive.")] = None,
) -> dict[str, Any]:
    """A truck's track as a GeoJSON LineString (what the caller may see of it), with the
    times of its fixes; the last 24 hours unless told."""
    end = until or clock()
    start = since or end - timedelta(hours=24)
    with uow() as session:
        fixes = service.track(session, caller, plate, since=start, until=end)
    return track_geojson(plate, fixes, crs=crs)


@router.get("/api/v1/ops/trucks/alerts")
def alerts(caller: Reader, uow: Uow, clock: Clock) -> list[dict[str, Any]]:
    """The alerts of the caller's department, or the notices of the caller's company."""
    with uow() as session:
        found = service.list_alerts(session, caller, now=clock())
    return [
        {
            "id": a.id,
            "audience": a.audience,
            "plate": a.plate,
            "company": a.company,
            "kind": a.kind,
            "message": a.message,
            "lon": a.lon,
            "lat": a.lat,
            "start": a.start.isoformat(),
            "case_number": a.case_number,
            "prior_violations": a.prior_violations,
            "created_at": a.created_at.isoformat(),
            "read_at": None if a.read_at is None else a.read_at.isoformat(),
        }
        for a in found
    ]


@router.post("/api/v1/ops/trucks/alerts/{alert_id}/read")
def read_alert(alert_id: int, caller: Reader, uow: Uow, clock: Clock) -> dict[str, Any]:
    """Mark an alert read (its department's inspectors, or the company it notified)."""
    with uow() as session:
        alert = service.acknowledge_alert(session, caller, alert_id, now=clock())
        return {"id": alert.id, "read_at": alert.read_at, "read_by": alert.read_by}


def setup(app: FastAPI) -> None:
    """Subscribe the position consumer to location events; flush and purge in background."""
    settings = TruckSettings()
    factory = app.state.session_factory
    live = service.LiveSupervision() if settings.live_checks else None
    consumer = PositionConsumer(
        factory, batch_size=settings.batch_size, live=live, clock=app.state.clock
    )
    app.state.truck_positions = consumer

    async def on_location(event: Event) -> None:
        if isinstance(event.payload, dict) and consumer.hold(event.payload):
            await asyncio.to_thread(consumer.flush)  # the database write, off the event loop

    app.state.bus.subscribe(LOCATION_TOPIC, on_location)

    def purge() -> int:
        with unit_of_work(factory) as session:
            return service.purge_positions(
                session, now=app.state.clock(), retention_days=settings.retention_days
            )

    async def keep(stop: asyncio.Event) -> None:
        waited = PURGE_EVERY_SECONDS
        while not stop.is_set():
            try:
                await asyncio.to_thread(consumer.flush)
                await asyncio.to_thread(consumer.check_silences)
                if waited >= PURGE_EVERY_SECONDS:
                    await asyncio.to_thread(purge)
                    waited = 0.0
            except Exception:  # a busy database: try again next round
                log.exception("truck positions: flush or purge failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=settings.flush_seconds)
            waited += settings.flush_seconds
        await asyncio.to_thread(consumer.flush)

    app.state.background.append(keep)

    mqtt_url = app.state.settings.mqtt_url
    if mqtt_url:
        intake = SightingIntake(mqtt_url, factory, clock=app.state.clock)
        app.state.truck_sightings = intake
        app.state.background.append(intake.run)
