"""Pages of the operations centre: the dashboard, a case for the operator, the supervisor's
verification desk, the field view, and a resident's report.

The dashboard stays current without reloading: ``/ops/stream`` is a Server-Sent Events
stream that announces each change to the cases, and the page then refreshes its map layers,
case list and figures.

Forms speak their own labels: an error names the field as the person sees it ("Describe
it: ..."), never the API's field path, and a rejected form comes back with what was typed.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response, StreamingResponse
from pydantic import ValidationError
from sqlalchemy.orm import Session

from twonets.core import service as core_service
from twonets.core.auth import Principal
from twonets.core.errors import FieldProblem, Invalid, TwonetsError
from twonets.core.http import AppSettings, Clock, Uow, require
from twonets.core.models import Role
from twonets.operations.cases import api as ops_api
from twonets.operations.cases import catalogue, figures, queries, service, states
from twonets.operations.cases.photos import MAX_PHOTO_BYTES, Photo
from twonets.operations.cases.schemas import IntakeReport, SourceKind
from twonets.web.pages import FormFields, local_time, render

router = APIRouter(include_in_schema=False)

Operator = Annotated[Principal, Depends(require(Role.OPERATOR))]
Watcher = Annotated[Principal, Depends(require(Role.OPERATOR, Role.STAFF))]
Supervisor = Annotated[Principal, Depends(require(Role.SUPERVISOR))]
Field = Annotated[Principal, Depends(require(Role.FIELD))]
Resident = Annotated[Principal, Depends(require(Role.CITIZEN))]
CaseReader = Annotated[
    Principal, Depends(require(Role.OPERATOR, Role.STAFF, Role.SUPERVISOR, Role.FIELD))
]

STREAM_POLL_SECONDS = 2.0
STREAM_KEEPALIVE_SECONDS = 15.0
# A stream ends after this long; the browser's EventSource reconnects by itself.
STREAM_SECONDS = 600.0
STATE_LABELS = {
    "reported": "Reported 上报",
    "filed": "Filed 立案",
    "dispatched": "Dispatched 派遣",
    "handling": "Handling 处置中",
    "handled": "Handled 已反馈",
    "verified": "Verified 已核查",
    "closed": "Closed 结案",
    "merged": "Merged 已合并",
    "rejected": "Not filed 不予立案",
}


# --- errors in the form's words -------------------------------------------------------------

_PHOTO = re.compile(r"^photos\[(\d+)\]$")
# Rules whose detail is written for the API; a person reads these instead.
_PHOTO_WORDS = {
    "photo-type": "is not a picture the city can keep: choose a JPEG, PNG or WebP photo",
    "photo-size": f"is empty or larger than {MAX_PHOTO_BYTES // (1024 * 1024)} MB: "
    "choose a smaller photo",
}


def _label(field: str, labels: Mapping[str, str], photos: Sequence[Photo]) -> str:
    match = _PHOTO.match(field)
    if match:
        index = int(match.group(1))
        name = photos[index].filename if index < len(photos) else ""
        return f"Photo {index + 1}" + (f" ({name})" if name else "")
    return labels.get(field, labels.get("*", "This form"))


def _worded(
    error: TwonetsError,
    labels: Mapping[str, str],
    *,
    words: Mapping[tuple[str, str], str] | None = None,
    photos: Sequence[Photo] = (),
) -> tuple[str, dict[str, str]]:
    """The error as the form says it: one message, and one per field (by the form's name)."""
    fields: dict[str, str] = {}
    for problem in error.errors:
        detail = (words or {}).get((problem.field, problem.rule))
        if detail is None and _PHOTO.match(problem.field):
            detail = _PHOTO_WORDS.get(problem.rule)
        label = _label(problem.field, labels, photos)
        key = "photos" if _PHOTO.match(problem.field) else problem.field
        fields.setdefault(key, f"{label}: {detail or problem.detail}")
    message = next(iter(fields.values()), error.detail)
    return message, fields


def _options(session: Session) -> dict[str, Any]:
    categories = catalogue.list_categories(session)
    majors: dict[str, str] = {}
    for c in categories:
        majors.setdefault(
            c.code[:3], f"{'部件' if c.kind == 'component' else '事件'} {c.major_name}"
        )
    return {
        "districts": core_service.list_districts(session),
        "majors": sorted(majors.items()),
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
def dashboard(request: Request, caller: Watcher, uow: Uow, clock: Clock) -> HTMLResponse:
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
        layers=request.app.state.ops_layers,
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


# --- one case, for the operator ------------------------------------------------------------


def _case_page(
    request: Request,
    caller: Principal,
    uow: Uow,
    clock: Clock,
    case_id: int,
    *,
    error: TwonetsError | None = None,
    status_code: int = 200,
    kept: Mapping[str, str] | None = None,
) -> HTMLResponse:
    now = clock()
    is_operator = caller.has_any({Role.OPERATOR})
    with uow() as session:
        row = queries.visible_case(session, caller, case_id)
        case = queries.case_json(session, row, now=now, history=True)
        departments = service.dispatch_departments(session, caller) if is_operator else []
        feedback = queries.last_feedback(session, [row])[row.id]
        suggested = None
        if is_operator and row.state == states.CaseState.FILED:
            try:
                category = catalogue.get_category(session, row.category_code)
                suggested = service.responsible_department(session, row, category).code
            except TwonetsError:
                suggested = None
    message, errors = _worded(error, CASE_LABELS) if error else (None, {})
    return render(
        request,
        "operations/case.html",
        caller,
        status_code=status_code,
        case=case,
        states=STATE_LABELS,
        departments=departments,
        suggested=suggested,
        feedback=feedback,
        error=message,
        errors=errors,
        kept=kept or {},
        local_time=local_time,
        is_operator=is_operator,
        is_supervisor=caller.has_any({Role.SUPERVISOR}),
        back=_home_of(caller),
    )


def _home_of(caller: Principal) -> tuple[str, str]:
    """Where a case page leads back to: the caller's own list of cases."""
    if caller.has_any({Role.OPERATOR, Role.STAFF}):
        return "/ops", "Operations centre"
    if caller.has_any({Role.SUPERVISOR}):
        return "/ops/verification", "Cases to verify"
    return "/ops/tasks", "My tasks"


CASE_LABELS = {
    "note": "Note",
    "department_code": "Department",
    "score": "Score",
    "*": "This step",
}


@router.get("/ops/cases/{case_id}", response_class=HTMLResponse)
def case_page(
    request: Request, case_id: int, caller: CaseReader, uow: Uow, clock: Clock
) -> HTMLResponse:
    """One case: where, what, its history and photos; the operator's next step."""
    return _case_page(request, caller, uow, clock, case_id)


@router.post("/ops/cases/{case_id}/{action}", response_class=HTMLResponse)
def case_action(
    request: Request,
    case_id: int,
    action: str,
    form: FormFields,
    caller: Operator,
    uow: Uow,
    clock: Clock,
) -> Response:
    """File, reject, dispatch, verify, close or evaluate from the case page."""
    note = form.get("note") or None
    try:
        with uow() as session:
            now = clock()
            if action == "file":
                service.file_case(session, caller, case_id, now=now, note=note)
            elif action == "reject":
                service.reject_case(session, caller, case_id, now=now, note=note)
            elif action == "dispatch":
                service.dispatch_case(
                    session,
                    caller,
                    case_id,
                    now=now,
                    note=note,
                    department_code=form.get("department_code") or None,
                )
            elif action == "verify":
                service.verify_case(
                    session, caller, case_id, passed=form.get("passed") == "yes", now=now, note=note
                )
            elif action == "close":
                service.close_case(session, caller, case_id, now=now, note=note)
            elif action == "evaluate":
                score = form.get("score", "")
                if not score.isdigit():
                    raise Invalid.field("score", "range", "choose a score from 1 to 5")
                service.evaluate_case(
                    session, caller, case_id, score=int(score), now=now, note=note
                )
            else:
                return Response(status_code=404)
    except TwonetsError as exc:
        return _case_page(
            request, caller, uow, clock, case_id, error=exc, status_code=exc.status, kept=form
        )
    return RedirectResponse(f"/ops/cases/{case_id}", status_code=303)


# --- the supervisor's desk -----------------------------------------------------------------

VERIFY_LABELS = {"note": "What you found", "*": "Verification"}


def _verification_page(
    request: Request,
    caller: Principal,
    uow: Uow,
    clock: Clock,
    *,
    error: TwonetsError | None = None,
    failed: int | None = None,
    kept: Mapping[str, str] | None = None,
    done: str | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    now = clock()
    with uow() as session:
        rows = queries.cases_to_verify(session, caller)
        waiting = queries.cases_json(session, rows, now=now)
        notes = queries.last_feedback(session, rows)
    message, errors = _worded(error, VERIFY_LABELS) if error else (None, {})
    number, _, outcome = (done or "").partition(":")
    return render(
        request,
        "operations/verification.html",
        caller,
        status_code=status_code,
        cases=waiting,
        notes=notes,
        states=STATE_LABELS,
        error=message,
        errors=errors,
        failed=failed,
        kept=kept or {},
        done_number=number,
        done_outcome=outcome,
        local_time=local_time,
    )


@router.get("/ops/verification", response_class=HTMLResponse)
def verification_page(
    request: Request, caller: Supervisor, uow: Uow, clock: Clock, done: str | None = None
) -> HTMLResponse:
    """Cases handled and waiting for a supervisor to check on site, the longest first."""
    return _verification_page(request, caller, uow, clock, done=done)


@router.post("/ops/verification/{case_id}", response_class=HTMLResponse)
def verify_from_desk(
    request: Request,
    case_id: int,
    form: FormFields,
    caller: Supervisor,
    uow: Uow,
    clock: Clock,
) -> Response:
    """Record what the supervisor found: solved (verified) or still there (sent back)."""
    passed = form.get("passed") != "no"
    try:
        with uow() as session:
            row = service.verify_case(
                session,
                caller,
                case_id,
                passed=passed,
                now=clock(),
                note=form.get("note") or None,
            )
            number = row.number
    except TwonetsError as exc:
        return _verification_page(
            request,
            caller,
            uow,
            clock,
            error=exc,
            failed=case_id,
            kept=form,
            status_code=exc.status,
        )
    outcome = "verified" if passed else "sent-back"
    return RedirectResponse(f"/ops/verification?done={number}:{outcome}", status_code=303)


# --- the field view ------------------------------------------------------------------------


TASK_LABELS = {"note": "What was done", "photos": "Photos", "*": "This task"}


def _tasks_page(
    request: Request,
    caller: Principal,
    uow: Uow,
    clock: Clock,
    *,
    error: TwonetsError | None = None,
    failed: int | None = None,
    kept: Mapping[str, str] | None = None,
    photos: Sequence[Photo] = (),
    status_code: int = 200,
    done: str | None = None,
) -> HTMLResponse:
    now = clock()
    with uow() as session:
        tasks = queries.cases_json(session, queries.my_tasks(session, caller), now=now)
    message, errors = _worded(error, TASK_LABELS, photos=photos) if error else (None, {})
    return render(
        request,
        "operations/tasks.html",
        caller,
        status_code=status_code,
        tasks=tasks,
        states=STATE_LABELS,
        error=message,
        errors=errors,
        failed=failed,
        kept=kept or {},
        done=done,
        local_time=local_time,
        now=now,
    )


@router.get("/ops/tasks", response_class=HTMLResponse)
def tasks_page(
    request: Request, caller: Field, uow: Uow, clock: Clock, done: str | None = None
) -> HTMLResponse:
    """My tasks: my department's cases to handle, soonest deadline first."""
    return _tasks_page(request, caller, uow, clock, done=done)


@router.post("/ops/tasks/{case_id}/accept", response_class=HTMLResponse)
def task_accept(request: Request, case_id: int, caller: Field, uow: Uow, clock: Clock) -> Response:
    """Take a task on."""
    try:
        with uow() as session:
            service.accept_case(session, caller, case_id, now=clock())
    except TwonetsError as exc:
        return _tasks_page(
            request, caller, uow, clock, error=exc, failed=case_id, status_code=exc.status
        )
    return RedirectResponse("/ops/tasks", status_code=303)


@router.post("/ops/tasks/{case_id}/feedback", response_class=HTMLResponse)
async def task_feedback(
    request: Request,
    case_id: int,
    caller: Field,
    uow: Uow,
    clock: Clock,
    settings: AppSettings,
    note: Annotated[str, Form()] = "",
    photos: Annotated[list[UploadFile] | None, File()] = None,
) -> Response:
    """Report a task handled, with photos."""
    taken = [p for p in await ops_api.read_photos(photos or []) if p.content or p.filename]

    def write() -> str:
        with uow() as session:
            row = service.report_handling(
                session,
                caller,
                case_id,
                now=clock(),
                note=note or None,
                photos=taken,
                photo_dir=ops_api.photo_dir(settings),
            )
            return row.number

    try:
        number = await asyncio.to_thread(write)
    except TwonetsError as exc:
        return _tasks_page(
            request,
            caller,
            uow,
            clock,
            error=exc,
            failed=case_id,
            kept={"note": note},
            photos=taken,
            status_code=exc.status,
        )
    return RedirectResponse(f"/ops/tasks?done={number}", status_code=303)


# --- a resident reports a problem ----------------------------------------------------------

REPORT_LABELS = {
    "category": "What kind of problem",
    "description": "Describe it",
    "address": "Address or landmark",
    "lon": "Place on the map",
    "lat": "Place on the map",
    "photos": "Photos",
    "*": "Your report",
}
# What the report form says for a rule, where the API's words would not help a resident.
REPORT_WORDS = {
    ("lon", "required"): "click the map where the problem is",
    ("lat", "required"): "click the map where the problem is",
    ("lon", "in-city"): "that spot lies outside the city: click inside one of its districts",
    ("description", "required"): "say in a few words what you see",
    ("description", "too-long"): "keep it under 2,000 characters",
    ("address", "too-long"): "keep it under 256 characters",
    ("category", "category-exists"): "choose one of the kinds in the list",
}
_PYDANTIC_RULES = {
    "string_too_short": "required",
    "missing": "required",
    "string_too_long": "too-long",
    "float_parsing": "required",
    "finite_number": "required",
}


@router.get("/ops/report", response_class=HTMLResponse)
def report_page(
    request: Request, caller: Resident, uow: Uow, clock: Clock, sent: int | None = None
) -> HTMLResponse:
    """Report a problem in the city (pick the place on the map) and follow my reports."""
    return _report_page(request, caller, uow, clock, sent=sent)


def _report_page(
    request: Request,
    caller: Principal,
    uow: Uow,
    clock: Clock,
    *,
    error: TwonetsError | None = None,
    form: Mapping[str, str] | None = None,
    photos: Sequence[Photo] = (),
    sent: int | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    now = clock()
    with uow() as session:
        categories = [c for c in catalogue.list_categories(session) if c.kind == "event"]
        mine = queries.cases_json(session, queries.my_reports(session, caller), now=now)
    message, errors = (
        _worded(error, REPORT_LABELS, words=REPORT_WORDS, photos=photos) if error else (None, {})
    )
    if "lat" in errors:  # one place on the map, one message
        errors.setdefault("lon", errors.pop("lat"))
    return render(
        request,
        "operations/report.html",
        caller,
        status_code=status_code,
        categories=categories,
        mine=mine,
        # Only a case of this resident's own reports is confirmed (the id comes from a link).
        confirmed=next((c for c in mine if c["id"] == sent), None) if sent else None,
        states=STATE_LABELS,
        form=form or {},
        error=message,
        errors=errors,
        local_time=local_time,
    )


def _report_from_form(form: Mapping[str, str]) -> IntakeReport:
    """The form's fields as a report; a bad field becomes ``Invalid`` naming it and its rule."""
    try:
        return IntakeReport.model_validate(
            {
                "source_kind": SourceKind.CITIZEN,
                "category": form.get("category", ""),
                "description": form.get("description", ""),
                "address": form.get("address") or None,
                "lon": form.get("lon") or "nan",
                "lat": form.get("lat") or "nan",
                "crs": "wgs84",
            }
        )
    except ValidationError as exc:
        problems = []
        for e in exc.errors():
            field = str(e["loc"][0]) if e["loc"] else "form"
            # A place comes only from a click on the map: whatever is wrong, it is missing.
            rule = "required" if field in {"lon", "lat"} else _PYDANTIC_RULES.get(e["type"])
            problems.append(FieldProblem(field, rule or e["type"], e["msg"]))
        raise Invalid(f"{problems[0].field}: {problems[0].detail}", errors=problems) from None


@router.post("/ops/report", response_class=HTMLResponse)
async def report_submit(
    request: Request,
    caller: Resident,
    uow: Uow,
    clock: Clock,
    settings: AppSettings,
    photos: Annotated[list[UploadFile] | None, File()] = None,
) -> Response:
    """Send a report, with photos; the answer confirms the case number."""
    submitted = await request.form()
    form = {k: v.strip() for k, v in submitted.items() if isinstance(v, str)}
    taken = [p for p in await ops_api.read_photos(photos or []) if p.content or p.filename]

    def write() -> int:
        with uow() as session:
            row = service.report_problem(
                session,
                caller,
                _report_from_form(form),
                now=clock(),
                photos=taken,
                photo_dir=ops_api.photo_dir(settings),
                rules=request.app.state.ops_rules,
            )
            return row.id

    try:
        case_id = await asyncio.to_thread(write)
    except TwonetsError as exc:
        return _report_page(
            request, caller, uow, clock, error=exc, form=form, photos=taken, status_code=exc.status
        )
    return RedirectResponse(f"/ops/report?sent={case_id}#sent", status_code=303)
