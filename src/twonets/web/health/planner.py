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
from collections.abc import Callable, Sequence
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
from twonets.web import i18n
from twonets.web.health.charts import line_chart
from twonets.web.health.labels import SPECIALTY_LABELS
from twonets.web.i18n import N_
from twonets.web.pages import field_errors, local_date, local_time, render

router = APIRouter(include_in_schema=False)

Planner = Annotated[Principal, Depends(require(Role.HEALTH_PLANNER))]

ALERT_DAYS = 14
ALERTS_LISTED = 25  # the page lists the latest; the API gives the rest
SERIES_DAYS = 120
DISPOSITION_COLOURS = {
    Disposition.HOSPITALIZED: ("#2a7ab0", N_("Hospital beds")),
    Disposition.ICU: ("#d9822b", N_("ICU beds")),
    Disposition.VENTILATED: ("#b3261e", N_("Ventilators")),
}
# The projection form: field, label, type, step (the rest keep CHIME's defaults).
PROJECTION_FIELDS: tuple[tuple[str, str, str, str], ...] = (
    ("population", N_("Population served"), "int", "1"),
    ("current_hospitalized", N_("In hospital now"), "int", "1"),
    ("doubling_time", N_("Doubling time (days)"), "float", "0.1"),
    ("relative_contact_rate", N_("Social distancing (0-1)"), "float", "0.01"),
    ("market_share", N_("Hospitals' share of patients"), "float", "0.01"),
    ("hospitalized_los", N_("Hospital stay (days)"), "int", "1"),
    ("n_days", N_("Days to project"), "int", "1"),
)
# The centre-plan form: field (``c_`` in the query), label, type, step, default.
CENTRE_FIELDS: tuple[tuple[str, str, str, str, int | float], ...] = (
    ("patients", N_("Patients in the scenario"), "int", "1", 100_000),
    ("peak_share", N_("Share in hospital at once"), "float", "0.05", 1.0),
    ("centres", N_("Centres (at most)"), "int", "1", 10),
    ("beds_min", N_("Beds per centre, from"), "int", "1", 3_000),
    ("beds_max", N_("Beds per centre, to"), "int", "1", 5_000),
)
NOT_A_NUMBER = N_("Enter a number.")
MOBILISATION_STATUSES = {"open": N_("open"), "closed": N_("closed")}


def _translator(request: Request) -> Callable[..., str]:
    """``_(text, **values)`` in the request's language, for texts the page builds in Python."""
    code = i18n.language_of(request).code

    def translate(text: str, **values: Any) -> str:
        # Without values the text stays a template (e.g. a chart's ``%(day)s`` for each mark).
        translated = i18n.translate(code, text)
        return translated % values if values else translated

    return translate


# --- the page ----------------------------------------------------------------------------------


def _projection(
    params: dict[str, str], start: date, _: Callable[..., str]
) -> tuple[dict[str, Any], dict[str, str]]:
    """The projection for the form's values, or the errors naming the bad fields."""
    values: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for name, _label, kind, _step in PROJECTION_FIELDS:
        raw = params.get(name)
        if raw is None or raw == "":
            continue
        try:
            values[name] = int(raw) if kind == "int" else float(raw)
        except ValueError:
            errors[name] = _(NOT_A_NUMBER)
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
            (_(label), colour, [float(v) for v in result.census[d]])
            for d, (colour, label) in DISPOSITION_COLOURS.items()
        ],
        labels,
        title=_("Projected census: hospital beds, ICU beds and ventilators in use per day"),
        testid="projection-chart",
    )
    # (label, peak, shape): the legend calls the highest census a peak only inside the window.
    peaks = [
        (DISPOSITION_COLOURS[d][1], p, result.peak_shape(d)) for d, p in result.peaks().items()
    ]
    return {"values": shown, "chart": chart, "peaks": peaks}, {}


def _readiness(rows: Sequence[service.ReadinessRow], districts: dict[str, str]) -> dict[str, Any]:
    """Readiness as a district x specialty table with totals, districts named as the page."""
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
                "name": districts.get(code, names[code]),
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


def _centres_form(
    params: dict[str, str], _: Callable[..., str]
) -> tuple[dict[str, Any], dict[str, str]]:
    """The centre-plan parameters from the query, with defaults and errors (keyed ``c_...``)."""
    values: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for name, _label, kind, _step, default in CENTRE_FIELDS:
        raw = params.get(f"c_{name}")
        if raw in (None, ""):
            values[name] = default
            continue
        try:
            values[name] = int(raw) if kind == "int" else float(raw)
        except ValueError:
            errors[f"c_{name}"] = _(NOT_A_NUMBER)
            values[name] = raw  # the form keeps what was typed
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
    _ = _translator(request)
    params = dict(request.query_params)
    now = clock()
    today = now.date()
    projection, projection_errors = _projection(params, today, _)
    centre_values, centre_errors = _centres_form(params, _)
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
        chinese = i18n.language_of(request).code == "zh"
        districts = service.district_names(session, chinese=chinese)
        readiness = _readiness(service.readiness(session, today=today), districts)
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
            place = districts.get(district, district)
            plot = {
                "district": district,
                "syndrome": syndrome,
                "chart": line_chart(
                    [
                        (
                            _("%(syndrome)s in %(district)s", syndrome=syndrome, district=place),
                            "#1e4d6b",
                            [float(c) for c in counts],
                        )
                    ],
                    [d.strftime("%m-%d") for d in days],
                    title=_(
                        "Daily %(syndrome)s cases in %(district)s, last %(days)s days",
                        syndrome=syndrome,
                        district=place,
                        days=SERIES_DAYS,
                    ),
                    marks=[i for i, d in enumerate(days) if d in alarm_days],
                    mark_text=_("alarm on %(day)s: %(value)s"),
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
        centre_fields=CENTRE_FIELDS,
        specialties=SPECIALTY_LABELS,
        mobilisation_statuses=MOBILISATION_STATUSES,
        projection_errors=projection_errors,
        centres=centres,
        centre_values=centre_values,
        centre_errors=centre_errors,
        alerts=alerts,
        alert_days=ALERT_DAYS,
        alerts_listed=ALERTS_LISTED,
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
