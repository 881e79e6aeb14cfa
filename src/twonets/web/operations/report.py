"""A resident reports a problem (随手拍): the place on the map, photos, and my reports."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from typing import Annotated

from fastapi import APIRouter, File, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError

from twonets.core.auth import Principal
from twonets.core.errors import FieldProblem, Invalid, TwonetsError
from twonets.core.http import AppSettings, Clock, Uow
from twonets.operations.cases import api as ops_api
from twonets.operations.cases import catalogue, queries, service
from twonets.operations.cases.photos import Photo
from twonets.operations.cases.schemas import IntakeReport, SourceKind
from twonets.web.i18n import N_
from twonets.web.operations.common import (
    STATE_LABELS,
    Resident,
    gettext_of,
    worded,
)
from twonets.web.pages import local_time, render

router = APIRouter(include_in_schema=False)


REPORT_LABELS = {
    "category": N_("What kind of problem"),
    "description": N_("Describe it"),
    "address": N_("Address or landmark"),
    "lon": N_("Place on the map"),
    "lat": N_("Place on the map"),
    "photos": N_("Photos"),
    "*": N_("Your report"),
}
# What the report form says for a rule, where the API's words would not help a resident.
REPORT_WORDS = {
    ("lon", "required"): N_("click the map where the problem is"),
    ("lat", "required"): N_("click the map where the problem is"),
    ("lon", "in-city"): N_("that spot lies outside the city: click inside one of its districts"),
    ("description", "required"): N_("say in a few words what you see"),
    ("description", "too-long"): N_("keep it under 2,000 characters"),
    ("address", "too-long"): N_("keep it under 256 characters"),
    ("category", "category-exists"): N_("choose one of the kinds in the list"),
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
        worded(
            error,
            REPORT_LABELS,
            words=REPORT_WORDS,
            photos=photos,
            gettext=gettext_of(request),
        )
        if error
        else (None, {})
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
    rules: ops_api.OpsRules,
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
                rules=rules,
            )
            return row.id

    try:
        case_id = await asyncio.to_thread(write)
    except TwonetsError as exc:
        return _report_page(
            request, caller, uow, clock, error=exc, form=form, photos=taken, status_code=exc.status
        )
    return RedirectResponse(f"/ops/report?sent={case_id}#sent", status_code=303)
