"""The group-rental page: the housing department's leads, best first, with their reasons.

``/ops/rentals`` shows housing staff (their district's, for a district department) the leads
detection found, each with its score, the household's figures and address (read through
governance under ``housing.group-rental``) and its reasons in the page's language; an open
lead is referred for inspection (it becomes a case of the operations centre) or set aside
with a reason. Inspected leads give precision per district. Who may do what is the service's.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from twonets.core.auth import Principal
from twonets.core.errors import TwonetsError
from twonets.core.http import Clock, Uow, require
from twonets.core.models import Role
from twonets.core.places import DISTRICTS
from twonets.operations.rentals import api as rentals_api
from twonets.operations.rentals import detection
from twonets.operations.rentals import model as rentals_model
from twonets.operations.rentals import service as rentals
from twonets.operations.rentals import service_loop as rentals_loop
from twonets.operations.rentals import service_meters as rentals_meters
from twonets.operations.rentals import service_views as rentals_views
from twonets.web.i18n import N_
from twonets.web.operations.common import Gettext, gettext_of
from twonets.web.pages import FormFields, render

router = APIRouter(include_in_schema=False)

Staff = Annotated[Principal, Depends(require(Role.STAFF))]
_DISTRICT_NAMES = {d.code: d.name for d in DISTRICTS}
# The reasons' templates (detection.REASON_*) and the utilities, for the catalogue.
REASON_TEXTS = {
    detection.REASON_FIRST: N_(
        "%(utility)s %(ratio)s× the building median per registered occupant for %(months)s months"
    ),
    detection.REASON_FIRST_ONE_MONTH: N_(
        "%(utility)s %(ratio)s× the building median per registered occupant for 1 month"
    ),
    detection.REASON_MORE: N_("%(utility)s %(ratio)s×"),
    detection.REASON_PEOPLE: N_(
        "use of about %(people)s people (registered %(registered)s); "
        "%(rooms)s rooms, %(area)s m² allow at most %(capacity)s"
    ),
    detection.REASON_PEOPLE_ONE_ROOM: N_(
        "use of about %(people)s people (registered %(registered)s); "
        "1 room, %(area)s m² allow at most %(capacity)s"
    ),
    detection.REASON_NIGHT: N_("night electricity %(ratio)s× the district's share"),
    detection.REASON_FLAT: N_("a flat day: peak–valley difference %(ratio)s× the district's"),
    detection.REASON_STEP: N_("%(utility)s rose %(ratio)s× against the first months"),
}
UTILITIES = {"water": N_("water"), "electricity": N_("electricity"), "gas": N_("gas")}
STATES = {
    rentals.LeadState.OPEN: N_("open"),
    rentals.LeadState.DISMISSED: N_("set aside"),
    rentals.LeadState.REFERRED: N_("sent for inspection"),
    rentals.LeadState.CONFIRMED: N_("confirmed"),
    rentals.LeadState.NOT_CONFIRMED: N_("not confirmed"),
}
# The layer of the operations centre's map (rentals.api.LEADS_LAYER), for the catalogue.
LAYER_NAME = N_("Group-rental leads")
DONE = {
    "cap": N_("Street team %(case)s: daily cap set."),
    "referred": N_("The lead was sent for inspection: case %(case)s of the operations centre."),
    "dismissed": N_("The lead was set aside."),
    "detected": N_("Detection ran: %(case)s leads."),
}


def reasons_in(parts: list[Any], gettext: Gettext) -> list[str]:
    """Each part of a lead's reasons in the page's language."""
    out: list[str] = []
    for template, values in parts:
        shown = {str(k): str(v) for k, v in values.items()}
        if "utility" in shown:
            utility = shown["utility"]
            shown["utility"] = gettext(UTILITIES.get(utility) or utility)
        text = str(template)
        out.append(gettext(REASON_TEXTS.get(text) or text) % shown)
    return out


def _page(
    request: Request,
    caller: Principal,
    uow: Uow,
    clock: Clock,
    gov: Any,
    *,
    state: str | None = None,
    error: TwonetsError | None = None,
    done: str | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    gettext = gettext_of(request)
    with uow() as session:
        views = rentals.list_leads(session, gov, caller, now=clock(), state=state or None)
        figures = rentals.precision_by_district(session, caller)
        months = rentals_loop.precision_over_time(session, caller)
        counts = rentals_views.leads_by_district(session, caller)
        teams = rentals_views.teams(session, caller, now=clock())
        meters = rentals_meters.list_meters(session, caller, limit=50)
    kind, _sep, value = (done or "").partition(":")
    return render(
        request,
        "operations/rentals.html",
        caller,
        status_code=status_code,
        leads=views,
        figures=figures,
        months=months,
        counts=json.dumps(counts),
        teams=teams,
        meters=meters,
        utilities=UTILITIES,
        reasons=lambda view: reasons_in(view.reason_parts, gettext),
        states=STATES,
        state=state or "",
        district_names=_DISTRICT_NAMES,
        error=error.detail if error else None,
        done=gettext(DONE[kind]) % {"case": value} if kind in DONE else None,
    )


@router.get("/ops/rentals", response_class=HTMLResponse)
def rentals_page(
    request: Request,
    caller: Staff,
    uow: Uow,
    clock: Clock,
    gov: rentals_api.Gov,
    state: str | None = None,
    done: str | None = None,
) -> HTMLResponse:
    """The housing department's group-rental leads."""
    return _page(request, caller, uow, clock, gov, state=state, done=done)


@router.post("/ops/rentals/detect", response_class=HTMLResponse)
def detect(
    request: Request, caller: Staff, uow: Uow, clock: Clock, gov: rentals_api.Gov
) -> Response:
    """Score the stored households again."""
    try:
        with uow() as session:
            count = len(rentals.detect_leads(session, caller, now=clock()))
    except TwonetsError as exc:
        return _page(request, caller, uow, clock, gov, error=exc, status_code=exc.status)
    return RedirectResponse(f"/ops/rentals?done=detected:{count}", status_code=303)


@router.post("/ops/rentals/leads/{lead_id}/refer", response_class=HTMLResponse)
def refer(
    request: Request,
    lead_id: int,
    form: FormFields,
    caller: Staff,
    uow: Uow,
    clock: Clock,
    gov: rentals_api.Gov,
) -> Response:
    """Send a lead for inspection: a case of the operations centre."""
    try:
        with uow() as session:
            lead = rentals.refer_lead(session, caller, lead_id, now=clock(), note=form.get("note"))
            number = rentals.case_number(session, lead)
    except TwonetsError as exc:
        return _page(request, caller, uow, clock, gov, error=exc, status_code=exc.status)
    return RedirectResponse(f"/ops/rentals?done=referred:{number}", status_code=303)


@router.post("/ops/rentals/leads/{lead_id}/dismiss", response_class=HTMLResponse)
def dismiss(
    request: Request,
    lead_id: int,
    form: FormFields,
    caller: Staff,
    uow: Uow,
    clock: Clock,
    gov: rentals_api.Gov,
) -> Response:
    """Set a lead aside; the reason is required."""
    try:
        with uow() as session:
            rentals.dismiss_lead(session, caller, lead_id, now=clock(), reason=form.get("note", ""))
    except TwonetsError as exc:
        return _page(request, caller, uow, clock, gov, error=exc, status_code=exc.status)
    return RedirectResponse("/ops/rentals?done=dismissed:", status_code=303)


@router.post("/ops/rentals/teams/{team}", response_class=HTMLResponse)
def set_cap(
    request: Request,
    team: str,
    form: FormFields,
    caller: Staff,
    uow: Uow,
    clock: Clock,
    gov: rentals_api.Gov,
) -> Response:
    """Set a street team's daily cap of inspections (the service checks who and how many)."""
    try:
        cap = int(form.get("daily_cap", ""))
    except ValueError:
        cap = -1  # refused by the service, naming the field
    try:
        with uow() as session:
            rentals_loop.set_cap(session, caller, team, form.get("district", ""), cap, now=clock())
    except TwonetsError as exc:
        return _page(request, caller, uow, clock, gov, error=exc, status_code=exc.status)
    return RedirectResponse(f"/ops/rentals?done=cap:{team}#teams", status_code=303)


@router.get("/ops/rentals/leads/{lead_id}/history.json")
def history(lead_id: int, caller: Staff, uow: Uow) -> JSONResponse:
    """The lead's months against its building, for the page's chart (ratios only)."""
    with uow() as session:
        months = rentals_views.lead_history(session, caller, lead_id)
    return JSONResponse(
        [{"month": m.month, "ratio": m.ratio, "low": m.low, "high": m.high} for m in months]
    )


@router.get("/ops/rentals/thresholds", response_class=HTMLResponse)
def thresholds_page(
    request: Request, caller: Staff, uow: Uow, clock: Clock, done: str | None = None
) -> HTMLResponse:
    """Candidate thresholds, each with its effect on the inspected leads, before it applies."""
    with uow() as session:
        effects = rentals_loop.propose_thresholds(session, caller, now=clock())
    return render(
        request,
        "operations/rentals_thresholds.html",
        caller,
        effects=effects,
        done=done == "applied",
    )


@router.post("/ops/rentals/thresholds", response_class=HTMLResponse)
def apply_thresholds(
    request: Request, form: FormFields, caller: Staff, uow: Uow, clock: Clock
) -> Response:
    """Apply one of the proposed thresholds to the caller's district (the city's)."""
    try:
        chosen = rentals_model.Thresholds(
            high=float(form.get("high", "")),
            agreement=int(form.get("agreement", "")),
            min_score=float(form.get("min_score", "")),
        )
    except ValueError:
        chosen = rentals_model.Thresholds(high=-1.0)  # refused by the service as not proposed
    with uow() as session:
        rentals_loop.apply_thresholds(session, caller, chosen, now=clock())
    return RedirectResponse("/ops/rentals/thresholds?done=applied", status_code=303)
