"""The health planner's page: reserve readiness, a bed-demand projection, centres, alarms.

``/health`` shows, for a planner of the health commission: readiness of the clinical
reserve per district and specialty, a CHIME projection drawn as inline SVG (no script
needed) with its parameters in a form, the emergency centres chosen among China's largest
cities on a map, alarms on a map of the districts with the alarmed series plotted, lab
turnaround and recent alerts, and the latest mobilisation. Handlers parse, call the health
service, and render; a refusal re-plan is a form post.

``/health/my-calls`` is the reservist's own page: a resident in the clinical reserve sees
the call-ups sent to them and accepts or refuses each with a plain form (post, then
redirect back with a notice).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import date, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from markupsafe import Markup, escape

from twonets.core.auth import Principal
from twonets.core.errors import TwonetsError
from twonets.core.http import Clock, Uow, require
from twonets.core.models import Role
from twonets.health import service
from twonets.health.models import Alert, Specialty
from twonets.health.projection import Disposition, ProjectionParameters, project
from twonets.web.pages import FormFields, field_errors, local_date, local_time, render

router = APIRouter(include_in_schema=False)

Planner = Annotated[Principal, Depends(require(Role.HEALTH_PLANNER))]
Resident = Annotated[Principal, Depends(require(Role.CITIZEN))]

ALERT_DAYS = 14
SERIES_DAYS = 120
SPECIALTY_LABELS = {
    Specialty.INFECTIOUS_DISEASES: "Infectious diseases",
    Specialty.RESPIRATORY: "Respiratory",
    Specialty.CRITICAL_CARE: "Critical care",
    Specialty.EMERGENCY: "Emergency",
    Specialty.NURSING: "Nursing",
    Specialty.INFECTION_CONTROL: "Infection control",
}
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


# --- inline SVG charts -------------------------------------------------------------------------


def _ticks(top: float, count: int = 4) -> list[float]:
    """Round tick values from 0 to at least ``top``."""
    if top <= 0:
        return [0.0, 1.0]
    raw = top / count
    magnitude = 10 ** len(str(int(raw))) / 10 if raw >= 1 else 1.0
    step = next(m * magnitude for m in (1, 2, 5, 10) if m * magnitude >= raw)
    ticks = [0.0]
    while ticks[-1] < top:
        ticks.append(ticks[-1] + step)
    return ticks


def line_chart(
    lines: Sequence[tuple[str, str, Sequence[float]]],
    x_labels: Sequence[str],
    *,
    title: str,
    marks: Sequence[int] = (),
    width: int = 720,
    height: int = 260,
    testid: str = "chart",
) -> Markup:
    """An accessible SVG line chart: (label, colour, values) per line; ``marks`` flag points."""
    left, right, top_pad, bottom = 56, 12, 14, 30
    n = max((len(v) for _, _, v in lines), default=0)
    top_value = max((max(v, default=0.0) for _, _, v in lines), default=0.0)
    ticks = _ticks(top_value)
    y_max = ticks[-1] or 1.0
    plot_w, plot_h = width - left - right, height - top_pad - bottom

    def x(i: int) -> float:
        return left + (plot_w * i / (n - 1) if n > 1 else plot_w / 2)

    def y(v: float) -> float:
        return top_pad + plot_h * (1 - v / y_max)

    parts = [
        f'<svg viewBox="0 0 {width} {height}" role="img" class="chart" '
        f'data-testid="{escape(testid)}" aria-label="{escape(title)}">',
        f"<title>{escape(title)}</title>",
    ]
    for t in ticks:
        parts.append(
            f'<line x1="{left}" x2="{width - right}" y1="{y(t):.1f}" y2="{y(t):.1f}" '
            'class="grid"/>'
            f'<text x="{left - 6}" y="{y(t) + 4:.1f}" text-anchor="end">{t:,.0f}</text>'
        )
    if n:
        step = max(1, n // 6)
        for i in range(0, n, step):
            parts.append(
                f'<text x="{x(i):.1f}" y="{height - 10}" text-anchor="middle">'
                f"{escape(x_labels[i])}</text>"
            )
    for label, colour, values in lines:
        points = " ".join(f"{x(i):.1f},{y(v):.1f}" for i, v in enumerate(values))
        parts.append(
            f'<polyline points="{points}" fill="none" stroke="{escape(colour)}" '
            f'stroke-width="2"><title>{escape(label)}</title></polyline>'
        )
    if lines:
        values = lines[0][2]
        for i in marks:
            if 0 <= i < len(values):
                parts.append(
                    f'<circle cx="{x(i):.1f}" cy="{y(values[i]):.1f}" r="4" class="alarm">'
                    f"<title>alarm on {escape(x_labels[i])}: {values[i]:g}</title></circle>"
                )
    parts.append("</svg>")
    return Markup("".join(parts))


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
        return {"values": shown, "chart": None, "peaks": {}}, errors
    try:
        result = project(ProjectionParameters(**values))
    except TwonetsError as exc:
        return {"values": shown, "chart": None, "peaks": {}}, field_errors(exc)
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
    peaks = {DISPOSITION_COLOURS[d][1]: p for d, p in result.peaks().items()}
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
    uow: Uow,
    clock: Clock,
    series: Annotated[str | None, Query(max_length=80)] = None,
) -> HTMLResponse:
    """The planner's page."""
    ctx: service.HealthContext = request.app.state.health
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


# --- the reservist's own call-ups ----------------------------------------------------------------

ANSWERS = {"accept": True, "refuse": False}
ANSWER_NOTICES = {
    "accepted": "You accepted the call to {centre}. Thank you: you are expected there.",
    "refused": "You refused the call to {centre}. Your post will be offered to another "
    "reservist; you will not be called again for this mobilisation.",
}


def _my_calls_page(
    request: Request,
    caller: Principal,
    uow: Uow,
    clock: Clock,
    *,
    answered: int | None = None,
    error: str | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    with uow() as session:
        mine = service.my_calls(session, caller, now=clock())
    notice = None
    call = next((c for c in mine["calls"] if c["id"] == answered), None)
    if call is not None and call["status"] in ANSWER_NOTICES:
        notice = ANSWER_NOTICES[call["status"]].format(centre=call["centre"])
    return render(
        request,
        "health/my_calls.html",
        caller,
        status_code=status_code,
        in_reserve=mine["in_reserve"],
        calls=mine["calls"],
        specialties=SPECIALTY_LABELS,
        notice=notice,
        error=error,
        local_time=local_time,
    )


@router.get("/health/my-calls", response_class=HTMLResponse)
def my_calls_page(
    request: Request,
    caller: Resident,
    uow: Uow,
    clock: Clock,
    answered: Annotated[int | None, Query()] = None,
) -> HTMLResponse:
    """A reservist's call-ups, with Accept / Refuse for those waiting for an answer."""
    return _my_calls_page(request, caller, uow, clock, answered=answered)


@router.post("/health/my-calls/{call_id}/answer")
def answer_my_call(
    request: Request,
    call_id: int,
    form: FormFields,
    caller: Resident,
    uow: Uow,
    clock: Clock,
) -> Response:
    """Accept or refuse a call-up from the page, then go back to the list."""
    answer = form.get("answer", "")
    if answer not in ANSWERS:
        return _my_calls_page(
            request,
            caller,
            uow,
            clock,
            error="Choose Accept or Refuse.",
            status_code=422,
        )
    try:
        with uow() as session:
            service.answer_my_call(
                session, caller, call_id=call_id, accept=ANSWERS[answer], now=clock()
            )
    except TwonetsError as exc:
        return _my_calls_page(request, caller, uow, clock, error=exc.detail, status_code=exc.status)
    return RedirectResponse(f"/health/my-calls?answered={call_id}", status_code=303)
