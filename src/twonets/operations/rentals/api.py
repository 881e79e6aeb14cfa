"""Group rentals over HTTP: import files, detect, the housing department's leads.

Only staff reach these routes; the service decides the rest (a housing department, its
district). A broken file is a 422 problem+json whose ``file``, ``row`` and ``column`` say where.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, File, Request, UploadFile
from pydantic import BaseModel, ConfigDict, Field

from twonets.core.auth import Principal
from twonets.core.config import Settings
from twonets.core.db import unit_of_work
from twonets.core.http import Clock, Uow, require
from twonets.core.models import Role
from twonets.governance.service import Governance
from twonets.operations.cases.api import Layer, add_layer
from twonets.operations.rentals import (
    feed,
    model,
    service,
    service_loop,
    service_meters,
    service_views,
)

log = logging.getLogger(__name__)
router = APIRouter(tags=["operations"])

Staff = Annotated[Principal, Depends(require(Role.STAFF))]
Seer = Annotated[Principal, Depends(require(Role.OPERATOR, Role.SUPERVISOR, Role.STAFF))]
# The operations centre's map: leads per building (off until ticked).
LEADS_LAYER = Layer("rentals", "Group-rental leads", "/ops/layers/rentals", "points", shown=False)


def get_governance(request: Request) -> Governance:
    """The governance door the app was built with."""
    gov: Governance = request.app.state.governance
    return gov


Gov = Annotated[Governance, Depends(get_governance)]


class Decision(BaseModel):
    """A note on referring a lead, or the reason for setting it aside."""

    model_config = ConfigDict(extra="forbid")

    note: str = Field(default="", max_length=2000)


def lead_json(view: service.LeadView) -> dict[str, Any]:
    """A lead as the API gives it."""
    return {
        "id": view.id,
        "score": view.score,
        "reasons": view.reasons,
        "state": view.state,
        "label": view.label,
        "period": view.period,
        "district_code": view.district_code,
        "case_id": view.case_id,
        "household": view.household,
    }


async def _upload(file: UploadFile | None) -> service.Upload | None:
    if file is None:
        return None
    return (file.filename or "upload.csv", await file.read())


@router.post("/api/v1/ops/rentals/import")
async def import_readings(
    caller: Staff,
    uow: Uow,
    clock: Clock,
    households: Annotated[UploadFile | None, File()] = None,
    readings: Annotated[UploadFile | None, File()] = None,
) -> dict[str, int]:
    """Households and monthly readings as CSV or Parquet; all or nothing."""
    homes, rows = await _upload(households), await _upload(readings)
    with uow() as session:
        done = service.import_uploads(session, caller, households=homes, readings=rows, now=clock())
    return {"households": done.households, "readings": done.readings}


@router.post("/api/v1/ops/rentals/detect")
def detect(caller: Staff, uow: Uow, clock: Clock) -> dict[str, int]:
    """Score the stored households into leads (the caller's district's, for a district)."""
    with uow() as session:
        return {"leads": len(service.detect_leads(session, caller, now=clock()))}


@router.get("/api/v1/ops/rentals/leads")
def leads(
    caller: Staff, uow: Uow, clock: Clock, gov: Gov, state: str | None = None, limit: int = 50
) -> list[dict[str, Any]]:
    """The caller's leads, best first, with the households' figures and addresses."""
    with uow() as session:
        return [
            lead_json(v)
            for v in service.list_leads(session, gov, caller, now=clock(), state=state, limit=limit)
        ]


@router.post("/api/v1/ops/rentals/leads/{lead_id}/refer")
def refer(lead_id: int, body: Decision, caller: Staff, uow: Uow, clock: Clock) -> dict[str, Any]:
    """Send a lead for inspection: it becomes a case of the operations centre."""
    with uow() as session:
        lead = service.refer_lead(session, caller, lead_id, now=clock(), note=body.note)
        return {"id": lead.id, "state": lead.state, "case_id": lead.case_id}


@router.post("/api/v1/ops/rentals/leads/{lead_id}/dismiss")
def dismiss(lead_id: int, body: Decision, caller: Staff, uow: Uow, clock: Clock) -> dict[str, Any]:
    """Set a lead aside without inspection; the note is the reason."""
    with uow() as session:
        lead = service.dismiss_lead(session, caller, lead_id, now=clock(), reason=body.note)
        return {"id": lead.id, "state": lead.state}


class Cap(BaseModel):
    """A street team's daily cap of inspections."""

    model_config = ConfigDict(extra="forbid")

    district: str = Field(pattern=r"^\d{6}$")
    daily_cap: int = Field(ge=0, le=500)


@router.put("/api/v1/ops/rentals/teams/{team}")
def set_cap(team: str, body: Cap, caller: Staff, uow: Uow, clock: Clock) -> dict[str, Any]:
    """Set how many referred leads a street team inspects a day."""
    with uow() as session:
        row = service_loop.set_cap(
            session, caller, team, body.district, body.daily_cap, now=clock()
        )
        return {"team": row.code, "district": row.district_code, "daily_cap": row.daily_cap}


@router.get("/api/v1/ops/rentals/teams")
def list_teams(caller: Staff, uow: Uow, clock: Clock) -> list[dict[str, Any]]:
    """The street teams, each with its daily cap and the leads it was sent today."""
    with uow() as session:
        return [vars(t) for t in service_views.teams(session, caller, now=clock())]


@router.get("/api/v1/ops/rentals/meters")
def meters(
    request: Request, caller: Staff, uow: Uow, faulty: bool = True, limit: int = 200
) -> dict[str, Any]:
    """The caller's households' meters with the feed's counters (no use), the most faults
    first; and what this server's feed has seen since it started, when it runs."""
    with uow() as session:
        views = service_meters.list_meters(session, caller, faulty_only=faulty, limit=limit)
    running: feed.MeterFeed | None = getattr(request.app.state, "rentals_feed", None)
    return {
        "meters": [vars(v) for v in views],
        "feed": None
        if running is None
        else {
            "messages": running.stats.messages,
            "added": running.stats.added,
            "not_households": running.stats.not_households,
            "rejected": dict(running.stats.rejected),
            "refused": dict(running.stats.refused),
        },
    }


@router.get("/ops/layers/rentals")
def leads_layer(caller: Seer, uow: Uow) -> dict[str, Any]:
    """Leads per building as GeoJSON points (WGS-84), a layer of the operations centre's map."""
    with uow() as session:
        return service_views.leads_layer(session, caller)


def _thresholds_json(t: model.Thresholds) -> dict[str, Any]:
    return {"high": t.high, "agreement": t.agreement, "min_score": t.min_score}


@router.get("/api/v1/ops/rentals/thresholds")
def thresholds(caller: Staff, uow: Uow, clock: Clock) -> list[dict[str, Any]]:
    """Candidate thresholds and the effect each would have, before any applies."""
    with uow() as session:
        return [
            {
                "thresholds": _thresholds_json(e.thresholds),
                "current": e.current,
                "leads": e.leads,
                "confirmed_kept": e.confirmed_kept,
                "confirmed": e.confirmed,
                "not_confirmed_kept": e.not_confirmed_kept,
                "not_confirmed": e.not_confirmed,
                "precision": round(e.precision, 4),
            }
            for e in service_loop.propose_thresholds(session, caller, now=clock())
        ]


class ThresholdsIn(BaseModel):
    """One of the proposed thresholds, to apply."""

    model_config = ConfigDict(extra="forbid")

    high: float
    agreement: int
    min_score: float = 0.0


@router.post("/api/v1/ops/rentals/thresholds")
def apply(body: ThresholdsIn, caller: Staff, uow: Uow, clock: Clock) -> dict[str, Any]:
    """Apply proposed thresholds to the caller's district (the city's, for the city)."""
    t = model.Thresholds(high=body.high, agreement=body.agreement, min_score=body.min_score)
    with uow() as session:
        row = service_loop.apply_thresholds(session, caller, t, now=clock())
        return {"id": row.id, "district_code": row.district_code, **_thresholds_json(t)}


@router.get("/api/v1/ops/rentals/precision")
def precision(caller: Staff, uow: Uow) -> dict[str, Any]:
    """Precision of inspected leads per district and per month of outcome."""
    with uow() as session:
        return {
            "districts": [
                {"district": p.district_code, "inspected": p.inspected, "confirmed": p.confirmed}
                for p in service.precision_by_district(session, caller)
            ],
            "months": [
                {"month": m.month, "inspected": m.inspected, "confirmed": m.confirmed}
                for m in service_loop.precision_over_time(session, caller)
            ],
        }


@router.get("/api/v1/ops/rentals/leads/{lead_id}/history")
def history(lead_id: int, caller: Staff, uow: Uow) -> list[dict[str, Any]]:
    """A lead's use per registered occupant over its building's median, month by month."""
    with uow() as session:
        return [
            {"month": m.month, "ratio": m.ratio, "low": m.low, "high": m.high}
            for m in service_views.lead_history(session, caller, lead_id)
        ]


@router.get("/api/v1/ops/rentals/districts")
def districts(caller: Staff, uow: Uow) -> dict[str, int]:
    """Leads worth a look per district (the caller's district only, for a district)."""
    with uow() as session:
        return service_views.leads_by_district(session, caller)


OUTCOME_SECONDS = 300.0


async def learn_outcomes(app: FastAPI, stop: asyncio.Event, every: float = OUTCOME_SECONDS) -> None:
    """The server's scheduled work: label referred leads from their cases, every ``every`` s."""

    def once() -> int:
        with unit_of_work(app.state.session_factory) as session:
            return service.record_outcomes(session, now=app.state.clock())

    while not stop.is_set():
        try:
            await asyncio.to_thread(once)
        except Exception:  # a busy or briefly absent database: try again next round
            log.exception("group-rental outcomes not recorded")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=every)


def setup(app: FastAPI) -> None:
    """Put the leads on the operations map; learn outcomes on a clock; read the meter feed
    when the MQTT broker is set."""
    settings: Settings = app.state.settings
    add_layer(app, LEADS_LAYER)
    app.state.background.append(lambda stop: learn_outcomes(app, stop))
    if settings.mqtt_url:
        meter_feed = feed.MeterFeed(
            settings.mqtt_url, app.state.session_factory, clock=app.state.clock
        )
        app.state.rentals_feed = meter_feed
        app.state.background.append(meter_feed.run)
