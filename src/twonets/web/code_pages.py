"""Pages of codes: the holder's rotating code, the scanner's desk, statistics, appeals.

Holders open ``/code``, choose a scenario and show the QR code, which the page replaces
before it expires (htmx polls ``/code/qr``; a small script counts down). The health
scenario shows the colour and why, with an appeal form, and every holder sees where their
code was scanned. Scanners paste the scanned text or upload a photo at ``/code/scan`` and
see only what the scenario discloses. Staff see ``/codes/stats``; health staff decide
appeals at ``/codes/appeals``. Handlers parse, call ``twonets.codes`` and render.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Annotated, Any

import segno
from fastapi import APIRouter, Depends, File, Form, Query, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from markupsafe import Markup
from sqlalchemy.orm import Session

from twonets.codes import service, status
from twonets.codes.api import Ctx
from twonets.codes.context import Coding
from twonets.codes.scenarios import DISCLOSABLE
from twonets.core.auth import Principal
from twonets.core.errors import TwonetsError
from twonets.core.http import Clock, UnitOfWork, Uow, require
from twonets.core.models import Role
from twonets.web.pages import (
    MAX_IMAGE_BYTES,
    decode_qr_image,
    field_errors,
    local_date,
    local_time,
    render,
)

router = APIRouter(include_in_schema=False)

Holder = Annotated[Principal, Depends(require(Role.CITIZEN, Role.ENTERPRISE))]
Scanner = Annotated[Principal, Depends(require(*service.SCAN_ROLES))]
Watcher = Annotated[Principal, Depends(require(Role.STAFF, Role.OPERATOR))]
Staff = Annotated[Principal, Depends(require(Role.STAFF))]
QR_PIXELS = 300
PLACE_COOKIE = "twonets_checkpoint"

COLOURS = {
    "green": ("绿码", "Green", "You may enter places that check health status."),
    "yellow": ("黄码", "Yellow", "Some places will ask you to take a test first."),
    "red": ("红码", "Red", "Stay at home and follow the health department's instructions."),
}

# Why a scan failed, as a gatekeeper reads it: a headline and what to do.
STEP_WORDS: dict[str, tuple[str, str]] = {
    "prefix": (
        "Not a code of a trusted region",
        "The text does not start with a code prefix this platform trusts (SHC1:, JSC1:, …).",
    ),
    "base45": ("Damaged code", "Part of the code is missing or was changed: scan it again."),
    "compression": ("Damaged code", "The code cannot be unpacked: scan it again."),
    "cbor": ("Damaged code", "The code's contents are not in the expected form."),
    "kid": ("Unknown signing key", "The key that signed the code is not on any trust list."),
    "trust": ("Region not trusted", "The code comes from a region this platform does not trust."),
    "signature": (
        "Forged or altered",
        "The signature does not match: the code was not issued "
        "as shown. Do not admit; ask for identification.",
    ),
    "claims": ("Not a code", "The signed contents are not a personal or enterprise code."),
    "not_yet_valid": ("Clock problem", "The code is dated in the future: check the phone's clock."),
    "expired": (
        "Expired",
        "The code is older than its minute and the grace window: ask the "
        "holder to open the app again.",
    ),
    "scenario": ("Not used here", "This code is for a scenario that is not in use."),
    "holder": ("Unknown holder", "No holder of this region has this code."),
    "revoked": ("Revoked", "The holder's codes have been revoked."),
    "replay": (
        "Possible copy",
        "The same code was just scanned at another place. Ask the "
        "holder to refresh the code in front of you.",
    ),
}


def qr_svg(text: str, *, title: str) -> Markup:
    """The QR code of ``text`` as inline SVG, drawn at whole pixels per module."""
    code = segno.make_qr(text, error="m")
    modules = code.symbol_size(scale=1)[0]
    scale = max(2, QR_PIXELS // modules)
    svg = code.svg_inline(scale=1, omitsize=True, light="#fff", svgclass="qr", title=title)
    return Markup(svg.replace("<svg ", f'<svg style="width:{modules * scale}px" ', 1))


@dataclass(frozen=True)
class Shown:
    """A code ready to show: its text, its QR, and what the page says beside it."""

    code: service.IssuedCode
    svg: Markup


def _holder_kind(caller: Principal) -> str:
    return "citizen" if caller.citizen_id is not None else "enterprise"


def _holder_view(session: Session, ctx: Coding, caller: Principal, now: datetime) -> dict[str, Any]:
    """What the holder's page shows around the code: scenarios, status, scans."""
    kind = _holder_kind(caller)
    every = service.list_scenarios(session)
    return {
        "scenarios": [s for s in every if s.active and kind in s.holder_kinds],
        "names": {s.code: s.name_en for s in every},
        "scans": service.my_scans(session, ctx, caller, now=now, limit=50),
        "health": status.my_health(session, ctx, caller, now=now) if kind == "citizen" else None,
        "colours": COLOURS,
        "when": local_time,
        "disclosable": DISCLOSABLE,
    }


def _show(
    uow: UnitOfWork, ctx: Coding, caller: Principal, scenario: str, job_posting: str, now: datetime
) -> Shown:
    with uow() as session:
        issued = service.issue_code(
            session, ctx, caller, scenario=scenario, job_posting=job_posting or None, now=now
        )
    return Shown(issued, qr_svg(issued.text, title=f"{issued.scenario_name} code"))


@router.get("/code", response_class=HTMLResponse)
def code_page(
    request: Request,
    caller: Holder,
    uow: Uow,
    clock: Clock,
    ctx: Ctx,
    scenario: Annotated[str | None, Query(max_length=32)] = None,
    job_posting: Annotated[str, Query(max_length=200)] = "",
    filed: Annotated[str, Query(max_length=8)] = "",
) -> HTMLResponse:
    """The holder's code for a scenario, refreshed before it expires; status and scans."""
    now = clock()
    with uow() as session:
        view = _holder_view(session, ctx, caller, now)
    scenarios = view["scenarios"]
    chosen = scenario or (scenarios[0].code if scenarios else "")
    shown: Shown | None = None
    problem: TwonetsError | None = None
    if chosen:
        try:
            shown = _show(uow, ctx, caller, chosen, job_posting, now)
        except TwonetsError as exc:
            problem = exc
    return render(
        request,
        "codes/code.html",
        caller,
        chosen=chosen,
        shown=shown,
        problem=problem,
        job_posting=job_posting,
        filed=filed,
        **view,
    )


@router.get("/code/qr", response_class=HTMLResponse)
def code_fragment(
    request: Request,
    caller: Holder,
    uow: Uow,
    clock: Clock,
    ctx: Ctx,
    scenario: Annotated[str, Query(max_length=32)],
    job_posting: Annotated[str, Query(max_length=200)] = "",
) -> Response:
    """A newly signed code (the fragment the page swaps in before the old one expires)."""
    if request.headers.get("hx-request") != "true":
        return RedirectResponse(f"/code?scenario={scenario}", status_code=303)
    try:
        shown = _show(uow, ctx, caller, scenario, job_posting, clock())
    except TwonetsError as exc:
        return render(request, "codes/_code.html", caller, shown=None, problem=exc, colours=COLOURS)
    return render(
        request,
        "codes/_code.html",
        caller,
        shown=shown,
        problem=None,
        colours=COLOURS,
        chosen=scenario,
        job_posting=job_posting,
        disclosable=DISCLOSABLE,
    )


@router.post("/code/appeal", response_class=HTMLResponse)
def appeal_submit(
    request: Request,
    caller: Holder,
    uow: Uow,
    clock: Clock,
    ctx: Ctx,
    statement: Annotated[str, Form(max_length=4000)] = "",
) -> Response:
    """File an appeal against the automated health status."""
    try:
        with uow() as session:
            status.file_appeal(session, ctx, caller, statement=statement, now=clock())
    except TwonetsError as exc:
        with uow() as session:
            view = _holder_view(session, ctx, caller, clock())
        return render(
            request,
            "codes/code.html",
            caller,
            status_code=exc.status,
            chosen="health",
            shown=None,
            problem=None,
            job_posting="",
            filed="",
            **view,
            appeal_error=exc,
            appeal_errors=field_errors(exc),
            statement=statement,
        )
    return RedirectResponse("/code?scenario=health&filed=1#appeal", status_code=303)


# --- the scanner's desk -----------------------------------------------------------------------


@router.get("/code/scan", response_class=HTMLResponse)
def scan_page(request: Request, caller: Scanner) -> HTMLResponse:
    """The scanner's form: paste the scanned text, or upload a photo of the code."""
    place = request.cookies.get(PLACE_COOKIE, "")
    return render(
        request, "codes/scan.html", caller, outcome=None, form={"place": place}, errors={}
    )


@router.post("/code/scan", response_class=HTMLResponse)
def scan_submit(
    request: Request,
    caller: Scanner,
    uow: Uow,
    clock: Clock,
    ctx: Ctx,
    code: Annotated[str, Form(max_length=4000)] = "",
    place: Annotated[str, Form(max_length=400)] = "",
    image: Annotated[UploadFile | None, File()] = None,
) -> HTMLResponse:
    """Check a scanned code online, record the scan and show the gatekeeper the verdict."""
    form = {"code": code.strip(), "place": place.strip()}
    error: TwonetsError | None = None
    outcome: service.ScanOutcome | None = None
    try:
        if not form["code"] and image is not None and image.filename:
            form["code"] = decode_qr_image(image.file.read(MAX_IMAGE_BYTES + 1))
        with uow() as session:
            outcome = service.scan(
                session, ctx, caller, text=form["code"], place=form["place"], now=clock()
            )
    except TwonetsError as exc:
        error = exc
    headline, advice = ("", "")
    if outcome is not None and not outcome.verdict.valid:
        headline, advice = STEP_WORDS.get(
            outcome.verdict.step, ("Not valid", outcome.verdict.detail)
        )
    response = render(
        request,
        "codes/scan.html",
        caller,
        status_code=error.status if error is not None else 200,
        outcome=outcome,
        headline=headline,
        advice=advice,
        form=form,
        error=error,
        errors=field_errors(error),
        colours=COLOURS,
        disclosable=DISCLOSABLE,
        when=local_time,
    )
    if form["place"] and error is None:
        # The checkpoint stays filled in for the next holder in the queue.
        response.set_cookie(PLACE_COOKIE, form["place"], max_age=12 * 3600, samesite="lax")
    return response


# --- statistics and appeals -------------------------------------------------------------------


@router.get("/codes/stats", response_class=HTMLResponse)
def stats_page(
    request: Request,
    caller: Watcher,
    uow: Uow,
    clock: Clock,
    days: Annotated[int, Query(ge=1, le=366)] = 28,
) -> HTMLResponse:
    """Scans per scenario per day, unique holders and the peak minute."""
    today = clock().date()
    since = today - timedelta(days=days - 1)
    with uow() as session:
        stats = service.statistics(session, since=since, until=today)
        names = {s.code: s.name_en for s in service.list_scenarios(session)}
    busiest = max((d["scans"] for d in stats["days"]), default=0)
    return render(
        request,
        "codes/stats.html",
        caller,
        stats=stats,
        names=names,
        busiest=busiest,
        days=days,
        day_label=lambda iso: local_date(iso + "T12:00:00+08:00"),
        when=local_time,
        weekday=lambda iso: date.fromisoformat(iso).strftime("%a"),
    )


@router.get("/codes/appeals", response_class=HTMLResponse)
def appeals_page(
    request: Request,
    caller: Staff,
    uow: Uow,
    clock: Clock,
    ctx: Ctx,
    state: Annotated[str, Query(alias="status", max_length=16)] = "pending",
) -> HTMLResponse:
    """Health staff's queue of appeals against automated health status."""
    return _appeals(request, caller, uow, ctx, clock(), state)


def _appeals(
    request: Request,
    caller: Principal,
    uow: Any,
    ctx: Coding,
    now: Any,
    state: str,
    *,
    error: TwonetsError | None = None,
    failed_id: int | None = None,
) -> HTMLResponse:
    problem: TwonetsError | None = None
    rows: list[dict[str, Any]] = []
    try:
        with uow() as session:
            rows = status.list_appeals(session, ctx, caller, status=state, now=now)
    except TwonetsError as exc:
        problem = exc
    shown = error or problem
    return render(
        request,
        "codes/appeals.html",
        caller,
        status_code=shown.status if shown is not None else 200,
        rows=rows,
        state=state,
        problem=problem,
        error=error,
        errors=field_errors(error),
        failed_id=failed_id,
        colours=COLOURS,
        when=local_time,
    )


@router.post("/codes/appeals/{appeal_id}", response_class=HTMLResponse)
def decide_submit(
    request: Request,
    appeal_id: int,
    caller: Staff,
    uow: Uow,
    clock: Clock,
    ctx: Ctx,
    decision: Annotated[str, Form(max_length=16)] = "",
    colour: Annotated[str, Form(max_length=8)] = "",
    reason: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    """Uphold (with a colour) or reject one appeal."""
    try:
        with uow() as session:
            status.decide_appeal(
                session,
                ctx,
                caller,
                appeal_id=appeal_id,
                uphold=decision == "uphold",
                colour=colour or None,
                reason=reason,
                now=clock(),
            )
    except TwonetsError as exc:
        return _appeals(
            request, caller, uow, ctx, clock(), "pending", error=exc, failed_id=appeal_id
        )
    return RedirectResponse("/codes/appeals?status=pending", status_code=303)
