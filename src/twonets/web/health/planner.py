"""The health planner's page (``/health``): reserve readiness, bed demand, centres, alarms.

``/health`` shows, for a planner of the health commission: readiness of the clinical
reserve per district and specialty, a CHIME projection drawn as inline SVG (no script
needed) with its parameters in a form, the emergency centres chosen among China's largest
cities on a map, alarms on a map of the districts with the alarmed series plotted, lab
turnaround and recent alerts, and the latest mobilisation. Handlers parse, call the health
service, and render; a refusal re-plan is a form post.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import date, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from twonets.core.auth import Principal
from twonets.core.errors import TwonetsError
from twonets.core.http import Clock, Uow, require
from twonets.core.models import Role
from twonets.health import service
from twonets.health.api import Ctx
from twonets.health.models import Alert, Specialty
from twonets.health.projection import Disposition, ProjectionParameters, project
from twonets.web.health.charts import line_chart
from twonets.web.health.labels import SPECIALTY_LABELS
from twonets.web.pages import field_errors, local_date, local_time, render

router = APIRouter(include_in_schema=False)

Planner = Annotated[Principal, Depends(require(Role.HEALTH_PLANNER))]

ALERT_DAYS = 14
SERIES_DAYS = 120
DISPOSITION_COLOURS = {
    Disposition.HOSPITALIZED: ("#2a7ab0", "Hospital beds"),
    Disposition.ICU: ("#d9822b", "ICU beds"),
    Disposition.VENTILATED: ("#b3261e", "Ventilators"),
}
# The projection form: field, label, type, step (the rest keep CHIME's defaults).
PROJECTION_FIELDS: tuple[tuple[str, str, str, str], ...] = (
    ("population", "Population served", "int", "1"),
    ("current_hospitalized", "In hospital now", "int", "1"),
    ("doubling_time", "Doubling time (days)", "float", "0.1"),
    ("relative_contact_rate", "Social distancing (0-1)", "float", "0.01"),
    ("market_share", "Hospitals' share of patients", "float", "0.01"),
    ("hospitalized_los", "Hospital stay (days)", "int", "1"),
    ("n_days", "Days to project", "int", "1"),
)


# --- the page ----------------------------------------------------------------------------------


def _projection(params: dict[str, str], start: date) -> tuple[dict[str, Any], dict[str, str]]:
    """The projection for the form's values, or the errors naming the bad fields."""
    values: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for name, _, kind, _ in PROJECTION_FIELDS:
        raw = params.get(name)
        if raw is None or raw == "":
            continue
        try:
            values[name] = int(raw) if kind == "int" else float(raw)
        except ValueError:
            errors[name] = f"{name}: not a number"
    defaults = ProjectionParameters()
    shown = {name: values.get(name, getattr(defaults, name)) for name, *_ in PROJECTION_FIELDS}
    if errors:
        return {"values": shown, "chart": None, "peaks": []}, errors
    try:
        result = project(ProjectionParameters(**values))
    except TwonetsError as exc:
        return {"values": shown, "chart": None, "peaks": []}, field_errors(exc)
    labels = [(start + timedelta(days=int(d))).strftime("%m-%d") for d in result.day]
    chart = line_chart(
        [
            (label, colour, [float(v) for v in result.census[d]])
            for d, (colour, label) in DISPOSITION_COLOURS.items()
        ],
        labels,
        title="Projected census: hospital beds, ICU beds and ventilators in use per day",
        testid="projection-chart",
    )
    # (label, peak, shape): the legend calls the highest census a peak only inside the window.
    peaks = [
        (DISPOSITION_COLOURS[d][1], p, result.peak_shape(d)) for d, p in result.peaks().items()
    ]
    return {"values": shown, "chart": chart, "peaks": peaks}, {}


def _readiness(rows: Sequence[service.ReadinessRow]) -> dict[str, Any]:
    """Readiness as a district x specialty table with totals."""
    cells: dict[str, dict[str, service.ReadinessRow]] = defaultdict(dict)
    names: dict[str, str] = {}
    for r in rows:
        cells[r.district_code][r.specialty] = r
        names[r.district_code] = r.district
    by_specialty: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for r in rows:
        by_specialty[r.specialty][0] += r.reservists
        by_specialty[r.specialty][1] += r.current
    total = sum(r.reservists for r in rows)
    current = sum(r.current for r in rows)
    return {
        "districts": [
            {
                "code": code,
                "name": names[code],
                "cells": cells[code],
                "reservists": sum(c.reservists for c in cells[code].values()),
                "current": sum(c.current for c in cells[code].values()),
            }
            for code in sorted(cells)
        ],
        "specialties": [(s.value, SPECIALTY_LABELS[s]) for s in Specialty],
        "by_specialty": by_specialty,
        "total": total,
        "current": current,
        "share": current / total if total else 0.0,
    }


def _centres_form(params: dict[str, str]) -> tuple[dict[str, Any], dict[str, str]]:
    """The centre-plan parameters from the query, with defaults and errors."""
    spec = {
        "patients": (int, 100_000),
        "peak_share": (float, 1.0),
        "centres": (int, 10),
        "beds_min": (int, 3_000),
        "beds_max": (int, 5_000),
    }
    values: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for name, (kind, default) in spec.items():
        raw = params.get(f"c_{name}")
        try:
            values[name] = kind(raw) if raw not in (None, "") else default
        except ValueError:
            errors[f"c_{name}"] = f"{name}: not a number"
            values[name] = default
    return values, errors


@router.get("/health", response_class=HTMLResponse)
def health_page(
    request: Request,
    caller: Planner,
    ctx: Ctx,
    uow: Uow,
    clock: Clock,
    series: Annotated[str | None, Query(max_length=80)] = None,
) -> HTMLResponse:
    """The planner's page."""
    params = dict(request.query_params)
    now = clock()
    today = now.date()
    projection, projection_errors = _projection(params, today)
    centre_values, centre_errors = _centres_form(params)
    centres: dict[str, Any] | None = None
    if not centre_errors:
        try:
            centres = service.centre_plan(
                ctx,
                patients=centre_values["patients"],
                peak_share=centre_values["peak_share"],
                centres_count=centre_values["centres"],
                beds_min=centre_values["beds_min"],
                beds_max=centre_values["beds_max"],
            )
        except TwonetsError as exc:
            centre_errors = {f"c_{k}": v for k, v in field_errors(exc).items()}
    with uow() as session:
        readiness = _readiness(service.readiness(session, today=today))
        districts = service.district_names(session)
        alerts = list(service.list_alerts(session, since=today - timedelta(days=ALERT_DAYS)))
        turnaround = service.turnaround(session, since=now - timedelta(days=30))
        mobilisations = [
            service.mobilisation_json(session, m)
            for m in service.list_mobilisations(session, limit=3)
        ]
        syndrome_alerts = [a for a in alerts if a.kind == "syndrome" and a.district_code]
        chosen = _chosen_series(series, syndrome_alerts)
        plot = None
        if chosen is not None:
            district, syndrome = chosen
            days, counts = service.series(
                session,
                district_code=district,
                syndrome=syndrome,
                since=today - timedelta(days=SERIES_DAYS - 1),
                until=today,
            )
            alarm_days = {a.day for a in syndrome_alerts if (a.district_code, a.signal) == chosen}
            plot = {
                "district": district,
                "syndrome": syndrome,
                "chart": line_chart(
                    [(f"{syndrome} in {district}", "#1e4d6b", [float(c) for c in counts])],
                    [d.strftime("%m-%d") for d in days],
                    title=f"Daily {syndrome} cases in district {district}, last {SERIES_DAYS} days",
                    marks=[i for i, d in enumerate(days) if d in alarm_days],
                    testid="series-chart",
                ),
            }
    per_district: dict[str, int] = defaultdict(int)
    for a in alerts:
        if a.district_code:
            per_district[a.district_code] += 1
    series_options = sorted({(a.district_code or "", a.signal) for a in syndrome_alerts})
    return render(
        request,
        "health/planner.html",
        caller,
        today=today,
        readiness=readiness,
        projection=projection,
        projection_fields=PROJECTION_FIELDS,
        projection_errors=projection_errors,
        centres=centres,
        centre_values=centre_values,
        centre_errors=centre_errors,
        alerts=alerts,
        alert_days=ALERT_DAYS,
        alarms=per_district,
        plot=plot,
        series_options=series_options,
        districts=districts,
        turnaround=turnaround,
        mobilisations=mobilisations,
        local_date=local_date,
        local_time=local_time,
    )


def _chosen_series(wanted: str | None, alerts: Sequence[Alert]) -> tuple[str, str] | None:
    """The series to plot: ``district:syndrome`` if asked, else the most aberrant one."""
    if wanted and ":" in wanted:
        district, syndrome = wanted.split(":", 1)
        return district, syndrome
    return service.most_aberrant_series(alerts)


@router.post("/health/mobilisations/{mobilisation_id}/replan")
def replan(mobilisation_id: int, caller: Planner, uow: Uow, clock: Clock) -> Response:
    """Re-plan a mobilisation from the page (fills posts left open by refusals)."""
    with uow() as session:
        service.replan(session, mobilisation_id=mobilisation_id, now=clock())
    return RedirectResponse("/health#mobilisation", status_code=303)
