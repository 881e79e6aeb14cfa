"""HTTP routes of shared bikes: importing an operator's file, the counts per cell and hour, the
forecast of the next 24 hours and the rebalancing plan."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import tempfile
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Query, Request, UploadFile
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session, sessionmaker

from twonets.core.auth import Principal
from twonets.core.config import Settings
from twonets.core.http import Clock, Uow, get_settings, require
from twonets.core.models import Role
from twonets.governance.service import Governance
from twonets.operations.bikes import service, trips
from twonets.operations.cases.api import Layer, add_layer

log = logging.getLogger(__name__)
router = APIRouter(tags=["operations"])

Importer = Annotated[Principal, Depends(require(Role.OPERATOR))]
Watcher = Annotated[Principal, Depends(require(*service.SEEING_ROLES))]
SettingsDep = Annotated[Settings, Depends(get_settings)]
MAX_UPLOAD = 64 * 1024 * 1024
BIKES_LAYER = Layer(
    "bikes", "Shared bikes: supply against demand", "/ops/layers/bikes", "cells", shown=False
)


def get_governance(request: Request) -> Governance:
    """The platform's governance (the keys that seal trip points)."""
    gov: Governance = request.app.state.governance
    return gov


Gov = Annotated[Governance, Depends(get_governance)]


def setup(app: FastAPI) -> None:
    """Fetch the registered GBFS feeds and check the zones on the server's schedule."""
    factory: sessionmaker[Session] = app.state.session_factory
    settings: Settings = app.state.settings
    add_layer(app, BIKES_LAYER)

    def fetch_once() -> service.Round:
        return service.fetch_round(
            factory, resolution=settings.bikes_h3_resolution, now=app.state.clock()
        )

    async def fetch_feeds(stop: asyncio.Event) -> None:
        """Every few minutes: fetch each feed, write its bikes, check the zones."""
        while not stop.is_set():
            try:
                done = await asyncio.to_thread(fetch_once)
                if done.opened:
                    log.info("bikes: %d over-supply episodes opened", len(done.opened))
            except Exception:  # the database may be away for a moment: try again later
                log.exception("bikes: fetching feeds failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=service.FETCH_EVERY_SECONDS)

    app.state.background.append(fetch_feeds)


class FeedIn(BaseModel):
    """An operator's GBFS feed: the discovery document or its free_bike_status."""

    operator: str = Field(min_length=1, max_length=32)
    url: str = Field(min_length=1, max_length=512)


class ZoneIn(BaseModel):
    """A metro exit (its racks' capacity) or a no-parking area (capacity 0)."""

    name: str = Field(min_length=1, max_length=64)
    lat: float
    lon: float
    capacity: int
    radius_m: int = 50


async def _saved(upload: UploadFile, folder: Path) -> tuple[Path, str]:
    name = Path(upload.filename or "upload.csv").name
    path = folder / ("upload.parquet" if name.lower().endswith(".parquet") else "upload.csv")
    data = await upload.read(MAX_UPLOAD + 1)
    if len(data) > MAX_UPLOAD:
        raise trips.BikeDataError(name, None, None, "larger than 64 MB")
    path.write_bytes(data)
    return path, name


@router.post("/api/v1/ops/bikes/trips", status_code=201)
async def import_trips(
    file: UploadFile, caller: Importer, uow: Uow, clock: Clock, settings: SettingsDep, gov: Gov
) -> dict[str, Any]:
    """Import an operator's trips (our CSV columns, Citi Bike's CSV, or Parquet), whole or
    not at all; a bad value is a 422 naming the file, row and column."""
    service.check_may_import(caller)
    with tempfile.TemporaryDirectory() as folder:
        path, name = await _saved(file, Path(folder))
        data = trips.read_trips(path, name=name)
    with uow() as session:
        done = service.import_trips(
            session,
            caller,
            data,
            keyring=gov.keyring(session),
            resolution=settings.bikes_h3_resolution,
            now=clock(),
        )
    return {"batch": done.batch, "rows": done.rows, "resolution": done.resolution}


@router.post("/api/v1/ops/bikes/snapshots", status_code=201)
async def import_snapshots(
    file: UploadFile, caller: Importer, uow: Uow, clock: Clock, settings: SettingsDep
) -> dict[str, Any]:
    """Import parked-bike snapshots (CSV or Parquet), whole or not at all."""
    service.check_may_import(caller)
    with tempfile.TemporaryDirectory() as folder:
        path, name = await _saved(file, Path(folder))
        data = trips.read_snapshots(path, name=name)
    with uow() as session:
        done = service.import_snapshots(
            session, caller, data, resolution=settings.bikes_h3_resolution, now=clock()
        )
    return {"batch": done.batch, "rows": done.rows, "resolution": done.resolution}


@router.get("/ops/layers/bikes")
def bikes_layer(caller: Watcher, uow: Uow, settings: SettingsDep, clock: Clock) -> dict[str, Any]:
    """The latest hour's cells (starts, arrivals, parked bikes, net, imbalance) as GeoJSON
    hexagons, a layer of the operations centre's map."""
    with uow() as session:
        return service.imbalance_layer(
            session, caller, now=clock(), resolution=settings.bikes_h3_resolution
        )


@router.get("/api/v1/ops/bikes/cells")
def cells(
    caller: Watcher,
    uow: Uow,
    settings: SettingsDep,
    since: Annotated[datetime, Query(description="First hour (ISO 8601 with offset).")],
    until: Annotated[datetime, Query(description="End, exclusive (ISO 8601 with offset).")],
    operator: Annotated[str | None, Query(max_length=32)] = None,
) -> list[dict[str, Any]]:
    """Starts, arrivals, supply, net flow and imbalance per H3 cell and hour."""
    with uow() as session:
        table = service.heat_cells(
            session,
            caller,
            since=since,
            until=until,
            resolution=settings.bikes_h3_resolution,
            operator=operator,
        )
    return [
        {
            "cell": row.cell,
            "hour": row.hour.isoformat(),
            "starts": int(row.starts),
            "arrivals": int(row.arrivals),
            "supply": int(row.supply),
            "net": int(row.net),
            "imbalance": float(row.imbalance),
        }
        for row in table.itertuples(index=False)
    ]


@router.get("/api/v1/ops/bikes/forecast")
def forecast(
    caller: Watcher,
    uow: Uow,
    clock: Clock,
    settings: SettingsDep,
    operator: Annotated[str | None, Query(max_length=32)] = None,
) -> dict[str, Any]:
    """Forecast trip starts per H3 cell and hour for the next 24 hours (all operators or one),
    learned from the last 28 whole days."""
    with uow() as session:
        seen = service.forecast_demand(
            session, caller, resolution=settings.bikes_h3_resolution, now=clock(), operator=operator
        )
    return {
        "start": seen.start.isoformat(),
        "operator": seen.operator,
        "history_days": seen.days,
        "resolution": settings.bikes_h3_resolution,
        "cells": [
            {"cell": str(r.cell), "hour": r.hour.isoformat(), "demand": float(r.demand)}
            for r in seen.cells.itertuples(index=False)
        ],
    }


@router.get("/api/v1/ops/bikes/plan")
def plan(
    caller: Watcher,
    uow: Uow,
    clock: Clock,
    settings: SettingsDep,
    trucks: Annotated[int, Query(description="Trucks available.")],
    capacity: Annotated[int, Query(description="Bikes a truck carries.")],
) -> dict[str, Any]:
    """Moves of surplus bikes to deficit cells per operator and truck, from the forecast of the
    next 24 hours and the bikes parked now."""
    with uow() as session:
        made = service.plan_rebalancing(
            session,
            caller,
            resolution=settings.bikes_h3_resolution,
            trucks=trucks,
            capacity=capacity,
            now=clock(),
        )
    return {
        "start": made.start.isoformat(),
        "resolution": settings.bikes_h3_resolution,
        "trucks": made.trucks,
        "capacity": made.capacity,
        "bikes_moved": made.bikes_moved,
        "bike_metres": made.bike_metres,
        "supply": made.supply,
        "need": made.need,
        "moves": [m.as_json() for m in made.moves],
    }


@router.post("/api/v1/ops/bikes/feeds", status_code=201)
def register_feed(body: FeedIn, caller: Importer, uow: Uow, clock: Clock) -> dict[str, Any]:
    """Add an operator's GBFS feed to those the server fetches every few minutes."""
    with uow() as session:
        feed = service.register_feed(
            session, caller, operator=body.operator, url=body.url, now=clock()
        )
        return {"id": feed.id, "operator": feed.operator, "url": feed.url}


@router.post("/api/v1/ops/bikes/zones", status_code=201)
def register_zones(body: list[ZoneIn], caller: Importer, uow: Uow, clock: Clock) -> dict[str, Any]:
    """Add zones to the register (or update those of the same name), all or none."""
    zones = [service.ParkingZone(z.name, z.lat, z.lon, z.capacity, z.radius_m) for z in body]
    with uow() as session:
        count = service.register_zones(session, caller, zones, now=clock())
    return {"zones": count}


@router.get("/api/v1/ops/bikes/zones")
def list_zones(caller: Watcher, uow: Uow, settings: SettingsDep) -> list[dict[str, Any]]:
    """The registered zones, those over capacity now first, with their open case."""
    with uow() as session:
        states = service.list_zones(session, caller, resolution=settings.bikes_h3_resolution)
    return [
        {
            "name": s.zone.name,
            "kind": s.zone.kind.value,
            "lat": s.zone.lat,
            "lon": s.zone.lon,
            "capacity": s.zone.capacity,
            "radius_m": s.zone.radius_m,
            "cell": s.cell,
            "parked": s.parked,
            "since": s.since.isoformat() if s.since else None,
            "case_number": s.case_number,
        }
        for s in states
    ]
