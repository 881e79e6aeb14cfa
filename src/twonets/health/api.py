"""HTTP routes of health: the reserve register, mobilisations, alarms, lab results, planning."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Header, Query, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session, sessionmaker

from twonets.core.auth import Principal
from twonets.core.db import unit_of_work, utcnow
from twonets.core.http import Clock, Uow, media_response, public, require
from twonets.core.idempotency import check_key
from twonets.core.models import Role
from twonets.health import centres, service
from twonets.health.projection import ProjectionParameters, project
from twonets.health.schemas import (
    AvailabilityIn,
    CountsIn,
    DetectIn,
    HospitalIn,
    LabResultIn,
    MobilisationIn,
    ProjectionIn,
    ReservistIn,
    ResponseIn,
    TrainingIn,
)

log = logging.getLogger(__name__)
router = APIRouter(prefix="/api/v1/health", tags=["health"])

Planner = Annotated[Principal, Depends(require(Role.HEALTH_PLANNER))]
LabStaff = Annotated[Principal, Depends(require(Role.STAFF))]
Resident = Annotated[Principal, Depends(require(Role.CITIZEN))]
Answerer = Annotated[Principal, Depends(require(Role.CITIZEN, Role.HEALTH_PLANNER))]
DETECT_EVERY_SECONDS = 3600.0


def get_health(request: Request) -> service.HealthContext:
    """Health's context, put on the app by ``setup``."""
    ctx: service.HealthContext = request.app.state.health
    return ctx


Ctx = Annotated[service.HealthContext, Depends(get_health)]


def setup(app: FastAPI) -> None:
    """Put this domain's context on ``app.state`` and register its background work."""
    app.state.health = service.HealthContext(gov=app.state.governance)
    factory: sessionmaker[Session] = app.state.session_factory

    def detect_once() -> int:
        now = utcnow()
        with unit_of_work(factory) as session:
            return len(service.detect(session, today=now.date(), now=now))

    async def detect_daily(stop: asyncio.Event) -> None:
        """Run the detectors over the stored counts every hour (new alarms become alerts)."""
        while not stop.is_set():
            try:
                raised = await asyncio.to_thread(detect_once)
                if raised:
                    log.info("health: %d new alerts", raised)
            except Exception:  # the database may be away for a moment: try again later
                log.exception("health detection failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=DETECT_EVERY_SECONDS)

    app.state.background.append(detect_daily)


# --- register --------------------------------------------------------------------------------


@router.get("/hospitals")
def list_hospitals(caller: Planner, uow: Uow) -> list[dict[str, Any]]:
    """Hospitals with their staff per specialty."""
    with uow() as session:
        return [
            {
                "code": h.code,
                "name": h.name,
                "district_code": h.district_code,
                "lon": h.lon,
                "lat": h.lat,
                "staff_total": h.staff_total,
                "staff_by_specialty": h.staff_by_specialty,
            }
            for h in service.list_hospitals(session)
        ]


@router.post("/hospitals", status_code=201)
def create_hospital(body: HospitalIn, caller: Planner, uow: Uow) -> dict[str, Any]:
    """Add a hospital."""
    with uow() as session:
        hospital = service.create_hospital(session, **body.model_dump())
        return {"id": hospital.id, "code": hospital.code}


@router.post("/reservists", status_code=201)
def register_reservist(
    body: ReservistIn, caller: Planner, uow: Uow, clock: Clock
) -> dict[str, Any]:
    """Enrol a clinician; the qualification licence is checked with the licence service."""
    with uow() as session:
        reservist = service.register_reservist(session, now=clock(), **body.model_dump())
        return {"id": reservist.id, "specialty": reservist.specialty}


@router.get("/reservists")
def list_reservists(
    caller: Planner,
    uow: Uow,
    clock: Clock,
    ctx: Ctx,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
    specialty: str | None = None,
) -> dict[str, Any]:
    """Reservists' records, masked by policy, for the reserve-mobilisation purpose (logged)."""
    where = {"specialty": specialty} if specialty else {}
    with uow() as session:
        result = service.list_reservists(
            session, ctx, caller, now=clock(), limit=limit, offset=offset, where=where
        )
        return {
            "purpose": result.purpose,
            "fields": result.fields,
            "masks": result.masks,
            "rows": result.rows,
        }


@router.post("/reservists/{reservist_id}/trainings", status_code=201)
def record_training(
    reservist_id: int, body: TrainingIn, caller: Planner, uow: Uow, clock: Clock
) -> dict[str, Any]:
    """Record a completed training."""
    with uow() as session:
        training = service.record_training(
            session, reservist_id=reservist_id, today=clock().date(), **body.model_dump()
        )
        return {
            "id": training.id,
            "kind": training.kind,
            "expires_on": training.expires_on.isoformat(),
        }


@router.put("/reservists/{reservist_id}/availability", status_code=204)
def set_availability(
    reservist_id: int, body: AvailabilityIn, caller: Planner, uow: Uow
) -> Response:
    """Mark a reservist available or not."""
    with uow() as session:
        service.set_availability(session, reservist_id=reservist_id, available=body.available)
    return Response(status_code=204)


@router.get("/readiness")
def readiness(caller: Planner, uow: Uow, clock: Clock) -> list[dict[str, Any]]:
    """Trained-and-current share per specialty and district."""
    with uow() as session:
        return [
            {
                "specialty": r.specialty,
                "district_code": r.district_code,
                "district": r.district,
                "reservists": r.reservists,
                "available": r.available,
                "current": r.current,
                "share": round(r.share, 4),
            }
            for r in service.readiness(session, today=clock().date())
        ]


# --- mobilisations -----------------------------------------------------------------------------


@router.post("/mobilisations", status_code=201)
def create_mobilisation(
    body: MobilisationIn,
    caller: Planner,
    uow: Uow,
    clock: Clock,
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key")] = None,
) -> dict[str, Any]:
    """Plan and notify a call-up (exact optimum); a retried key returns the first one."""
    key = check_key(idempotency_key) if idempotency_key is not None else None
    with uow() as session:
        mobilisation = service.create_mobilisation(
            session,
            caller,
            name=body.name,
            demand=[service.DemandLine(**d.model_dump()) for d in body.demand],
            max_share=body.max_share,
            now=clock(),
            idempotency_key=key,
        )
        return service.mobilisation_json(session, mobilisation)


@router.get("/mobilisations")
def list_mobilisations(caller: Planner, uow: Uow) -> list[dict[str, Any]]:
    """The latest mobilisations with their status."""
    with uow() as session:
        return [service.mobilisation_json(session, m) for m in service.list_mobilisations(session)]


@router.get("/mobilisations/{mobilisation_id}")
def get_mobilisation(mobilisation_id: int, caller: Planner, uow: Uow) -> dict[str, Any]:
    """One mobilisation: posts, answers, assignments."""
    with uow() as session:
        return service.mobilisation_json(
            session, service.get_mobilisation(session, mobilisation_id)
        )


@router.post("/assignments/{assignment_id}/response")
def respond(
    assignment_id: int, body: ResponseIn, caller: Answerer, uow: Uow, clock: Clock
) -> dict[str, Any]:
    """Accept or refuse a call (the reservist, or a planner taking the answer)."""
    with uow() as session:
        a = service.respond(
            session, caller, assignment_id=assignment_id, accept=body.accept, now=clock()
        )
        return {"id": a.id, "status": a.status}


@router.get("/my-calls")
def my_calls(caller: Resident, uow: Uow, clock: Clock) -> dict[str, Any]:
    """The caller's own call-ups, if they are in the clinical reserve (newest first)."""
    with uow() as session:
        return service.my_calls(session, caller, now=clock())


@router.post("/my-calls/{call_id}/answer")
def answer_my_call(
    call_id: int, body: ResponseIn, caller: Resident, uow: Uow, clock: Clock
) -> dict[str, Any]:
    """Accept or refuse one of the caller's own call-ups (409 once answered or withdrawn)."""
    with uow() as session:
        return service.answer_my_call(
            session, caller, call_id=call_id, accept=body.accept, now=clock()
        )


@router.post("/mobilisations/{mobilisation_id}/replan")
def replan(mobilisation_id: int, caller: Planner, uow: Uow, clock: Clock) -> dict[str, Any]:
    """Fill posts left open by refusals, keeping accepted calls."""
    with uow() as session:
        called = service.replan(session, mobilisation_id=mobilisation_id, now=clock())
        body = service.mobilisation_json(
            session, service.get_mobilisation(session, mobilisation_id)
        )
        return {**body, "newly_called": called}


@router.post("/mobilisations/{mobilisation_id}/close")
def close_mobilisation(mobilisation_id: int, caller: Planner, uow: Uow) -> dict[str, Any]:
    """Stand a mobilisation down."""
    with uow() as session:
        m = service.close_mobilisation(session, mobilisation_id=mobilisation_id)
        return service.mobilisation_json(session, m)


# --- surveillance --------------------------------------------------------------------------------


@router.post("/counts", status_code=202)
def record_counts(body: CountsIn, caller: Planner, uow: Uow) -> dict[str, int]:
    """Store daily counts per district and syndrome (a repeated day replaces the count)."""
    with uow() as session:
        stored = service.record_counts(
            session, [service.DailyCount(**c.model_dump()) for c in body.counts]
        )
        return {"stored": stored}


@router.post("/detect")
def detect(body: DetectIn, caller: Planner, uow: Uow, clock: Clock) -> dict[str, Any]:
    """Run the detectors now; new alarms become alerts (and events)."""
    now = clock()
    with uow() as session:
        raised = service.detect(
            session,
            today=body.today or now.date(),
            window=body.window,
            methods=body.methods,
            farrington=body.farrington,
            now=now,
        )
        return {"raised": [service.alert_json(a) for a in raised]}


@router.get("/alerts")
def list_alerts(
    caller: Planner,
    uow: Uow,
    clock: Clock,
    days: Annotated[int, Query(ge=1, le=3650)] = 30,
    kind: str | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[dict[str, Any]]:
    """Alerts of the last ``days`` days, the latest first."""
    with uow() as session:
        since = clock().date() - timedelta(days=days)
        return [
            service.alert_json(a)
            for a in service.list_alerts(session, since=since, kind=kind, limit=limit)
        ]


@router.get("/series")
def series(
    caller: Planner,
    uow: Uow,
    clock: Clock,
    district_code: str,
    syndrome: str,
    days: Annotated[int, Query(ge=7, le=3650)] = 120,
) -> dict[str, Any]:
    """Daily counts of one district and syndrome."""
    today = clock().date()
    with uow() as session:
        days_, counts = service.series(
            session,
            district_code=district_code,
            syndrome=syndrome,
            since=today - timedelta(days=days - 1),
            until=today,
        )
        return {"days": [d.isoformat() for d in days_], "counts": counts}


# --- labs ----------------------------------------------------------------------------------------


@router.post("/lab-results", status_code=201)
def submit_lab_result(
    body: LabResultIn, caller: LabStaff, uow: Uow, clock: Clock, ctx: Ctx
) -> dict[str, Any]:
    """A lab reports a sample; a notifiable or new pathogen raises an alert at once."""
    with uow() as session:
        sample, alert = service.submit_lab_result(
            session, ctx, caller, service.LabResult(**body.model_dump()), now=clock()
        )
        return {
            "sample_id": sample.sample_id,
            "result": sample.result,
            "alert": service.alert_json(alert) if alert is not None else None,
        }


@router.get("/lab-turnaround")
def lab_turnaround(
    caller: Planner, uow: Uow, clock: Clock, days: Annotated[int, Query(ge=1, le=3650)] = 30
) -> list[dict[str, Any]]:
    """Median and 90th-percentile hours from collection to result, per lab."""
    with uow() as session:
        rows = service.turnaround(session, since=clock() - timedelta(days=days))
        return [
            {
                "lab_department_code": t.lab_department_code,
                "lab": t.lab,
                "samples": t.samples,
                "positives": t.positives,
                "median_hours": round(t.median_hours, 2),
                "p90_hours": round(t.p90_hours, 2),
                "median_lab_hours": round(t.median_lab_hours, 2),
            }
            for t in rows
        ]


# --- planning ------------------------------------------------------------------------------------


@router.post("/projection")
def projection(body: ProjectionIn, caller: Planner) -> dict[str, Any]:
    """CHIME bed-demand projection: daily admissions and census per disposition."""
    return project(ProjectionParameters(**body.model_dump())).to_json()


@router.get("/centres")
def centre_plan(
    caller: Planner,
    ctx: Ctx,
    patients: Annotated[int, Query(ge=0, le=10_000_000)] = 100_000,
    peak_share: Annotated[float, Query(gt=0, le=1)] = 1.0,
    centres_count: Annotated[int, Query(alias="centres", ge=1, le=41)] = 10,
    beds_min: Annotated[int, Query(ge=1)] = 3_000,
    beds_max: Annotated[int, Query(ge=1)] = 5_000,
    max_km: Annotated[float | None, Query(gt=0)] = None,
) -> dict[str, Any]:
    """Emergency centres chosen among the candidate cities for a nationwide scenario."""
    return service.centre_plan(
        ctx,
        patients=patients,
        peak_share=peak_share,
        centres_count=centres_count,
        beds_min=beds_min,
        beds_max=beds_max,
        max_km=max_km,
    )


@router.get(
    "/outlines.geojson",
    dependencies=[Depends(public)],
    **media_response("application/geo+json", "A GeoJSON FeatureCollection"),
)
def outlines() -> Response:
    """Province outlines of the mainland (WGS-84, simplified) for the centres map.

    Public geography, like the districts' outlines: the page's script fetches it, and the
    API takes no page cookie.
    """
    return Response(
        centres.outlines_geojson(),
        media_type="application/geo+json",
        headers={"Cache-Control": "public, max-age=86400"},
    )
