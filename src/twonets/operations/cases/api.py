"""HTTP routes of the operations centre: elements, intake, cases and their loop, figures, layers.

Layers are the dashboard's map overlays: each is a name and a URL answering GeoJSON in
WGS-84. Scenario modules add theirs with ``add_layer(app, ...)`` in their own ``setup``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, File, Form, Header, Query, Request, UploadFile
from fastapi.responses import FileResponse
from sqlalchemy.orm import Session, sessionmaker

from twonets.core.auth import Principal
from twonets.core.db import unit_of_work
from twonets.core.errors import Invalid
from twonets.core.events import Event
from twonets.core.http import AppSettings, Clock, Uow, public, require
from twonets.core.models import Role
from twonets.operations.cases import catalogue, figures, heat, queries, service
from twonets.operations.cases import photos as photo_store
from twonets.operations.cases.elements import ElementKind
from twonets.operations.cases.schemas import (
    CalendarDayIn,
    CaseOut,
    CategoryIn,
    CitizenReport,
    ComponentIn,
    DispatchIn,
    EvaluateIn,
    FiguresRow,
    IntakeReport,
    LimitsIn,
    NoteIn,
    SourceKind,
    VerifyIn,
)

log = logging.getLogger(__name__)

router = APIRouter(tags=["operations"])

Operator = Annotated[Principal, Depends(require(Role.OPERATOR))]
Field = Annotated[Principal, Depends(require(Role.FIELD))]
Reporter = Annotated[Principal, Depends(require(Role.OPERATOR, Role.FIELD, Role.STAFF))]
Resident = Annotated[Principal, Depends(require(Role.CITIZEN))]
Watcher = Annotated[Principal, Depends(require(Role.OPERATOR, Role.STAFF))]
Supervisor = Annotated[Principal, Depends(require(Role.SUPERVISOR))]
CaseReader = Annotated[
    Principal,
    Depends(require(Role.OPERATOR, Role.STAFF, Role.SUPERVISOR, Role.FIELD, Role.CITIZEN)),
]
Evaluator = Annotated[Principal, Depends(require(Role.OPERATOR, Role.CITIZEN))]
Admin = Annotated[Principal, Depends(require(Role.ADMIN))]
IdempotencyKey = Annotated[str | None, Header(alias="Idempotency-Key")]

OVERDUE_CHECK_SECONDS = 60.0
HEALTH_ALERT_TOPIC = "health.alert.raised"


@dataclass(frozen=True)
class Layer:
    """A map overlay of the dashboard: GeoJSON (WGS-84) at ``url``."""

    key: str
    name: str
    url: str
    kind: str  # "points", "polygons", "heat" or "cells" (H3 hexagons with counts)
    shown: bool = True


DEFAULT_LAYERS = (
    Layer("cases", "Open cases", "/ops/layers/cases", "points"),
    Layer("heat", "Case density (H3)", "/ops/layers/heat", "heat", shown=False),
    Layer("vehicles", "Vehicles", "/ops/layers/vehicles", "points", shown=False),
)


def add_layer(app: FastAPI, layer: Layer) -> None:
    """Add a scenario's overlay to the dashboard (call from the scenario's ``setup``)."""
    layers: list[Layer] = app.state.ops_layers
    if any(existing.key == layer.key for existing in layers):
        raise ValueError(f"a layer {layer.key!r} is on the dashboard already")
    layers.append(layer)


def photo_dir(settings: AppSettings) -> Path:
    """Where handlers' photos are kept."""
    return settings.var_dir / "operations" / "photos"


def setup(app: FastAPI) -> None:
    """Put this domain's context on ``app.state`` and register its background work."""
    app.state.ops_rules = service.DEFAULT_RULES
    app.state.ops_layers = list(DEFAULT_LAYERS)
    factory: sessionmaker[Session] = app.state.session_factory

    def open_alarm_case(event: Event) -> None:
        with unit_of_work(factory) as session:
            service.intake_health_alert(
                session, event.payload, event.event_id, now=app.state.clock()
            )

    async def on_health_alert(event: Event) -> None:
        await asyncio.to_thread(open_alarm_case, event)

    app.state.bus.subscribe(HEALTH_ALERT_TOPIC, on_health_alert)

    def check_overdue() -> int:
        with unit_of_work(factory) as session:
            return service.mark_overdue(session, now=app.state.clock())

    async def watch_overdue(stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                await asyncio.to_thread(check_overdue)
            except Exception:  # a busy database: look again next round
                log.exception("overdue check failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=OVERDUE_CHECK_SECONDS)

    def load_elements() -> int:
        with unit_of_work(factory) as session:
            return catalogue.ensure_elements(session)

    async def elements_on_start(stop: asyncio.Event) -> None:
        # Categories new in the shipped catalogue reach the tables when the app starts.
        try:
            added = await asyncio.to_thread(load_elements)
        except Exception:  # the schema may be behind; /readyz says so
            log.exception("loading the management elements failed")
            return
        if added:
            log.info("loaded %d management element categories", added)

    app.state.background.append(elements_on_start)
    app.state.background.append(watch_overdue)


def get_rules(request: Request) -> service.Rules:
    """The intake rules the app runs with (a dependency, for the API and the pages)."""
    rules: service.Rules = request.app.state.ops_rules
    return rules


def get_layers(request: Request) -> list[Layer]:
    """The dashboard's overlays: the case loop's and those other parts added."""
    layers: list[Layer] = request.app.state.ops_layers
    return layers


OpsRules = Annotated[service.Rules, Depends(get_rules)]
OpsLayers = Annotated[list[Layer], Depends(get_layers)]


# --- elements ------------------------------------------------------------------------------


def _category_json(c: Any) -> dict[str, Any]:
    return {
        "code": c.code,
        "kind": c.kind,
        "major": c.major,
        "minor": c.minor,
        "name": c.name,
        "name_en": c.name_en,
        "major_name": c.major_name,
        "major_name_en": c.major_name_en,
        "department_function": c.department_function,
        "limits_hours": c.limits_hours,
        "extension": c.extension,
    }


@router.get("/api/v1/ops/elements", dependencies=[Depends(public)])
def list_elements(uow: Uow, kind: ElementKind | None = None) -> list[dict[str, Any]]:
    """The management elements: minor categories with their dispatch rule and time limits."""
    with uow() as session:
        return [_category_json(c) for c in catalogue.list_categories(session, kind=kind)]


@router.post("/api/v1/ops/elements", status_code=201)
def add_element(body: CategoryIn, caller: Admin, uow: Uow) -> dict[str, Any]:
    """Add a minor category (a local extension) under an existing major category."""
    with uow() as session:
        return _category_json(catalogue.add_category(session, **body.model_dump()))


@router.put("/api/v1/ops/elements/{code}/limits")
def set_element_limits(code: str, body: LimitsIn, caller: Admin, uow: Uow) -> dict[str, Any]:
    """Change a category's time limits (working hours per urgency)."""
    with uow() as session:
        return _category_json(catalogue.set_limits(session, code, body.limits_hours))


@router.get("/api/v1/ops/calendar", dependencies=[Depends(public)])
def list_calendar(uow: Uow) -> list[dict[str, str]]:
    """Holidays and adjusted working days of the working calendar."""
    with uow() as session:
        return [
            {"day": d.day.isoformat(), "kind": d.kind, "name": d.name}
            for d in catalogue.list_calendar_days(session)
        ]


@router.put("/api/v1/ops/calendar", status_code=200)
def set_calendar_day(body: CalendarDayIn, caller: Admin, uow: Uow) -> dict[str, str]:
    """Declare a public holiday or a weekend day worked in exchange."""
    with uow() as session:
        row = catalogue.set_calendar_day(session, **body.model_dump())
        return {"day": row.day.isoformat(), "kind": row.kind, "name": row.name}


@router.post("/api/v1/ops/components", status_code=201)
def register_component(
    body: ComponentIn, caller: Operator, uow: Uow, clock: Clock
) -> dict[str, Any]:
    """Register a component; its identifier is allocated (district, category, sequence)."""
    with uow() as session:
        row = catalogue.register_component(session, **body.model_dump(), now=clock())
        return {
            "identifier": row.identifier,
            "category": row.category_code,
            "district_code": row.district_code,
            "lon": row.lon,
            "lat": row.lat,
        }


# --- intake --------------------------------------------------------------------------------


@router.post("/api/v1/ops/intake", response_model=CaseOut, status_code=201)
def intake(
    body: IntakeReport,
    caller: Reporter,
    uow: Uow,
    clock: Clock,
    rules: OpsRules,
    key: IdempotencyKey = None,
) -> Any:
    """Take in a problem from a detector, a device, a patrol or another department's alarm."""
    if body.source_kind is SourceKind.CITIZEN:
        raise Invalid.field("source_kind", "citizen", "residents report at /api/v1/ops/reports")
    with uow() as session:
        return service.intake_once(
            session,
            body,
            key=key,
            scope=f"ops.intake:{caller.account_id}",
            now=clock(),
            reporter=caller,
            rules=rules,
        )


@router.post("/api/v1/ops/reports", response_model=CaseOut, status_code=201)
def citizen_report(
    body: CitizenReport,
    caller: Resident,
    uow: Uow,
    clock: Clock,
    rules: OpsRules,
    key: IdempotencyKey = None,
) -> Any:
    """A resident reports a problem in the city."""
    report = IntakeReport(source_kind=SourceKind.CITIZEN, **body.model_dump())
    with uow() as session:
        return service.intake_once(
            session,
            report,
            key=key,
            scope=f"ops.report:{caller.account_id}",
            now=clock(),
            reporter=caller,
            rules=rules,
        )


@router.get("/api/v1/ops/reports", response_model=list[CaseOut])
def my_reports(caller: Resident, uow: Uow, clock: Clock) -> Any:
    """The problems I reported, and where each stands."""
    with uow() as session:
        now = clock()
        return queries.cases_json(session, queries.my_reports(session, caller), now=now)


# --- cases ---------------------------------------------------------------------------------


@router.get("/api/v1/ops/cases")
def list_cases(
    caller: Watcher,
    uow: Uow,
    clock: Clock,
    district: str | None = None,
    category: str | None = None,
    major: Annotated[str | None, Query(description="e.g. E01: every minor of a major")] = None,
    state: str | None = None,
    overdue: bool | None = None,
    open: bool = False,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> dict[str, Any]:
    """Cases, newest first, filtered by district, category, state and whether overdue."""
    flt = queries.CaseFilter(
        district=district,
        category=category,
        major=major,
        state=state,
        overdue=overdue,
        open_only=open,
        limit=limit,
        offset=offset,
    )
    with uow() as session:
        now = clock()
        rows, total = queries.list_cases(session, flt, now=now)
        return {"total": total, "cases": queries.cases_json(session, rows, now=now)}


@router.get("/api/v1/ops/cases/{case_id}", response_model=CaseOut)
def get_case(case_id: int, caller: CaseReader, uow: Uow, clock: Clock) -> Any:
    """One case with its history."""
    with uow() as session:
        row = queries.visible_case(session, caller, case_id)
        return queries.case_json(session, row, now=clock(), history=True)


@router.post("/api/v1/ops/cases/{case_id}/file", response_model=CaseOut)
def file_case(case_id: int, body: NoteIn, caller: Operator, uow: Uow, clock: Clock) -> Any:
    """立案: accept the report as a case."""
    with uow() as session:
        row = service.file_case(session, caller, case_id, now=clock(), note=body.note)
        return queries.case_json(session, row, now=clock(), history=True)


@router.post("/api/v1/ops/cases/{case_id}/reject", response_model=CaseOut)
def reject_case(case_id: int, body: NoteIn, caller: Operator, uow: Uow, clock: Clock) -> Any:
    """不予立案: not a case for the city (say why)."""
    with uow() as session:
        row = service.reject_case(session, caller, case_id, now=clock(), note=body.note)
        return queries.case_json(session, row, now=clock(), history=True)


@router.post("/api/v1/ops/cases/{case_id}/dispatch", response_model=CaseOut)
def dispatch_case(case_id: int, body: DispatchIn, caller: Operator, uow: Uow, clock: Clock) -> Any:
    """派遣: send the case to a department (by the category's rule unless one is named)."""
    with uow() as session:
        row = service.dispatch_case(session, caller, case_id, now=clock(), **body.model_dump())
        return queries.case_json(session, row, now=clock(), history=True)


@router.post("/api/v1/ops/cases/{case_id}/accept", response_model=CaseOut)
def accept_case(case_id: int, caller: Field, uow: Uow, clock: Clock) -> Any:
    """A handler takes the task on."""
    with uow() as session:
        row = service.accept_case(session, caller, case_id, now=clock())
        return queries.case_json(session, row, now=clock(), history=True)


async def read_photos(files: list[UploadFile]) -> list[photo_store.Photo]:
    """Uploaded files as photos, reading no more than one byte past the size limit."""
    photos = []
    for upload in files:
        content = await upload.read(photo_store.MAX_PHOTO_BYTES + 1)
        photos.append(photo_store.Photo(content, upload.content_type or "", upload.filename or ""))
    return photos


@router.post("/api/v1/ops/cases/{case_id}/feedback", response_model=CaseOut)
async def feedback(
    case_id: int,
    caller: Field,
    uow: Uow,
    clock: Clock,
    settings: AppSettings,
    note: Annotated[str | None, Form(max_length=2000)] = None,
    photos: Annotated[list[UploadFile] | None, File()] = None,
) -> Any:
    """反馈: the handler reports the problem solved, with photos (multipart)."""
    taken = await read_photos(photos or [])

    def write() -> dict[str, Any]:
        with uow() as session:
            row = service.report_handling(
                session,
                caller,
                case_id,
                now=clock(),
                note=note,
                photos=taken,
                photo_dir=photo_dir(settings),
            )
            return queries.case_json(session, row, now=clock(), history=True)

    return await asyncio.to_thread(write)


@router.get("/api/v1/ops/verification", response_model=list[CaseOut])
def cases_to_verify(caller: Supervisor, uow: Uow, clock: Clock) -> Any:
    """A supervisor's work: handled cases waiting for verification, the longest waiting first."""
    with uow() as session:
        now = clock()
        return queries.cases_json(session, queries.cases_to_verify(session, caller), now=now)


@router.post("/api/v1/ops/cases/{case_id}/verify", response_model=CaseOut)
def verify_case(case_id: int, body: VerifyIn, caller: Supervisor, uow: Uow, clock: Clock) -> Any:
    """核查: a supervisor (never the handler) confirms on site; a failure sends it back."""
    with uow() as session:
        row = service.verify_case(
            session, caller, case_id, passed=body.passed, note=body.note, now=clock()
        )
        return queries.case_json(session, row, now=clock(), history=True)


@router.post("/api/v1/ops/cases/{case_id}/close", response_model=CaseOut)
def close_case(case_id: int, body: NoteIn, caller: Operator, uow: Uow, clock: Clock) -> Any:
    """结案: close a verified case."""
    with uow() as session:
        row = service.close_case(session, caller, case_id, now=clock(), note=body.note)
        return queries.case_json(session, row, now=clock(), history=True)


@router.post("/api/v1/ops/cases/{case_id}/evaluate", response_model=CaseOut)
def evaluate_case(case_id: int, body: EvaluateIn, caller: Evaluator, uow: Uow, clock: Clock) -> Any:
    """评价: a satisfaction score of a closed case."""
    with uow() as session:
        row = service.evaluate_case(
            session, caller, case_id, score=body.score, note=body.note, now=clock()
        )
        return queries.case_json(session, row, now=clock(), history=True)


@router.get("/api/v1/ops/tasks", response_model=list[CaseOut])
def my_tasks(caller: Field, uow: Uow, clock: Clock) -> Any:
    """My tasks: my department's cases waiting for or under handling, soonest deadline first."""
    with uow() as session:
        now = clock()
        return queries.cases_json(session, queries.my_tasks(session, caller), now=now)


@router.get("/api/v1/ops/photos/{photo_id}")
def photo(photo_id: int, caller: CaseReader, uow: Uow, settings: AppSettings) -> FileResponse:
    """One handler's photo."""
    with uow() as session:
        path, content_type = queries.get_photo(session, caller, photo_id, photo_dir(settings))
    return FileResponse(path, media_type=content_type)


# --- figures and layers --------------------------------------------------------------------


@router.get("/api/v1/ops/figures", response_model=list[FiguresRow])
def case_figures(
    caller: Watcher,
    uow: Uow,
    clock: Clock,
    by: Annotated[str, Query(pattern="^(district|department)$")] = "district",
) -> Any:
    """Closure, on-time closure and rework rates and overdue counts per district or department."""
    with uow() as session:
        return figures.figures(session, by=by, now=clock())


@router.get("/ops/layers")
def layers(caller: Watcher, overlays: OpsLayers) -> list[dict[str, Any]]:
    """The dashboard's overlays: name and GeoJSON URL of each."""
    return [vars(layer) for layer in overlays]


@router.get("/ops/layers/cases")
def cases_layer(
    caller: Watcher, uow: Uow, clock: Clock, district: str | None = None
) -> dict[str, Any]:
    """Open cases as GeoJSON points (WGS-84), with age and overdue flag."""
    with uow() as session:
        return figures.open_cases_layer(session, now=clock(), district=district)


@router.get("/ops/layers/heat")
def heat_layer(
    caller: Watcher,
    uow: Uow,
    clock: Clock,
    days: Annotated[int, Query(ge=1, le=366)] = 30,
    resolution: Annotated[int, Query(ge=5, le=10)] = heat.DEFAULT_RESOLUTION,
) -> dict[str, Any]:
    """Density of cases reported in the last ``days`` as H3 hexagons (GeoJSON, WGS-84)."""
    with uow() as session:
        points = figures.case_points(session, since=clock() - timedelta(days=days))
    return heat.hexagons(points, resolution=resolution)
